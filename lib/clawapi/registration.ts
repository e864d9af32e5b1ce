/**
 * The registration lifecycle `serve` runs beside the bridge:
 *
 *   register ──ok──▶ heartbeat every period (±jitter) ──404──▶ register again
 *       ▲  │                     │
 *       │  └─fail─▶ back off ◀───┘ fail (full jitter, doubling up to a cap), then retry the same step
 *
 * `stop()` cancels whatever is in flight and sends DELETE /v1/nodes/{id} (404 is fine), bounded by
 * `deregisterTimeoutMs`: it always resolves, and never throws. Failures never stop the loop; the
 * latest one is in `status().lastError` (its code, message, hint and diagnosis cause).
 */
import { isClawError, type ClawError } from '../errors.js';
import { createHttpClient } from '../http/client.js';
import type { HttpClient } from '../http/types.js';
import type { Logger } from '../log/index.js';
import { logger as defaultLogger, redactString, safeUrl } from '../log/index.js';
import { createClawApiClient, type ClawApiClient } from './client.js';
import { registrationEnabled, type ClawApiConfig } from './config.js';
import { configInvalid } from './errors.js';
import { loadOrCreateNodeId } from './node-id.js';
import { clientCredentialsTokenSource, staticTokenSource, type TokenSource } from './token.js';
import type { NodeRegistration } from './types.js';

export type RegistrationState = 'registering' | 'registered' | 'retrying' | 'stopping' | 'stopped';

export interface RegistrationError {
  code: string;
  message: string;
  hint?: string | undefined;
  /** `details.cause` of CLAW_API_UNAUTHORIZED. */
  cause?: string | undefined;
  status?: number | undefined;
  at: string;
}

export interface RegistrationStatus {
  state: RegistrationState;
  url: string;
  nodeId: string;
  registrations: number;
  /** Registrations caused by a 404 heartbeat (the claw-api had forgotten the node). */
  reRegistrations: number;
  heartbeats: number;
  failures: number;
  /** Consecutive failures of the current step. */
  consecutiveFailures: number;
  registeredAt?: string | undefined;
  lastHeartbeatAt?: string | undefined;
  lastError?: RegistrationError | undefined;
  /** Result of the DELETE on stop. */
  deregistered?: 'deleted' | 'unknown' | 'failed' | 'skipped' | undefined;
}

export interface RegistrationHandle {
  stop(): Promise<void>;
  status(): RegistrationStatus;
}

export interface RunRegistrationOptions {
  client: ClawApiClient;
  node: NodeRegistration;
  /** Heartbeat period, ms. */
  heartbeatMs: number;
  /** Fraction of the period to jitter by, both ways (default 0.1). */
  jitter?: number | undefined;
  /** Backoff after a failure: full jitter over min(capMs, baseMs·2^n) (defaults 1 000 / 60 000). */
  backoffBaseMs?: number | undefined;
  backoffCapMs?: number | undefined;
  /** Bound of the DELETE on stop, ms (default 5 000). */
  deregisterTimeoutMs?: number | undefined;
  random?: (() => number) | undefined;
  logger?: Logger | undefined;
  /** Called after every state change (tests, telemetry). */
  onChange?: ((s: RegistrationStatus) => void) | undefined;
  /** Closed on stop (when the registration created its own transport). */
  ownedHttp?: HttpClient | undefined;
}

function errorInfo(e: unknown): RegistrationError {
  const at = new Date().toISOString();
  if (isClawError(e)) {
    const d = (e as ClawError).details ?? {};
    return {
      code: e.code,
      message: e.message,
      hint: e.hint,
      cause: typeof d.cause === 'string' ? d.cause : undefined,
      status: typeof d.status === 'number' ? d.status : undefined,
      at,
    };
  }
  return { code: 'CLAW_API_UNEXPECTED', message: redactString(e instanceof Error ? e.message : String(e)), at };
}

