/**
 * `claw-byterover serve` (`npm start`): runs the bridge service (lib/bridge) in the foreground on
 * the configured store (embedded SQLite in the data dir by default), with `GET /healthz` and
 * `GET /readyz` beside the routes of the parts serve-parts.ts assembles (webhooks, skill invoke,
 * the web login, /metrics; claw-api registration once listening).
 *
 * stderr: start lines (URL, store, routes, what each part does), then status lines (queue depth,
 * oldest age, dead letters, worker failures, claw-api state) at start and then
 * whenever something changed; with `--json` each is one JSON line. stdout: the command's result once it stopped.
 * SIGINT (the CLI context's signal) and SIGTERM close the bridge gracefully and exit 0.
 */

// The serve command's handler, loaded by serve.ts only when `serve` runs.
import type { Bridge, BridgeConfig, BridgeStatus } from '../../bridge/index.js';
import { sendJson } from '../../bridge/server.js';
import type { RegistrationStatus } from '../../clawapi/index.js';
import { resolveDataDir } from '../../byterover/auth/index.js';
import { ClawError } from '../../errors.js';
import { safeUrl } from '../../log/index.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../exit.js';
import type { CommandResult } from '../program.js';
import { assembleServe } from './serve-parts.js';
import { BridgeErrorCode } from '../../bridge/errors.js';

export interface ServeFlags extends Record<string, unknown> {
  port?: number;
  host?: string;
}

/** How often the status is checked for a change (ms). */
const CHANGE_POLL_MS = 500;

/**
 * Print a status line? At start (`force`) and whenever it changed — on a TTY too: the same line
 * repeated every few seconds was noise (issue 14). `tty` and the time since the last line no longer
 * matter; they are parameters so the rule is stated (and tested) where it is decided.
 */
export function shouldPrintStatus(o: {
  force: boolean;
  key: string;
  lastKey: string;
  tty: boolean;
  sinceLastMs: number;
}): boolean {
  return o.force || o.key !== o.lastKey;
}
/** How long /readyz waits for the store before answering 503. */
const READY_STORE_TIMEOUT_MS = 2_000;

