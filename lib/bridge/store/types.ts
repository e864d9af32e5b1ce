/**
 * The bridge's one storage interface. Every piece of bridge state goes through it, whichever backend
 * holds it: SQLite (embedded default, one machine), PostgreSQL (several bridge instances), and for the
 * queue alone Redis through BullMQ.
 *
 *   StateStore  = dedupe records + idempotency records + key/value blobs + lease locks
 *   JobQueue    = durable, deduplicating, at-least-once job queue with leases and a dead-letter list
 *   BridgeStore = { state, queue } as the service opens them from config (store/index.ts)
 *
 * Time: methods that take `now` use the caller's clock (ms since the epoch) for record timestamps.
 * Expiry decisions — lease locks, idempotency locks, queue leases and retry schedules — are made on
 * the clock of whatever several bridge instances share: the database clock on PostgreSQL, so machines
 * with skewed clocks agree on who holds what (an instance whose clock runs ahead must not take a live
 * lease). SQLite serves one machine: there `now` (one clock) decides.
 */

/** An event on its way into the queue. `id` is the dedupe key (see webhooks/route.ts). */
export interface QueueEvent {
  id: string;
  /** Event type (`memory.updated`, …), used to pick the handler. */
  type: string;
  /** The raw JSON body as received (already verified and parsed once). */
  payload: string;
  /** When the bridge received it (ms since the epoch). */
  receivedAt: number;
}

/** `enqueued`: new and now durable; `duplicate`: seen before (and durably queued or done then). */
export type EnqueueOutcome = 'enqueued' | 'duplicate';

/** A claimed job: invisible to other claimers until `leaseMs` passes without ack/fail/extend. */
export interface Lease extends QueueEvent {
  /** 1 for the first delivery, incremented by every claim (a crash mid-handler counts as an attempt). */
  attempt: number;
  /** Proves the lease: ack/fail/extend with a stale token (lease expired, job re-claimed) do nothing. */
  token: string;
}

export interface DeadLetter extends QueueEvent {
  attempts: number;
  lastError: string;
  deadAt: number;
}

export interface QueueStats {
  /** Jobs not yet done and not dead (ready + leased + waiting for a retry). */
  depth: number;
  /** Leased right now (being handled). */
  inFlight: number;
  /** Waiting for a retry after a failure. */
  retrying: number;
  /** In the dead-letter list. */
  dead: number;
  /** Age of the oldest job not yet done (ms), 0 when empty. */
  oldestAgeMs: number;
}

/** Retry and lease policy; one policy for every queue implementation (queue/retry.ts computes delays). */
export interface QueuePolicy {
  /** Deliveries before a job goes to the dead-letter list (default 8). */
  maxAttempts: number;
  /** Visibility timeout of a claim in ms (default 30 s). */
  leaseMs: number;
  /** Retry delay: full jitter over min(capMs, baseMs·2^(attempt-1)) (defaults 1 s, 5 min). */
  retryBaseMs: number;
  retryCapMs: number;
}

export const DEFAULT_QUEUE_POLICY: QueuePolicy = {
  maxAttempts: 8,
  leaseMs: 30_000,
  retryBaseMs: 1_000,
  retryCapMs: 300_000,
};

export interface JobQueue {
  /** `sqlite`, `postgres` or `redis`. */
  readonly kind: string;
  readonly policy: QueuePolicy;
  /**
   * Records each event id as seen and enqueues it unless it was seen within the dedupe retention.
   * Resolves only when the outcome is durable: an `enqueued` job survives a crash of this process
   * (and, per backend, of the machine: see docs/readme/bridge-webhooks.md). One call is one
   * transaction where the backend allows it: callers batch (queue/batcher.ts).
   */
  enqueue(events: readonly QueueEvent[]): Promise<EnqueueOutcome[]>;
  /** Claims up to `max` visible jobs, oldest first, leasing them for `policy.leaseMs`. */
  claim(max: number): Promise<Lease[]>;
  /** Pushes the lease of a job still being handled `policy.leaseMs` further. False when the lease was lost. */
  extend(lease: Lease): Promise<boolean>;
  /** Done: removes the jobs whose lease tokens still hold. Returns how many were removed. */
  ack(leases: readonly Lease[]): Promise<number>;
  /**
   * A handler failed: schedules a retry after a jittered delay, or moves the job to the dead-letter
   * list once `policy.maxAttempts` deliveries failed. `stale` when the lease no longer held.
   */
  fail(lease: Lease, error: string): Promise<'retry' | 'dead' | 'stale'>;
  stats(): Promise<QueueStats>;
  /** Oldest dead letters first. */
  deadLetters(limit?: number): Promise<DeadLetter[]>;
  /** Moves dead letters back to the queue (attempts reset). Returns how many moved. */
  redrive(ids: readonly string[]): Promise<number>;
  close(): Promise<void>;
}

