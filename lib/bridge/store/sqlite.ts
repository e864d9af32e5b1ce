/**
 * The embedded store: one SQLite file (better-sqlite3, WAL) holding every piece of bridge state and
 * the job queue, for one bridge on one machine.
 *
 * Statements run on the calling (event-loop) thread: they are short (tens of µs per row) and never
 * wait for the disk, because the connection commits with `synchronous=NORMAL` (frames appended to the
 * WAL, no fsync) and never checkpoints (a checkpointer connection on its own thread does,
 * sqlite-checkpointer.ts). Durability is added on top: with `durability: 'full'` (default) a call that
 * promises it (DURABLE_METHODS: enqueue, state writes) resolves only after an fdatasync of the WAL
 * that started after its commit. The flush runs on libuv's thread pool, and flushes coalesce (one
 * running, one queued behind it for every commit made meanwhile): group commit that never blocks the
 * event loop. `durability: 'normal'` resolves after the commit (survives a crash of the process, not of
 * the machine). Fewer thread hops per request than a database thread would cost: on two loaded cores
 * every hop waits for a core.
 */
import { mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ClawError } from '../../errors.js';
import { fsyncDir, fsyncFile } from '../../fsx/index.js';
import { coalesce } from '../coalesce.js';
import { DURABLE_METHODS, PRUNE_CHUNK, SqliteEngine } from './sqlite-engine.js';
import {
  DEFAULT_QUEUE_POLICY,
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

export interface SqliteStoreOptions {
  /** Database file (created with its directory if missing). */
  path: string;
  /** 'full' (default): fsync before acknowledging; 'normal': survive process crashes only. */
  durability?: 'full' | 'normal';
  policy?: Partial<QueuePolicy>;
  /** Clock for record timestamps and leases (tests). */
  now?: () => number;
}

/** Starts the checkpointer thread. Running from TypeScript sources (tsx, vitest), it loads tsx first. */
function startCheckpointer(data: { path: string }): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const file = new URL('./sqlite-checkpointer.ts', here).href;
    const code = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(file)}); })`;
    return new Worker(code, { eval: true, workerData: data });
  }
  return new Worker(new URL('./sqlite-checkpointer.js', here), { workerData: data });
}

function threadOpened(worker: Worker): Promise<{ ok: true } | { ok: false; code: string; message: string }> {
  return new Promise((res) => {
    const onMessage = (m: { opened?: boolean; openError?: { code: string; message: string } }): void => {
      if (m.opened) res({ ok: true });
      else if (m.openError) res({ ok: false, ...m.openError });
      else return;
      worker.off('message', onMessage);
    };
    worker.on('message', onMessage);
    worker.once('error', (e) => res({ ok: false, code: 'THREAD', message: e.message }));
  });
}

/** The engine's public methods: what `SqliteStore.call` may run. */
export type EngineMethod = {
  [K in keyof SqliteEngine]: SqliteEngine[K] extends (...a: never[]) => unknown ? K : never;
}[keyof SqliteEngine];

export class SqliteStore implements StateStore, JobQueue, BridgeStore {
  readonly kind = 'sqlite';
  readonly policy: QueuePolicy;
  readonly path: string;
  private readonly now: () => number;
  private readonly engine: SqliteEngine;
  private readonly checkpointer: Worker;
  private readonly full: boolean;
  private readonly flushWal: () => Promise<void>;
  private flushes = 0;
  private flushMsTotal = 0;
  private flushMsMax = 0;
  private pendingFlushes = 0;
  private closed = false;

  private constructor(
    engine: SqliteEngine,
    checkpointer: Worker,
    path: string,
    policy: QueuePolicy,
    full: boolean,
    now: () => number,
  ) {
    this.engine = engine;
    this.checkpointer = checkpointer;
    this.path = path;
    this.policy = policy;
    this.full = full;
    this.now = now;
    // fdatasync of the WAL, opened per flush (always the file SQLite writes now).
    this.flushWal = coalesce(async () => {
      this.flushes++;
      const t0 = performance.now();
      const fh = await open(engine.walPath, 'r');
      try {
        await fh.datasync();
      } finally {
        await fh.close();
        const ms = performance.now() - t0;
        this.flushMsTotal += ms;
        if (ms > this.flushMsMax) this.flushMsMax = ms;
      }
    });
  }

  /** Opens (creating if needed) the database; rejects with STORE_OPEN_FAILED when it cannot. */
  static async open(opts: SqliteStoreOptions): Promise<SqliteStore> {
    const path = resolve(opts.path);
    const policy: QueuePolicy = { ...DEFAULT_QUEUE_POLICY, ...opts.policy };
    const durability = opts.durability ?? 'full';
    const failed = (why: string): ClawError =>
      new ClawError(StoreErrorCode.OPEN_FAILED, `cannot open the bridge database ${path}: ${why}`, {
        hint: 'check that the path is writable and not on a network filesystem, or set bridge.store.path elsewhere',
      });
    let engine: SqliteEngine;
    try {
      mkdirSync(dirname(path), { recursive: true });
      engine = new SqliteEngine({ path, policy, autoCheckpoint: false });
      // The schema write created the WAL: make it and its directory entry durable once (lib/fsx: a
      // file system that cannot fsync a directory is tolerated, as for every other durable file).
      if (durability === 'full') {
        await fsyncFile(engine.walPath);
        await fsyncDir(dirname(path));
      }
    } catch (e) {
      const err = e as { code?: string; message?: string };
      throw failed(`${err.message ?? String(e)}${err.code ? ` (${err.code})` : ''}`);
    }
    const checkpointer = startCheckpointer({ path });
    const opened = await threadOpened(checkpointer);
    if (!opened.ok) {
      engine.close();
      await checkpointer.terminate();
      throw failed(`${opened.message} (${opened.code})`);
    }
    return new SqliteStore(engine, checkpointer, path, policy, durability === 'full', opts.now ?? Date.now);
  }

  /**
   * Runs an engine call, typed by the engine's own signature (method name, arguments and result are
   * checked by the compiler); durable calls resolve after a WAL flush that started after their commit.
   */
  private async call<M extends EngineMethod>(
    method: M,
    ...args: Parameters<SqliteEngine[M]>
  ): Promise<ReturnType<SqliteEngine[M]>> {
    if (this.closed)
      throw new ClawError(StoreErrorCode.CLOSED, `the SQLite store ${this.path} is closed`, {
        hint: 'this is a bug: a call came after shutdown',
      });
    let result: ReturnType<SqliteEngine[M]>;
    try {
      const fn = this.engine[method] as (...a: Parameters<SqliteEngine[M]>) => ReturnType<SqliteEngine[M]>;
      result = fn.apply(this.engine, args);
    } catch (e) {
      const err = e as { code?: string; message?: string };
      throw storeError({ code: err.code ?? 'UNKNOWN', message: err.message ?? String(e) }, this.path);
    }
    if (this.full && DURABLE_METHODS.has(method)) {
      this.pendingFlushes++;
      try {
        await this.flushWal();
      } catch (e) {
        throw storeError(
          { code: 'SQLITE_IOERR_FSYNC', message: `flushing the WAL failed: ${(e as Error).message}` },
          this.path,
        );
      } finally {
        this.pendingFlushes--;
      }
    }
    return result;
  }

  // BridgeStore
  get state(): StateStore {
    return this;
  }
  get queue(): JobQueue {
    return this;
  }

  // JobQueue
  enqueue(events: readonly QueueEvent[]): Promise<EnqueueOutcome[]> {
    return this.call('enqueue', events, this.now());
  }
  claim(max: number): Promise<Lease[]> {
    return this.call('claim', max, this.now());
  }
  extend(lease: Lease): Promise<boolean> {
    return this.call('extend', lease.id, lease.token, this.now());
  }
  ack(leases: readonly Lease[]): Promise<number> {
    return this.call(
      'ack',
      leases.map((l) => ({ id: l.id, token: l.token })),
    );
  }
  fail(lease: Lease, error: string): Promise<'retry' | 'dead' | 'stale'> {
    return this.call('fail', lease.id, lease.token, error, this.now(), Math.random());
  }
  stats(): Promise<QueueStats> {
    return this.call('stats', this.now());
  }
  deadLetters(limit = 100): Promise<DeadLetter[]> {
    return this.call('deadLetters', limit);
  }
  redrive(ids: readonly string[]): Promise<number> {
    return this.call('redrive', ids, this.now());
  }

  /** WAL flushes (fdatasync) run so far: fewer than durable calls when group commit works. */
  async walFlushes(): Promise<number> {
    return this.flushes;
  }

  /** WAL flush count and durations (ms): a durable 2xx waits for one to two of them. */
  flushStats(): { count: number; meanMs: number; maxMs: number } {
    return { count: this.flushes, meanMs: this.flushes ? this.flushMsTotal / this.flushes : 0, maxMs: this.flushMsMax };
  }

  // StateStore
  readonly dedupe: DedupeStore = {
    reserve: (entries: ReadonlyArray<{ id: string; seenAt: number }>): Promise<DedupeStatus[]> =>
      this.call('reserve', entries),
    markEnqueued: (ids: readonly string[]): Promise<void> => this.call('markEnqueued', ids),
  };
  readonly idempotency: IdempotencyStore = {
    begin: (key: string, requestHash: string, now: number, lockMs: number): Promise<IdempotencyBegin> =>
      this.call('idemBegin', key, requestHash, now, lockMs),
    complete: (key: string, response: SavedResponse, now: number): Promise<void> =>
      this.call('idemComplete', key, response, now),
    release: (key: string): Promise<void> => this.call('idemRelease', key),
  };
  readonly kv: KvStore = {
    get: (key: string): Promise<KvEntry | undefined> => this.call('kvGet', key),
    set: (key: string, value: Buffer, now: number, expectVersion?: number): Promise<{ ok: boolean; version: number }> =>
      this.call('kvSet', key, value, now, expectVersion),
    delete: (key: string): Promise<void> => this.call('kvDelete', key),
  };
  readonly locks: LockStore = {
    acquire: (name: string, owner: string, ttlMs: number, now: number): Promise<boolean> =>
      this.call('lockAcquire', name, owner, ttlMs, now),
    release: (name: string, owner: string): Promise<void> => this.call('lockRelease', name, owner),
  };
  /** Prunes in chunks, yielding to the event loop between them (a day of records can be many rows). */
  async prune(opts: PruneOptions): Promise<{ dedupe: number; idempotency: number }> {
    const total = { dedupe: 0, idempotency: 0 };
    for (;;) {
      const r = await this.call('pruneChunk', opts.dedupeBefore, opts.idempotencyBefore, this.now());
      total.dedupe += r.dedupe;
      total.idempotency += r.idempotency;
      if (r.dedupe < PRUNE_CHUNK && r.idempotency < PRUNE_CHUNK) return total;
      await new Promise((res) => setImmediate(res));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Durable calls already committed still get their flush.
    while (this.pendingFlushes > 0) await this.flushWal().catch(() => undefined);
    this.closed = true;
    const exited = new Promise<void>((r) => this.checkpointer.once('exit', () => r()));
    this.checkpointer.postMessage({ close: true });
    await exited;
    this.engine.close();
  }
}

function storeError(e: { code: string; message: string }, path: string): ClawError {
  if (e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_LOCKED') {
    return new ClawError(
      StoreErrorCode.BUSY,
      `the bridge database ${path} stayed locked by another process: ${e.message}`,
      {
        hint: 'only one bridge should use an embedded SQLite store; for several instances use PostgreSQL (bridge.store.kind = "postgres")',
      },
    );
  }
  if (e.code === 'SQLITE_FULL' || e.code === 'SQLITE_IOERR' || e.code.startsWith('SQLITE_IOERR')) {
    return new ClawError(
      StoreErrorCode.IO_FAILED,
      `writing the bridge database ${path} failed: ${e.message} (${e.code})`,
      {
        hint: 'check free disk space and the disk itself',
      },
    );
  }
  return new ClawError(StoreErrorCode.FAILED, `bridge database ${path}: ${e.message} (${e.code})`, {
    hint: 'see the bridge log; if it persists, move the database aside and restart',
  });
}
