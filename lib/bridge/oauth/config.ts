/**
 * Settings of the bridge's OAuth web login (zod). Meant to be composed as
 * `bridge.oauth: OAuthConfigSchema.prefault({})`; every field has a default or is optional, and the
 * login is "configured" once `issuer` is set (then a redirect URI is required).
 * Secrets: OAUTH_SECRET_PATHS (relative to `bridge.oauth`). Suggested variables: OAUTH_ENV_VARS.
 */
import { z } from 'zod';
import { ClawError } from '../../errors.js';
import { ConfigErrorCode } from '../../errors.js';

/** The callback route's path on the bridge. */
export const CALLBACK_PATH = '/auth/callback';
export const LOGIN_PATH = '/auth/login';
export const STATUS_PATH = '/auth/status';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** https, or http on loopback only (a code sent over plain http to another host can be read on the way). */
function isSafeWebUrl(s: string): boolean {
  try {
    const u = new URL(s);
    if (u.hash || u.username || u.password) return false;
    return u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK_HOSTS.has(u.hostname));
  } catch {
    return false;
  }
}

const webUrl = z.string().trim().refine(isSafeWebUrl, {
  message:
    'expected an absolute https:// URL (http:// only on localhost / 127.0.0.1), without a fragment or credentials',
});

/** Base64 (standard or url-safe) of exactly 32 bytes: the AES-256 key. */
export function decodeEncryptionKey(s: string): Buffer | undefined {
  const t = s.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) return undefined;
  const b = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return b.length === 32 ? b : undefined;
}

export const OAuthConfigSchema = z
  .strictObject({
    /** Issuer identifier, e.g. `https://iam.byterover.dev/api/v1/oidc`. Unset = the web login is off. */
    issuer: webUrl.optional(),
    /** The client registered for this bridge (a web client whose redirect URI is the bridge's callback). */
    clientId: z.string().trim().min(1).default('byterover-cli-client'),
    /** Confidential clients only (client_secret_basic / _post). A secret. Without it: a public client (PKCE alone). */
    clientSecret: z.string().min(1).optional(),
    clientAuthMethod: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_basic'),
    /** The full callback URL registered with the issuer, e.g. `https://bridge.example.com/auth/callback`. */
    redirectUri: webUrl.optional(),
    /** Or the bridge's public base URL: the redirect URI is then `<publicUrl>/auth/callback`. */
    publicUrl: webUrl.optional(),
    /** Scopes to request. With `openid` an ID token is required and its `nonce` checked. */
    scopes: z
      .array(
        z
          .string()
          .trim()
          .regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'expected a scope token (RFC 6749 §3.3)'),
      )
      .min(1)
      .default(['read', 'write']),
    /** Ask for a refresh token the OpenID Connect way (`offline_access` + `prompt=consent`). */
    offlineAccess: z.boolean().default(false),
    /** Resource indicator (RFC 8707) for the access token. */
    resource: z.string().trim().min(1).optional(),
    /** Base64 of 32 random bytes (AES-256-GCM key for tokens at rest). A secret. Required for several instances. */
    encryptionKey: z
      .string()
      .refine((s) => decodeEncryptionKey(s) !== undefined, {
        message: 'expected the base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`)',
      })
      .optional(),
    /** Use `{issuer}/authorize` and `{issuer}/token` without trying discovery. */
    skipDiscovery: z.boolean().default(false),
    /** Which stored credential this bridge logs in and uses. */
    profile: z
      .string()
      .regex(/^(?!\.)[A-Za-z0-9._-]{1,64}$/, "expected 1-64 letters, digits, '.', '_' or '-'")
      .default('default'),
    /** How long a started login may take to come back to the callback, seconds. */
    loginTtlSeconds: z.number().int().min(30).max(3600).default(600),
    /** Logins started and not yet finished, at most (a flood of /auth/login gets 429 beyond it). */
    maxPendingLogins: z.number().int().min(1).max(100_000).default(1000),
    /** Subjects (`sub`) or e-mail addresses allowed to log in; empty = anyone the issuer signs in. */
    allowedSubjects: z.array(z.string().trim().min(1)).default([]),
    /** Refresh this many seconds before the access token expires (capped at half its lifetime). */
    refreshSkewSeconds: z.number().int().min(0).max(3600).default(60),
    /** Lease on the refresh across instances, ms (kept alive while the refresh runs). */
    refreshLeaseMs: z.number().int().min(1000).max(600_000).default(30_000),
    /** How long an instance waits for another one's refresh before giving up, ms. */
    refreshWaitMs: z.number().int().min(100).max(600_000).default(45_000),
    /**
     * When the store holds OAuth data sealed with another key: false (default) refuses to start;
     * true discards it (the login is lost, sign in again). Never set it on one instance of several.
     */
    resetOnKeyMismatch: z.boolean().default(false),
  })
  .refine((c) => !c.issuer || c.redirectUri || c.publicUrl, {
    message: 'expected redirectUri or publicUrl when issuer is set (the callback URL registered with the issuer)',
    path: ['redirectUri'],
  });

