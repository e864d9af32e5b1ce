/**
 * Renewing a stored credential safely when several callers and several processes share it
 * (resilience.md pitfall 1: with rotating refresh tokens, two concurrent refreshes revoke the grant).
 *
 * renewUnderLock is the cross-process half; the in-process half (one promise per credential) is in
 * session.ts. Steps, in order:
 * 1. take the profile's lock (TokenStore.withLock: a file lock for the file store);
 * 2. re-read the store: another process may have renewed while we waited;
 * 3. if what is stored is no longer stale (or no longer the key the API rejected), use it as is;
 * 4. else renew: refresh_token grant (RFC 6749 §6) for OAuth, client_credentials (§4.4) for services;
 * 5. persist the response, including the rotated refresh token (OAuth 2.0 Security BCP, RFC 9700
 *    §4.14.2), before anything uses the new access token: a crash after the token response but before
 *    the write is the only window in which the rotated refresh token can be lost;
 * 6. on invalid_grant re-read once more: a writer outside this lock (another login, a broken stale
 *    lock) may have replaced the credential; otherwise fail with AUTH_REAUTH_REQUIRED.
 */
import type * as oidc from 'openid-client';
import type { Logger } from '../../log/index.js';
import { configInvalid, notLoggedIn, reauthRequired } from './errors.js';
import { credentialFromTokenResponse, needsRefresh, nowSeconds } from './credential.js';
import { InvalidGrantError, refreshAccessToken, requestClientCredentialsToken } from './grants.js';
import type { StoredCredential, TokenStore } from './types.js';

/** Settings of a confidential client using the client_credentials grant (from config, never stored). */
export interface ClientCredentialsSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated scopes to request (optional). */
  scope?: string;
  /** Resource indicator (RFC 8707) naming the API the token is for. */
  resource?: string;
  /** Client authentication method (RFC 6749 §2.3.1), default client_secret_basic. */
  authMethod?: 'client_secret_basic' | 'client_secret_post';
}

export interface RenewContext {
  store: TokenStore;
  profile: string;
  clock: () => number;
  skewSeconds: number;
  /** openid-client configuration for a public OAuth client at this issuer. */
  oauthConfig(issuer: string, clientId: string): Promise<oidc.Configuration>;
  /** openid-client configuration for the confidential client_credentials client. */
  clientCredentialsConfig(s: ClientCredentialsSettings): Promise<oidc.Configuration>;
  clientCredentials?: ClientCredentialsSettings | undefined;
  logger?: Logger | undefined;
}

export interface RenewRequest {
  /** The session key the API answered 401 to: renew unless the store already holds another. */
  rejectedKey?: string | undefined;
}

/** Whether `cred` must be renewed for this request (step 3). */
export function isStale(cred: StoredCredential, req: RenewRequest, nowS: number, skewSeconds: number): boolean {
  if (req.rejectedKey !== undefined) return cred.sessionKey === req.rejectedKey;
  return needsRefresh(cred, nowS, skewSeconds);
}

/** Steps 1-6 above; resolves with the credential to use (persisted). */
export function renewUnderLock(ctx: RenewContext, req: RenewRequest): Promise<StoredCredential> {
  return ctx.store.withLock(async () => {
    const current = await ctx.store.load(ctx.profile);
    if (!current) {
      if (ctx.clientCredentials) return obtainClientCredentialsToken(ctx, undefined);
      throw notLoggedIn(ctx.profile);
    }
    if (!isStale(current, req, nowSeconds(ctx.clock), ctx.skewSeconds)) return current;
    switch (current.kind) {
      case 'oauth':
        return refreshOAuthToken(ctx, current, req);
      case 'client-credentials':
        return obtainClientCredentialsToken(ctx, current);
      case 'api-key':
        // An API key cannot be renewed; the caller sees the same key and asks for a new login.
        return current;
    }
  }, ctx.profile);
}

/** Steps 4-6 for an OAuth credential; runs inside the lock. */
export async function refreshOAuthToken(
  ctx: RenewContext,
  current: StoredCredential,
  req: RenewRequest,
  attempt = 0,
): Promise<StoredCredential> {
  if (!current.refreshToken) {
    throw reauthRequired(ctx.profile, 'it has no refresh token (log in with offline access to get one)');
  }
  if (!current.issuer || !current.clientId) {
    throw reauthRequired(ctx.profile, 'it does not record its issuer and client id');
  }
  const config = await ctx.oauthConfig(current.issuer, current.clientId);
  let tokens;
  try {
    tokens = await refreshAccessToken(config, current.refreshToken);
  } catch (e) {
    if (!(e instanceof InvalidGrantError)) throw e;
    const reread = await ctx.store.load(ctx.profile);
    if (reread && reread.refreshToken !== current.refreshToken) {
      ctx.logger?.info(
        { profile: ctx.profile },
        'refresh token was rejected but the store holds another credential; using it',
      );
      if (!isStale(reread, req, nowSeconds(ctx.clock), ctx.skewSeconds)) return reread;
      if (attempt === 0) return refreshOAuthToken(ctx, reread, req, 1);
    }
    throw reauthRequired(ctx.profile, 'the issuer rejected the refresh token (invalid_grant)', e);
  }
  const next = credentialFromTokenResponse(tokens, { kind: 'oauth' }, current, ctx.clock);
  await ctx.store.save(next, ctx.profile);
  return next;
}

/** Step 4-5 for a service: a new client_credentials token, persisted; runs inside the lock. */
export async function obtainClientCredentialsToken(
  ctx: RenewContext,
  prev: StoredCredential | undefined,
): Promise<StoredCredential> {
  const s = ctx.clientCredentials;
  if (!s) {
    throw configInvalid(
      `Profile "${ctx.profile}" holds a client-credentials token that expired, and no client secret is configured to renew it.`,
      'set CLAW_BYTEROVER_CLIENT_ID and CLAW_BYTEROVER_CLIENT_SECRET (and CLAW_BYTEROVER_CLIENT_ISSUER) for this service',
    );
  }
  const config = await ctx.clientCredentialsConfig(s);
  const tokens = await requestClientCredentialsToken(config, { scope: s.scope, resource: s.resource });
  const next = credentialFromTokenResponse(
    tokens,
    { kind: 'client-credentials', issuer: config.serverMetadata().issuer, clientId: s.clientId },
    prev,
    ctx.clock,
  );
  await ctx.store.save(next, ctx.profile);
  return next;
}
