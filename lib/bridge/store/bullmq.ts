/**
 * The job queue on Redis through BullMQ, for bridges that outgrow one machine: dedupe records stay in
 * the state store (PostgreSQL), jobs live in Redis and every instance claims from it.
 *
 * Enqueue protocol (two systems, no shared transaction, still no loss and no double enqueue):
 *   1. `dedupe.reserve(ids)` in PostgreSQL: new ids get a record marked "not yet enqueued".
 *   2. `addBulk` in Redis with `jobId` = the event id: adding an id that is already queued is a no-op,
 *      so repeating this step is harmless.
 *   3. the caller answers 2xx; `dedupe.markEnqueued(ids)` follows, batched, behind the answer.
 * A crash before step 2 completes leaves a record "not yet enqueued": the sender, having had no 2xx,
 * sends again; `reserve` answers `pending` and step 2 runs again (a no-op if the job made it). A 2xx
 * always means "in Redis". The dedupe records themselves need no fsync of their own (PostgreSQL
 * writes them with synchronous_commit off): if the database forgets the last ones in a crash, a replay
 * of those events is queued again and the idempotent handler absorbs it.
 *
 * Claims use BullMQ's manual fetching (`Worker.getNextJob` with a lock token; the lock is the lease,
 * `lockDuration` = `policy.leaseMs`); BullMQ's stalled-job checker puts jobs whose lock expired (their
 * bridge died) back in the wait list, `maxStalledCount` = `policy.maxAttempts`. Retries use BullMQ's
 * backoff with our jittered schedule (queue/retry.ts); jobs out of attempts stay in BullMQ's failed set:
 * the dead-letter list. Completed jobs are removed at once (their dedupe record outlives them).
 *
 * Durability: an acknowledged webhook is as durable as Redis makes it: run Redis with
 * `appendonly yes` and `appendfsync always` to have it on disk before the 2xx (`everysec` may lose the
 * last second on a power cut). See docs/readme/bridge-webhooks.md.
 */
