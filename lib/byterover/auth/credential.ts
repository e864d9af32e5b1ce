/**
 * Pure functions over StoredCredential: building one from a token response, deciding when it must be
 * refreshed, and describing it without its secrets.
 */
import { decodeJwt } from 'jose';
import { registerSecret } from '../../log/redact.js';
import type { StoredCredential } from './types.js';

/** Refresh this many seconds before `expiresAt` (clock-skew margin; resilience.md pitfall 2). */
export const DEFAULT_REFRESH_SKEW_SECONDS = 60;

/** The fields of an OAuth 2.0 token response (RFC 6749 §5.1) this layer reads, plus ByteRover's `session_key`. */
export interface TokenResponseFields {
  access_token: string;
  token_type?: string;
  expires_in?: number;
  refresh_token?: string;
  id_token?: string;
  scope?: string;
  session_key?: unknown;
}

export type UserInfo = NonNullable<StoredCredential['user']>;

/** What a user may see about a credential: no token, key or secret. */
export interface CredentialSummary {
  profile: string;
  kind: StoredCredential['kind'];
  issuer?: string;
  clientId?: string;
  scope?: string;
  /** ISO time the access token expires (OAuth kinds). */
  expiresAt?: string;
  refreshable: boolean;
  user?: { id: string; email?: string; name?: string };
  updatedAt: string;
}

export function nowSeconds(clock: () => number): number {
  return Math.floor(clock() / 1000);
}

/**
 * The session key a token response yields. ByteRover's IAM returns `session_key` beside the tokens and
 * its APIs accept only that (`x-byterover-session-id`). Standard issuers (RFC 6749 §5.1) return no
 * such field; then the access token itself is the session key — which is what a resource server that
 * validates JWT access tokens (RFC 9068) accepts. On refresh without `session_key`, a credential whose
 * key was the access token follows the new access token; a ByteRover session key is kept.
 */
export function sessionKeyFrom(tokens: TokenResponseFields, prev?: StoredCredential): string {
  if (typeof tokens.session_key === 'string' && tokens.session_key !== '') return tokens.session_key;
  if (prev && prev.sessionKey !== prev.accessToken) return prev.sessionKey;
  return tokens.access_token;
}

/**
 * Expiry in epoch seconds: `expires_in` (RFC 6749 §5.1) relative to when the response arrived; else the
 * `exp` claim of a JWT access token (RFC 9068 §2.2, read only for scheduling, not trusted for auth);
 * else unknown (the credential is then refreshed only after a 401).
 */
export function expiryFrom(tokens: TokenResponseFields, issuedAt: number): number | undefined {
  if (typeof tokens.expires_in === 'number' && Number.isFinite(tokens.expires_in))
    return issuedAt + Math.floor(tokens.expires_in);
  try {
    const exp = decodeJwt(tokens.access_token).exp;
    return typeof exp === 'number' ? exp : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The credential to persist after a token response. A refresh response may omit `refresh_token`
 * (RFC 6749 §6: the server MAY issue a new one); then the previous one stays valid and is kept.
 */
export function credentialFromTokenResponse(
  tokens: TokenResponseFields,
  base: { kind: StoredCredential['kind']; issuer?: string | undefined; clientId?: string | undefined },
  prev: StoredCredential | undefined,
  clock: () => number,
): StoredCredential {
  registerSecret(tokens.access_token);
  registerSecret(tokens.refresh_token);
  registerSecret(tokens.id_token);
  if (typeof tokens.session_key === 'string') registerSecret(tokens.session_key);
  const issuedAt = nowSeconds(clock);
  const cred: StoredCredential = {
    kind: base.kind,
    sessionKey: sessionKeyFrom(tokens, prev),
    accessToken: tokens.access_token,
    version: (prev?.version ?? 0) + 1,
    updatedAt: new Date(clock()).toISOString(),
    issuedAt,
  };
  const refreshToken = tokens.refresh_token ?? prev?.refreshToken;
  if (refreshToken) cred.refreshToken = refreshToken;
  const idToken = tokens.id_token ?? prev?.idToken;
  if (idToken) cred.idToken = idToken;
  const expiresAt = expiryFrom(tokens, issuedAt);
  if (expiresAt !== undefined) cred.expiresAt = expiresAt;
  const scope = tokens.scope ?? prev?.scope;
  if (scope) cred.scope = scope;
  const issuer = base.issuer ?? prev?.issuer;
  if (issuer) cred.issuer = issuer;
  const clientId = base.clientId ?? prev?.clientId;
  if (clientId) cred.clientId = clientId;
  if (prev?.user) cred.user = prev.user;
  return cred;
}

/** A credential that replaces one at `prevVersion` (bumps `version`, stamps `updatedAt`). */
export function nextVersion(
  prevVersion: number,
  fields: Omit<StoredCredential, 'version' | 'updatedAt'>,
  clock: () => number,
): StoredCredential {
  return { ...fields, version: prevVersion + 1, updatedAt: new Date(clock()).toISOString() };
}

/**
 * Whether the access token must be refreshed now: at `expiresAt − skew`, the skew capped at half the
 * token's lifetime so a token that lives less than 2·skew is not refreshed on every use.
 */
export function needsRefresh(
  cred: StoredCredential,
  nowS: number,
  skewSeconds = DEFAULT_REFRESH_SKEW_SECONDS,
): boolean {
  if (cred.kind === 'api-key' || cred.expiresAt === undefined) return false;
  const lifetime = cred.issuedAt !== undefined ? cred.expiresAt - cred.issuedAt : Infinity;
  const skew = Math.max(0, Math.min(skewSeconds, lifetime / 2));
  return nowS >= cred.expiresAt - skew;
}

export function describeCredential(cred: StoredCredential, profile: string): CredentialSummary {
  const s: CredentialSummary = {
    profile,
    kind: cred.kind,
    refreshable: cred.kind === 'client-credentials' || (cred.kind === 'oauth' && Boolean(cred.refreshToken)),
    updatedAt: cred.updatedAt,
  };
  if (cred.issuer) s.issuer = cred.issuer;
  if (cred.clientId) s.clientId = cred.clientId;
  if (cred.scope) s.scope = cred.scope;
  if (cred.expiresAt !== undefined) s.expiresAt = new Date(cred.expiresAt * 1000).toISOString();
  if (cred.user) s.user = cred.user;
  return s;
}
