/**
 * The SessionProvider the ByteRover API client uses. It keeps the profile's credential in memory,
 * serves `sessionKey()` from it while fresh, and renews it with at most one renewal in flight per
 * provider (callers arriving meanwhile share that promise); the renewal itself runs under the
 * store's cross-process lock (refresh.ts). All state lives in the returned object.
 */
import type * as oidc from 'openid-client';
import { ClawError, isClawError } from '../../errors.js';
import type { HttpClient } from '../../http/types.js';
import type { Logger } from '../../log/index.js';
import { registerSecret } from '../../log/redact.js';
import { clientCredentialsServer } from './client-credentials.js';
import {
  DEFAULT_REFRESH_SKEW_SECONDS,
  describeCredential,
  needsRefresh,
  nowSeconds,
  type CredentialSummary,
} from './credential.js';
import { AuthErrorCode, notLoggedIn } from './errors.js';
import { discoverAuthorizationServer } from './issuer.js';
import { checkProfile } from './paths.js';
import { renewUnderLock, type ClientCredentialsSettings, type RenewContext } from './refresh.js';
import type { SessionProvider, StoredCredential, TokenStore } from './types.js';

export interface SessionProviderOptions {
  store: TokenStore;
  profile?: string;
  /** Transport for token and discovery requests. */
  http: HttpClient;
  logger?: Logger;
  /** Epoch milliseconds (default Date.now). */
  clock?: () => number;
  /** Renew this many seconds before expiry (default 60, capped at half the token lifetime). */
  refreshSkewSeconds?: number;
  /**
   * A service's client_credentials settings: used when the profile holds no credential or a
   * client-credentials one, so services need no interactive login.
   */
  clientCredentials?: ClientCredentialsSettings;
  /** Use fixed /authorize and /token endpoints without discovery. */
  skipDiscovery?: boolean;
  /**
   * Called once per renewal this provider ran (telemetry; default none). Never called for a caller
   * that joined a renewal already in flight. An observer that throws is ignored.
   */
  onRefresh?: (e: AuthRefreshEvent) => void;
}

/** One renewal, as seen by `onRefresh`. */
export interface AuthRefreshEvent {
  /** The credential kind renewed (`unknown` when the renewal failed before one was read). */
  kind: StoredCredential['kind'] | 'unknown';
  /**
   * `renewed`: a new session key is in use (renewed here or by another process); `unchanged`: the
   * same key came back (an API key, or the store's key was still fresh); otherwise the error class:
   * `reauth_required`, `not_logged_in`, `failed`.
   */
  result: 'renewed' | 'unchanged' | 'reauth_required' | 'not_logged_in' | 'failed';
  /** Why it ran: `expiry` (stale before use) or `rejected` (the API answered 401). */
  reason: 'expiry' | 'rejected';
  durationMs: number;
}

export interface ManagedSessionProvider extends SessionProvider {
  /** The current credential without its secrets (undefined when none is stored). */
  describe(): Promise<CredentialSummary | undefined>;
  /** Drops the in-memory copy; the next call re-reads the store. */
  forget(): void;
}

