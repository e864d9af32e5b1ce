/**
 * The SQLite store's synchronous core (better-sqlite3): the schema and every statement. store/sqlite.ts
 * is the async face the rest of the bridge uses; it adds durability on top.
 *
 * Durability: the connection runs WAL with `synchronous=NORMAL`, so a commit appends its frames to
 * the WAL without waiting for the disk (SQLite still syncs around checkpoints, keeping the file
 * consistent). Making a commit durable is store/sqlite.ts's job: before a call that must survive a
 * power cut resolves, it fdatasyncs the WAL file, one flush covering every commit made before it
 * started (group commit off the event loop). See `DURABLE_METHODS`.
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { exhausted, retryDelayMs } from '../queue/retry.js';
import type {
  DeadLetter,
  DedupeStatus,
  EnqueueOutcome,
  IdempotencyBegin,
  KvEntry,
  Lease,
  QueueEvent,
  QueuePolicy,
  QueueStats,
  SavedResponse,
} from './types.js';

export interface SqliteEngineOptions {
  path: string;
  policy: QueuePolicy;
  /** ms to wait for another connection's write lock (several processes on one file). */
  busyTimeoutMs?: number;
  /**
   * false: this connection never checkpoints the WAL (a checkpointer connection on another thread
   * does, so the writer never blocks on the checkpoint's fsyncs). Default true.
   */
  autoCheckpoint?: boolean;
}

