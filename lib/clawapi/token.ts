/**
 * Where the claw-api access token comes from:
 * - `staticTokenSource`: a configured token, used as is;
 * - `clientCredentialsTokenSource`: OAuth 2.0 client credentials (RFC 6749 §4.4) from an issuer,
 *   with the claw-api as RFC 8707 `resource` and the configured scopes, through the project's
 *   transport (lib/byterover/auth's openid-client setup over lib/http). The token is cached until
 *   `refreshSkewSeconds` before its expiry (`expires_in`, else the JWT `exp`); one request at a time.
 * Every token is registered with the log redactor as soon as it is known.
 */
import { decodeJwt } from 'jose';
import type * as oidc from 'openid-client';
import { clientCredentialsServer } from '../byterover/auth/client-credentials.js';
import { requestClientCredentialsToken } from '../byterover/auth/grants.js';
import type { HttpClient } from '../http/types.js';
import type { Logger } from '../log/index.js';
import { registerSecret } from '../log/redact.js';
import type { TokenOrigin } from './diagnose.js';

export interface TokenSource {
  readonly origin: TokenOrigin;
  /** Our OAuth client id (client credentials only); the diagnosis uses it to spot ID tokens. */
  readonly clientId?: string | undefined;
  token(): Promise<string>;
  /** Drops a cached token the claw-api refused; returns whether a new one can be fetched. */
  invalidate(rejected: string): boolean;
}

export function staticTokenSource(value: string): TokenSource {
  registerSecret(value);
  return { origin: 'static', token: async () => value, invalidate: () => false };
}

/** A caller-supplied function (e.g. doctor's), treated like a static token. */
export function functionTokenSource(fn: () => Promise<string>): TokenSource {
  return {
    origin: 'unknown',
    token: async () => {
      const t = await fn();
      registerSecret(t);
      return t;
    },
    invalidate: () => false,
  };
}

export interface ClientCredentialsTokenOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** RFC 8707 resource indicator: the claw-api's audience. */
  audience?: string | undefined;
  scopes?: readonly string[] | undefined;
  authMethod?: 'client_secret_basic' | 'client_secret_post' | undefined;
  http: HttpClient;
  logger?: Logger | undefined;
  /** Renew this many seconds before expiry (default 60). */
  refreshSkewSeconds?: number | undefined;
  now?: (() => number) | undefined;
}

export interface ClientCredentialsTokenSource extends TokenSource {
  /** Token requests made so far (for status and tests). */
  readonly requests: number;
}

/** Expiry in epoch ms: `expires_in` relative to `receivedAt`, else the JWT's `exp`, else undefined. */
export function tokenExpiry(
  accessToken: string,
  expiresIn: number | undefined,
  receivedAt: number,
): number | undefined {
  if (typeof expiresIn === 'number' && Number.isFinite(expiresIn)) return receivedAt + expiresIn * 1000;
  try {
    const exp = decodeJwt(accessToken).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** How long the fixed token endpoint stands in for a failed discovery before discovery is tried again. */
const DISCOVERY_RETRY_MS = 60_000;

export function clientCredentialsTokenSource(o: ClientCredentialsTokenOptions): ClientCredentialsTokenSource {
  registerSecret(o.clientSecret);
  const now = o.now ?? Date.now;
  const skewMs = (o.refreshSkewSeconds ?? 60) * 1000;
  let config: Promise<oidc.Configuration> | undefined;
  /** When the issuer's discovery failed and the fixed `{issuer}/token` stood in (kept DISCOVERY_RETRY_MS only). */
  let fallbackSince: number | undefined;
  let cached: { token: string; expiresAt: number | undefined } | undefined;
  let inflight: Promise<string> | undefined;
  let requests = 0;

  const fresh = (): boolean =>
    cached !== undefined && (cached.expiresAt === undefined || cached.expiresAt - skewMs > now());

  async function fetchToken(): Promise<string> {
    // A failed discovery falls back to `{issuer}/token` (lib/byterover/auth/issuer.ts): right for
    // ByteRover, wrong for an issuer with another token endpoint. The fallback, recognised by the absence
    // of `response_types_supported` (required by RFC 8414 and OIDC Discovery), is kept for a while only,
    // so an issuer that was restarting when the bridge started does not break registration until a restart.
    if (config && fallbackSince !== undefined && now() - fallbackSince >= DISCOVERY_RETRY_MS) {
      config = undefined;
      fallbackSince = undefined;
    }
    config ??= clientCredentialsServer(
      {
        issuer: o.issuer,
        clientId: o.clientId,
        clientSecret: o.clientSecret,
        ...(o.authMethod ? { authMethod: o.authMethod } : {}),
      },
      o.http,
      { logger: o.logger },
    ).then(
      (c) => {
        if (c.serverMetadata().response_types_supported === undefined) fallbackSince ??= now();
        return c;
      },
      (e: unknown) => {
        config = undefined;
        throw e;
      },
    );
    const cfg = await config;
    requests++;
    const t = await requestClientCredentialsToken(cfg, {
      scope: o.scopes?.length ? o.scopes.join(' ') : undefined,
      resource: o.audience,
    });
    const receivedAt = now();
    cached = { token: t.access_token, expiresAt: tokenExpiry(t.access_token, t.expires_in, receivedAt) };
    return t.access_token;
  }

  return {
    origin: 'client_credentials',
    clientId: o.clientId,
    get requests() {
      return requests;
    },
    async token() {
      if (fresh() && cached) return cached.token;
      inflight ??= fetchToken().finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
    invalidate(rejected) {
      if (cached?.token === rejected) cached = undefined;
      return true;
    },
  };
}