function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  const aborted = (): ClawError =>
    new ClawError(AuthErrorCode.ABORTED, 'The wait for a session key was aborted by the caller.', {
      hint: 'retry the command',
    });
  if (signal.aborted) return Promise.reject(aborted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

export function createSessionProvider(o: SessionProviderOptions): ManagedSessionProvider {
  const profile = checkProfile(o.profile);
  const clock = o.clock ?? Date.now;
  const skewSeconds = o.refreshSkewSeconds ?? DEFAULT_REFRESH_SKEW_SECONDS;
  const configs = new Map<string, Promise<oidc.Configuration>>();
  if (o.clientCredentials) registerSecret(o.clientCredentials.clientSecret);

  let cached: StoredCredential | undefined;
  let loading: Promise<StoredCredential> | undefined;
  let renewing: Promise<StoredCredential> | undefined;

  const memo = (key: string, make: () => Promise<oidc.Configuration>): Promise<oidc.Configuration> => {
    let p = configs.get(key);
    if (!p) {
      p = make();
      p.catch(() => configs.delete(key));
      configs.set(key, p);
    }
    return p;
  };

  const ctx: RenewContext = {
    store: o.store,
    profile,
    clock,
    skewSeconds,
    clientCredentials: o.clientCredentials,
    logger: o.logger,
    oauthConfig: (issuer, clientId) =>
      memo(`public ${issuer} ${clientId}`, () =>
        discoverAuthorizationServer({
          issuer,
          clientId,
          http: o.http,
          ...(o.logger ? { logger: o.logger } : {}),
          ...(o.skipDiscovery ? { skipDiscovery: true } : {}),
        }),
      ),
    clientCredentialsConfig: (s) =>
      memo(`confidential ${s.issuer} ${s.clientId}`, () =>
        clientCredentialsServer(s, o.http, { logger: o.logger, skipDiscovery: o.skipDiscovery }),
      ),
  };

  const report = (e: AuthRefreshEvent): void => {
    try {
      o.onRefresh?.(e);
    } catch {
      // an observer never breaks a renewal
    }
  };

  /** One renewal in flight: later callers join it. */
  const renew = (rejectedKey?: string): Promise<StoredCredential> => {
    if (!renewing) {
      const before = cached;
      const startedAt = performance.now();
      const reason = rejectedKey === undefined ? 'expiry' : 'rejected';
      renewing = renewUnderLock(ctx, { rejectedKey })
        .then(
          (c) => {
            if (o.onRefresh) {
              const prevKey = rejectedKey ?? before?.sessionKey;
              report({
                kind: c.kind,
                result: c.sessionKey === prevKey ? 'unchanged' : 'renewed',
                reason,
                durationMs: performance.now() - startedAt,
              });
            }
            return (cached = c);
          },
          (e: unknown) => {
            if (o.onRefresh) {
              const result = isClawError(e, AuthErrorCode.REAUTH_REQUIRED)
                ? 'reauth_required'
                : isClawError(e, AuthErrorCode.NOT_LOGGED_IN)
                  ? 'not_logged_in'
                  : 'failed';
              report({ kind: before?.kind ?? 'unknown', result, reason, durationMs: performance.now() - startedAt });
            }
            throw e;
          },
        )
        .finally(() => {
          renewing = undefined;
        });
    }
    return renewing;
  };

  /** First use: read the store once (shared by concurrent callers). */
  const current = async (): Promise<StoredCredential> => {
    if (cached) return cached;
    if (!loading) {
      loading = (async () => {
        const c = await o.store.load(profile);
        if (c) return (cached = c);
        if (o.clientCredentials) return renew();
        throw notLoggedIn(profile);
      })().finally(() => {
        loading = undefined;
      });
    }
    return loading;
  };

  const fresh = async (): Promise<StoredCredential> => {
    const c = await current();
    if (!needsRefresh(c, nowSeconds(clock), skewSeconds)) return c;
    return renew();
  };

  /** The cached key while it needs no renewal (API keys never do; OAuth until `exp − skew`). */
  const currentKey = (): string | undefined => {
    const c = cached;
    return c !== undefined && !needsRefresh(c, nowSeconds(clock), skewSeconds) ? c.sessionKey : undefined;
  };

  return {
    async sessionKey(signal) {
      const key = currentKey();
      if (key !== undefined) return key;
      return (await abortable(fresh(), signal)).sessionKey;
    },

    currentKey,

    async onUnauthorized(rejectedKey) {
      // Join a renewal already in flight (many requests may get the same 401); start a forced one
      // only when none is running and the key in hand is still the rejected one.
      while (renewing) await renewing.catch(() => undefined);
      if (cached && cached.sessionKey !== rejectedKey) return true;
      try {
        const c = await renew(rejectedKey);
        return c.sessionKey !== rejectedKey;
      } catch (e) {
        if (isClawError(e, AuthErrorCode.REAUTH_REQUIRED) || isClawError(e, AuthErrorCode.NOT_LOGGED_IN)) {
          o.logger?.warn(
            { profile, code: (e as ClawError).code },
            'session rejected and cannot be renewed; a new login is needed',
          );
          return false;
        }
        throw e;
      }
    },

    async describe() {
      const c = cached ?? (await o.store.load(profile));
      return c ? describeCredential(c, profile) : undefined;
    },

    forget() {
      cached = undefined;
    },
  };
}