/** `p`, or `fallback` after `ms` (the timer never keeps the process alive). */
function bounded<T, F>(p: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<F>((resolve) => {
    t = setTimeout(() => resolve(fallback), ms);
    t.unref?.();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/** Runs the lifecycle for an existing client. */
export function runRegistration(o: RunRegistrationOptions): RegistrationHandle {
  const log = (o.logger ?? defaultLogger).child({ component: 'clawapi' });
  const random = o.random ?? Math.random;
  const jitter = o.jitter ?? 0.1;
  const baseMs = o.backoffBaseMs ?? 1_000;
  const capMs = o.backoffCapMs ?? 60_000;
  let periodMs = o.heartbeatMs;
  const st: RegistrationStatus = {
    state: 'registering',
    url: safeUrl(o.client.url),
    nodeId: o.node.id,
    registrations: 0,
    reRegistrations: 0,
    heartbeats: 0,
    failures: 0,
    consecutiveFailures: 0,
  };
  let step: 'register' | 'heartbeat' = 'register';
  /** A registration was sent (it may have reached the claw-api even if its answer never came back). */
  let attempted = false;
  let timer: NodeJS.Timeout | undefined;
  let abort = new AbortController();
  let running: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;

  const changed = (): void => {
    try {
      o.onChange?.({ ...st });
    } catch {
      /* an observer's failure is not the registration's */
    }
  };

  const schedule = (ms: number): void => {
    if (stopping) return;
    timer = setTimeout(
      () => {
        timer = undefined;
        running = tick().finally(() => {
          running = undefined;
        });
      },
      Math.max(0, Math.round(ms)),
    );
    timer.unref?.();
  };

  const nextHeartbeat = (): number => periodMs * (1 - jitter + 2 * jitter * random());

  async function tick(): Promise<void> {
    if (stopping) return;
    try {
      if (step === 'register') {
        attempted = true;
        const r = await o.client.register(o.node, { signal: abort.signal });
        st.registrations++;
        st.registeredAt = r.node.registeredAt;
        st.state = 'registered';
        st.consecutiveFailures = 0;
        // The server's suggested period wins when shorter (it forgets nodes after ttlSeconds).
        const suggested = r.node.heartbeatIntervalSeconds * 1000;
        periodMs = Math.min(o.heartbeatMs, suggested > 0 ? suggested : o.heartbeatMs);
        step = 'heartbeat';
      } else {
        const r = await o.client.heartbeat(o.node.id, { signal: abort.signal });
        if (r === 'unknown') {
          log.warn(
            { nodeId: o.node.id },
            'claw-api does not know this node any more (heartbeat 404): registering again',
          );
          step = 'register';
          st.reRegistrations++;
          st.state = 'registering';
          changed();
          return tick();
        }
        st.heartbeats++;
        st.lastHeartbeatAt = new Date().toISOString();
        st.consecutiveFailures = 0;
        st.state = 'registered';
      }
      changed();
      schedule(nextHeartbeat());
    } catch (e) {
      if (stopping) return;
      const info = errorInfo(e);
      st.failures++;
      st.consecutiveFailures++;
      st.lastError = info;
      st.state = 'retrying';
      const wait = random() * Math.min(capMs, baseMs * 2 ** Math.min(st.consecutiveFailures - 1, 30));
      log.warn(
        { nodeId: o.node.id, step, code: info.code, cause: info.cause, retryInMs: Math.round(wait) },
        `claw-api ${step} failed (${info.code}): ${info.message}${info.hint ? ` Next: ${info.hint}` : ''}`,
      );
      changed();
      schedule(wait);
    }
  }

  running = tick().finally(() => {
    running = undefined;
  });

  return {
    status: () => ({ ...st }),
    stop() {
      stopping ??= (async () => {
        st.state = 'stopping';
        if (timer) clearTimeout(timer);
        timer = undefined;
        abort.abort();
        abort = new AbortController();
        const limit = o.deregisterTimeoutMs ?? 5_000;
        // An aborted call ends at once; a token request in flight (not abortable) is waited for at most `limit`.
        if (running)
          await bounded(
            running.catch(() => undefined),
            limit,
            undefined,
          );
        // A registration may have reached the server even when its answer was lost: delete anyway.
        if (attempted) {
          const bound = new AbortController();
          const t = setTimeout(() => bound.abort(), limit);
          try {
            const outcome = await bounded(
              o.client.deregister(o.node.id, { signal: bound.signal, deadlineMs: limit }),
              limit,
              'timeout' as const,
            );
            if (outcome === 'timeout') throw new Error(`the DELETE did not finish within ${limit} ms`);
            st.deregistered = outcome;
            log.info({ nodeId: o.node.id, result: st.deregistered }, 'claw-api: node deregistered');
          } catch (e) {
            st.deregistered = 'failed';
            st.lastError = errorInfo(e);
            log.warn(
              { nodeId: o.node.id, code: st.lastError.code },
              `claw-api: deregistration failed: ${st.lastError.message}`,
            );
          } finally {
            clearTimeout(t);
          }
        } else {
          st.deregistered = 'skipped';
        }
        await o.ownedHttp?.close().catch(() => undefined);
        st.state = 'stopped';
        changed();
      })();
      return stopping;
    },
  };
}

/** What `serve` knows about itself; the rest comes from the configuration. */
export interface NodeDescription {
  version: string;
  capabilities: string[];
  protocol: { min: number; max: number };
  endpoints: Array<{ kind: string; url: string }>;
}

export interface StartRegistrationOptions {
  config: ClawApiConfig;
  /** Where the generated node id is kept when `config.nodeId` is unset. */
  dataDir: string;
  node: NodeDescription;
  /** The transport to use (default: a new one, closed on stop). */
  http?: HttpClient | undefined;
  logger?: Logger | undefined;
  /** Test hooks. */
  token?: TokenSource | undefined;
  heartbeatMs?: number | undefined;
  backoffBaseMs?: number | undefined;
  backoffCapMs?: number | undefined;
  random?: (() => number) | undefined;
  now?: (() => number) | undefined;
  onChange?: ((s: RegistrationStatus) => void) | undefined;
}

/** The token source the configuration describes. */
export function tokenSourceFromConfig(
  c: ClawApiConfig,
  http: HttpClient,
  extra: { logger?: Logger | undefined; now?: (() => number) | undefined } = {},
): TokenSource {
  if (c.token !== undefined) return staticTokenSource(c.token);
  if (c.issuer && c.clientId && c.clientSecret) {
    return clientCredentialsTokenSource({
      issuer: c.issuer,
      clientId: c.clientId,
      clientSecret: c.clientSecret,
      audience: c.audience,
      scopes: c.scopes,
      authMethod: c.authMethod,
      http,
      logger: extra.logger,
      now: extra.now,
    });
  }
  throw configInvalid(
    'claw-api registration has no token source.',
    'set CLAW_API_TOKEN (bridge.clawApi.token) or bridge.clawApi.issuer/clientId/clientSecret',
  );
}

/**
 * Starts registration as `serve` does: resolves the node id (config, else the data dir), builds the
 * client and token source from the configuration and runs the lifecycle. Returns immediately; the
 * first registration happens in the background (see `status()`).
 */
export async function startRegistration(o: StartRegistrationOptions): Promise<RegistrationHandle> {
  const c = o.config;
  if (!registrationEnabled(c))
    throw configInvalid(
      'claw-api registration needs bridge.clawApi.url (CLAW_API_URL).',
      'set CLAW_API_URL, or do not start registration',
    );
  const ownedHttp = o.http ? undefined : createHttpClient(o.logger ? { logger: o.logger } : {});
  const http = o.http ?? (ownedHttp as HttpClient);
  const token = o.token ?? tokenSourceFromConfig(c, http, { logger: o.logger, now: o.now });
  const id = c.nodeId ?? (await loadOrCreateNodeId(o.dataDir));
  const client = createClawApiClient({
    url: c.url,
    token,
    http,
    audience: c.audience,
    requiredScopes: c.scopes,
    timeoutMs: c.timeoutMs,
    logger: o.logger,
    now: o.now,
  });
  return runRegistration({
    client,
    node: { id, name: c.name, ...o.node },
    heartbeatMs: o.heartbeatMs ?? c.heartbeatSeconds * 1000,
    deregisterTimeoutMs: c.deregisterTimeoutMs,
    backoffBaseMs: o.backoffBaseMs,
    backoffCapMs: o.backoffCapMs,
    random: o.random,
    logger: o.logger,
    onChange: o.onChange,
    ownedHttp,
  });
}