function storeDescription(config: BridgeConfig, dataDir: string): { kind: string; where: string } {
  if (config.store.kind === 'sqlite') return { kind: 'sqlite', where: config.store.path ?? `${dataDir}/bridge.db` };
  return { kind: config.store.redisUrl ? 'postgres+redis' : 'postgres', where: safeUrl(config.store.url) };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** `/healthz` (the process answers) and `/readyz` (store answers and the worker runs). */
function registerHealth(bridge: Bridge, running: () => boolean): void {
  bridge.server.route('GET', '/healthz', (_req, res) => sendJson(res, 200, { ok: true }));
  bridge.server.route('GET', '/readyz', async (_req, res) => {
    const reasons: string[] = [];
    if (!running()) reasons.push('the bridge is starting or shutting down');
    if (!bridge.worker) reasons.push('no queue worker runs in this process');
    try {
      await withTimeout(bridge.store.queue.stats(), READY_STORE_TIMEOUT_MS, 'the store');
    } catch (e) {
      reasons.push(`the store is not reachable: ${(e as Error).message}`);
    }
    if (reasons.length === 0) sendJson(res, 200, { ok: true, store: bridge.store.queue.kind, worker: 'running' });
    else sendJson(res, 503, { ok: false, code: 'BRIDGE_NOT_READY', message: reasons.join('; ') });
  });
}

/** Worker failures: deliveries that failed (retried or dead-lettered) plus store errors. */
function workerFailures(s: BridgeStatus): number {
  return s.worker ? s.worker.retried + s.worker.deadLettered + s.worker.storeErrors : 0;
}

function statusRecord(s: BridgeStatus, reg: RegistrationStatus | undefined): Record<string, unknown> {
  const rejected = Object.entries(s.webhooks)
    .filter(([code]) => code !== 'WEBHOOK_ACCEPTED' && code !== 'WEBHOOK_DUPLICATE')
    .reduce((n, [, v]) => n + v, 0);
  return {
    event: 'status',
    queue: {
      depth: s.queue.depth,
      oldestAgeMs: s.queue.oldestAgeMs,
      inFlight: s.queue.inFlight,
      retrying: s.queue.retrying,
      deadLetters: s.queue.dead,
    },
    worker: s.worker
      ? {
          processed: s.worker.processed,
          failures: workerFailures(s),
          retried: s.worker.retried,
          deadLettered: s.worker.deadLettered,
          storeErrors: s.worker.storeErrors,
        }
      : null,
    webhooks: {
      accepted: s.webhooks.WEBHOOK_ACCEPTED ?? 0,
      duplicate: s.webhooks.WEBHOOK_DUPLICATE ?? 0,
      rejected,
      byCode: s.webhooks,
    },
    ...(reg
      ? {
          clawApi: {
            state: reg.state,
            nodeId: reg.nodeId,
            heartbeats: reg.heartbeats,
            failures: reg.failures,
            lastError: reg.lastError
              ? { code: reg.lastError.code, cause: reg.lastError.cause ?? null, message: reg.lastError.message }
              : null,
          },
        }
      : {}),
  };
}

function statusHuman(r: Record<string, any>): string {
  const q = r.queue;
  const w = r.worker;
  const h = r.webhooks;
  const age = q.oldestAgeMs >= 1000 ? `${(q.oldestAgeMs / 1000).toFixed(0)}s` : `${q.oldestAgeMs}ms`;
  return (
    `status: queue ${q.depth} (oldest ${age}, in flight ${q.inFlight}, retrying ${q.retrying}), dead letters ${q.deadLetters}; ` +
    (w ? `worker processed ${w.processed}, failures ${w.failures}; ` : 'no worker; ') +
    `webhooks accepted ${h.accepted}, duplicate ${h.duplicate}, rejected ${h.rejected}` +
    (r.clawApi
      ? `; claw-api ${r.clawApi.state}${r.clawApi.lastError ? ` (last error ${r.clawApi.lastError.code}${r.clawApi.lastError.cause ? `/${r.clawApi.lastError.cause}` : ''})` : ''}`
      : '')
  );
}

/** What makes a status "changed" (the age of the oldest job moves all the time and does not count). */
function changeKey(r: Record<string, any>): string {
  const { oldestAgeMs: _age, ...queue } = r.queue;
  const reg = r.clawApi
    ? { state: r.clawApi.state, failures: r.clawApi.failures, lastError: r.clawApi.lastError }
    : null;
  return JSON.stringify([queue, r.worker, r.webhooks, reg]);
}

export async function serve(ctx: CommandContext): Promise<CommandResult> {
  const { config, sources } = await ctx.config();
  const logger = await ctx.logger();
  const dataDir = config.dataDir ?? resolveDataDir(ctx.io.env);
  // An unusable data dir (a file, read-only, under /proc) fails here, before any store touches it.
  const { checkDataDir } = await import('../data-dir.js');
  await checkDataDir(
    dataDir,
    config.dataDir ? `dataDir from ${sources.dataDir ?? 'the config'}` : 'the default data dir',
  );
  const bridgeConfig = config.bridge;

  // Stop on SIGINT (the context's signal) or SIGTERM.
  const stop = new AbortController();
  let stopReason = 'SIGINT';
  const onAbort = (): void => stop.abort();
  if (ctx.signal.aborted) stop.abort();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const onTerm = (): void => {
    stopReason = 'SIGTERM';
    stop.abort();
  };
  process.on('SIGTERM', onTerm);
  ctx.onCleanup(() => {
    process.off('SIGTERM', onTerm);
    ctx.signal.removeEventListener('abort', onAbort);
  });

  const assembled = await assembleServe(ctx, { dataDir, signal: stop.signal });
  const { bridge, routes, parts } = assembled;
  let running = false;
  registerHealth(bridge, () => running && !stop.signal.aborted);
  const store = storeDescription(bridgeConfig, dataDir);

  let url: string;
  try {
    ({ url } = await bridge.listen(bridgeConfig.port, bridgeConfig.host));
  } catch (e) {
    await assembled.close().catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new ClawError(
        BridgeErrorCode.PORT_IN_USE,
        `Expected port ${bridgeConfig.port} on ${bridgeConfig.host} to be free, found it in use by another process.`,
        {
          hint: 'Stop the other process, or pick another port: `claw-byterover serve --port <n>` (or set bridge.port in the config file; 0 picks a free one).',
          cause: e,
        },
      );
    }
    throw new ClawError(
      BridgeErrorCode.LISTEN_FAILED,
      `Expected to listen on ${bridgeConfig.host}:${bridgeConfig.port}, found ${code ?? 'an error'}: ${(e as Error).message}.`,
      {
        hint: 'Check --host names an address of this machine and --port is allowed for this user (ports below 1024 need privileges).',
        cause: e,
      },
    );
  }
  // A failure starting what needs the URL (claw-api registration: an unreadable node id file, no token
  // source) must not leave the bridge listening with nobody to stop it: close everything, then fail.
  // A stop requested while starting skips the registration (nothing to announce and DELETE again).
  try {
    if (!stop.signal.aborted) await assembled.afterListen(url);
  } catch (e) {
    await assembled.close().catch(() => undefined);
    throw e;
  }
  running = true;

  const startRecord = { event: 'listening', url, store, routes, memoryPull: parts.memoryPull, parts };
  ctx.out.note(
    ctx.out.json
      ? JSON.stringify(startRecord)
      : [
          `claw-byterover bridge listening on ${url} (store ${store.kind} ${store.where}); routes: ${routes.join(', ')}; memory pull ${parts.memoryPull}`,
          `  session: ${parts.session}; skill invoke: ${parts.skill}; web login: ${parts.oauth}`,
          `  claw-api: ${parts.clawApi}; telemetry: ${parts.telemetry}`,
        ].join('\n'),
  );

  const tty = ctx.io.stderr.isTTY === true;
  let lastKey = '';
  let lastPrinted = 0;
  let last: Record<string, unknown> | undefined;
  const report = async (force: boolean): Promise<void> => {
    let s: BridgeStatus;
    try {
      s = await bridge.status();
    } catch (e) {
      logger.warn({ err: (e as Error).message }, 'serve: reading the bridge status failed');
      return;
    }
    const r = statusRecord(s, assembled.registration());
    last = r;
    const key = changeKey(r);
    if (!shouldPrintStatus({ force, key, lastKey, tty, sinceLastMs: Date.now() - lastPrinted })) return;
    lastKey = key;
    lastPrinted = Date.now();
    ctx.out.note(ctx.out.json ? JSON.stringify(r) : statusHuman(r));
  };
  await report(true);

  await new Promise<void>((resolve) => {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void report(false).finally(() => (busy = false));
    }, CHANGE_POLL_MS);
    const done = (): void => {
      clearInterval(timer);
      resolve();
    };
    if (stop.signal.aborted) done();
    else stop.signal.addEventListener('abort', done, { once: true });
  });

  running = false;
  ctx.out.note(
    ctx.out.json
      ? JSON.stringify({ event: 'stopping', reason: stopReason })
      : `claw-byterover bridge: ${stopReason} received, shutting down`,
  );
  await assembled.close();
  // The store is closed now: the queue figures are the last ones read; the counters are final.
  const final = {
    lastQueue: (last as Record<string, any> | undefined)?.queue ?? null,
    worker: bridge.worker ? { ...bridge.worker.stats } : null,
    webhooks: bridge.counters.toJSON(),
  };
  const processed = final.worker ? `, ${final.worker.processed} event(s) processed` : '';
  const accepted = final.webhooks.WEBHOOK_ACCEPTED ?? 0;
  return {
    data: {
      url,
      store,
      routes,
      stopped: stopReason,
      ...final,
      ...(assembled.registration() ? { registration: assembled.registration() } : {}),
    },
    human: [`Bridge stopped (${stopReason}): ${accepted} webhook(s) accepted${processed}.`],
    exitCode: ExitCode.OK,
  };
}
