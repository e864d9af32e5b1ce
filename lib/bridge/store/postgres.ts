/**
 * The PostgreSQL store, for several bridge instances sharing state: dedupe and idempotency records,
 * key/value blobs, lease locks, and (unless Redis holds the queue) the job queue.
 *
 * - Every statement that decides something is one atomic statement or one transaction: dedupe with
 *   `INSERT … ON CONFLICT DO NOTHING`, claims with `SELECT … FOR UPDATE SKIP LOCKED` (instances never
 *   block on each other's claims nor claim the same job), compare-and-set on versions.
 * - Durability: enqueues and state writes commit with `synchronous_commit = on` (the server's WAL is
 *   flushed before the commit returns). Queue bookkeeping that at-least-once delivery tolerates losing
 *   (claims, lease extensions, acks, retry scheduling) runs on a second pool with
 *   `synchronous_commit = off`: a server crash may forget it, which only means a job is delivered again.
 * - Every expiry decision uses the database clock (`now_ms()`), so instances with skewed clocks agree:
 *   job leases and retry times, lease locks (`locks.acquire`) and idempotency locks (`idempotency.begin`).
 *   The caller's `now` is kept only where it is informational (record timestamps such as `created_at`,
 *   `first_seen`, `updated_at`).
 * - Tables live in their own schema (default `claw_bridge`), created on first open under an advisory
 *   lock so instances starting together do not race.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ClawError } from '../../errors.js';
import {
  batchOutcomes,
  DEFAULT_QUEUE_POLICY,
  firstOfEachId,
  type BridgeStore,
  type DeadLetter,
  type DedupeStatus,
  type DedupeStore,
  type EnqueueOutcome,
  type IdempotencyBegin,
  type IdempotencyStore,
  type JobQueue,
  type KvEntry,
  type KvStore,
  type Lease,
  type LockStore,
  type PruneOptions,
  type QueueEvent,
  type QueuePolicy,
  type QueueStats,
  type SavedResponse,
  type StateStore,
} from './types.js';
import { StoreErrorCode } from './errors.js';
import { ConfigErrorCode } from '../../errors.js';

export interface PostgresStoreOptions {
  /** `postgres://user@host:port/db` (credentials may come from PG* env vars as libpq does). */
  url: string;
  /** Schema holding the tables (default `claw_bridge`). */
  schema?: string;
  policy?: Partial<QueuePolicy>;
  /** Connections for state writes and enqueues (default 10). */
  poolSize?: number;
  /** Connections for queue bookkeeping (default 4). */
  workerPoolSize?: number;
  /** Logs pool errors (idle connections dropped by the server). */
  onPoolError?: (e: Error) => void;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const PRUNE_CHUNK = 10_000;

export function migrationSql(s: string): string {
  return `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE OR REPLACE FUNCTION ${s}.now_ms() RETURNS bigint LANGUAGE sql VOLATILE AS
  $$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint $$;
CREATE TABLE IF NOT EXISTS ${s}.dedupe (
  id text PRIMARY KEY,
  first_seen bigint NOT NULL,
  enqueued boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS dedupe_first_seen ON ${s}.dedupe (first_seen);
CREATE TABLE IF NOT EXISTS ${s}.jobs (
  seq bigserial PRIMARY KEY,
  id text NOT NULL UNIQUE,
  type text NOT NULL,
  payload text NOT NULL,
  received_at bigint NOT NULL,
  phase smallint NOT NULL,
  visible_at bigint NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  token text,
  last_error text,
  dead_at bigint
);
CREATE INDEX IF NOT EXISTS jobs_due ON ${s}.jobs (visible_at, seq) WHERE phase < 3;
CREATE INDEX IF NOT EXISTS jobs_dead ON ${s}.jobs (dead_at, seq) WHERE phase = 3;
CREATE TABLE IF NOT EXISTS ${s}.idempotency (
  key text PRIMARY KEY,
  request_hash text NOT NULL,
  completed boolean NOT NULL,
  response text,
  created_at bigint NOT NULL,
  locked_until bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS idempotency_created ON ${s}.idempotency (created_at);
CREATE TABLE IF NOT EXISTS ${s}.kv (
  key text PRIMARY KEY,
  value bytea NOT NULL,
  version integer NOT NULL,
  updated_at bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS ${s}.locks (
  name text PRIMARY KEY,
  owner text NOT NULL,
  expires_at bigint NOT NULL
);`;
}

