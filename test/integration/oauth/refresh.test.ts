/**
 * Refresh of the web login's tokens across bridge instances sharing one store, against a real
 * oidc-provider with rotating refresh tokens (where two concurrent refreshes revoke the grant):
 * exactly one refresh_token grant reaches the provider however many callers on however many
 * instances, counted by the provider's own `grant.success` / `grant.error` events. Run on SQLite (two
 * bridges over one database file) and PostgreSQL (two bridges on one schema; skipped locally without
 * PostgreSQL, failing in CI). Time moves by the test clock, never by waiting.
 */
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  PostgresStore,
  SqliteStore,
  type BridgeStore,
  type KvStore,
  type LockStore,
  type StateStore,
} from '../../../lib/bridge/store/index.js';
import { REFRESH_LEASE_LOST } from '../../../lib/bridge/oauth/session.js';
import type { HttpClient } from '../../../lib/http/types.js';
import { decodeEncryptionKey } from '../../../lib/bridge/oauth/config.js';
import { createSealer, SealedKv, tokensKey } from '../../../lib/bridge/oauth/index.js';
import { isClawError } from '../../../lib/errors.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../../servers/postgres.js';
import {
  login,
  startBridge,
  startOAuthEnv,
  WEB_CLIENT_ID,
  type BridgeUnderTest,
  type OAuthEnv,
  type StartBridgeOptions,
} from './setup.js';
import { pollUntil } from '../../helpers/timeout.js';

const TTL = 600;
/** Into the last 30 s of the access token's life (the refresh margin is 60 s). */
const ABOUT_TO_EXPIRE_MS = (TTL - 30) * 1000;

interface Backend {
  name: string;
  skip: string | undefined;
  /** Options for two bridges sharing one store. */
  pair(env: OAuthEnv): Promise<[StartBridgeOptions, StartBridgeOptions]>;
  stop(): Promise<void>;
}

let pg: PostgresServer | undefined;
const opened: BridgeStore[] = [];

const backends: Backend[] = [
  {
    name: 'SQLite (two bridges over one database file)',
    skip: undefined,
    async pair(env) {
      const dbPath = `${env.dir}/shared-${randomBytes(4).toString('hex')}.db`;
      return [{ dbPath }, { dbPath }];
    },
    async stop() {},
  },
  {
    name: 'PostgreSQL (two bridges on one schema)',
    skip: postgresMissing(),
    async pair() {
      pg ??= await startPostgres();
      const schema = `oauth_${randomBytes(4).toString('hex')}`;
      const a = await PostgresStore.open({ url: pg.url, schema });
      const b = await PostgresStore.open({ url: pg.url, schema });
      opened.push(a, b);
      return [{ store: a }, { store: b }];
    },
    async stop() {
      await pg?.close();
      pg = undefined;
    },
  },
];

