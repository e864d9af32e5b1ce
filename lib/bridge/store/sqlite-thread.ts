/**
 * Worker-thread entry of the SQLite store, in one of two roles.
 *
 * `writer` (default): owns the connection that runs every call store/sqlite.ts posts, one at a time,
 * in arrival order. Durability (`durability: 'full'`): a call in DURABLE_METHODS is answered only after
 * an fdatasync of the WAL file that started after its commit. The flush runs on libuv's thread pool
 * while this thread goes on committing the next calls, and flushes coalesce (one running, one queued
 * behind it covering every commit made meanwhile): group commit without holding the writer.
 * `durability: 'normal'` answers at once (commits survive a crash of the process, not of the machine).
 *
 * `checkpointer`: a second connection that checkpoints the WAL into the database every
 * CHECKPOINT_EVERY_MS (PASSIVE: it never blocks the writer). The writer runs with
 * wal_autocheckpoint = 0, so it never stalls on a checkpoint's fsyncs.
 *
 * Protocol (structured clone):
 *   workerData: SqliteEngineOptions & {role?}    → out: { opened: true } | { openError }
 *   in:  { id, method, args }                     → out: { id, result } | { id, error: {code, message} }
 *        (method `walFlushes`: how many WAL flushes ran so far)
 *   in:  { close: true }                          → closes the database and exits
 */
import { closeSync, fdatasyncSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { coalesce } from '../coalesce.js';
import { DURABLE_METHODS, SqliteEngine, type SqliteEngineOptions } from './sqlite-engine.js';

interface Call {
  id: number;
  method: string;
  args: unknown[];
}

const CHECKPOINT_EVERY_MS = 200;

const errorOf = (e: unknown): { code: string; message: string } => {
  const err = e as { code?: string; message?: string };
  return { code: err.code ?? 'UNKNOWN', message: err.message ?? String(e) };
};

function runCheckpointer(port: MessagePort, opts: SqliteEngineOptions): void {
  let db: Database.Database;
  try {
    db = new Database(opts.path);
    db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
    db.pragma('synchronous = NORMAL');
    port.postMessage({ opened: true });
  } catch (e) {
    port.postMessage({ openError: errorOf(e) });
    return;
  }
  const timer = setInterval(() => {
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      /* busy: the next round tries again */
    }
  }, CHECKPOINT_EVERY_MS);
  port.on('message', (msg: { close?: boolean }) => {
    if (!msg.close) return;
    clearInterval(timer);
    db.close();
    port.close();
  });
}

function runWriter(port: MessagePort, opts: SqliteEngineOptions): void {
  let engine: SqliteEngine | undefined;
  try {
    engine = new SqliteEngine(opts);
    // The schema write created the WAL: make it and its directory entry durable once.
    for (const p of [engine.walPath, dirname(engine.walPath)]) {
      const fd = openSync(p, 'r');
      try {
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    port.postMessage({ opened: true });
  } catch (e) {
    port.postMessage({ openError: errorOf(e) });
  }

  /** fdatasync of the WAL (opened per flush: always the file SQLite writes now). */
  let flushes = 0;
  const flushWal = coalesce(async () => {
    flushes++;
    const fh = await open((engine as SqliteEngine).walPath, 'r');
    try {
      await fh.datasync();
    } finally {
      await fh.close();
    }
  });
  const full = opts.durability === 'full';

  port.on('message', (msg: Call | { close: true }) => {
    if ('close' in msg) {
      engine?.close();
      port.close();
      return;
    }
    if (msg.method === 'walFlushes') {
      port.postMessage({ id: msg.id, result: flushes });
      return;
    }
    let result: unknown;
    try {
      if (!engine) throw new Error('database is not open');
      const fn = (engine as unknown as Record<string, (...a: unknown[]) => unknown>)[msg.method];
      if (typeof fn !== 'function') throw new Error(`unknown store method ${msg.method}`);
      result = fn.apply(engine, msg.args);
    } catch (e) {
      port.postMessage({ id: msg.id, error: errorOf(e) });
      return;
    }
    if (!full || !DURABLE_METHODS.has(msg.method)) {
      port.postMessage({ id: msg.id, result });
      return;
    }
    flushWal().then(
      () => port.postMessage({ id: msg.id, result }),
      (e: unknown) => port.postMessage({ id: msg.id, error: { code: 'SQLITE_IOERR_FSYNC', message: `flushing the WAL failed: ${errorOf(e).message}` } }),
    );
  });
}

if (!parentPort) throw new Error('sqlite-thread.ts runs only as a worker thread');
const data = workerData as SqliteEngineOptions & { role?: 'writer' | 'checkpointer' };
if (data.role === 'checkpointer') runCheckpointer(parentPort, data);
else runWriter(parentPort, data);