function unavailable(e: unknown, what: string): ClawError {
  if (e instanceof ClawError) return e;
  const err = e as { code?: string; message?: string };
  const code = err.code ?? '';
  const message = err.message ?? String(e);
  if (
    ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET', '57P01', '57P03', '53300'].includes(code) ||
    /terminat|connect/i.test(message)
  ) {
    return new ClawError(StoreErrorCode.UNAVAILABLE, `PostgreSQL is unreachable while ${what}: ${message}`, {
      hint: 'check that the server runs and bridge.store.url points at it',
      details: { pgCode: code },
    });
  }
  return new ClawError(StoreErrorCode.FAILED, `PostgreSQL failed while ${what}: ${message}`, {
    hint: 'see the PostgreSQL server log',
    details: { pgCode: code },
  });
}

interface JobRow {
  id: string;
  type: string;
  payload: string;
  received_at: string;
  attempts: number;
}

export class PostgresStore implements StateStore, JobQueue, BridgeStore {
  readonly kind = 'postgres';
  readonly policy: QueuePolicy;
  readonly schema: string;
  private readonly pool: pg.Pool;
  private readonly relaxed: pg.Pool;
  private closed = false;

  private constructor(pool: pg.Pool, relaxed: pg.Pool, schema: string, policy: QueuePolicy) {
    this.pool = pool;
    this.relaxed = relaxed;
    this.schema = schema;
    this.policy = policy;
  }

