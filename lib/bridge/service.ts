/**
 * The bridge service assembled: HTTP server + store + webhook route + queue worker + maintenance.
 *
 *   const bridge = await createBridge({ config, dataDir, handlers });
 *   bridge.server.route('POST', '/skill/invoke', …);   // other parts plug in here, before listen
 *   const { url } = await bridge.listen();
 *   …
 *   await bridge.status();   // queue depth/age, dead letters, worker and webhook counters (for `serve`)
 *   await bridge.close();    // stop accepting, finish requests, stop the worker, close the store
 *
 * The state store (`bridge.store.state`: idempotency records, tokens as encrypted blobs, locks)
 * is shared with the routes that need it.
 */
import { randomBytes } from 'node:crypto';
import { registerSecret, logger as defaultLogger, type Logger } from '../log/index.js';
import type { BridgeConfig } from './config.js';
import { Batcher } from './queue/batcher.js';
import { QueueWorker, type WorkerStats } from './queue/worker.js';
import { HttpServer } from './server.js';
import { openStore, SqliteStore } from './store/index.js';
import type { BridgeStore, EnqueueOutcome, QueueEvent, QueueStats } from './store/types.js';
import { HandlerRegistry } from './webhooks/handlers.js';
import { WebhookCounters, webhookRoute, type WebhookResult } from './webhooks/route.js';
import { keysFrom } from './webhooks/verify.js';

export interface CreateBridgeOptions {
  config: BridgeConfig;
  /** Directory of the default SQLite database. */
  dataDir: string;
  logger?: Logger;
  /**
   * Handlers by event type (default: an empty registry: every event is acknowledged and logged). The
   * ByteRover memory events are wired by the composition (compose.ts, wireMemoryEvents).
   */
  handlers?: HandlerRegistry;
  /** Run the queue worker in this process (default true). */
  worker?: boolean;
  /** An already open store (tests, or a caller sharing one); otherwise opened from config. */
  store?: BridgeStore;
  /** Extra listener for webhook results (telemetry). */
  onWebhookResult?: (r: WebhookResult) => void;
  now?: () => number;
}

export interface BridgeStatus {
  queue: QueueStats & { kind: string };
  worker: WorkerStats | undefined;
  webhooks: Record<string, number>;
  intake: { batches: number; items: number; largestBatch: number };
  /** Embedded store only: WAL flushes behind durable answers (count, mean and max duration in ms). */
  flushes?: { count: number; meanMs: number; maxMs: number };
}

export interface Bridge {
  readonly server: HttpServer;
  readonly store: BridgeStore;
  readonly handlers: HandlerRegistry;
  readonly worker: QueueWorker | undefined;
  readonly counters: WebhookCounters;
  /** This instance's id (lock owner, logs). */
  readonly instanceId: string;
  /** Listens and starts the worker and the periodic pruning. */
  listen(port?: number, host?: string): Promise<{ port: number; url: string }>;
  status(): Promise<BridgeStatus>;
  /** Deletes dedupe records older than the retention and finished idempotency records older than a day. */
  prune(): Promise<{ dedupe: number; idempotency: number }>;
  /**
   * Stops accepting, lets requests finish, drains the intake, stops the worker, runs the close hooks
   * registered on `server`, then closes the store (unless it was passed in).
   */
  close(): Promise<void>;
}

const IDEMPOTENCY_RETENTION_MS = 24 * 3600_000;
const PRUNE_EVERY_MS = 60_000;

export async function createBridge(opts: CreateBridgeOptions): Promise<Bridge> {
  const { config } = opts;
  const log = opts.logger ?? defaultLogger;
  const now = opts.now ?? Date.now;
  for (const s of [...config.webhooks.byteroverSecrets, ...config.webhooks.standardSecrets]) registerSecret(s);
  if (config.store.kind === 'postgres') {
    registerSecret(safePassword(config.store.url));
    if (config.store.redisUrl) registerSecret(safePassword(config.store.redisUrl));
  }

  const policy = {
    maxAttempts: config.queue.maxAttempts,
    leaseMs: config.queue.leaseMs,
    retryBaseMs: config.queue.retryBaseMs,
    retryCapMs: config.queue.retryCapMs,
  };
  const store = opts.store ?? (await openStore(config.store, { dataDir: opts.dataDir, policy, logger: log, now }));
  const handlers = opts.handlers ?? new HandlerRegistry();

  const intake = new Batcher<QueueEvent, EnqueueOutcome>((events) => store.queue.enqueue(events), {
    maxBatch: config.queue.maxBatch,
    maxDelayMs: config.queue.maxBatchDelayMs,
    maxInFlight: store.queue.kind === 'sqlite' ? 8 : 4,
  });
  const worker =
    opts.worker === false
      ? undefined
      : new QueueWorker({
          queue: store.queue,
          handle: handlers.dispatcher(log),
          concurrency: config.queue.concurrency,
          pollMs: config.queue.pollMs,
          handlerTimeoutMs: config.queue.handlerTimeoutMs,
          logger: log,
        });

  const counters = new WebhookCounters();
  const server = new HttpServer({ logger: log, ...config.http });
  server.route(
    'POST',
    config.webhooks.path,
    webhookRoute({
      keys: keysFrom(config.webhooks),
      toleranceSeconds: config.webhooks.toleranceSeconds,
      maxBodyBytes: config.webhooks.maxBodyBytes,
      intake,
      now,
      logger: log,
      onResult: (r) => {
        counters.record(r);
        opts.onWebhookResult?.(r);
      },
      ...(worker ? { onEnqueued: () => worker.wake() } : {}),
    }),
  );

  const prune = async (): Promise<{ dedupe: number; idempotency: number }> => {
    const t = now();
    return store.state.prune({
      dedupeBefore: t - config.webhooks.dedupeRetentionSeconds * 1000,
      idempotencyBefore: t - IDEMPOTENCY_RETENTION_MS,
    });
  };
  let pruneTimer: NodeJS.Timeout | undefined;

  let closed: Promise<void> | undefined;
  // Runs once requests finished, before hooks other parts register later; the store closes after all.
  server.onClose(async () => {
    if (pruneTimer) clearInterval(pruneTimer);
    await intake.drain();
    await worker?.stop();
  });

  return {
    server,
    store,
    handlers,
    worker,
    counters,
    instanceId: randomBytes(6).toString('hex'),
    async listen(port = config.port, host = config.host) {
      const r = await server.listen(port, host);
      worker?.start();
      pruneTimer = setInterval(() => {
        prune().catch((e: unknown) => log.warn({ err: (e as Error).message }, 'bridge: pruning old records failed'));
      }, PRUNE_EVERY_MS);
      pruneTimer.unref();
      log.info({ url: r.url, store: store.queue.kind }, 'bridge: listening');
      return r;
    },
    async status() {
      const q = await store.queue.stats();
      return {
        queue: { kind: store.queue.kind, ...q },
        worker: worker ? { ...worker.stats } : undefined,
        webhooks: counters.toJSON(),
        intake: { ...intake.stats },
        ...(store.queue instanceof SqliteStore ? { flushes: store.queue.flushStats() } : {}),
      };
    },
    prune,
    close() {
      closed ??= server.close().then(() => (opts.store ? undefined : store.close()));
      return closed;
    },
  };
}

/** The password of a connection URL (registered with the redactor), if any. */
function safePassword(url: string): string | undefined {
  try {
    const p = new URL(url).password;
    return p ? decodeURIComponent(p) : undefined;
  } catch {
    return undefined;
  }
}
