/**
 * The embedded store: one SQLite file (better-sqlite3, WAL) holding every piece of bridge state and
 * the job queue, for one bridge on one machine. The database runs on a worker thread
 * (sqlite-thread.ts), so the HTTP event loop never waits for the disk; calls are posted to it and run
 * in order. Durability: with `durability: 'full'` (default) a call that promises durability (enqueue,
 * state writes) resolves only after the WAL holding it was fdatasynced (group commit, see
 * sqlite-thread.ts); `'normal'` resolves after the commit (survives a process crash, not a power cut).
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ClawError } from '../../errors.js';
import type { SqliteEngineOptions } from './sqlite-engine.js';
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
  type OutboxEntry,
  type OutboxStore,
  type PruneOptions,
  type QueueEvent,
  type QueuePolicy,
  type QueueStats,
  type SavedResponse,
  type StateStore,
} from './types.js';

export interface SqliteStoreOptions {
  /** Database file (created with its directory if missing). */
  path: string;
  /** 'full' (default): fsync before acknowledging; 'normal': survive process crashes only. */
  durability?: 'full' | 'normal';
  policy?: Partial<QueuePolicy>;
  /** Clock for record timestamps and leases (tests). */
  now?: () => number;
}

interface PendingCall {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** Starts the store's thread. Running from TypeScript sources (tsx, vitest), the thread loads tsx first. */
function startThread(data: SqliteEngineOptions & { role?: 'writer' | 'checkpointer' }): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const file = new URL('./sqlite-thread.ts', here).href;
    const code = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(file)}); })`;
    return new Worker(code, { eval: true, workerData: data });
  }
  return new Worker(new URL('./sqlite-thread.js', here), { workerData: data });
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

export class SqliteStore implements StateStore, JobQueue, BridgeStore {
  readonly kind = 'sqlite';
  readonly policy: QueuePolicy;
  readonly path: string;
  private readonly now: () => number;
  private readonly worker: Worker;
  private readonly checkpointer: Worker;
  private readonly calls = new Map<number, PendingCall>();
  private nextId = 1;
  private closed = false;
  private exitError: ClawError | undefined;
  private drained: (() => void) | undefined;

  private constructor(worker: Worker, checkpointer: Worker, path: string, policy: QueuePolicy, now: () => number) {
    this.worker = worker;
    this.checkpointer = checkpointer;
    this.path = path;
    this.policy = policy;
    this.now = now;
    worker.on('message', (m: { id?: number; result?: unknown; error?: { code: string; message: string } }) => {
      if (m.id === undefined) return;
      const call = this.calls.get(m.id);
      if (!call) return;
      this.calls.delete(m.id);
      if (m.error) call.reject(storeError(m.error, path));
      else call.resolve(m.result);
      if (this.calls.size === 0 && this.drained) {
        this.drained();
        this.drained = undefined;
      }
    });
    const fail = (why: string): void => {
      this.exitError = new ClawError('STORE_UNAVAILABLE', `the SQLite store thread for ${path} stopped: ${why}`, {
        hint: 'check the disk (space, permissions) and restart the bridge',
      });
      for (const c of this.calls.values()) c.reject(this.exitError);
      this.calls.clear();
      this.drained?.();
    };
    worker.on('error', (e) => fail(e.message));
    worker.on('exit', (code) => {
      if (!this.closed) fail(`exit code ${code}`);
    });
  }

  /** Opens (creating if needed) the database; rejects with STORE_OPEN_FAILED when it cannot. */
  static async open(opts: SqliteStoreOptions): Promise<SqliteStore> {
    const path = resolve(opts.path);
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (e) {
      throw new ClawError('STORE_OPEN_FAILED', `cannot create the directory of the bridge database ${path}: ${(e as Error).message}`, {
        hint: 'set bridge.store.path to a writable location',
      });
    }
    const policy: QueuePolicy = { ...DEFAULT_QUEUE_POLICY, ...opts.policy };
    const base = { path, durability: opts.durability ?? 'full', policy, autoCheckpoint: false } as const;
    const worker = startThread({ ...base, role: 'writer' });
    let opened = await threadOpened(worker);
    let checkpointer: Worker | undefined;
    if (opened.ok) {
      checkpointer = startThread({ ...base, role: 'checkpointer' });
      opened = await threadOpened(checkpointer);
    }
    if (!opened.ok) {
      await Promise.all([worker.terminate(), checkpointer?.terminate()]);
      throw new ClawError('STORE_OPEN_FAILED', `cannot open the bridge database ${path}: ${opened.message} (${opened.code})`, {
        hint: 'check that the path is writable and not on a network filesystem, or set bridge.store.path elsewhere',
      });
    }
    return new SqliteStore(worker, checkpointer as Worker, path, policy, opts.now ?? Date.now);
  }

  private call<T>(method: string, ...args: unknown[]): Promise<T> {
    if (this.exitError) return Promise.reject(this.exitError);
    if (this.closed) return Promise.reject(new ClawError('STORE_CLOSED', `the SQLite store ${this.path} is closed`, { hint: 'this is a bug: a call came after shutdown' }));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.calls.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, method, args });
    });
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
  walFlushes(): Promise<number> {
    return this.call('walFlushes');
  }

  // StateStore
  readonly dedupe: DedupeStore = {
    reserve: (entries: ReadonlyArray<{ id: string; seenAt: number }>): Promise<DedupeStatus[]> => this.call('reserve', entries),
    markEnqueued: (ids: readonly string[]): Promise<void> => this.call('markEnqueued', ids),
  };
  readonly idempotency: IdempotencyStore = {
    begin: (key: string, requestHash: string, now: number, lockMs: number): Promise<IdempotencyBegin> =>
      this.call('idemBegin', key, requestHash, now, lockMs),
    complete: (key: string, response: SavedResponse, now: number): Promise<void> => this.call('idemComplete', key, response, now),
    release: (key: string): Promise<void> => this.call('idemRelease', key),
  };
  readonly outbox: OutboxStore = {
    add: (e: { id: string; topic: string; payload: string }, now: number): Promise<void> => this.call('outboxAdd', e.id, e.topic, e.payload, now),
    due: (now: number, limit = 100, topic?: string): Promise<OutboxEntry[]> => this.call('outboxDue', now, limit, topic),
    retryLater: (id: string, error: string, next: number): Promise<void> => this.call('outboxRetry', id, error, next),
    remove: (id: string): Promise<void> => this.call('outboxRemove', id),
  };
  readonly kv: KvStore = {
    get: async (key: string): Promise<KvEntry | undefined> => {
      const r = await this.call<{ value: Uint8Array; version: number; updatedAt: number } | undefined>('kvGet', key);
      return r ? { ...r, value: Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength) } : undefined;
    },
    set: (key: string, value: Buffer, now: number, expectVersion?: number): Promise<{ ok: boolean; version: number }> =>
      this.call('kvSet', key, value, now, expectVersion),
    delete: (key: string): Promise<void> => this.call('kvDelete', key),
  };
  readonly locks: LockStore = {
    acquire: (name: string, owner: string, ttlMs: number, now: number): Promise<boolean> => this.call('lockAcquire', name, owner, ttlMs, now),
    release: (name: string, owner: string): Promise<void> => this.call('lockRelease', name, owner),
  };
  prune(opts: PruneOptions): Promise<{ dedupe: number; idempotency: number }> {
    return this.call('prune', opts.dedupeBefore, opts.idempotencyBefore, this.now());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Let calls already posted finish (durable ones answer after their flush, so possibly out of order).
    if (this.calls.size > 0) await new Promise<void>((r) => (this.drained = r));
    this.closed = true;
    const stop = async (w: Worker): Promise<void> => {
      const exited = new Promise<void>((r) => w.once('exit', () => r()));
      w.postMessage({ close: true });
      await exited;
    };
    await stop(this.checkpointer);
    await stop(this.worker);
  }
}

function storeError(e: { code: string; message: string }, path: string): ClawError {
  if (e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_LOCKED') {
    return new ClawError('STORE_BUSY', `the bridge database ${path} stayed locked by another process: ${e.message}`, {
      hint: 'only one bridge should use an embedded SQLite store; for several instances use PostgreSQL (bridge.store.kind = "postgres")',
    });
  }
  if (e.code === 'SQLITE_FULL' || e.code === 'SQLITE_IOERR' || e.code.startsWith('SQLITE_IOERR')) {
    return new ClawError('STORE_IO_FAILED', `writing the bridge database ${path} failed: ${e.message} (${e.code})`, { hint: 'check free disk space and the disk itself' });
  }
  return new ClawError('STORE_FAILED', `bridge database ${path}: ${e.message} (${e.code})`, { hint: 'see the bridge log; if it persists, move the database aside and restart' });
}