  static async open(opts: PostgresStoreOptions): Promise<PostgresStore> {
    const schema = opts.schema ?? 'claw_bridge';
    if (!SCHEMA_NAME.test(schema)) {
      throw new ClawError(
        ConfigErrorCode.INVALID,
        `bridge.store.schema must be a lower-case SQL identifier, found ${JSON.stringify(schema)}`,
        {
          hint: 'use letters, digits and underscores, starting with a letter',
        },
      );
    }
    const onError = opts.onPoolError ?? ((): void => undefined);
    // int8 columns come back as strings by default; ours are ms timestamps and counts (< 2^53).
    const types = {
      getTypeParser: (oid: number, format?: 'text' | 'binary') =>
        oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format),
    };
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      types: types as pg.CustomTypesConfig,
    });
    const relaxed = new pg.Pool({
      connectionString: opts.url,
      max: opts.workerPoolSize ?? 4,
      options: '-c synchronous_commit=off',
      types: types as pg.CustomTypesConfig,
    });
    pool.on('error', onError);
    relaxed.on('error', onError);
    const store = new PostgresStore(pool, relaxed, schema, { ...DEFAULT_QUEUE_POLICY, ...opts.policy });
    try {
      await store.tx(async (c) => {
        await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`claw_bridge_migrate:${schema}`]);
        await c.query(migrationSql(schema));
      });
    } catch (e) {
      await Promise.all([pool.end(), relaxed.end()]);
      throw unavailable(e, `creating the bridge tables in schema ${schema}`);
    }
    return store;
  }

  private async q<T extends pg.QueryResultRow>(
    text: string,
    values: unknown[],
    what: string,
    pool: pg.Pool = this.pool,
  ): Promise<pg.QueryResult<T>> {
    try {
      return await pool.query<T>(text, values);
    } catch (e) {
      throw unavailable(e, what);
    }
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const r = await fn(c);
      await c.query('COMMIT');
      return r;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }

  get state(): StateStore {
    return this;
  }
  get queue(): JobQueue {
    return this;
  }

  // ---- queue ----

  async enqueue(events: readonly QueueEvent[]): Promise<EnqueueOutcome[]> {
    // Same id twice in one batch: the first decides, the others are duplicates. Ids go in sorted so
    // concurrent batches take their unique-index locks in one order (no deadlocks).
    const batch = firstOfEachId(events).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const s = this.schema;
    const r = await this.q<{ id: string }>(
      `WITH input AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS t(id, type, payload, received_at)
       ), fresh AS (
         INSERT INTO ${s}.dedupe (id, first_seen, enqueued) SELECT id, received_at, true FROM input
         ON CONFLICT (id) DO NOTHING RETURNING id
       ), queued AS (
         INSERT INTO ${s}.jobs (id, type, payload, received_at, phase, visible_at)
         SELECT i.id, i.type, i.payload, i.received_at, 0, ${s}.now_ms() FROM input i JOIN fresh f ON f.id = i.id
         ON CONFLICT (id) DO NOTHING
       )
       SELECT id FROM fresh`,
      [batch.map((e) => e.id), batch.map((e) => e.type), batch.map((e) => e.payload), batch.map((e) => e.receivedAt)],
      'enqueueing webhooks',
    );
    return batchOutcomes(events, new Set(r.rows.map((x) => x.id)));
  }

  async claim(max: number): Promise<Lease[]> {
    const s = this.schema;
    const token = randomBytes(12).toString('base64url');
    const r = await this.q<JobRow>(
      `WITH expired AS (
         UPDATE ${s}.jobs SET phase = 3, dead_at = ${s}.now_ms(), token = NULL,
           last_error = coalesce(last_error, 'lease expired on the last attempt (handler crashed or hung)')
         WHERE seq IN (SELECT seq FROM ${s}.jobs WHERE phase < 3 AND visible_at <= ${s}.now_ms() AND attempts >= $3
                       FOR UPDATE SKIP LOCKED)
       ), picked AS (
         SELECT seq FROM ${s}.jobs WHERE phase < 3 AND visible_at <= ${s}.now_ms() AND attempts < $3
         ORDER BY visible_at, seq LIMIT $2 FOR UPDATE SKIP LOCKED
       )
       UPDATE ${s}.jobs j SET phase = 1, token = $1, visible_at = ${s}.now_ms() + $4, attempts = j.attempts + 1
       FROM picked p WHERE j.seq = p.seq
       RETURNING j.id, j.type, j.payload, j.received_at, j.attempts`,
      [token, max, this.policy.maxAttempts, this.policy.leaseMs],
      'claiming jobs',
      this.relaxed,
    );
    return r.rows.map((x) => ({
      id: x.id,
      type: x.type,
      payload: x.payload,
      receivedAt: Number(x.received_at),
      attempt: x.attempts,
      token,
    }));
  }

  async extend(lease: Lease): Promise<boolean> {
    const s = this.schema;
    const r = await this.q(
      `UPDATE ${s}.jobs SET visible_at = ${s}.now_ms() + $3 WHERE id = $1 AND token = $2 AND phase = 1`,
      [lease.id, lease.token, this.policy.leaseMs],
      'extending a lease',
      this.relaxed,
    );
    return r.rowCount === 1;
  }

  async ack(leases: readonly Lease[]): Promise<number> {
    if (leases.length === 0) return 0;
    const r = await this.q(
      `DELETE FROM ${this.schema}.jobs j USING unnest($1::text[], $2::text[]) AS a(id, token)
       WHERE j.id = a.id AND j.token = a.token AND j.phase = 1`,
      [leases.map((l) => l.id), leases.map((l) => l.token)],
      'acknowledging jobs',
      this.relaxed,
    );
    return r.rowCount ?? 0;
  }

  async fail(lease: Lease, error: string): Promise<'retry' | 'dead' | 'stale'> {
    const s = this.schema;
    const p = this.policy;
    // Full jitter over min(cap, base·2^(attempt-1)), as queue/retry.ts computes it.
    const r = await this.q<{ phase: number }>(
      `UPDATE ${s}.jobs SET
         phase = CASE WHEN attempts >= $4 THEN 3 ELSE 2 END,
         dead_at = CASE WHEN attempts >= $4 THEN ${s}.now_ms() END,
         visible_at = CASE WHEN attempts >= $4 THEN visible_at
           ELSE ${s}.now_ms() + floor($5::float8 * least($7::float8, $6::float8 * power(2, least(attempts - 1, 30))))::bigint END,
         token = NULL, last_error = $3
       WHERE id = $1 AND token = $2 AND phase = 1
       RETURNING phase`,
      [lease.id, lease.token, error, p.maxAttempts, Math.random(), p.retryBaseMs, p.retryCapMs],
      'scheduling a retry',
      this.relaxed,
    );
    const row = r.rows[0];
    if (!row) return 'stale';
    return row.phase === 3 ? 'dead' : 'retry';
  }

  async stats(): Promise<QueueStats> {
    const s = this.schema;
    const r = await this.q<{
      depth: string;
      in_flight: string;
      retrying: string;
      dead: string;
      oldest: string | null;
      now: string;
    }>(
      `SELECT count(*) FILTER (WHERE phase < 3) AS depth,
              count(*) FILTER (WHERE phase = 1 AND visible_at > ${s}.now_ms()) AS in_flight,
              count(*) FILTER (WHERE phase = 2 AND visible_at > ${s}.now_ms()) AS retrying,
              count(*) FILTER (WHERE phase = 3) AS dead,
              min(received_at) FILTER (WHERE phase < 3) AS oldest,
              ${s}.now_ms() AS now
       FROM ${s}.jobs`,
      [],
      'reading queue stats',
      this.relaxed,
    );
    const row = r.rows[0];
    if (!row) return { depth: 0, inFlight: 0, retrying: 0, dead: 0, oldestAgeMs: 0 };
    return {
      depth: Number(row.depth),
      inFlight: Number(row.in_flight),
      retrying: Number(row.retrying),
      dead: Number(row.dead),
      oldestAgeMs: row.oldest === null ? 0 : Math.max(0, Number(row.now) - Number(row.oldest)),
    };
  }

  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    const r = await this.q<JobRow & { last_error: string | null; dead_at: string }>(
      `SELECT id, type, payload, received_at, attempts, last_error, dead_at FROM ${this.schema}.jobs WHERE phase = 3 ORDER BY dead_at, seq LIMIT $1`,
      [limit],
      'listing dead letters',
    );
    return r.rows.map((x) => ({
      id: x.id,
      type: x.type,
      payload: x.payload,
      receivedAt: Number(x.received_at),
      attempts: x.attempts,
      lastError: x.last_error ?? '',
      deadAt: Number(x.dead_at),
    }));
  }

  async redrive(ids: readonly string[]): Promise<number> {
    const s = this.schema;
    const r = await this.q(
      `UPDATE ${s}.jobs SET phase = 0, attempts = 0, visible_at = ${s}.now_ms(), dead_at = NULL WHERE id = ANY($1::text[]) AND phase = 3`,
      [ids],
      'redriving dead letters',
    );
    return r.rowCount ?? 0;
  }

  // ---- state ----

  readonly dedupe: DedupeStore = {
    reserve: async (entries: ReadonlyArray<{ id: string; seenAt: number }>): Promise<DedupeStatus[]> => {
      const firstSeen = new Map<string, number>();
      for (const e of entries) if (!firstSeen.has(e.id)) firstSeen.set(e.id, e.seenAt);
      const unique = [...firstSeen.keys()].sort();
      const ids = entries.map((e) => e.id);
      const s = this.schema;
      const r = await this.q<{ id: string; fresh: boolean; enqueued: boolean | null }>(
        `WITH input AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS t(id, seen_at)),
         ins AS (INSERT INTO ${s}.dedupe (id, first_seen, enqueued) SELECT id, seen_at, false FROM input ON CONFLICT (id) DO NOTHING RETURNING id)
         SELECT i.id, (n.id IS NOT NULL) AS fresh, d.enqueued
         FROM input i LEFT JOIN ins n ON n.id = i.id LEFT JOIN ${s}.dedupe d ON d.id = i.id`,
        [unique, unique.map((id) => firstSeen.get(id))],
        'recording webhook ids',
        this.relaxed,
      );
      const by = new Map(r.rows.map((x) => [x.id, x]));
      const seen = new Set<string>();
      return ids.map((id): DedupeStatus => {
        const row = by.get(id);
        if (seen.has(id)) return 'pending';
        seen.add(id);
        if (row?.fresh) return 'new';
        // Not visible in this statement's snapshot (a concurrent insert committed meanwhile) counts as pending.
        return row?.enqueued === true ? 'enqueued' : 'pending';
      });
    },
    markEnqueued: async (ids: readonly string[]): Promise<void> => {
      await this.q(
        `UPDATE ${this.schema}.dedupe SET enqueued = true WHERE id = ANY($1::text[])`,
        [[...new Set(ids)].sort()],
        'marking webhook ids enqueued',
        this.relaxed,
      );
    },
  };

  readonly idempotency: IdempotencyStore = {
    begin: async (key: string, requestHash: string, now: number, lockMs: number): Promise<IdempotencyBegin> => {
      const s = this.schema;
      try {
        return await this.tx(async (c): Promise<IdempotencyBegin> => {
          // created_at is the caller's clock (informational, pruning); locked_until is the database's, so
          // an instance whose clock runs ahead cannot see another instance's live lock as expired.
          const ins = await c.query(
            `INSERT INTO ${s}.idempotency (key, request_hash, completed, created_at, locked_until) VALUES ($1, $2, false, $3, ${s}.now_ms() + $4) ON CONFLICT (key) DO NOTHING`,
            [key, requestHash, now, lockMs],
          );
          if (ins.rowCount === 1) return { state: 'acquired' };
          const r = await c.query<{
            request_hash: string;
            completed: boolean;
            response: string | null;
            locked: boolean;
          }>(
            `SELECT request_hash, completed, response, locked_until > ${s}.now_ms() AS locked FROM ${s}.idempotency WHERE key = $1 FOR UPDATE`,
            [key],
          );
          const row = r.rows[0];
          if (!row) return { state: 'in_progress' }; // released between the two statements: let the caller retry
          if (row.request_hash !== requestHash) return { state: 'mismatch' };
          if (row.completed) return { state: 'replay', response: JSON.parse(row.response ?? 'null') as SavedResponse };
          if (row.locked) return { state: 'in_progress' };
          await c.query(`UPDATE ${s}.idempotency SET locked_until = ${s}.now_ms() + $2 WHERE key = $1`, [key, lockMs]);
          return { state: 'acquired' };
        });
      } catch (e) {
        throw unavailable(e, 'reading an idempotency record');
      }
    },
    complete: async (key: string, response: SavedResponse, _now: number): Promise<void> => {
      const s = this.schema;
      await this.q(
        `UPDATE ${s}.idempotency SET completed = true, response = $2, locked_until = ${s}.now_ms() WHERE key = $1`,
        [key, JSON.stringify(response)],
        'saving an idempotent response',
      );
    },
    release: async (key: string): Promise<void> => {
      await this.q(
        `DELETE FROM ${this.schema}.idempotency WHERE key = $1 AND completed = false`,
        [key],
        'releasing an idempotency key',
      );
    },
  };

  readonly kv: KvStore = {
    get: async (key: string): Promise<KvEntry | undefined> => {
      const r = await this.q<{ value: Buffer; version: number; updated_at: number }>(
        `SELECT value, version, updated_at FROM ${this.schema}.kv WHERE key = $1`,
        [key],
        'reading a stored value',
      );
      const row = r.rows[0];
      return row ? { value: row.value, version: row.version, updatedAt: Number(row.updated_at) } : undefined;
    },
    set: async (
      key: string,
      value: Buffer,
      now: number,
      expectVersion?: number,
    ): Promise<{ ok: boolean; version: number }> => {
      const s = this.schema;
      let r: pg.QueryResult<{ version: number }>;
      if (expectVersion === undefined) {
        r = await this.q(
          `INSERT INTO ${s}.kv (key, value, version, updated_at) VALUES ($1, $2, 1, $3)
           ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = ${s}.kv.version + 1, updated_at = excluded.updated_at RETURNING version`,
          [key, value, now],
          'writing a stored value',
        );
      } else if (expectVersion === 0) {
        r = await this.q(
          `INSERT INTO ${s}.kv (key, value, version, updated_at) VALUES ($1, $2, 1, $3) ON CONFLICT (key) DO NOTHING RETURNING version`,
          [key, value, now],
          'writing a stored value',
        );
      } else {
        r = await this.q(
          `UPDATE ${s}.kv SET value = $2, version = version + 1, updated_at = $3 WHERE key = $1 AND version = $4 RETURNING version`,
          [key, value, now, expectVersion],
          'writing a stored value',
        );
      }
      const row = r.rows[0];
      if (row) return { ok: true, version: row.version };
      const cur = await this.kv.get(key);
      return { ok: false, version: cur?.version ?? 0 };
    },
    delete: async (key: string): Promise<void> => {
      await this.q(`DELETE FROM ${this.schema}.kv WHERE key = $1`, [key], 'deleting a stored value');
    },
  };

  /** Expiry on the database clock: the caller's `now` is not used (instances' clocks may disagree). */
  readonly locks: LockStore = {
    acquire: async (name: string, owner: string, ttlMs: number, _now: number): Promise<boolean> => {
      const s = this.schema;
      const r = await this.q(
        `INSERT INTO ${s}.locks (name, owner, expires_at) VALUES ($1, $2, ${s}.now_ms() + $3)
         ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
         WHERE ${s}.locks.owner = excluded.owner OR ${s}.locks.expires_at <= ${s}.now_ms()`,
        [name, owner, ttlMs],
        'taking a lock',
      );
      return r.rowCount === 1;
    },
    release: async (name: string, owner: string): Promise<void> => {
      await this.q(
        `DELETE FROM ${this.schema}.locks WHERE name = $1 AND owner = $2`,
        [name, owner],
        'releasing a lock',
      );
    },
  };

  async prune(opts: PruneOptions): Promise<{ dedupe: number; idempotency: number }> {
    const s = this.schema;
    let dedupe = 0;
    let idempotency = 0;
    for (;;) {
      const r = await this.q(
        `DELETE FROM ${s}.dedupe WHERE id IN (SELECT id FROM ${s}.dedupe WHERE first_seen < $1 LIMIT ${PRUNE_CHUNK})`,
        [opts.dedupeBefore],
        'pruning dedupe records',
        this.relaxed,
      );
      dedupe += r.rowCount ?? 0;
      if ((r.rowCount ?? 0) < PRUNE_CHUNK) break;
    }
    for (;;) {
      const r = await this.q(
        `DELETE FROM ${s}.idempotency WHERE key IN (SELECT key FROM ${s}.idempotency WHERE created_at < $1 AND (completed OR locked_until <= ${s}.now_ms()) LIMIT ${PRUNE_CHUNK})`,
        [opts.idempotencyBefore],
        'pruning idempotency records',
        this.relaxed,
      );
      idempotency += r.rowCount ?? 0;
      if ((r.rowCount ?? 0) < PRUNE_CHUNK) break;
    }
    return { dedupe, idempotency };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.pool.end(), this.relaxed.end()]);
  }
}
