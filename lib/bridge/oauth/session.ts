/**
 * The SessionProvider the bridge's ByteRover client uses, backed by the web login's sealed token
 * record in the shared store. Refreshes before expiry with one refresh per credential across every
 * caller and every bridge instance (resilience.md pitfall 1: with rotating refresh tokens two
 * concurrent refreshes revoke the grant):
 *
 * - in this process: one renewal promise; callers arriving meanwhile share it;
 * - across instances: the lease `oauth-refresh:<profile>` in `state.locks`. The holder re-reads the
 *   record inside the lease (another instance may have refreshed already), refreshes (RFC 6749 §6),
 *   writes the result with compare-and-set on the version it read — the rotated refresh token is
 *   persisted before the new access token is used (RFC 9700 §4.14.2) — and releases. The lease is
 *   renewed every third of its length while the refresh runs, so a slow issuer cannot let a second
 *   holder in.
 * - a holder that loses the lease (the store answers that another owner holds it, or no renewal was
 *   confirmed for a whole lease: the store was unreachable and the lease may have been taken) does not
 *   use the refresh token any more: before the grant is sent it aborts with OAUTH_REFRESH_LEASE_LOST;
 *   once the grant was sent it writes the result only by compare-and-set on the version it read (a
 *   newer record wins) and does not mark the record "sign in again" on invalid_grant (the new holder
 *   may have rotated the token). Either way `onRefresh` gets `leaseLost: true` and a warning is logged.
 * - instances not holding the lease do not refresh: they poll the record with backoff until a fresh
 *   version appears (or the lease frees up, e.g. its holder died), bounded by `refreshWaitMs`.
 * - invalid_grant → re-read (a login may have replaced the record) → else the record is marked
 *   "sign in again" so no instance retries the dead refresh token, and AUTH_REAUTH_REQUIRED.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type * as oidc from 'openid-client';
import {
  AuthErrorCode,
  needsRefresh,
  type SessionProvider,
  type StoredCredential,
} from '../../byterover/auth/index.js';
import {
  credentialFromTokenResponse,
  describeCredential,
  nowSeconds,
  type CredentialSummary,
} from '../../byterover/auth/credential.js';
import { InvalidGrantError, refreshAccessToken } from '../../byterover/auth/grants.js';
import { ClawError, isClawError } from '../../errors.js';
import type { Logger } from '../../log/index.js';
import type { LockStore } from '../store/types.js';
import { notLoggedIn, OAuthErrorCode, reauthRequired, refreshTimeout } from './errors.js';
import { tokensKey, type SealedKv, type TokenRecord, type Versioned } from './records.js';

/** ok: this instance refreshed; joined: another instance's (or an earlier) refresh was used; failed: an error other than invalid_grant; reauth: the refresh token was refused. */
export type RefreshResult = 'ok' | 'failed' | 'reauth' | 'joined';

export interface RefreshInfo {
  profile: string;
  /** Why it ran: `expiry` (stale before use) or `rejected` (the API answered 401 to the key). */
  reason: 'expiry' | 'rejected';
  /** From the start of this instance's renewal to its outcome (monotonic clock). */
  durationMs: number;
  /** The error code for `failed` / `reauth`. */
  code?: string;
  /** True when this instance lost the refresh lease during the renewal (see the file comment). */
  leaseLost?: boolean;
}

export interface OAuthSessionOptions {
  sealed: SealedKv;
  locks: LockStore;
  profile: string;
  /** Lease owner: unique per instance. */
  owner: string;
  server: () => Promise<oidc.Configuration>;
  clock: () => number;
  skewSeconds: number;
  leaseMs: number;
  waitMs: number;
  logger: Logger;
  onRefresh?: ((result: RefreshResult, info: RefreshInfo) => void) | undefined;
  /**
   * How long the in-memory record is trusted before the store is read again (default 30 s): bounds how
   * long an instance keeps serving the previous login's key after a new login on another instance.
   */
  recheckMs?: number;
}

export interface OAuthStatus {
  loggedIn: boolean;
  profile: string;
  /** The credential without secrets (issuer, client id, scope, expiry, user). */
  credential?: CredentialSummary;
  /** Seconds until the access token expires (negative once expired). */
  expiresInSeconds?: number;
  /** True after the issuer refused the refresh token: a new login is needed. */
  reauthRequired: boolean;
}

