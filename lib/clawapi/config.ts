/**
 * claw-api registration settings (zod), composed by the lead as `bridge.clawApi`
 * (`ClawApiConfigSchema.prefault({})`). Registration is off while `url` is unset.
 *
 * Token source, one of:
 * - `token`: a static access token (secret), e.g. from CLAW_API_TOKEN. Kept exactly as given (not
 *   trimmed), so a stray newline or "Bearer " prefix is reported by the header-shape check instead of
 *   being sent;
 * - `issuer` + `clientId` + `clientSecret` (secret): OAuth 2.0 client credentials (RFC 6749 §4.4) for
 *   `audience` (an RFC 8707 resource indicator) and `scopes`; cached until shortly before expiry.
 */
import { z } from 'zod';
import { NODE_ID_PATTERN, NODES_WRITE_SCOPE } from './types.js';

const nonEmpty = z.string().trim().min(1);
const httpUrl = z
  .string()
  .trim()
  .refine((s) => /^https?:\/\/[^\s]+$/i.test(s) && URL.canParse(s), { message: 'expected an http(s) URL' });

export const ClawApiConfigSchema = z
  .strictObject({
    /** Base URL of the claw-api (`POST {url}/v1/nodes`). Unset: no registration. */
    url: httpUrl.optional(),
    /** Static access token (secret). Not trimmed on purpose (see above). */
    token: z.string().min(1).optional(),
    /** OAuth issuer for client credentials (discovery at `{issuer}/.well-known/openid-configuration`). */
    issuer: httpUrl.optional(),
    clientId: nonEmpty.optional(),
    /** Client secret (secret). */
    clientSecret: nonEmpty.optional(),
    /** Client authentication at the token endpoint (RFC 6749 §2.3.1). */
    authMethod: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_basic'),
    /**
     * The claw-api's resource identifier: sent as `resource` (RFC 8707) when fetching tokens, and the
     * `aud` the 401 diagnosis expects. Default: the claw-api's protected resource metadata.
     */
    audience: nonEmpty.optional(),
    /** Scopes requested with client credentials and required by the diagnosis. */
    scopes: z.array(nonEmpty).min(1).default([NODES_WRITE_SCOPE]),
    /** Stable node id; default one generated once and kept in `<dataDir>/clawapi-node-id`. */
    nodeId: z
      .string()
      .regex(
        NODE_ID_PATTERN,
        'expected 1-128 characters: letters, digits, ".", "_" or "-", starting with a letter or digit',
      )
      .optional(),
    /** Node name shown by the claw-api. */
    name: nonEmpty.max(200).default('claw-byterover bridge'),
    /** URL others reach this bridge at (endpoints are announced under it); default http://<host>:<port>. */
    publicUrl: httpUrl.optional(),
    /** Heartbeat period (jittered by ±10 %); a shorter period suggested by the claw-api wins. */
    heartbeatSeconds: z.number().int().min(1).max(3600).default(30),
    /** Per-attempt timeout of one claw-api call, ms. */
    timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    /** How long shutdown waits for the DELETE, ms. */
    deregisterTimeoutMs: z.number().int().min(100).max(60_000).default(5_000),
  })
  .superRefine((c, ctx) => {
    const oauth = c.issuer !== undefined || c.clientId !== undefined || c.clientSecret !== undefined;
    if (c.token !== undefined && oauth) {
      ctx.addIssue({
        code: 'custom',
        path: ['token'],
        message: 'set either token or issuer/clientId/clientSecret, not both',
      });
    }
    if (oauth && (c.issuer === undefined || c.clientId === undefined || c.clientSecret === undefined)) {
      const missing = (['issuer', 'clientId', 'clientSecret'] as const).filter((k) => c[k] === undefined);
      ctx.addIssue({
        code: 'custom',
        path: [missing[0] ?? 'issuer'],
        message: `client credentials need issuer, clientId and clientSecret (missing ${missing.join(', ')})`,
      });
    }
    if (c.url !== undefined && c.token === undefined && !oauth) {
      ctx.addIssue({
        code: 'custom',
        path: ['token'],
        message: 'a claw-api url needs a token source: token, or issuer/clientId/clientSecret',
      });
    }
  });

export type ClawApiConfig = z.infer<typeof ClawApiConfigSchema>;
export type ClawApiConfigInput = z.input<typeof ClawApiConfigSchema>;

/** Dotted paths of secrets, relative to `bridge.clawApi`. */
export const CLAW_API_SECRET_PATHS = ['token', 'clientSecret'] as const;

/** Environment variables, relative to `bridge.clawApi` (`CLAW_API_SCOPES`: space- or comma-separated). */
export const CLAW_API_ENV: ReadonlyArray<{ name: string; path: string; description: string }> = [
  { name: 'CLAW_API_URL', path: 'url', description: 'claw-api base URL (registration is off without it)' },
  { name: 'CLAW_API_TOKEN', path: 'token', description: 'static claw-api access token (secret)' },
  { name: 'CLAW_API_ISSUER', path: 'issuer', description: 'OAuth issuer for client credentials' },
  { name: 'CLAW_API_CLIENT_ID', path: 'clientId', description: 'OAuth client id for client credentials' },
  { name: 'CLAW_API_CLIENT_SECRET', path: 'clientSecret', description: 'OAuth client secret (secret)' },
  {
    name: 'CLAW_API_AUDIENCE',
    path: 'audience',
    description: 'claw-api resource identifier (RFC 8707 resource, expected aud)',
  },
  { name: 'CLAW_API_SCOPES', path: 'scopes', description: 'scopes, space- or comma-separated (default nodes:write)' },
  { name: 'CLAW_API_NODE_ID', path: 'nodeId', description: 'stable node id (default: generated once in the data dir)' },
  { name: 'CLAW_API_NODE_NAME', path: 'name', description: 'node name shown by the claw-api' },
  {
    name: 'CLAW_API_PUBLIC_URL',
    path: 'publicUrl',
    description: 'URL the bridge is reached at, for the announced endpoints',
  },
  {
    name: 'CLAW_API_HEARTBEAT_SECONDS',
    path: 'heartbeatSeconds',
    description: 'heartbeat period in seconds (default 30)',
  },
];

export function registrationEnabled(c: ClawApiConfig): c is ClawApiConfig & { url: string } {
  return c.url !== undefined;
}