export type OAuthConfig = z.infer<typeof OAuthConfigSchema>;
export type OAuthConfigInput = z.input<typeof OAuthConfigSchema>;

/** Dotted paths of secret values, relative to `bridge.oauth`. */
export const OAUTH_SECRET_PATHS = ['clientSecret', 'encryptionKey'] as const;

/** Suggested environment variables, by path relative to `bridge.oauth` (lists comma-separated). */
export const OAUTH_ENV_VARS: ReadonlyArray<{ name: string; path: string; description: string }> = [
  {
    name: 'CLAW_BYTEROVER_BRIDGE_OAUTH_ISSUER',
    path: 'issuer',
    description: 'bridge OAuth: issuer URL (turns the web login on)',
  },
  {
    name: 'CLAW_BYTEROVER_BRIDGE_OAUTH_CLIENT_ID',
    path: 'clientId',
    description: 'bridge OAuth: client id registered for the bridge',
  },
  {
    name: 'CLAW_BYTEROVER_BRIDGE_OAUTH_CLIENT_SECRET',
    path: 'clientSecret',
    description: 'bridge OAuth: client secret of a confidential client (secret)',
  },
  {
    name: 'CLAW_BYTEROVER_BRIDGE_OAUTH_REDIRECT_URI',
    path: 'redirectUri',
    description: 'bridge OAuth: callback URL registered with the issuer',
  },
  {
    name: 'CLAW_BYTEROVER_BRIDGE_PUBLIC_URL',
    path: 'publicUrl',
    description: 'bridge OAuth: public base URL of the bridge (callback = <url>/auth/callback)',
  },
  { name: 'CLAW_BYTEROVER_BRIDGE_OAUTH_SCOPES', path: 'scopes', description: 'bridge OAuth: scopes, comma-separated' },
  {
    name: 'CLAW_BYTEROVER_BRIDGE_OAUTH_ENCRYPTION_KEY',
    path: 'encryptionKey',
    description: 'bridge OAuth: base64 of 32 bytes sealing tokens at rest (secret)',
  },
];

/** The validated settings (for tests and callers without the composed config). */
export function parseOAuthConfig(input: unknown): OAuthConfig {
  const r = OAuthConfigSchema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `bridge.oauth.${i.path.join('.')}: ${i.message}`);
  throw new ClawError(ConfigErrorCode.INVALID, `invalid bridge OAuth configuration: ${issues.join('; ')}`, {
    hint: 'fix the listed keys in the config file or environment',
    details: {
      issues: r.error.issues.map((i) => ({ path: ['bridge', 'oauth', ...i.path].join('.'), message: i.message })),
    },
  });
}

/** The redirect URI in effect: `redirectUri`, else `<publicUrl>/auth/callback` (a path prefix kept). */
export function redirectUriOf(c: Pick<OAuthConfig, 'redirectUri' | 'publicUrl'>): string | undefined {
  if (c.redirectUri) return c.redirectUri;
  if (!c.publicUrl) return undefined;
  const base = new URL(c.publicUrl);
  base.search = '';
  base.pathname = `${base.pathname.replace(/\/+$/, '')}${CALLBACK_PATH}`;
  return base.href;
}

/**
 * A `return_to` is accepted only as a same-origin absolute path (`/x/y?z`): no scheme, no host, no
 * `//` or `/\` (which browsers read as another host), no control characters. Undefined = refused.
 */
export function safeReturnTo(v: string | null | undefined): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (v.length === 0 || v.length > 2048) return undefined;
  if (!v.startsWith('/') || v.startsWith('//') || v.startsWith('/\\')) return undefined;
  // Browsers drop tabs and newlines from URLs, so "/\t/evil.example" would become "//evil.example".
  if (/[\x00-\x20\x7f\\]/.test(v)) return undefined;
  try {
    const probe = new URL(v, 'http://bridge.invalid');
    if (probe.origin !== 'http://bridge.invalid') return undefined;
    // Dot segments collapse during parsing: "/.//evil.example" and "/a/..//evil.example" come out as
    // "//evil.example", which a browser reads as another host: check what is actually returned.
    const path = `${probe.pathname}${probe.search}${probe.hash}`;
    return path.startsWith('//') ? undefined : path;
  } catch {
    return undefined;
  }
}