/**
 * Dedupe records for queues that live outside the state database (BullMQ): a two-step protocol. The
 * queue holds the durability: these records are written without an fsync of their own.
 */
export type DedupeStatus = 'new' | 'pending' | 'enqueued';

export interface DedupeStore {
  /**
   * Inserts a record (not yet marked enqueued) for each id not seen before: `new`. Ids already seen
   * answer `enqueued` when their enqueue was confirmed, else `pending` (a crash or a concurrent
   * request between reserve and markEnqueued): the caller must enqueue those again (idempotently).
   */
  reserve(entries: ReadonlyArray<{ id: string; seenAt: number }>): Promise<DedupeStatus[]>;
  markEnqueued(ids: readonly string[]): Promise<void>;
}

/** A saved HTTP response for idempotent replay (Stripe semantics). */
export interface SavedResponse {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

export type IdempotencyBegin =
  /** First time (or a previous holder's lock expired): run the request, then `complete`. */
  | { state: 'acquired' }
  /** Completed before with the same request: answer `response` again. */
  | { state: 'replay'; response: SavedResponse }
  /** Another request with this key is running now (answer 409 and let the caller retry). */
  | { state: 'in_progress' }
  /** The key was used with a different request (answer 422 / 400). */
  | { state: 'mismatch' };

export interface IdempotencyStore {
  /**
   * Looks the key up; when free, takes it for `lockMs` on behalf of the request hashed as `requestHash`.
   * `now` stamps the record (created_at, for pruning); on PostgreSQL the lock's expiry is on the database clock.
   */
  begin(key: string, requestHash: string, now: number, lockMs: number): Promise<IdempotencyBegin>;
  /** Saves the response (any status, as Stripe saves 500s) for replay. */
  complete(key: string, response: SavedResponse, now: number): Promise<void>;
  /** Gives the key up without saving (the request never started its side effects). */
  release(key: string): Promise<void>;
}

export interface KvEntry {
  value: Buffer;
  /** Increases on every write: the compare-and-set token. */
  version: number;
  updatedAt: number;
}

/**
 * Small named blobs: encrypted token sets, cursors. Values are opaque bytes (callers encrypt secrets
 * before storing them; the store never sees plaintext tokens).
 */
export interface KvStore {
  get(key: string): Promise<KvEntry | undefined>;
  /**
   * Writes `value`. With `expectVersion` the write happens only if the current version matches
   * (0 = must not exist yet): `{ok:false}` otherwise, so concurrent writers cannot lose updates.
   */
  set(key: string, value: Buffer, now: number, expectVersion?: number): Promise<{ ok: boolean; version: number }>;
  delete(key: string): Promise<void>;
}

/**
 * Named leases for single-flight work across bridge instances (a token refresh, a pull): whoever holds
 * the lease until `ttlMs` passes does the work.
 */
export interface LockStore {
  /**
   * True when `owner` now holds `name` (free, expired, or already its own: then extended to `ttlMs` from
   * now). On PostgreSQL "now" and expiry are the database clock's and `now` is ignored; on SQLite `now`.
   */
  acquire(name: string, owner: string, ttlMs: number, now: number): Promise<boolean>;
  release(name: string, owner: string): Promise<void>;
}

export interface PruneOptions {
  /** Dedupe records first seen before this are deleted. */
  dedupeBefore: number;
  /** Completed/abandoned idempotency records created before this are deleted. */
  idempotencyBefore: number;
}

export interface StateStore {
  readonly kind: string;
  readonly dedupe: DedupeStore;
  readonly idempotency: IdempotencyStore;
  readonly kv: KvStore;
  readonly locks: LockStore;
  /** Deletes expired dedupe and idempotency records; returns how many of each. */
  prune(opts: PruneOptions): Promise<{ dedupe: number; idempotency: number }>;
  close(): Promise<void>;
}

export interface BridgeStore {
  readonly state: StateStore;
  readonly queue: JobQueue;
  close(): Promise<void>;
}

/** The first event of each id in a batch, in batch order (later repeats are duplicates of it). */
export function firstOfEachId<T extends { id: string }>(events: readonly T[]): T[] {
  const first = new Map<string, T>();
  for (const e of events) if (!first.has(e.id)) first.set(e.id, e);
  return [...first.values()];
}

/** Outcome per event of a batch: `enqueued` for the first event of each id in `fresh`, else `duplicate`. */
export function batchOutcomes(events: readonly QueueEvent[], fresh: ReadonlySet<string>): EnqueueOutcome[] {
  const decided = new Set<string>();
  return events.map((e) => {
    if (decided.has(e.id)) return 'duplicate';
    decided.add(e.id);
    return fresh.has(e.id) ? 'enqueued' : 'duplicate';
  });
}