for (const backend of backends) {
  describe.skipIf(backend.skip)(`bridge OAuth refresh across instances: ${backend.name}`, () => {
    let env: OAuthEnv;
    let a: BridgeUnderTest;
    let b: BridgeUnderTest;
    beforeEach(async () => {
      env = await startOAuthEnv({ accessTokenTTL: TTL });
      const [oa, ob] = await backend.pair(env);
      a = await startBridge(env, oa);
      b = await startBridge(env, { ...ob, redirectUri: `${a.url}/auth/callback` });
      expect((await login(env, a.url)).status).toBe(200);
    });
    afterEach(async () => {
      await a?.close();
      await b?.close();
      for (const st of opened.splice(0)) await st.close();
      await env?.close();
    });
    afterAll(() => backend.stop());

    const stored = async () => {
      const sealed = new SealedKv(
        a.bridge.store.state.kv,
        createSealer(decodeEncryptionKey(env.encryptionKey)!, 'test'),
      );
      return (await sealed.getTokens('default'))!.value;
    };

    it('20 concurrent sessionKey() callers on each of two instances, token about to expire: exactly one refresh grant, one new key everywhere', async () => {
      const spA = a.oauth.sessionProvider!;
      const spB = b.oauth.sessionProvider!;
      const old = await spA.sessionKey();
      expect(await spB.sessionKey()).toBe(old); // both instances hold the record in memory
      expect(env.oidc.refreshCount()).toBe(0);

      env.clock.advance(ABOUT_TO_EXPIRE_MS);
      expect(spA.currentKey!()).toBeUndefined();
      const keys = await Promise.all([
        ...Array.from({ length: 20 }, () => spA.sessionKey()),
        ...Array.from({ length: 20 }, () => spB.sessionKey()),
      ]);

      expect(env.oidc.refreshCount()).toBe(1);
      expect(env.oidc.stats.errors).toEqual([]);
      expect(env.oidc.stats.revokedGrants).toBe(0);
      expect(new Set(keys).size).toBe(1);
      const key = keys[0]!;
      expect(key).not.toBe(old);
      const rec = await stored();
      expect(rec.cred.sessionKey).toBe(key);
      await env.oidc.verifyAccessToken(key);
      // One instance refreshed; the other used its result (by waiting on the lease, or by reading it).
      const events = [...a.refreshes, ...b.refreshes];
      expect(events.filter((r) => r === 'ok')).toHaveLength(1);
      expect(events.every((r) => r === 'ok' || r === 'joined')).toBe(true);
      expect(spA.currentKey!()).toBe(key);
      expect(spB.currentKey!()).toBe(key);
      for (const i of [...a.refreshInfo, ...b.refreshInfo]) expect(i.reason).toBe('expiry');
    });

    it('the rotated refresh token is persisted and is the live one: the next refresh works, the old token is dead', async () => {
      const before = await stored();
      env.clock.advance(ABOUT_TO_EXPIRE_MS);
      await b.oauth.sessionProvider!.sessionKey();
      const after = await stored();
      expect(after.cred.refreshToken).not.toBe(before.cred.refreshToken);
      // The next expiry: the other instance refreshes with the persisted (rotated) token.
      env.clock.advance(TTL * 1000);
      await a.oauth.sessionProvider!.sessionKey();
      expect(env.oidc.refreshCount()).toBe(2);
      expect(env.oidc.stats.errors).toEqual([]);
      // Rotation is real: the first refresh token is refused now.
      const raw = await oidc.discovery(new URL(env.oidc.issuer), WEB_CLIENT_ID, undefined, oidc.None(), {
        execute: [oidc.allowInsecureRequests],
      });
      const err = await oidc.refreshTokenGrant(raw, before.cred.refreshToken!).catch((e: unknown) => e);
      expect((err as oidc.ResponseBodyError).error).toBe('invalid_grant');
    });

    it('20 concurrent 401s (onUnauthorized) on each instance force exactly one refresh; every caller gets a new key', async () => {
      const rejected = await a.oauth.sessionProvider!.sessionKey();
      await b.oauth.sessionProvider!.sessionKey();
      const answers = await Promise.all([
        ...Array.from({ length: 20 }, () => a.oauth.sessionProvider!.onUnauthorized!(rejected)),
        ...Array.from({ length: 20 }, () => b.oauth.sessionProvider!.onUnauthorized!(rejected)),
      ]);
      expect(answers.every(Boolean)).toBe(true);
      expect(env.oidc.refreshCount()).toBe(1);
      const infos = [...a.refreshInfo, ...b.refreshInfo];
      expect(infos.length).toBeGreaterThan(0);
      for (const i of infos) expect(i).toMatchObject({ profile: 'default', reason: 'rejected' });
      expect(env.oidc.stats.errors).toEqual([]);
      const next = await b.oauth.sessionProvider!.sessionKey();
      expect(next).not.toBe(rejected);
      expect(await a.oauth.sessionProvider!.sessionKey()).toBe(next);
    });

    it('invalid_grant: AUTH_REAUTH_REQUIRED pointing at /auth/login on both instances, one failed grant, no retries until a new login', async () => {
      const rec = await stored();
      // The refresh token is used elsewhere (rotated without the result written back): ours is now dead.
      const raw = await oidc.discovery(new URL(env.oidc.issuer), WEB_CLIENT_ID, undefined, oidc.None(), {
        execute: [oidc.allowInsecureRequests],
      });
      await oidc.refreshTokenGrant(raw, rec.cred.refreshToken!);
      env.clock.advance(ABOUT_TO_EXPIRE_MS);

      const results = await Promise.allSettled([
        ...Array.from({ length: 5 }, () => a.oauth.sessionProvider!.sessionKey()),
        ...Array.from({ length: 5 }, () => b.oauth.sessionProvider!.sessionKey()),
      ]);
      for (const r of results) {
        expect(r.status).toBe('rejected');
        const e = (r as PromiseRejectedResult).reason as { code: string; hint: string; message: string };
        expect(isClawError(e, 'AUTH_REAUTH_REQUIRED')).toBe(true);
        expect(e.hint).toContain('/auth/login');
        expect(e.message).toContain('invalid_grant');
        expect(e.message).not.toContain(rec.cred.refreshToken!);
      }
      expect(env.oidc.stats.errors.filter((e) => e.grant === 'refresh_token').map((e) => e.error)).toEqual([
        'invalid_grant',
      ]);
      expect([...a.refreshes, ...b.refreshes]).toContain('reauth');

      // Marked in the store: nobody tries the dead token again.
      const requests = env.oidc.tokenRequests();
      await expect(b.oauth.sessionProvider!.sessionKey()).rejects.toMatchObject({ code: 'AUTH_REAUTH_REQUIRED' });
      expect(await a.oauth.sessionProvider!.onUnauthorized!(rec.cred.sessionKey)).toBe(false);
      expect(env.oidc.tokenRequests()).toBe(requests);
      expect(await b.oauth.status()).toMatchObject({ configured: true, loggedIn: false, reauthRequired: true });

      // A new web login clears it, on every instance.
      expect((await login(env, a.url)).status).toBe(200);
      expect(await b.oauth.status()).toMatchObject({ loggedIn: true, reauthRequired: false });
      const key = await b.oauth.sessionProvider!.sessionKey();
      expect(key).toBe(await a.oauth.sessionProvider!.sessionKey());
      await env.oidc.verifyAccessToken(key);
    });
  });
}

