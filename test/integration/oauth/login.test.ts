/**
 * The bridge's web login against a real oidc-provider, over HTTP, on the embedded SQLite store:
 * /auth/login → the provider's login and consent → /auth/callback, the token set sealed at rest
 * (checked on the raw kv blob and the raw database bytes), /auth/status, the session provider
 * serving the login's key, and the configuration cases (confidential client, key file, key mismatch,
 * allowedSubjects, not configured).
 */
import { readFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isClawError } from '../../../lib/errors.js';
import { decodeEncryptionKey } from '../../../lib/bridge/oauth/config.js';
import { createSealer, KEY_FILE_NAME, SealedKv, tokensKey } from '../../../lib/bridge/oauth/index.js';
import { browse } from '../../servers/oidc.js';
import { failingFirstDiscovery } from '../clawapi/harness.js';
import {
  beginLogin,
  authorize,
  callback,
  CONFIDENTIAL_CLIENT_ID,
  getJson,
  login,
  startBridge,
  startOAuthEnv,
  type BridgeUnderTest,
  type OAuthEnv,
} from './setup.js';

describe('bridge web login (auth code + PKCE) against oidc-provider, SQLite store', () => {
  let env: OAuthEnv;
  const open: BridgeUnderTest[] = [];
  const bridge = async (o: Parameters<typeof startBridge>[1] = {}): Promise<BridgeUnderTest> => {
    const b = await startBridge(env, o);
    open.push(b);
    return b;
  };
  beforeEach(async () => {
    env = await startOAuthEnv();
  });
  afterEach(async () => {
    for (const b of open.splice(0)) await b.close();
    await env.close();
  });

  /** The stored token set, opened with the test's copy of the key. */
  const storedTokens = async (b: BridgeUnderTest) => {
    const sealed = new SealedKv(b.bridge.store.state.kv, createSealer(decodeEncryptionKey(env.encryptionKey)!, 'test'));
    return (await sealed.getTokens('default'))?.value.cred;
  };

  it('logs in end to end through a browser and stores a token set whose access token the provider signed', async () => {
    const b = await bridge();
    const page = await browse(`${b.url}/auth/login`);
    // The browser went bridge → provider (authorize, interaction) → bridge callback.
    const auth = new URL(page.visited[1]!);
    expect(auth.origin + auth.pathname).toBe(`${env.oidc.issuer}/authorize`);
    expect(auth.searchParams.get('client_id')).toBe('bridge-web');
    expect(auth.searchParams.get('redirect_uri')).toBe(`${b.url}/auth/callback`);
    expect(auth.searchParams.get('code_challenge_method')).toBe('S256');
    expect(auth.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(auth.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(auth.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(auth.searchParams.get('scope')).toBe('openid read write offline_access');
    expect(page.url.startsWith(`${b.url}/auth/callback?`)).toBe(true);
    expect(page.status).toBe(200);
    const body = JSON.parse(page.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      ok: true,
      code: 'OAUTH_LOGGED_IN',
      profile: 'default',
      user: { id: 'user-1' },
      refreshable: true,
    });
    expect(env.oidc.stats.success.authorization_code).toBe(1);

    const cred = await storedTokens(b);
    expect(cred?.kind).toBe('oauth');
    expect(cred?.issuer).toBe(env.oidc.issuer);
    expect(cred?.clientId).toBe('bridge-web');
    expect(cred?.refreshToken).toBeTruthy();
    expect(cred?.idToken).toBeTruthy();
    const claims = await env.oidc.verifyAccessToken(cred!.accessToken!);
    expect(claims.sub).toBe('user-1');
    expect(claims.client_id).toBe('bridge-web');
    // The page the browser got names no token.
    for (const secret of [cred!.accessToken!, cred!.refreshToken!, cred!.idToken!])
      expect(page.body).not.toContain(secret);
    // The bridge's ByteRover client gets the login's key without a token request.
    const requests = env.oidc.tokenRequests();
    expect(await b.oauth.sessionProvider!.sessionKey()).toBe(cred!.sessionKey);
    expect(b.oauth.sessionProvider!.currentKey!()).toBe(cred!.sessionKey);
    expect(env.oidc.tokenRequests()).toBe(requests);
  });

  it('keeps tokens sealed at rest: neither the raw kv blob nor the database files hold a token, the state or the cookie', async () => {
    const b = await bridge();
    const begun = await beginLogin(b.url);
    const cb = await authorize(env, begun.authorizationUrl);
    expect((await callback(cb, { cookie: begun.cookie })).status).toBe(200);
    const cred = (await storedTokens(b))!;
    const secrets = [
      cred.accessToken!,
      cred.refreshToken!,
      cred.idToken!,
      cred.sessionKey,
      begun.state,
      begun.cookie.split('=')[1]!,
      cb.searchParams.get('code')!,
    ];
    // Substrings too: a 24-character slice of each token, in UTF-8 and base64 forms.
    const needles = secrets.flatMap((s) => [s, s.slice(10, 34), Buffer.from(s).toString('base64').slice(4, 28)]);

    const blob = (await b.bridge.store.state.kv.get(tokensKey('default')))!.value;
    expect(blob[0]).toBe(1); // sealed format v1: 0x01 | iv | tag | ciphertext
    const blobText = blob.toString('latin1');
    for (const n of needles) expect(blobText.includes(n)).toBe(false);

    const files = ['bridge.db', 'bridge.db-wal'].map((f) => join(env.dir, f)).filter((f) => existsSync(f));
    expect(files.length).toBeGreaterThan(0);
    const raw = files.map((f) => readFileSync(f).toString('latin1')).join('');
    expect(raw.length).toBeGreaterThan(blob.length);
    for (const n of needles) expect(raw.includes(n)).toBe(false);
    // The log holds none either.
    for (const s of secrets) expect(env.logs()).not.toContain(s);
  });

  it('/auth/status reports who, scopes and expiry without secrets; not logged in before', async () => {
    const b = await bridge();
    const before = await getJson(`${b.url}/auth/status`);
    expect(before.json).toMatchObject({
      ok: true,
      configured: true,
      loggedIn: false,
      reauthRequired: false,
      profile: 'default',
      clientId: 'bridge-web',
      loginUrl: '/auth/login',
    });
    await login(env, b.url);
    const after = await getJson(`${b.url}/auth/status`);
    expect(after.status).toBe(200);
    expect(after.json).toMatchObject({
      ok: true,
      configured: true,
      loggedIn: true,
      reauthRequired: false,
      issuer: env.oidc.issuer,
      redirectUri: `${b.url}/auth/callback`,
      credential: { kind: 'oauth', refreshable: true, user: { id: 'user-1' } },
    });
    const c = after.json.credential as { scope: string; expiresAt: string };
    expect(c.scope.split(' ')).toEqual(expect.arrayContaining(['read', 'write']));
    expect(typeof after.json.expiresInSeconds).toBe('number');
    const cred = (await storedTokens(b))!;
    for (const s of [cred.accessToken!, cred.refreshToken!, cred.idToken!]) expect(after.text).not.toContain(s);
  });

  it('any instance sharing the store completes a login another one started', async () => {
    const a = await bridge();
    const b = await bridge({ redirectUri: `${a.url}/auth/callback` });
    const r = await login(env, a.url, { at: b.url });
    expect(r.status).toBe(200);
    expect(r.json.code).toBe('OAUTH_LOGGED_IN');
    expect(await a.oauth.sessionProvider!.sessionKey()).toBe(await b.oauth.sessionProvider!.sessionKey());
  });

  it('a new login on one instance reaches the others once their in-memory copy is older than the recheck window (30 s)', async () => {
    const a = await bridge();
    const b = await bridge({ redirectUri: `${a.url}/auth/callback` });
    await login(env, a.url);
    const first = await b.oauth.sessionProvider!.sessionKey();
    await login(env, a.url);
    const second = await a.oauth.sessionProvider!.sessionKey();
    expect(second).not.toBe(first);
    expect(b.oauth.sessionProvider!.currentKey!()).toBe(first);
    env.clock.advance(31_000);
    expect(b.oauth.sessionProvider!.currentKey!()).toBeUndefined();
    expect(await b.oauth.sessionProvider!.sessionKey()).toBe(second);
    expect(env.oidc.refreshCount()).toBe(0);
  });

  it('answers a browser with an HTML page, and return_to with a 303 to that path', async () => {
    const b = await bridge();
    const begun = await beginLogin(b.url);
    const html = await callback(await authorize(env, begun.authorizationUrl), {
      cookie: begun.cookie,
      headers: { accept: 'text/html,application/xhtml+xml' },
    });
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html.headers.get('referrer-policy')).toBe('no-referrer');
    expect(html.text).toContain('Logged in to ByteRover');
    expect(html.text).toContain('signed in as user-1.');
    // The login cookie is cleared.
    expect(html.headers.getSetCookie()[0]).toMatch(new RegExp(`^${begun.cookie.split('=')[0]}=; .*Max-Age=0`));

    const withReturn = await login(env, b.url, { query: `?return_to=${encodeURIComponent('/auth/status?x=1')}` });
    expect(withReturn.status).toBe(303);
    expect(withReturn.headers.get('location')).toBe('/auth/status?x=1');
  });

  it('refuses a return_to that is not a same-origin path', async () => {
    const b = await bridge();
    for (const bad of [
      'https://evil.example/',
      '//evil.example/x',
      '/\\evil.example',
      'relative/path',
      '/\t/evil.example',
      'javascript:alert(1)',
    ]) {
      const r = await fetch(`${b.url}/auth/login?return_to=${encodeURIComponent(bad)}`, { redirect: 'manual' });
      expect(r.status, bad).toBe(400);
      expect(((await r.json()) as { code: string }).code).toBe('OAUTH_RETURN_TO_INVALID');
    }
  });

  it('HEAD /auth/login starts nothing: 405 with Allow: GET, no login record, no cookie', async () => {
    const b = await bridge();
    const r = await fetch(`${b.url}/auth/login`, { method: 'HEAD', redirect: 'manual' });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET');
    expect(r.headers.getSetCookie()).toEqual([]);
    expect(await b.bridge.store.state.kv.get('oauth:v1:logins')).toBeUndefined();
  });

  it('a confidential client authenticates with its secret (client_secret_basic), which never reaches the log', async () => {
    const b = await bridge({ oauth: { clientId: CONFIDENTIAL_CLIENT_ID, clientSecret: env.confidentialSecret } });
    const r = await login(env, b.url);
    expect(r.status).toBe(200);
    const cred = (await storedTokens(b))!;
    expect(cred.clientId).toBe(CONFIDENTIAL_CLIENT_ID);
    expect((await env.oidc.verifyAccessToken(cred.accessToken!)).client_id).toBe(CONFIDENTIAL_CLIENT_ID);
    expect(env.logs()).not.toContain(env.confidentialSecret);
  });

  it('a failed discovery pins the fixed endpoints for a minute only: discovery runs again and logins work', async () => {
    const { http, discoveries } = failingFirstDiscovery(env.http);
    const b = await bridge({ http });
    // Meanwhile the fixed endpoints stand in (with this provider the code exchange on them fails: 502).
    await beginLogin(b.url);
    expect(discoveries).toHaveLength(1);
    await beginLogin(b.url);
    expect(discoveries).toHaveLength(1);
    // Past the retry delay, discovery runs again, and logins work on the discovered endpoints.
    env.clock.advance(61_000);
    expect((await login(env, b.url)).status).toBe(200);
    expect(discoveries).toHaveLength(2);
    // A discovery that worked is kept.
    env.clock.advance(3_600_000);
    expect((await login(env, b.url)).status).toBe(200);
    expect(discoveries).toHaveLength(2);
  });

  it('refuses an account outside allowedSubjects and stores nothing', async () => {
    const b = await bridge({ oauth: { allowedSubjects: ['someone-else', 'boss@example.test'] } });
    const r = await login(env, b.url);
    expect(r.status).toBe(403);
    expect(r.json.code).toBe('OAUTH_SUBJECT_NOT_ALLOWED');
    expect(await b.bridge.store.state.kv.get(tokensKey('default'))).toBeUndefined();
    const ok = await bridge({
      dbPath: join(env.dir, 'other.db'),
      oauth: { allowedSubjects: ['someone-else', 'user-1'] },
    });
    expect((await login(env, ok.url)).status).toBe(200);
  });

  it('without an encryptionKey: a 0600 key file in the data dir, reused after a restart', async () => {
    const first = await bridge({ oauth: { encryptionKey: undefined } });
    const keyPath = join(env.dir, KEY_FILE_NAME);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    expect(statSync(keyPath).size).toBe(32);
    expect((await login(env, first.url)).status).toBe(200);
    const key = await first.oauth.sessionProvider!.sessionKey();
    await first.close();
    open.splice(open.indexOf(first), 1);
    const second = await bridge({ oauth: { encryptionKey: undefined } });
    expect(await second.oauth.sessionProvider!.sessionKey()).toBe(key);
    expect(readFileSync(keyPath).length).toBe(32);
  });

  it('an instance with another key refuses to start (OAUTH_KEY_MISMATCH); resetOnKeyMismatch discards the old login', async () => {
    const a = await bridge();
    await login(env, a.url);
    const other = Buffer.alloc(32, 7).toString('base64');
    const err = await startBridge(env, { oauth: { encryptionKey: other } }).catch((e: unknown) => e);
    expect(isClawError(err, 'OAUTH_KEY_MISMATCH')).toBe(true);
    expect((err as { hint: string }).hint).toContain('same bridge.oauth.encryptionKey');
    expect(String((err as Error).message)).not.toContain(other);

    const reset = await bridge({ oauth: { encryptionKey: other, resetOnKeyMismatch: true } });
    expect((await reset.oauth.status()) as Record<string, unknown>).toMatchObject({
      configured: true,
      loggedIn: false,
    });
    expect((await login(env, reset.url)).status).toBe(200);
  });

  it('not configured: /auth/login and /auth/callback answer 503 OAUTH_NOT_CONFIGURED with a hint; status says so', async () => {
    const b = await bridge({ oauth: null });
    expect(b.oauth.configured).toBe(false);
    expect(b.oauth.sessionProvider).toBeUndefined();
    for (const path of ['/auth/login', '/auth/callback?code=x&state=y']) {
      const r = await getJson(`${b.url}${path}`);
      expect(r.status).toBe(503);
      expect(r.json).toMatchObject({ ok: false, code: 'OAUTH_NOT_CONFIGURED' });
      expect(String(r.json.hint)).toContain('bridge.oauth.issuer');
    }
    expect((await getJson(`${b.url}/auth/status`)).json).toEqual({ ok: true, configured: false });
  });
});