import { randomBytes } from 'node:crypto';
import { Queue, UnrecoverableError, Worker, type Job, type ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { ClawError } from '../../errors.js';
import { Batcher } from '../queue/batcher.js';
import { retryDelayMs } from '../queue/retry.js';
import {
  batchOutcomes,
  DEFAULT_QUEUE_POLICY,
  firstOfEachId,
  type DeadLetter,
  type DedupeStore,
  type EnqueueOutcome,
  type JobQueue,
  type Lease,
  type QueueEvent,
  type QueuePolicy,
  type QueueStats,
} from './types.js';
import { StoreErrorCode } from './errors.js';

export interface BullMqQueueOptions {
  /** `redis://host:port[/db]` */
  url: string;
  /** Where dedupe records live (the PostgreSQL or SQLite state store). */
  dedupe: DedupeStore;
  /** Queue name (default `claw-bridge-webhooks`). */
  name?: string;
  /** Redis key prefix (default `claw`). */
  prefix?: string;
  policy?: Partial<QueuePolicy>;
  /** How often expired locks are looked for, ms (default leaseMs / 2). */
  stalledIntervalMs?: number;
  now?: () => number;
  onError?: (e: Error) => void;
}

interface JobData {
  id: string;
  type: string;
  payload: string;
  receivedAt: number;
}

/** BullMQ job ids may not contain ':' nor be integers: percent-encode and prefix. */
export function bullJobId(eventId: string): string {
  return `e-${encodeURIComponent(eventId)}`;
}

const leaseKey = (id: string, token: string): string => `${token}\u0000${id}`;

function redisUnavailable(e: unknown, what: string): ClawError {
  if (e instanceof ClawError) return e;
  const message = (e as Error)?.message ?? String(e);
  return new ClawError(StoreErrorCode.QUEUE_UNAVAILABLE, `Redis failed while ${what}: ${message}`, {
    hint: 'check that Redis runs and bridge.store.redisUrl points at it',
  });
}

export class BullMqQueue implements JobQueue {
  readonly kind = 'redis';
  readonly policy: QueuePolicy;
  private readonly queueClient: Queue<JobData>;
  private readonly worker: Worker<JobData>;
  private readonly connections: Redis[];
  private readonly dedupe: DedupeStore;
  private readonly now: () => number;
  /** Jobs this instance holds a lease on, by event id + token (BullMQ needs the Job object to ack/extend). */
  private readonly leased = new Map<string, Job<JobData>>();
  private closed = false;
  private readonly marks: Batcher<string, void>;
  private readonly onError: (e: Error) => void;

  private constructor(opts: BullMqQueueOptions, policy: QueuePolicy) {
    this.policy = policy;
    this.dedupe = opts.dedupe;
    this.now = opts.now ?? Date.now;
    this.marks = new Batcher<string, void>(
      async (ids) => {
        await this.dedupe.markEnqueued(ids);
        return ids.map(() => undefined);
      },
      { maxBatch: 1000, maxDelayMs: 5 },
    );
    const redisOpts: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true };
    const qConn = new Redis(opts.url, redisOpts);
    const wConn = new Redis(opts.url, redisOpts);
    const onError = opts.onError ?? ((): void => undefined);
    this.onError = onError;
    qConn.on('error', onError);
    wConn.on('error', onError);
    this.connections = [qConn, wConn];
    const name = opts.name ?? 'claw-bridge-webhooks';
    const prefix = opts.prefix ?? 'claw';
    this.queueClient = new Queue<JobData>(name, { connection: qConn as ConnectionOptions, prefix });
    this.worker = new Worker<JobData>(name, null, {
      connection: wConn as ConnectionOptions,
      prefix,
      autorun: false,
      lockDuration: policy.leaseMs,
      stalledInterval: opts.stalledIntervalMs ?? Math.max(100, Math.floor(policy.leaseMs / 2)),
      maxStalledCount: policy.maxAttempts,
      settings: { backoffStrategy: (attemptsMade: number) => retryDelayMs(attemptsMade, policy) },
    });
    this.queueClient.on('error', onError);
    this.worker.on('error', onError);
  }

  static async open(opts: BullMqQueueOptions): Promise<BullMqQueue> {
    const q = new BullMqQueue(opts, { ...DEFAULT_QUEUE_POLICY, ...opts.policy });
    try {
      await Promise.all([q.queueClient.waitUntilReady(), q.worker.waitUntilReady()]);
      await q.worker.startStalledCheckTimer();
    } catch (e) {
      await q.close().catch(() => undefined);
      throw redisUnavailable(e, 'connecting');
    }
    return q;
  }

  async enqueue(events: readonly QueueEvent[]): Promise<EnqueueOutcome[]> {
    const unique = firstOfEachId(events);
    const status = await this.dedupe.reserve(unique.map((e) => ({ id: e.id, seenAt: e.receivedAt })));
    const toAdd = unique.filter((_, i) => status[i] !== 'enqueued');
    if (toAdd.length > 0) {
      try {
        await this.queueClient.addBulk(
          toAdd.map((e) => ({
            name: e.type,
            data: { id: e.id, type: e.type, payload: e.payload, receivedAt: e.receivedAt },
            opts: {
              jobId: bullJobId(e.id),
              attempts: this.policy.maxAttempts,
              backoff: { type: 'claw' },
              removeOnComplete: true,
              removeOnFail: false,
            },
          })),
        );
      } catch (e) {
        throw redisUnavailable(e, 'enqueueing webhooks');
      }
      // The job is in Redis now: the 2xx may go. The "enqueued" mark only spares a later duplicate a
      // (no-op) re-add, so it is written behind the answer, batched.
      for (const e of toAdd) void this.marks.submit(e.id).catch((err: unknown) => this.onError(err as Error));
    }
    return batchOutcomes(events, new Set(unique.filter((_, i) => status[i] === 'new').map((e) => e.id)));
  }

  async claim(max: number): Promise<Lease[]> {
    const token = randomBytes(12).toString('base64url');
    // One moveToActive script per job, sent together (pipelined on the worker's connection).
    const settled = await Promise.allSettled(
      Array.from(
        { length: max },
        () => this.worker.getNextJob(token, { block: false }) as Promise<Job<JobData> | undefined>,
      ),
    );
    const jobs = settled.flatMap((r) => (r.status === 'fulfilled' && r.value ? [r.value] : []));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (jobs.length === 0 && failed) throw redisUnavailable(failed.reason, 'claiming jobs');
    const out: Lease[] = [];
    for (const job of jobs) {
      const attempt = Math.max(1, job.attemptsStarted ?? job.attemptsMade + 1);
      if (attempt > this.policy.maxAttempts) {
        // Its last allowed delivery lost its lease (the handler's bridge died or hung): dead letter.
        await job
          .moveToFailed(
            new UnrecoverableError('lease expired on the last attempt (handler crashed or hung)'),
            token,
            false,
          )
          .catch(() => undefined);
        continue;
      }
      this.leased.set(leaseKey(job.data.id, token), job);
      out.push({ ...job.data, attempt, token });
    }
    return out;
  }

  async extend(lease: Lease): Promise<boolean> {
    const job = this.leased.get(leaseKey(lease.id, lease.token));
    if (!job) return false;
    try {
      return (await job.extendLock(lease.token, this.policy.leaseMs)) === 1;
    } catch {
      return false;
    }
  }

  async ack(leases: readonly Lease[]): Promise<number> {
    const done = await Promise.all(
      leases.map(async (l) => {
        const job = this.leased.get(leaseKey(l.id, l.token));
        if (!job) return 0;
        this.leased.delete(leaseKey(l.id, l.token));
        try {
          await job.moveToCompleted(null, l.token, false);
          return 1;
        } catch (e) {
          // Lock lost (lease expired and the job went to another worker): that worker acks it.
          if (/lock|not in the active|Missing key/i.test((e as Error).message)) return 0;
          throw redisUnavailable(e, 'acknowledging a job');
        }
      }),
    );
    return done.reduce<number>((a, b) => a + b, 0);
  }

  async fail(lease: Lease, error: string): Promise<'retry' | 'dead' | 'stale'> {
    const job = this.leased.get(leaseKey(lease.id, lease.token));
    if (!job) return 'stale';
    this.leased.delete(leaseKey(lease.id, lease.token));
    try {
      await job.moveToFailed(new Error(error), lease.token, false);
    } catch (e) {
      if (/lock|not in the active|Missing key/i.test((e as Error).message)) return 'stale';
      throw redisUnavailable(e, 'scheduling a retry');
    }
    return job.attemptsMade >= this.policy.maxAttempts ? 'dead' : 'retry';
  }

  async stats(): Promise<QueueStats> {
    try {
      const c = await this.queueClient.getJobCounts('wait', 'active', 'delayed', 'failed', 'prioritized');
      const n = (k: string): number => c[k] ?? 0;
      let oldestAgeMs = 0;
      const oldest = [
        ...(await this.queueClient.getJobs(['wait', 'prioritized'], -1, -1)),
        ...(await this.queueClient.getJobs(['active', 'delayed'], 0, 0, true)),
      ];
      const now = this.now();
      for (const j of oldest) if (j?.data) oldestAgeMs = Math.max(oldestAgeMs, now - j.data.receivedAt);
      return {
        depth: n('wait') + n('active') + n('delayed') + n('prioritized'),
        inFlight: n('active'),
        retrying: n('delayed'),
        dead: n('failed'),
        oldestAgeMs,
      };
    } catch (e) {
      throw redisUnavailable(e, 'reading queue stats');
    }
  }

  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    const jobs = (await this.queueClient.getFailed(0, limit - 1)) as Array<Job<JobData>>;
    return jobs
      .filter((j) => j?.data)
      .map((j) => ({
        id: j.data.id,
        type: j.data.type,
        payload: j.data.payload,
        receivedAt: j.data.receivedAt,
        attempts: j.attemptsMade,
        lastError: j.failedReason ?? '',
        deadAt: j.finishedOn ?? 0,
      }))
      .sort((a, b) => a.deadAt - b.deadAt);
  }

  async redrive(ids: readonly string[]): Promise<number> {
    let n = 0;
    for (const id of ids) {
      const job = (await this.queueClient.getJob(bullJobId(id))) as Job<JobData> | undefined;
      if (!job || !(await job.isFailed())) continue;
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      n++;
    }
    return n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.marks.drain().catch(() => undefined);
    await this.worker.close(true).catch(() => undefined);
    await this.queueClient.close().catch(() => undefined);
    for (const c of this.connections) c.disconnect();
  }
}