describe('bridge OAuth refresh: an instance that does not hold the lease waits instead of refreshing (SQLite)', () => {
  let env: OAuthEnv;
  let a: BridgeUnderTest;
  let reads = 0;
  beforeAll(async () => {
    env = await startOAuthEnv({ accessTokenTTL: TTL });
  });
  afterAll(async () => {
    await env?.close();
  });
  beforeEach(async () => {
    reads = 0;
    a = await startBridge(env, {
      dbPath: `${env.dir}/lease-${randomBytes(4).toString('hex')}.db`,
      oauth: { refreshWaitMs: 45_000, refreshLeaseMs: 30_000 },
    });
    // Count this instance's reads of the token record (to know it is polling while the lease is held).
    const kv = a.bridge.store.state.kv;
    const get = kv.get.bind(kv);
    (kv as { get: StateStore['kv']['get'] }).get = (k) => {
      if (k === tokensKey('default')) reads++;
      return get(k);
    };
    expect((await login(env, a.url)).status).toBe(200);
  });
  afterEach(async () => {
    await a?.close();
  });

  const untilReads = async (n: number): Promise<void> => {
    await pollUntil(() => reads >= n, { intervalMs: 5 });
    expect(reads).toBeGreaterThanOrEqual(n);
  };

  it('another holder (a crashed instance) keeps the lease: this one polls without refreshing, then takes over once the lease expires', async () => {
    const locks = a.bridge.store.state.locks;
    await a.oauth.sessionProvider!.sessionKey();
    env.clock.advance(ABOUT_TO_EXPIRE_MS);
    expect(await locks.acquire('oauth-refresh:default', 'crashed-instance', 30_000, env.clock.now())).toBe(true);
    const refreshesBefore = env.oidc.refreshCount();
    const pending = a.oauth.sessionProvider!.sessionKey();
    const readsBefore = reads;
    await untilReads(readsBefore + 3); // several polls while the lease is held …
    expect(env.oidc.refreshCount()).toBe(refreshesBefore); // … and no refresh
    env.clock.advance(31_000); // the crashed holder's lease runs out
    const key = await pending;
    expect(env.oidc.refreshCount()).toBe(refreshesBefore + 1);
    expect(a.refreshes).toEqual(['ok']);
    await env.oidc.verifyAccessToken(key);
  });

  it('gives up with OAUTH_REFRESH_TIMEOUT after refreshWaitMs when the holder neither finishes nor lets go', async () => {
    const locks = a.bridge.store.state.locks;
    await a.oauth.sessionProvider!.sessionKey();
    env.clock.advance(ABOUT_TO_EXPIRE_MS);
    expect(await locks.acquire('oauth-refresh:default', 'stuck-instance', 600_000, env.clock.now())).toBe(true);
    const refreshesBefore = env.oidc.refreshCount();
    const pending = a.oauth.sessionProvider!.sessionKey().catch((e: unknown) => e);
    await untilReads(reads + 2);
    env.clock.advance(46_000);
    const err = await pending;
    expect(isClawError(err, 'OAUTH_REFRESH_TIMEOUT')).toBe(true);
    expect((err as { hint: string }).hint).toContain('lease');
    expect(env.oidc.refreshCount()).toBe(refreshesBefore);
    expect(a.refreshes).toEqual(['failed']);
  });
});

