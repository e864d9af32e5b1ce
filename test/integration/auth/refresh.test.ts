/**
 * Refresh with rotating refresh tokens against a real oidc-provider (resilience.md pitfall 1):
 * one refresh per credential however many callers, the rotated refresh token persisted before use,
 * invalid_grant → store re-read → AUTH_REAUTH_REQUIRED. Refreshes are counted by the provider's own
 * `grant.success` / `grant.error` events.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import { isClawError } from '../../../lib/errors.js';
import { createFileTokenStore, createSessionProvider } from '../../../lib/byterover/auth/index.js';
import { expireStored, loginPlayingBrowser, startAuthEnv, wrapStore, type AuthEnv } from './setup.js';

/** A plain openid-client view of the provider, to act on tokens outside the code under test. */
async function rawClient(env: AuthEnv): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(env.oidc.issuer), 'byterover-cli-client', undefined, oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
}

describe('refresh with rotating refresh tokens (real oidc-provider)', () => {
  let env: AuthEnv;
  beforeEach(async () => {
    env = await startAuthEnv();
    await loginPlayingBrowser(env);
  });
  afterEach(async () => {
    await env.close();
  });

  it('serves a fresh token without refreshing, then refreshes an expired one and persists the rotated refresh token', async () => {
    const before = await env.store.load();
    const sp = createSessionProvider({ store: env.store, http: env.http, logger: env.logger });
    expect(await sp.sessionKey()).toBe(before!.sessionKey);
    expect(env.oidc.refreshCount()).toBe(0);

    const expired = await expireStored(env.store);
    const sp2 = createSessionProvider({ store: env.store, http: env.http, logger: env.logger });
    const key = await sp2.sessionKey();
    expect(env.oidc.refreshCount()).toBe(1);
    const after = await env.store.load();
    expect(key).toBe(after!.sessionKey);
    expect(key).not.toBe(expired.sessionKey);
    expect(after!.refreshToken).not.toBe(expired.refreshToken); // rotated …
    expect(after!.version).toBe(expired.version + 1);
    await env.oidc.verifyAccessToken(key); // … and the new access token is genuine

    // Rotation is real: the old refresh token is now refused by the provider.
    const raw = await rawClient(env);
    const err = await oidc.refreshTokenGrant(raw, expired.refreshToken!).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(oidc.ResponseBodyError);
    expect((err as oidc.ResponseBodyError).error).toBe('invalid_grant');
  });

  it('the hazard is real here: two parallel refreshes with one refresh token revoke the whole grant', async () => {
    const cred = await env.store.load();
    const raw = await rawClient(env);
    const results = await Promise.allSettled([
      oidc.refreshTokenGrant(raw, cred!.refreshToken!),
      oidc.refreshTokenGrant(raw, cred!.refreshToken!),
    ]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r) => r.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(failed).toHaveLength(1);
    expect(((failed[0] as PromiseRejectedResult).reason as oidc.ResponseBodyError).error).toBe('invalid_grant');
    // Even the winner's new refresh token is dead: the provider revoked the grant on reuse.
    const winner = (ok[0] as PromiseFulfilledResult<oidc.TokenEndpointResponse>).value;
    const again = await oidc.refreshTokenGrant(raw, winner.refresh_token!).catch((e: unknown) => e);
    expect((again as oidc.ResponseBodyError).error).toBe('invalid_grant');
    expect(env.oidc.stats.revokedGrants).toBeGreaterThanOrEqual(1);
  });

  it('50 concurrent sessionKey() calls with an expired token cause exactly one refresh and no invalid_grant', async () => {
    await expireStored(env.store);
    const sp = createSessionProvider({ store: env.store, http: env.http, logger: env.logger });
    const keys = await Promise.all(Array.from({ length: 50 }, () => sp.sessionKey()));
    expect(new Set(keys).size).toBe(1);
    expect(env.oidc.refreshCount()).toBe(1);
    expect(env.oidc.stats.errors).toEqual([]);
    expect(keys[0]).toBe((await env.store.load())!.sessionKey);
  });

  it('two providers with their own store objects on one directory refresh once between them (file lock + re-read)', async () => {
    await expireStored(env.store);
    const a = createSessionProvider({ store: createFileTokenStore({ dir: env.dir }), http: env.http });
    const b = createSessionProvider({ store: createFileTokenStore({ dir: env.dir }), http: env.http });
    const keys = await Promise.all([
      ...Array.from({ length: 10 }, () => a.sessionKey()),
      ...Array.from({ length: 10 }, () => b.sessionKey()),
    ]);
    expect(new Set(keys).size).toBe(1);
    expect(env.oidc.refreshCount()).toBe(1);
    expect(env.oidc.stats.errors).toEqual([]);
  });

  it('20 concurrent 401s (onUnauthorized) force exactly one refresh and all get a new key', async () => {
    const sp = createSessionProvider({ store: env.store, http: env.http });
    const rejected = await sp.sessionKey();
    const answers = await Promise.all(Array.from({ length: 20 }, () => sp.onUnauthorized!(rejected)));
    expect(answers.every(Boolean)).toBe(true);
    expect(env.oidc.refreshCount()).toBe(1);
    const next = await sp.sessionKey();
    expect(next).not.toBe(rejected);
    // A late 401 for the old key does not refresh again.
    expect(await sp.onUnauthorized!(rejected)).toBe(true);
    expect(env.oidc.refreshCount()).toBe(1);
  });

  it('a failure right after the rotated token is persisted still leaves a usable credential on disk', async () => {
    const expired = await expireStored(env.store);
    // The process "dies" after the write (save succeeds, then the step after it fails).
    const crashing = wrapStore(env.store, {
      save: async (c, p) => {
        await env.store.save(c, p);
        throw new Error('simulated crash after persist');
      },
    });
    const sp = createSessionProvider({ store: crashing, http: env.http });
    await expect(sp.sessionKey()).rejects.toThrow('simulated crash after persist');
    expect(env.oidc.refreshCount()).toBe(1);

    const onDisk = await createFileTokenStore({ dir: env.dir }).load();
    expect(onDisk!.refreshToken).not.toBe(expired.refreshToken);
    const fresh = createSessionProvider({ store: createFileTokenStore({ dir: env.dir }), http: env.http });
    expect(await fresh.sessionKey()).toBe(onDisk!.sessionKey); // fresh: no second refresh needed
    expect(env.oidc.refreshCount()).toBe(1);
    await env.oidc.verifyAccessToken(onDisk!.sessionKey);
    // And the persisted refresh token is the live one: it refreshes without invalid_grant.
    await expireStored(env.store);
    await fresh.onUnauthorized!(onDisk!.sessionKey);
    expect(env.oidc.refreshCount()).toBe(2);
    expect(env.oidc.stats.errors).toEqual([]);
  });

  it('invalid_grant → re-reads the store → AUTH_REAUTH_REQUIRED when nothing newer is there', async () => {
    const stored = await expireStored(env.store);
    // Someone else used (rotated) the stored refresh token without writing the result back.
    await oidc.refreshTokenGrant(await rawClient(env), stored.refreshToken!);
    let loads = 0;
    const counting = wrapStore(env.store, { load: (p) => (loads++, env.store.load(p)) });
    const sp = createSessionProvider({ store: counting, http: env.http, logger: env.logger });
    const err = await sp.sessionKey().catch((e: unknown) => e);
    expect(isClawError(err, 'AUTH_REAUTH_REQUIRED')).toBe(true);
    expect((err as { hint?: string }).hint).toContain('claw-byterover login');
    // first read, the re-read inside the lock, and the re-read after invalid_grant
    expect(loads).toBe(3);
    expect(env.oidc.stats.errors.map((e) => e.error)).toEqual(['invalid_grant']);
    // onUnauthorized says "log in again" instead of throwing.
    expect(await sp.onUnauthorized!(stored.sessionKey)).toBe(false);
  });

  it('invalid_grant → re-read finds a credential another process wrote meanwhile → uses it', async () => {
    const stale = await expireStored(env.store);
    // Another process logs in again (a new grant) while this one still holds the old snapshot.
    await loginPlayingBrowser(env);
    const fresh = await env.store.load();
    await oidc.refreshTokenGrant(await rawClient(env), stale.refreshToken!); // old grant's token is used up elsewhere
    let inLockReads = 0;
    // The first read inside the lock sees the old snapshot (as after a writer that bypassed the lock).
    const staleFirst = wrapStore(env.store, { load: async (p) => (inLockReads++ === 0 ? stale : env.store.load(p)) });
    const sp = createSessionProvider({ store: staleFirst, http: env.http });
    const key = await sp.onUnauthorized!(stale.sessionKey).then(() => sp.sessionKey());
    expect(key).toBe(fresh!.sessionKey);
    expect(env.oidc.stats.errors.map((e) => e.error)).toEqual(['invalid_grant']);
  });

  it('an API key is never refreshed; a 401 for it means log in again', async () => {
    await env.store.save({
      kind: 'api-key',
      sessionKey: 'brv-api-key-abcdef123456',
      version: 99,
      updatedAt: new Date().toISOString(),
    });
    const sp = createSessionProvider({ store: env.store, http: env.http });
    expect(await sp.sessionKey()).toBe('brv-api-key-abcdef123456');
    expect(await sp.onUnauthorized!('brv-api-key-abcdef123456')).toBe(false);
    expect(env.oidc.tokenRequests()).toBe(1); // only the login's code exchange
  });

  it('no credential: AUTH_NOT_LOGGED_IN with the login hint', async () => {
    await env.store.delete();
    const err = await createSessionProvider({ store: env.store, http: env.http })
      .sessionKey()
      .catch((e: unknown) => e);
    expect(isClawError(err, 'AUTH_NOT_LOGGED_IN')).toBe(true);
    expect((err as { hint?: string }).hint).toContain('claw-byterover login');
  });
});