/** Job phases: ready (visible_at = due), leased (visible_at = lease expiry), retry wait, dead. */
const READY = 0;
const LEASED = 1;
const RETRY = 2;
const DEAD = 3;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS dedupe (
  id TEXT PRIMARY KEY,
  first_seen INTEGER NOT NULL,
  enqueued INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dedupe_first_seen ON dedupe(first_seen);
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  phase INTEGER NOT NULL,
  visible_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  token TEXT,
  last_error TEXT,
  dead_at INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs(visible_at) WHERE phase < 3;
CREATE INDEX IF NOT EXISTS jobs_dead ON jobs(dead_at) WHERE phase = 3;
CREATE TABLE IF NOT EXISTS idempotency (
  key TEXT PRIMARY KEY,
  request_hash TEXT NOT NULL,
  completed INTEGER NOT NULL,
  response TEXT,
  created_at INTEGER NOT NULL,
  locked_until INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency(created_at);
CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY,
  value BLOB NOT NULL,
  version INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS locks (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
`;

/** Rows deleted per prune statement: small enough to keep one statement to a few milliseconds. */
export const PRUNE_CHUNK = 2_000;

interface JobRow {
  id: string;
  type: string;
  payload: string;
  received_at: number;
  attempts: number;
}

/**
 * Calls whose effects must be on disk before the caller hears back (when durability is 'full'): what a
 * 2xx or a saved response promises. Queue bookkeeping is left out on purpose: losing a claim, lease
 * extension, ack or retry schedule in a power cut only means a job is delivered again, which handlers
 * tolerate anyway (and the next durable call's flush covers them too). Dedupe records for a queue kept
 * elsewhere (reserve, markEnqueued) are left out too: that queue holds the durability (bullmq.ts).
 */
export const DURABLE_METHODS: ReadonlySet<keyof SqliteEngine> = new Set<keyof SqliteEngine>([
  'enqueue',
  'redrive',
  'idemBegin',
  'idemComplete',
  'idemRelease',
  'kvSet',
  'kvDelete',
  'lockAcquire',
  'lockRelease',
]);

export class SqliteEngine {
  private readonly db: Database.Database;
  private readonly policy: QueuePolicy;
  private readonly s;
  /** The WAL file the thread fdatasyncs to make commits durable. */
  readonly walPath: string;

  constructor(opts: SqliteEngineOptions) {
    this.policy = opts.policy;
    this.db = new Database(opts.path);
    this.walPath = `${opts.path}-wal`;
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
    this.db.pragma('synchronous = NORMAL');
    if (opts.autoCheckpoint === false) this.db.pragma('wal_autocheckpoint = 0');
    this.db.exec(SCHEMA);
    const db = this.db;
    this.s = {
      dedupeInsert: db.prepare(
        'INSERT INTO dedupe (id, first_seen, enqueued) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING',
      ),
      dedupeGet: db.prepare('SELECT enqueued FROM dedupe WHERE id = ?'),
      dedupeMark: db.prepare('UPDATE dedupe SET enqueued = 1 WHERE id = ?'),
      jobInsert: db.prepare(
        `INSERT INTO jobs (id, type, payload, received_at, phase, visible_at) VALUES (?, ?, ?, ?, ${READY}, ?) ON CONFLICT (id) DO NOTHING`,
      ),
      deadExpired: db.prepare(
        `UPDATE jobs SET phase = ${DEAD}, dead_at = ?, token = NULL,
           last_error = coalesce(last_error, 'lease expired on the last attempt (handler crashed or hung)')
         WHERE phase < ${DEAD} AND visible_at <= ? AND attempts >= ?`,
      ),
      claim: db.prepare(
        `UPDATE jobs SET phase = ${LEASED}, token = ?, visible_at = ?, attempts = attempts + 1
         WHERE seq IN (SELECT seq FROM jobs WHERE phase < ${DEAD} AND visible_at <= ? ORDER BY visible_at, seq LIMIT ?)
         RETURNING id, type, payload, received_at, attempts`,
      ),
      extend: db.prepare(`UPDATE jobs SET visible_at = ? WHERE id = ? AND token = ? AND phase = ${LEASED}`),
      ack: db.prepare(`DELETE FROM jobs WHERE id = ? AND token = ? AND phase = ${LEASED}`),
      leased: db.prepare(`SELECT attempts FROM jobs WHERE id = ? AND token = ? AND phase = ${LEASED}`),
      retry: db.prepare(`UPDATE jobs SET phase = ${RETRY}, visible_at = ?, token = NULL, last_error = ? WHERE id = ?`),
      dead: db.prepare(`UPDATE jobs SET phase = ${DEAD}, dead_at = ?, token = NULL, last_error = ? WHERE id = ?`),
      stats: db.prepare(
        `SELECT
           sum(phase < ${DEAD}) AS depth,
           sum(phase = ${LEASED} AND visible_at > ?) AS in_flight,
           sum(phase = ${RETRY} AND visible_at > ?) AS retrying,
           sum(phase = ${DEAD}) AS dead,
           min(CASE WHEN phase < ${DEAD} THEN received_at END) AS oldest
         FROM jobs`,
      ),
      deadList: db.prepare(
        `SELECT id, type, payload, received_at, attempts, last_error, dead_at FROM jobs WHERE phase = ${DEAD} ORDER BY dead_at, seq LIMIT ?`,
      ),
      redrive: db.prepare(
        `UPDATE jobs SET phase = ${READY}, attempts = 0, visible_at = ?, dead_at = NULL WHERE id = ? AND phase = ${DEAD}`,
      ),
      idemGet: db.prepare('SELECT request_hash, completed, response, locked_until FROM idempotency WHERE key = ?'),
      idemInsert: db.prepare(
        'INSERT INTO idempotency (key, request_hash, completed, created_at, locked_until) VALUES (?, ?, 0, ?, ?)',
      ),
      idemRelock: db.prepare('UPDATE idempotency SET locked_until = ? WHERE key = ? AND completed = 0'),
      idemComplete: db.prepare('UPDATE idempotency SET completed = 1, response = ?, locked_until = ? WHERE key = ?'),
      idemRelease: db.prepare('DELETE FROM idempotency WHERE key = ? AND completed = 0'),
      kvGet: db.prepare('SELECT value, version, updated_at FROM kv WHERE key = ?'),
      kvPut: db.prepare(
        'INSERT INTO kv (key, value, version, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, updated_at = excluded.updated_at',
      ),
      kvDelete: db.prepare('DELETE FROM kv WHERE key = ?'),
      lockAcquire: db.prepare(
        `INSERT INTO locks (name, owner, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
         WHERE locks.owner = excluded.owner OR locks.expires_at <= ?`,
      ),
      lockRelease: db.prepare('DELETE FROM locks WHERE name = ? AND owner = ?'),
      pruneDedupe: db.prepare(
        `DELETE FROM dedupe WHERE id IN (SELECT id FROM dedupe WHERE first_seen < ? LIMIT ${PRUNE_CHUNK})`,
      ),
      pruneIdem: db.prepare(
        `DELETE FROM idempotency WHERE key IN (SELECT key FROM idempotency WHERE created_at < ? AND (completed = 1 OR locked_until <= ?) LIMIT ${PRUNE_CHUNK})`,
      ),
    };
  }

  /** Runs `fn` in one IMMEDIATE transaction (the write lock up front: no upgrade deadlocks between processes). */
  private tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  // ---- queue ----

  enqueue(events: readonly QueueEvent[], now: number): EnqueueOutcome[] {
    return this.tx(() =>
      events.map((e) => {
        if (this.s.dedupeInsert.run(e.id, e.receivedAt, 1).changes === 0) return 'duplicate';
        this.s.jobInsert.run(e.id, e.type, e.payload, e.receivedAt, now);
        return 'enqueued';
      }),
    );
  }

  claim(max: number, now: number): Lease[] {
    const token = randomBytes(12).toString('base64url');
    const rows = this.tx(() => {
      this.s.deadExpired.run(now, now, this.policy.maxAttempts);
      return this.s.claim.all(token, now + this.policy.leaseMs, now, max) as JobRow[];
    });
    return rows.map((r) => ({
      id: r.id,
      type: r.type,
      payload: r.payload,
      receivedAt: r.received_at,
      attempt: r.attempts,
      token,
    }));
  }

  extend(id: string, token: string, now: number): boolean {
    return this.tx(() => this.s.extend.run(now + this.policy.leaseMs, id, token).changes === 1);
  }

  ack(leases: ReadonlyArray<{ id: string; token: string }>): number {
    return this.tx(() => leases.reduce((n, l) => n + this.s.ack.run(l.id, l.token).changes, 0));
  }

  fail(id: string, token: string, error: string, now: number, random: number): 'retry' | 'dead' | 'stale' {
    return this.tx(() => {
      const row = this.s.leased.get(id, token) as { attempts: number } | undefined;
      if (!row) return 'stale';
      if (exhausted(row.attempts, this.policy)) {
        this.s.dead.run(now, error, id);
        return 'dead';
      }
      this.s.retry.run(now + retryDelayMs(row.attempts, this.policy, () => random), error, id);
      return 'retry';
    });
  }

  stats(now: number): QueueStats {
    const r = this.s.stats.get(now, now) as {
      depth: number | null;
      in_flight: number | null;
      retrying: number | null;
      dead: number | null;
      oldest: number | null;
    };
    return {
      depth: r.depth ?? 0,
      inFlight: r.in_flight ?? 0,
      retrying: r.retrying ?? 0,
      dead: r.dead ?? 0,
      oldestAgeMs: r.oldest === null ? 0 : Math.max(0, now - r.oldest),
    };
  }

  deadLetters(limit: number): DeadLetter[] {
    const rows = this.s.deadList.all(limit) as Array<JobRow & { last_error: string | null; dead_at: number }>;
    return rows.map((r) => ({
      id: r.id,
      type: r.type,
      payload: r.payload,
      receivedAt: r.received_at,
      attempts: r.attempts,
      lastError: r.last_error ?? '',
      deadAt: r.dead_at,
    }));
  }

  redrive(ids: readonly string[], now: number): number {
    return this.tx(() => ids.reduce((n, id) => n + this.s.redrive.run(now, id).changes, 0));
  }

  // ---- dedupe (for queues outside this database) ----

  reserve(entries: ReadonlyArray<{ id: string; seenAt: number }>): DedupeStatus[] {
    return this.tx(() =>
      entries.map(({ id, seenAt }) => {
        if (this.s.dedupeInsert.run(id, seenAt, 0).changes === 1) return 'new';
        const row = this.s.dedupeGet.get(id) as { enqueued: number } | undefined;
        return row?.enqueued === 1 ? 'enqueued' : 'pending';
      }),
    );
  }

  markEnqueued(ids: readonly string[]): void {
    this.tx(() => {
      for (const id of ids) this.s.dedupeMark.run(id);
    });
  }

  // ---- idempotency ----

  idemBegin(key: string, requestHash: string, now: number, lockMs: number): IdempotencyBegin {
    return this.tx((): IdempotencyBegin => {
      const row = this.s.idemGet.get(key) as
        { request_hash: string; completed: number; response: string | null; locked_until: number } | undefined;
      if (!row) {
        this.s.idemInsert.run(key, requestHash, now, now + lockMs);
        return { state: 'acquired' };
      }
      if (row.request_hash !== requestHash) return { state: 'mismatch' };
      if (row.completed === 1)
        return { state: 'replay', response: JSON.parse(row.response ?? 'null') as SavedResponse };
      if (row.locked_until > now) return { state: 'in_progress' };
      this.s.idemRelock.run(now + lockMs, key);
      return { state: 'acquired' };
    });
  }

  idemComplete(key: string, response: SavedResponse, now: number): void {
    this.tx(() => this.s.idemComplete.run(JSON.stringify(response), now, key));
  }

  idemRelease(key: string): void {
    this.tx(() => this.s.idemRelease.run(key));
  }

  // ---- key/value ----

  kvGet(key: string): KvEntry | undefined {
    const r = this.s.kvGet.get(key) as { value: Buffer; version: number; updated_at: number } | undefined;
    return r ? { value: r.value, version: r.version, updatedAt: r.updated_at } : undefined;
  }

  kvSet(key: string, value: Uint8Array, now: number, expectVersion?: number): { ok: boolean; version: number } {
    return this.tx(() => {
      const cur = (this.s.kvGet.get(key) as { version: number } | undefined)?.version ?? 0;
      if (expectVersion !== undefined && expectVersion !== cur) return { ok: false, version: cur };
      this.s.kvPut.run(key, Buffer.from(value), cur + 1, now);
      return { ok: true, version: cur + 1 };
    });
  }

  kvDelete(key: string): void {
    this.tx(() => this.s.kvDelete.run(key));
  }

  // ---- locks ----

  lockAcquire(name: string, owner: string, ttlMs: number, now: number): boolean {
    return this.tx(() => this.s.lockAcquire.run(name, owner, now + ttlMs, now).changes === 1);
  }

  lockRelease(name: string, owner: string): void {
    this.tx(() => this.s.lockRelease.run(name, owner));
  }

  // ---- maintenance ----

  /** One chunk of pruning (at most PRUNE_CHUNK rows per table); the caller repeats while chunks are full. */
  pruneChunk(dedupeBefore: number, idempotencyBefore: number, now: number): { dedupe: number; idempotency: number } {
    return this.tx(() => ({
      dedupe: this.s.pruneDedupe.run(dedupeBefore).changes,
      idempotency: this.s.pruneIdem.run(idempotencyBefore, now).changes,
    }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
