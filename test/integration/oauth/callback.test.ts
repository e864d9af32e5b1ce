/**
 * /auth/callback under attack and misuse, against a real oidc-provider: each case asserts the status,
 * the stable code, the "start again from /auth/login" hint, and what reached the provider's token
 * endpoint and the store (nothing, unless the case says otherwise).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeEncryptionKey } from '../../../lib/bridge/oauth/config.js';
import { createSealer, loginIdOf, loginKey, SealedKv, tokensKey } from '../../../lib/bridge/oauth/index.js';
import { LoginRecordSchema } from '../../../lib/bridge/oauth/records.js';
import {
  authorize,
  beginLogin,
  callback,
  getJson,
  startBridge,
  startOAuthEnv,
  type BridgeUnderTest,
  type OAuthEnv,
  type Reply,
} from './setup.js';

describe('bridge /auth/callback: state, replay, expiry, provider errors, tampering', () => {
  let env: OAuthEnv;
  let b: BridgeUnderTest;
  let sealed: SealedKv;
  beforeAll(async () => {
    env = await startOAuthEnv();
    b = await startBridge(env, { oauth: { loginTtlSeconds: 300 } });
    sealed = new SealedKv(b.bridge.store.state.kv, createSealer(decodeEncryptionKey(env.encryptionKey)!, 'test'));
  });
  afterAll(async () => {
    await b?.close();
    await env?.close();
  });
  beforeEach(async () => {
    await b.bridge.store.state.kv.delete(tokensKey('default'));
  });

  const codeGrants = (): number => env.oidc.stats.success.authorization_code ?? 0;
  const stored = async (): Promise<boolean> => (await b.bridge.store.state.kv.get(tokensKey('default'))) !== undefined;
  const refused = (r: Reply, status: number, code: string): void => {
    expect(r.status, r.text).toBe(status);
    expect(r.json).toMatchObject({ ok: false, code });
    expect(String(r.json.hint)).toMatch(/\/auth\/login|issuer/);
  };

  it('no state: 400 OAUTH_STATE_MISSING; an error without state names the provider error', async () => {
    refused(await getJson(`${b.url}/auth/callback?code=abc`), 400, 'OAUTH_STATE_MISSING');
    const e = await getJson(`${b.url}/auth/callback?error=server_error&error_description=down`);
    refused(e, 400, 'OAUTH_PROVIDER_ERROR');
    expect(String(e.json.message)).toContain('"server_error"');
  });

  it('unknown state (random, or one character changed): 400 OAUTH_STATE_UNKNOWN; the genuine login still finishes afterwards', async () => {
    refused(
      await getJson(`${b.url}/auth/callback?code=abc&state=${randomBytes(32).toString('base64url')}`),
      400,
      'OAUTH_STATE_UNKNOWN',
    );
    const begun = await beginLogin(b.url);
    const cb = await authorize(env, begun.authorizationUrl);
    const tampered = new URL(cb);
    const s = begun.state;
    tampered.searchParams.set('state', `${s.slice(0, -1)}${s.endsWith('A') ? 'B' : 'A'}`);
    const grants = codeGrants();
    refused(await callback(tampered, { cookie: begun.cookie }), 400, 'OAUTH_STATE_UNKNOWN');
    expect(codeGrants()).toBe(grants);
    expect(await stored()).toBe(false);
    expect((await callback(cb, { cookie: begun.cookie })).status).toBe(200);
    expect(codeGrants()).toBe(grants + 1);
  });

  it('replay of a finished callback: 400 OAUTH_STATE_USED, no second code exchange', async () => {
    const begun = await beginLogin(b.url);
    const cb = await authorize(env, begun.authorizationUrl);
    expect((await callback(cb, { cookie: begun.cookie })).status).toBe(200);
    const grants = codeGrants();
    const errors = env.oidc.stats.errors.length;
    const again = await callback(cb, { cookie: begun.cookie });
    refused(again, 400, 'OAUTH_STATE_USED');
    expect(String(again.json.hint)).toContain('/auth/status');
    expect(codeGrants()).toBe(grants);
    expect(env.oidc.stats.errors.length).toBe(errors);
  });

  it('two callbacks racing with the same state: exactly one succeeds, one code exchange', async () => {
    const begun = await beginLogin(b.url);
    const cb = await authorize(env, begun.authorizationUrl);
    const grants = codeGrants();
    const replies = await Promise.all(Array.from({ length: 6 }, () => callback(cb, { cookie: begun.cookie })));
    expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of replies.filter((x) => x.status !== 200)) refused(r, 400, 'OAUTH_STATE_USED');
    expect(codeGrants()).toBe(grants + 1);
  });

  it('expired login (the clock moved past loginTtlSeconds): 400 OAUTH_STATE_EXPIRED, no code exchange', async () => {
    const begun = await beginLogin(b.url);
    const cb = await authorize(env, begun.authorizationUrl);
    const requests = env.oidc.tokenRequests();
    env.clock.advance(301_000);
    try {
      const r = await callback(cb, { cookie: begun.cookie });
      refused(r, 400, 'OAUTH_STATE_EXPIRED');
      expect(String(r.json.message)).toContain('300 s');
    } finally {
      env.clock.advance(-301_000);
    }
    expect(env.oidc.tokenRequests()).toBe(requests);
    expect(await stored()).toBe(false);
  });

  it('the provider answers with error=access_denied: 400 OAUTH_PROVIDER_ERROR naming it; the state is spent', async () => {
    const begun = await beginLogin(b.url);
    env.oidc.denyNextLogin('access_denied');
    const cb = await authorize(env, begun.authorizationUrl);
    expect(cb.searchParams.get('error')).toBe('access_denied');
    const r = await callback(cb, { cookie: begun.cookie });
    refused(r, 400, 'OAUTH_PROVIDER_ERROR');
    expect(String(r.json.message)).toContain('"access_denied"');
    expect(String(r.json.hint)).toContain('approve');
    refused(await callback(cb, { cookie: begun.cookie }), 400, 'OAUTH_STATE_USED');
    expect(await stored()).toBe(false);
  });

  it('a callback from a browser that did not start the login (no or wrong cookie): 400 OAUTH_BROWSER_MISMATCH, the login stays open for its browser', async () => {
    const begun = await beginLogin(b.url);
    const cb = await authorize(env, begun.authorizationUrl);
    const grants = codeGrants();
    refused(await callback(cb), 400, 'OAUTH_BROWSER_MISMATCH');
    const name = begun.cookie.split('=')[0]!;
    refused(
      await callback(cb, { cookie: `${name}=${randomBytes(32).toString('base64url')}` }),
      400,
      'OAUTH_BROWSER_MISMATCH',
    );
    // Another login's cookie does not fit either.
    const other = await beginLogin(b.url);
    refused(await callback(cb, { cookie: other.cookie }), 400, 'OAUTH_BROWSER_MISMATCH');
    expect(codeGrants()).toBe(grants);
    expect((await callback(cb, { cookie: begun.cookie })).status).toBe(200);
  });

  it('a tampered code: the token endpoint refuses it, 502 OAUTH_TOKEN_EXCHANGE_FAILED with invalid_grant, nothing stored', async () => {
    const begun = await beginLogin(b.url);
    const cb = await authorize(env, begun.authorizationUrl);
    cb.searchParams.set('code', `${cb.searchParams.get('code')}x`);
    const r = await callback(cb, { cookie: begun.cookie });
    refused(r, 502, 'OAUTH_TOKEN_EXCHANGE_FAILED');
    expect(String(r.json.message)).toContain('"invalid_grant"');
    expect(env.oidc.stats.errors.at(-1)).toMatchObject({ grant: 'authorization_code', error: 'invalid_grant' });
    expect(await stored()).toBe(false);
  });

  it('no code and no error: 400 OAUTH_CODE_MISSING', async () => {
    const begun = await beginLogin(b.url);
    const cb = await authorize(env, begun.authorizationUrl);
    cb.searchParams.delete('code');
    refused(await callback(cb, { cookie: begun.cookie }), 400, 'OAUTH_CODE_MISSING');
  });

  it('an ID token whose nonce is not the one this login sent: 400 OAUTH_ID_TOKEN_INVALID, nothing stored', async () => {
    const begun = await beginLogin(b.url);
    const cb = await authorize(env, begun.authorizationUrl);
    // Swap the nonce kept for this login (the provider put the original one in the ID token).
    const key = loginKey(loginIdOf(begun.state));
    const rec = (await sealed.get(key, LoginRecordSchema))!;
    expect(rec.value.kind).toBe('pending');
    await sealed.set(key, { ...rec.value, nonce: 'not-the-nonce-sent' }, env.clock.now(), rec.version);
    const r = await callback(cb, { cookie: begun.cookie });
    refused(r, 400, 'OAUTH_ID_TOKEN_INVALID');
    expect(String(r.json.message)).toContain('nonce');
    expect(await stored()).toBe(false);
  });

  it('a login record swapped under another login id fails authentication (AES-GCM binds the key): 400 OAUTH_STATE_UNKNOWN', async () => {
    const first = await beginLogin(b.url);
    const second = await beginLogin(b.url);
    const cb = await authorize(env, second.authorizationUrl);
    const kv = b.bridge.store.state.kv;
    const firstBlob = (await kv.get(loginKey(loginIdOf(first.state))))!.value;
    await kv.set(loginKey(loginIdOf(second.state)), firstBlob, env.clock.now());
    refused(await callback(cb, { cookie: second.cookie }), 400, 'OAUTH_STATE_UNKNOWN');
    expect(env.logs()).toContain('a login record failed to open');
  });

  it('pending logins are capped (429 OAUTH_TOO_MANY_LOGINS) and expired ones are deleted by later logins', async () => {
    const small = await startBridge(env, {
      dbPath: `${env.dir}/cap.db`,
      oauth: { maxPendingLogins: 3, loginTtlSeconds: 60 },
    });
    try {
      const begun = [await beginLogin(small.url), await beginLogin(small.url), await beginLogin(small.url)];
      const r = await fetch(`${small.url}/auth/login`, { redirect: 'manual' });
      expect(r.status).toBe(429);
      expect(((await r.json()) as { code: string }).code).toBe('OAUTH_TOO_MANY_LOGINS');
      const kv = small.bridge.store.state.kv;
      for (const x of begun) expect(await kv.get(loginKey(loginIdOf(x.state)))).toBeDefined();
      // Past expiry plus one TTL of grace, the next login sweeps the old records away.
      env.clock.advance(121_000);
      try {
        await beginLogin(small.url);
        for (const x of begun) expect(await kv.get(loginKey(loginIdOf(x.state)))).toBeUndefined();
      } finally {
        env.clock.advance(-121_000);
      }
    } finally {
      await small.close();
    }
  });
});
