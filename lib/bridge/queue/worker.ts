/**
 * The queue worker: claims jobs (leases), runs the handler, acknowledges or fails them. At least once:
 * a job is acknowledged only after its handler resolved, and a crash anywhere before the ack (even
 * after the handler's effect) delivers it again once the lease expires.
 *
 * - Up to `concurrency` jobs run at once; claims ask for as many as there are free slots.
 * - Leases of long handlers are extended every third of the lease.
 * - Acks are batched (group commit, one store call per batch).
 * - A handler that throws or exceeds `handlerTimeoutMs` fails the job: the queue schedules a jittered
 *   retry or, after `maxAttempts`, moves it to the dead-letter list (store/types.ts JobQueue.fail).
 * - Idle, it polls every `pollMs`; `wake()` (called after a local enqueue) claims at once.
 */
import type { Logger } from '../../log/index.js';
import { logger as defaultLogger } from '../../log/index.js';
import type { JobQueue, Lease } from '../store/types.js';
import { Batcher } from './batcher.js';

export interface QueueWorkerOptions {
  queue: JobQueue;
  handle: (lease: Lease, signal: AbortSignal) => Promise<void>;
  concurrency?: number;
  pollMs?: number;
  handlerTimeoutMs?: number;
  /** Most jobs per claim (default: free slots, at most 64). */
  claimBatch?: number;
  logger?: Logger;
}

export interface WorkerStats {
  /** Jobs whose handler succeeded (acks sent). */
  processed: number;
  /** Failed deliveries that got a retry. */
  retried: number;
  /** Jobs moved to the dead-letter list by this worker. */
  deadLettered: number;
  /** Acks or fails that found the lease gone (expired and taken by another worker). */
  stale: number;
  /** Store errors while claiming/acking (the worker keeps going). */
  storeErrors: number;
  inFlight: number;
}

export class QueueWorker {
  private readonly queue: JobQueue;
  private readonly handle: QueueWorkerOptions['handle'];
  private readonly concurrency: number;
  private readonly pollMs: number;
  private readonly handlerTimeoutMs: number;
  private readonly claimBatch: number;
  private readonly log: Logger;
  private readonly acks: Batcher<Lease, number>;
  private readonly running = new Set<Promise<void>>();
  private readonly controllers = new Set<AbortController>();
  private active = false;
  private loopDone: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  readonly stats: WorkerStats = { processed: 0, retried: 0, deadLettered: 0, stale: 0, storeErrors: 0, inFlight: 0 };

  constructor(opts: QueueWorkerOptions) {
    this.queue = opts.queue;
    this.handle = opts.handle;
    this.concurrency = Math.max(1, opts.concurrency ?? 16);
    this.pollMs = Math.max(5, opts.pollMs ?? 200);
    this.handlerTimeoutMs = opts.handlerTimeoutMs ?? 60_000;
    this.claimBatch = Math.max(1, opts.claimBatch ?? 64);
    this.log = opts.logger ?? defaultLogger;
    // One ack per lease token matters, not per job: batch them into one store call.
    this.acks = new Batcher<Lease, number>(
      async (leases) => {
        const n = await this.queue.ack(leases);
        this.stats.stale += leases.length - n;
        return leases.map(() => 1);
      },
      { maxBatch: 256, maxInFlight: 1 },
    );
  }

  start(): this {
    if (this.active) return this;
    this.active = true;
    this.loopDone = this.loop();
    return this;
  }

  /** Claims at once instead of waiting for the next poll. */
  wake(): void {
    this.woken = true;
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  /** Stops claiming, lets running handlers finish (aborting them after `graceMs`), flushes acks. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.active) return;
    this.active = false;
    this.wake();
    await this.loopDone;
    if (this.running.size > 0) {
      const t = setTimeout(() => {
        for (const ac of this.controllers) ac.abort(new Error('bridge shutting down'));
      }, graceMs);
      await Promise.allSettled([...this.running]);
      clearTimeout(t);
    }
    await this.acks.drain();
  }

  private async loop(): Promise<void> {
    // Claim in batches: with jobs running, wait until a quarter of the slots are free (fewer, larger
    // claims: each one is a store round trip).
    const minClaim = Math.max(1, Math.floor(this.concurrency / 4));
    while (this.active) {
      const free = this.concurrency - this.running.size;
      if (free <= 0 || (free < minClaim && this.running.size > 0)) {
        await Promise.race(this.running);
        continue;
      }
      this.woken = false;
      let leases: Lease[] = [];
      try {
        leases = await this.queue.claim(Math.min(free, this.claimBatch));
      } catch (e) {
        this.stats.storeErrors++;
        this.log.warn({ err: (e as Error).message }, 'bridge worker: claiming jobs failed; retrying');
      }
      for (const l of leases) this.track(this.run(l));
      if (leases.length === 0 && !this.woken && this.active) await this.idle();
    }
  }

  private idle(): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.wakeUp = undefined;
        resolve();
      }, this.pollMs);
      this.wakeUp = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private track(p: Promise<void>): void {
    this.running.add(p);
    this.stats.inFlight = this.running.size;
    void p.finally(() => {
      this.running.delete(p);
      this.stats.inFlight = this.running.size;
    });
  }

  private async run(lease: Lease): Promise<void> {
    // One controller per job: aborted by its timeout or by stop() after the grace period.
    const ac = new AbortController();
    this.controllers.add(ac);
    const timeout = setTimeout(
      () => ac.abort(new Error(`handler timed out after ${this.handlerTimeoutMs} ms`)),
      this.handlerTimeoutMs,
    );
    const extendEvery = Math.max(50, Math.floor(this.queue.policy.leaseMs / 3));
    const extender = setInterval(() => {
      this.queue.extend(lease).then(
        (held) => {
          if (!held)
            this.log.warn(
              { id: lease.id },
              'bridge worker: lease lost while handling (another worker may deliver it again)',
            );
        },
        () => undefined,
      );
    }, extendEvery);
    try {
      await Promise.race([
        this.handle(lease, ac.signal),
        new Promise<never>((_, reject) =>
          ac.signal.addEventListener('abort', () => reject(ac.signal.reason as Error), { once: true }),
        ),
      ]);
    } catch (e) {
      await this.failed(lease, e);
      return;
    } finally {
      clearTimeout(timeout);
      clearInterval(extender);
      this.controllers.delete(ac);
    }
    try {
      await this.acks.submit(lease);
      this.stats.processed++;
    } catch (e) {
      this.stats.storeErrors++;
      this.log.warn(
        { id: lease.id, err: (e as Error).message },
        'bridge worker: ack failed; the job will be delivered again',
      );
    }
  }

  private async failed(lease: Lease, e: unknown): Promise<void> {
    const message = e instanceof Error ? e.message : String(e);
    try {
      const r = await this.queue.fail(lease, message.slice(0, 2000));
      if (r === 'dead') {
        this.stats.deadLettered++;
        this.log.error(
          { id: lease.id, type: lease.type, attempt: lease.attempt, err: message },
          'bridge worker: job moved to the dead-letter list',
        );
      } else if (r === 'retry') {
        this.stats.retried++;
        this.log.warn(
          { id: lease.id, type: lease.type, attempt: lease.attempt, err: message },
          'bridge worker: handler failed; retry scheduled',
        );
      } else this.stats.stale++;
    } catch (err) {
      this.stats.storeErrors++;
      this.log.warn(
        { id: lease.id, err: (err as Error).message },
        'bridge worker: recording a failure failed; the job will be delivered again',
      );
    }
  }
}