/** A promise with its resolver. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * The real SQLite store with two hooks for instance A: `acquire` may answer for the keep-alive, and
 * `get` may hold a read's answer. Everything else is the real store.
 */
function hookedStore(real: BridgeStore, hooks: { acquire?: LockStore['acquire']; get?: KvStore['get'] }): BridgeStore {
  const st = real.state;
  const locks: LockStore = {
    acquire: hooks.acquire ?? ((...a) => st.locks.acquire(...a)),
    release: (n, ow) => st.locks.release(n, ow),
  };
  const kv: KvStore = {
    get: hooks.get ?? ((k) => st.kv.get(k)),
    set: (...a) => st.kv.set(...a),
    delete: (k) => st.kv.delete(k),
  };
  const state: StateStore = {
    kind: st.kind,
    dedupe: st.dedupe,
    idempotency: st.idempotency,
    kv,
    locks,
    prune: (p) => st.prune(p),
    close: () => st.close(),
  };
  return { state, queue: real.queue, close: () => real.close() };
}

describe('bridge OAuth refresh: a holder that loses the lease mid-refresh does not spend the refresh token (SQLite, two bridges over one file)', () => {
  const LEASE_MS = 1000; // the keep-alive renews every third of it
  let env: OAuthEnv;
  let a: BridgeUnderTest;
  let b: BridgeUnderTest;
  let realA: BridgeStore;
  /** Set while a test wants A's lease "taken": A's keep-alive renewals answer false. */
  let hook: {
    armed: boolean;
    held: boolean;
    /** Renewals fail as with the store unreachable (instead of answering false); counts them. */
    unreachable: boolean;
    failedRenewals: number;
    keepAliveFalse: ReturnType<typeof deferred>;
    gate: ReturnType<typeof deferred>;
    tokenGate: ReturnType<typeof deferred> | undefined;
  };
  beforeEach(async () => {
    env = await startOAuthEnv({ accessTokenTTL: TTL });
    hook = {
      armed: false,
      held: false,
      unreachable: false,
      failedRenewals: 0,
      keepAliveFalse: deferred(),
      gate: deferred(),
      tokenGate: undefined,
    };
    const dbPath = `${env.dir}/lost-${randomBytes(4).toString('hex')}.db`;
    realA = await SqliteStore.open({ path: dbPath });
    const store = hookedStore(realA, {
      // The first acquire while armed is the real one (A takes the lease); the keep-alive's renewals
      // after it are told the lease is someone else's, as the store answers once another instance took it.
      acquire: async (name, owner, ttl, now) => {
        if (!hook.armed) return realA.state.locks.acquire(name, owner, ttl, now);
        if (!hook.held) {
          hook.held = await realA.state.locks.acquire(name, owner, ttl, now);
          return hook.held;
        }
        if (hook.unreachable) {
          hook.failedRenewals++;
          throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
        }
        hook.keepAliveFalse.resolve();
        return false;
      },
      // A's read of the token record inside the lease answers late (a slow store): with the record as it was.
      get: async (k) => {
        const v = await realA.state.kv.get(k);
        if (hook.armed && hook.held && k === tokensKey('default')) await hook.gate.promise;
        return v;
      },
    });
    // A's transport can hold the token endpoint's answer to a refresh grant (the grant is then sent).
    const http: HttpClient = {
      request: async (req) => {
        const r = await env.http.request(req);
        if (hook.tokenGate && typeof req.body === 'string' && req.body.includes('grant_type=refresh_token'))
          await hook.tokenGate.promise;
        return r as never;
      },
      close: () => env.http.close(),
    };
    const oauth = { refreshLeaseMs: LEASE_MS };
    a = await startBridge(env, { store, oauth, http });
    b = await startBridge(env, { dbPath, oauth, redirectUri: `${a.url}/auth/callback` });
    expect((await login(env, a.url)).status).toBe(200);
  });
  afterEach(async () => {
    hook.gate.resolve();
    hook.tokenGate?.resolve();
    await a?.close();
    await b?.close();
    await realA?.close();
    await env?.close();
  });

  const refreshGrants = (): number =>
    env.oidc.refreshCount() + env.oidc.stats.errors.filter((e) => e.grant === 'refresh_token').length;

  it('lease taken before the grant is sent: the holder aborts with OAUTH_REFRESH_LEASE_LOST, the new holder refreshes; exactly one refresh grant', async () => {
    const old = await a.oauth.sessionProvider!.sessionKey();
    expect(await b.oauth.sessionProvider!.sessionKey()).toBe(old);
    env.clock.advance(ABOUT_TO_EXPIRE_MS);
    hook.armed = true;
    const pending = a.oauth.sessionProvider!.sessionKey().catch((e: unknown) => e);
    // A holds the lease and re-reads the record inside it (held by the slow store); its keep-alive learns the lease is gone.
    await hook.keepAliveFalse.promise;
    // A's lease has run out in the store; B takes it and refreshes.
    env.clock.advance(2 * LEASE_MS);
    const key = await b.oauth.sessionProvider!.sessionKey();
    expect(key).not.toBe(old);
    expect(b.refreshes).toEqual(['ok']);
    // Now A's read answers, with the record as it was before B's refresh (stale).
    hook.gate.resolve();
    const err = await pending;
    expect(isClawError(err, REFRESH_LEASE_LOST)).toBe(true);
    expect((err as Error).message).toContain('the refresh token was not used');
    expect((err as { hint: string }).hint).toContain('retry');
    expect(a.refreshes).toEqual(['failed']);
    expect(a.refreshInfo[0]).toMatchObject({ code: REFRESH_LEASE_LOST, leaseLost: true });
    expect(env.logs()).toContain('lost the refresh lease');

    expect(refreshGrants()).toBe(1);
    expect(env.oidc.stats.errors).toEqual([]);
    expect(env.oidc.stats.revokedGrants).toBe(0);
    // A retries: it uses B's result without another grant.
    hook.armed = false;
    expect(await a.oauth.sessionProvider!.sessionKey()).toBe(key);
    expect(refreshGrants()).toBe(1);
    await env.oidc.verifyAccessToken(key);
  });

  it('store unreachable for a whole lease before the grant: the holder cannot know the lease is still its own and aborts; no refresh grant', async () => {
    await a.oauth.sessionProvider!.sessionKey();
    env.clock.advance(ABOUT_TO_EXPIRE_MS);
    hook.armed = true;
    hook.unreachable = true;
    const pending = a.oauth.sessionProvider!.sessionKey().catch((e: unknown) => e);
    // Renewals fail every third of the lease; once a whole lease went unconfirmed the holder gives it up.
    for (let i = 0; i < 1000 && !env.logs().includes('lost the refresh lease'); i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(hook.failedRenewals).toBeGreaterThanOrEqual(1);
    expect(env.logs()).toContain('no renewal confirmed by the store');
    hook.gate.resolve();
    const err = await pending;
    expect(isClawError(err, REFRESH_LEASE_LOST)).toBe(true);
    expect((err as Error).message).toContain('no renewal confirmed by the store');
    expect(a.refreshInfo[0]).toMatchObject({ code: REFRESH_LEASE_LOST, leaseLost: true });
    expect(refreshGrants()).toBe(0);
  });

  it('lease lost while the grant is in flight: the result is written by compare-and-set over the version read, reported leaseLost, and is the live one', async () => {
    const before = (await new SealedKv(
      realA.state.kv,
      createSealer(decodeEncryptionKey(env.encryptionKey)!, 'test'),
    ).getTokens('default'))!;
    env.clock.advance(ABOUT_TO_EXPIRE_MS);
    hook.tokenGate = deferred();
    hook.armed = true;
    hook.gate.resolve(); // the read inside the lease answers at once
    const pending = a.oauth.sessionProvider!.sessionKey();
    await hook.keepAliveFalse.promise; // the grant was sent; its answer is held; the lease is lost meanwhile
    hook.tokenGate.resolve();
    const key = await pending;
    expect(a.refreshes).toEqual(['ok']);
    expect(a.refreshInfo[0]).toMatchObject({ leaseLost: true });
    expect(env.logs()).toContain('lost while the grant was in flight');
    const after = (await new SealedKv(
      realA.state.kv,
      createSealer(decodeEncryptionKey(env.encryptionKey)!, 'test'),
    ).getTokens('default'))!;
    expect(after.version).toBe(before.version + 1);
    expect(after.value.cred.sessionKey).toBe(key);
    expect(after.value.cred.refreshToken).not.toBe(before.value.cred.refreshToken);
    hook.armed = false;
    expect(await b.oauth.sessionProvider!.sessionKey()).toBe(key);
    expect(refreshGrants()).toBe(1);
    expect(env.oidc.stats.errors).toEqual([]);
  });

  it('lease lost while the grant is in flight and a new login is stored meanwhile: the login is kept, not overwritten', async () => {
    env.clock.advance(ABOUT_TO_EXPIRE_MS);
    hook.tokenGate = deferred();
    hook.armed = true;
    hook.gate.resolve();
    const pending = a.oauth.sessionProvider!.sessionKey();
    await hook.keepAliveFalse.promise;
    expect((await login(env, a.url)).status).toBe(200); // a new web login writes a newer record
    const sealed = new SealedKv(realA.state.kv, createSealer(decodeEncryptionKey(env.encryptionKey)!, 'test'));
    const loggedIn = (await sealed.getTokens('default'))!;
    hook.tokenGate.resolve();
    const key = await pending;
    expect(key).toBe(loggedIn.value.cred.sessionKey);
    expect(a.refreshes).toEqual(['joined']);
    expect(a.refreshInfo[0]).toMatchObject({ leaseLost: true });
    expect(env.logs()).toContain('the store holds a newer record, which is kept');
    const now = (await sealed.getTokens('default'))!;
    expect(now.version).toBe(loggedIn.version);
    expect(now.value.cred.refreshToken).toBe(loggedIn.value.cred.refreshToken);
    expect(refreshGrants()).toBe(1);
  });
});
