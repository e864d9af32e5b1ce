/**
 * OAuth 2.0 authorization code + PKCE (S256) against a real oidc-provider, driven end to end through
 * the loopback callback: the test plays the browser (GET the authorization URL, follow the provider's
 * interaction, let it redirect to the loopback receiver).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { isClawError } from '../../../lib/errors.js';
import { loginWithOAuth } from '../../../lib/byterover/auth/index.js';
import { browse } from '../../servers/oidc.js';
import { loginPlayingBrowser, startAuthEnv, type AuthEnv } from './setup.js';

describe('OAuth login (auth code + PKCE, loopback callback) against oidc-provider', () => {
  let env: AuthEnv;
  beforeEach(async () => {
    env = await startAuthEnv();
  });
  afterEach(async () => {
    await env.close();
  });

  it('logs in end to end and stores a refreshable credential whose access token the provider signed', async () => {
    const { summary, page, authorizationUrl } = await loginPlayingBrowser(env);
    const auth = new URL(authorizationUrl);
    expect(auth.origin + auth.pathname).toBe(`${env.oidc.issuer}/authorize`);
    expect(auth.searchParams.get('client_id')).toBe('byterover-cli-client');
    expect(auth.searchParams.get('code_challenge_method')).toBe('S256');
    expect(auth.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(auth.searchParams.get('scope')).toBe('read write offline_access');
    expect(auth.searchParams.get('prompt')).toBe('consent');
    expect(auth.searchParams.get('redirect_uri')).toMatch(/^http:\/\/localhost:\d+\/callback$/);
    expect(auth.searchParams.get('state')).toBeTruthy();

    // The browser ended on our loopback page, reached through the provider's redirect.
    expect(page.status).toBe(200);
    expect(page.url).toMatch(/^http:\/\/localhost:\d+\/callback\?/);
    expect(page.body).toContain('Logged in to ByteRover');
    expect(page.body).not.toContain(new URL(page.url).searchParams.get('code') ?? '<none>');

    expect(summary).toMatchObject({
      profile: 'default',
      kind: 'oauth',
      issuer: env.oidc.issuer,
      clientId: 'byterover-cli-client',
      refreshable: true,
    });
    const cred = await env.store.load();
    expect(cred?.kind).toBe('oauth');
    expect(cred?.refreshToken).toBeTruthy();
    // Standard issuers return no session_key: the access token is the session key.
    expect(cred?.sessionKey).toBe(cred?.accessToken);
    const claims = await env.oidc.verifyAccessToken(cred!.accessToken!);
    expect(claims.sub).toBe('user-1');
    expect(claims.client_id).toBe('byterover-cli-client');
    expect(String(claims.scope).split(' ')).toEqual(expect.arrayContaining(['read', 'write']));
    expect(cred!.expiresAt! - cred!.issuedAt!).toBe(600);
    expect(env.oidc.stats.success.authorization_code).toBe(1);
  });

  it('uses the session_key of a ByteRover-style token response as the session key', async () => {
    await env.close();
    env = await startAuthEnv({ sessionKeys: true });
    await loginPlayingBrowser(env);
    const cred = await env.store.load();
    expect(cred?.sessionKey).toMatch(/^brs_/);
    expect(env.oidc.issuedSessionKeys.has(cred!.sessionKey)).toBe(true);
    expect(cred?.sessionKey).not.toBe(cred?.accessToken);
  });

  it('falls back to the fixed /authorize and /token endpoints when discovery fails', async () => {
    await env.close();
    env = await startAuthEnv({ discovery: false });
    const { summary } = await loginPlayingBrowser(env);
    expect(summary.kind).toBe('oauth');
    expect(env.logs()).toContain('OIDC discovery failed');
    expect(env.oidc.stats.success.authorization_code).toBe(1);
  });

  it('accepts 127.0.0.1 as the redirect host too', async () => {
    const { authorizationUrl } = await loginPlayingBrowser(env, { redirectHost: '127.0.0.1' });
    expect(new URL(authorizationUrl).searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect((await env.store.load())?.kind).toBe('oauth');
  });

  it('without offline access the provider issues no refresh token, and the summary says so', async () => {
    const { summary } = await loginPlayingBrowser(env, { offlineAccess: false });
    expect(summary.refreshable).toBe(false);
    expect((await env.store.load())?.refreshToken).toBeUndefined();
  });

  it('rejects a callback whose state differs (AUTH_STATE_MISMATCH) and stores nothing', async () => {
    let browsing: Promise<unknown> | undefined;
    const login = loginWithOAuth({
      issuer: env.oidc.issuer,
      offlineAccess: true,
      store: env.store,
      http: env.http,
      openBrowser: false,
      onAuthorizationUrl: (url) => {
        browsing = browse(url, {
          rewrite: (u) => {
            if (u.pathname === '/callback') u.searchParams.set('state', 'forged-state-value');
            return u;
          },
        });
      },
    });
    const err = await login.catch((e: unknown) => e);
    expect(isClawError(err, 'AUTH_STATE_MISMATCH')).toBe(true);
    const page = (await browsing) as { status: number; body: string };
    expect(page.status).toBe(400);
    expect(await env.store.load()).toBeUndefined();
    // The code was never exchanged.
    expect(env.oidc.stats.success.authorization_code ?? 0).toBe(0);
  });

  it('reports an OAuth error answered to the callback (AUTH_LOGIN_DENIED)', async () => {
    env.oidc.denyNextLogin('access_denied');
    const err = await loginPlayingBrowser(env).catch((e: unknown) => e);
    expect(isClawError(err, 'AUTH_LOGIN_DENIED')).toBe(true);
    expect((err as Error).message).toContain('access_denied');
  });

  it('times out when the browser never comes back (AUTH_LOGIN_TIMEOUT) and frees the port', async () => {
    let redirect = '';
    const err = await loginWithOAuth({
      issuer: env.oidc.issuer,
      store: env.store,
      http: env.http,
      openBrowser: false,
      timeoutMs: 200,
      onAuthorizationUrl: (url) => {
        redirect = new URL(url).searchParams.get('redirect_uri') ?? '';
      },
    }).catch((e: unknown) => e);
    expect(isClawError(err, 'AUTH_LOGIN_TIMEOUT')).toBe(true);
    const res = await fetch(redirect.replace('localhost', '127.0.0.1')).catch((e: unknown) => e);
    expect(res).toBeInstanceOf(Error); // the receiver is closed
  });

  it('is cancelled by its AbortSignal (AUTH_LOGIN_CANCELLED)', async () => {
    const ac = new AbortController();
    const err = await loginWithOAuth({
      issuer: env.oidc.issuer,
      store: env.store,
      http: env.http,
      openBrowser: false,
      signal: ac.signal,
      onAuthorizationUrl: () => ac.abort(),
    }).catch((e: unknown) => e);
    expect(isClawError(err, 'AUTH_LOGIN_CANCELLED')).toBe(true);
  });

  it('refuses a plain-http issuer that is not loopback (AUTH_INSECURE_ISSUER) before any request', async () => {
    const err = await loginWithOAuth({
      issuer: 'http://iam.example.invalid/api/v1/oidc',
      store: env.store,
      http: env.http,
      openBrowser: false,
    }).catch((e: unknown) => e);
    expect(isClawError(err, 'AUTH_INSECURE_ISSUER')).toBe(true);
  });

  it('keeps the ID token claims out of the way: the access token is an RFC 9068 JWT for the API resource', async () => {
    await loginPlayingBrowser(env);
    const cred = await env.store.load();
    const payload = decodeJwt(cred!.accessToken!);
    expect(payload.aud).toBe(env.oidc.resource);
  });
});