export interface OAuthSessionProvider extends SessionProvider {
  status(): Promise<OAuthStatus>;
  /** Drops the in-memory copy (the next call re-reads the store). */
  forget(): void;
}

interface RenewRequest {
  rejectedKey?: string | undefined;
  /** performance.now() when the renewal started. */
  t0: number;
}

const POLL_START_MS = 20;
const POLL_MAX_MS = 500;

export const REFRESH_LEASE_LOST = OAuthErrorCode.REFRESH_LEASE_LOST;

function refreshLeaseLost(profile: string, why: string): ClawError {
  return new ClawError(
    REFRESH_LEASE_LOST,
    `Expected to hold the refresh lease for profile "${profile}" until the refresh token was sent, found it lost (${why}); the refresh token was not used.`,
    {
      hint: "retry: another bridge instance refreshes, and the next call uses its result from the store. If it repeats, check that every instance reaches the store without long stalls and that bridge.oauth.refreshLeaseMs is well above the issuer's response time",
      details: { profile },
    },
  );
}

/** The refresh lease as its holder knows it (see the file comment). */
interface HeldLease {
  /** Undefined while held; else why it was lost (once lost, it stays lost). */
  lost(): string | undefined;
  stop(): void;
}

export function createOAuthSessionProvider(o: OAuthSessionOptions): OAuthSessionProvider {
  const key = tokensKey(o.profile);
  const lockName = `oauth-refresh:${o.profile}`;
  let cached: Versioned<TokenRecord> | undefined;
  /** When `cached` was last read from (or written to) the store. */
  let cachedAt = 0;
  const recheckMs = o.recheckMs ?? 30_000;
  const setCached = (r: Versioned<TokenRecord> | undefined): void => {
    cached = r;
    cachedAt = o.clock();
  };
  let renewing: Promise<Versioned<TokenRecord>> | undefined;
  let loading: Promise<Versioned<TokenRecord> | undefined> | undefined;

  const stale = (c: StoredCredential, req: Pick<RenewRequest, 'rejectedKey'>): boolean =>
    req.rejectedKey !== undefined
      ? c.sessionKey === req.rejectedKey
      : needsRefresh(c, nowSeconds(o.clock), o.skewSeconds);

  const report = (result: RefreshResult, req: RenewRequest, code?: string, lease?: HeldLease): void => {
    try {
      const info: RefreshInfo = {
        profile: o.profile,
        reason: req.rejectedKey === undefined ? 'expiry' : 'rejected',
        durationMs: performance.now() - req.t0,
      };
      if (code) info.code = code;
      if (lease?.lost() !== undefined) info.leaseLost = true;
      o.onRefresh?.(result, info);
    } catch (e) {
      o.logger.warn({ err: (e as Error).message }, 'bridge oauth: onRefresh hook threw');
    }
  };

  const read = async (): Promise<Versioned<TokenRecord> | undefined> => {
    const r = await o.sealed.getTokens(o.profile);
    if (r && (!cached || r.version >= cached.version)) setCached(r);
    return r;
  };

  const usable = (r: Versioned<TokenRecord> | undefined): Versioned<TokenRecord> => {
    if (!r) throw notLoggedIn(o.profile);
    if (r.value.reauth) throw reauthRequired(o.profile, r.value.reauth.reason);
    return r;
  };

  /** Writes `next` over version `expect`; a store error is retried (the rotated refresh token must not be lost). */
  const persist = async (next: TokenRecord, expect: number): Promise<{ ok: boolean; version: number }> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await o.sealed.set(key, next, o.clock(), expect);
      } catch (e) {
        if (attempt >= 4) throw e;
        o.logger.warn(
          { err: (e as Error).message, attempt },
          'bridge oauth: writing the refreshed tokens failed; retrying',
        );
        await sleep(50 * 2 ** attempt);
      }
    }
  };

  /**
   * Keeps the lease renewed every third of its length. Lost when the store answers that another owner
   * holds it, or when no renewal was confirmed for a whole lease (measured from when the last confirmed
   * request was sent, on the monotonic clock): the store may have let it expire and handed it on.
   */
  const holdLease = (sentAt: number): HeldLease => {
    let confirmedAt = sentAt;
    let why: string | undefined;
    const lose = (reason: string): void => {
      if (why !== undefined) return;
      why = reason;
      clearInterval(timer);
      o.logger.warn(
        { profile: o.profile, reason },
        'bridge oauth: lost the refresh lease during a refresh; this instance stops using the refresh token',
      );
    };
    const lost = (): string | undefined => {
      if (why === undefined && performance.now() - confirmedAt >= o.leaseMs)
        lose(`no renewal confirmed by the store for ${o.leaseMs} ms`);
      return why;
    };
    const timer = setInterval(
      () => {
        if (lost() !== undefined) return;
        const sent = performance.now();
        o.locks.acquire(lockName, o.owner, o.leaseMs, o.clock()).then(
          (ok) => {
            if (!ok) lose('the store says another instance holds it');
            else if (why === undefined) confirmedAt = Math.max(confirmedAt, sent);
          },
          (e: unknown) => {
            o.logger.warn({ err: (e as Error).message }, 'bridge oauth: renewing the refresh lease failed');
          },
        );
      },
      Math.max(100, Math.floor(o.leaseMs / 3)),
    );
    timer.unref();
    return { lost, stop: () => clearInterval(timer) };
  };

  /** Inside the lease: re-read, refresh if still needed (and the lease still held), compare-and-set. */
  const refreshHoldingLease = async (req: RenewRequest, lease: HeldLease): Promise<Versioned<TokenRecord>> => {
    const snap = usable(await read());
    if (!stale(snap.value.cred, req)) {
      report('joined', req, undefined, lease);
      return snap;
    }
    const cred = snap.value.cred;
    if (!cred.refreshToken) {
      report('reauth', req, AuthErrorCode.REAUTH_REQUIRED, lease);
      throw reauthRequired(
        o.profile,
        'the login has no refresh token (request offline access, or sign in again when it expires)',
      );
    }
    let tokens;
    try {
      const server = await o.server();
      // The last moment to back out: once the grant is sent the refresh token is spent (rotation).
      const lost = lease.lost();
      if (lost !== undefined) {
        report('failed', req, REFRESH_LEASE_LOST, lease);
        throw refreshLeaseLost(o.profile, lost);
      }
      tokens = await refreshAccessToken(server, cred.refreshToken);
    } catch (e) {
      if (isClawError(e, REFRESH_LEASE_LOST)) throw e;
      if (!(e instanceof InvalidGrantError)) {
        report('failed', req, isClawError(e) ? e.code : 'ERROR', lease);
        throw e;
      }
      const reread = await read();
      if (
        reread &&
        !reread.value.reauth &&
        reread.value.cred.refreshToken !== cred.refreshToken &&
        !stale(reread.value.cred, req)
      ) {
        o.logger.info(
          { profile: o.profile },
          'bridge oauth: refresh token refused but the store holds a newer login; using it',
        );
        report('joined', req, undefined, lease);
        return reread;
      }
      const lost = lease.lost();
      if (lost !== undefined) {
        // The new holder may have rotated the token and not written yet: marking the record would
        // overwrite its result. Leave the record to it.
        report('failed', req, REFRESH_LEASE_LOST, lease);
        throw refreshLeaseLost(o.profile, lost);
      }
      const reason = 'the issuer refused the refresh token (invalid_grant)';
      if (reread && reread.value.cred.refreshToken === cred.refreshToken) {
        await o.sealed
          .set(key, { cred: reread.value.cred, reauth: { at: o.clock(), reason } }, o.clock(), reread.version)
          .catch(() => undefined);
        setCached(undefined);
      }
      report('reauth', req, AuthErrorCode.REAUTH_REQUIRED, lease);
      throw reauthRequired(o.profile, reason);
    }
    // Written only over the version read, lease or not: a newer record (a login, another holder's
    // refresh) is never overwritten; if none, these tokens are the live ones and must not be lost.
    const next: TokenRecord = { cred: credentialFromTokenResponse(tokens, { kind: 'oauth' }, cred, o.clock) };
    const w = await persist(next, snap.version);
    if (lease.lost() !== undefined) {
      o.logger.warn(
        { profile: o.profile, written: w.ok },
        w.ok
          ? 'bridge oauth: the refresh lease was lost while the grant was in flight; its result was written over the version read (nothing newer was stored)'
          : 'bridge oauth: the refresh lease was lost while the grant was in flight; the store holds a newer record, which is kept',
      );
    }
    if (!w.ok) {
      // Someone wrote meanwhile (a new login): theirs wins; ours was never used.
      const reread = usable(await read());
      o.logger.info(
        { profile: o.profile },
        'bridge oauth: the token record changed during the refresh; using the stored one',
      );
      report('joined', req, undefined, lease);
      return reread;
    }
    report('ok', req, undefined, lease);
    const mine = { value: next, version: w.version };
    setCached(mine);
    return mine;
  };

  /** Takes the lease and refreshes, or waits for the instance that holds it. */
  const renewAcrossInstances = async (req: RenewRequest): Promise<Versioned<TokenRecord>> => {
    const started = o.clock();
    let delay = POLL_START_MS;
    for (;;) {
      const sentAt = performance.now();
      if (await o.locks.acquire(lockName, o.owner, o.leaseMs, o.clock())) {
        const lease = holdLease(sentAt);
        try {
          return await refreshHoldingLease(req, lease);
        } finally {
          lease.stop();
          await o.locks.release(lockName, o.owner).catch((e: unknown) => {
            o.logger.warn(
              { err: (e as Error).message },
              'bridge oauth: releasing the refresh lease failed (it expires on its own)',
            );
          });
        }
      }
      // Another instance refreshes: wait for its result instead of refreshing too.
      const now = usable(await read());
      if (!stale(now.value.cred, req)) {
        report('joined', req);
        return now;
      }
      if (o.clock() - started >= o.waitMs) {
        report('failed', req, 'OAUTH_REFRESH_TIMEOUT');
        throw refreshTimeout(o.profile, o.clock() - started);
      }
      await sleep(delay / 2 + Math.random() * (delay / 2));
      delay = Math.min(POLL_MAX_MS, delay * 2);
    }
  };

  const renew = (req: RenewRequest): Promise<Versioned<TokenRecord>> => {
    if (!renewing) {
      renewing = renewAcrossInstances(req).finally(() => {
        renewing = undefined;
      });
    }
    return renewing;
  };

  const current = async (): Promise<Versioned<TokenRecord>> => {
    if (cached && !cached.value.reauth && o.clock() - cachedAt < recheckMs) return cached;
    loading ??= read().finally(() => {
      loading = undefined;
    });
    return usable(await loading);
  };

  const currentKey = (): string | undefined => {
    const c = cached;
    return c && !c.value.reauth && o.clock() - cachedAt < recheckMs && !stale(c.value.cred, {})
      ? c.value.cred.sessionKey
      : undefined;
  };

  return {
    currentKey,

    async sessionKey(signal) {
      const k = currentKey();
      if (k !== undefined) return k;
      const work = (async () => {
        const c = await current();
        if (!stale(c.value.cred, {})) return c.value.cred.sessionKey;
        return (await renew({ t0: performance.now() })).value.cred.sessionKey;
      })();
      return abortable(work, signal);
    },

    async onUnauthorized(rejectedKey) {
      while (renewing) await renewing.catch(() => undefined);
      // A newer key may be in the store already (a login, another instance's refresh).
      const fresh = await read().catch(() => undefined);
      if (fresh && !fresh.value.reauth && fresh.value.cred.sessionKey !== rejectedKey) return true;
      try {
        const c = await renew({ rejectedKey, t0: performance.now() });
        return c.value.cred.sessionKey !== rejectedKey;
      } catch (e) {
        if (isClawError(e, AuthErrorCode.REAUTH_REQUIRED) || isClawError(e, AuthErrorCode.NOT_LOGGED_IN)) {
          o.logger.warn(
            { profile: o.profile, code: e.code },
            'bridge oauth: session rejected and cannot be renewed; a new web login is needed',
          );
          return false;
        }
        throw e;
      }
    },

    async status() {
      const r = await read();
      if (!r) return { loggedIn: false, profile: o.profile, reauthRequired: false };
      const credential = describeCredential(r.value.cred, o.profile);
      return {
        loggedIn: !r.value.reauth,
        profile: o.profile,
        credential,
        ...(r.value.cred.expiresAt !== undefined
          ? { expiresInSeconds: r.value.cred.expiresAt - nowSeconds(o.clock) }
          : {}),
        reauthRequired: Boolean(r.value.reauth),
      };
    },

    forget() {
      setCached(undefined);
    },
  };
}

function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void =>
      reject(
        new ClawError(AuthErrorCode.ABORTED, 'The wait for a session key was aborted by the caller.', {
          hint: 'retry the request',
        }),
      );
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
