/**
 * Worker-thread entry of the SQLite store's checkpointer: a second connection that checkpoints the WAL
 * into the database every `CHECKPOINT_EVERY_MS` (PASSIVE: it never waits for, nor blocks, the
 * writer). The writer's connection runs with wal_autocheckpoint = 0, so the bridge's event loop never
 * does a checkpoint's copying and fsyncs itself.
 *
 * Protocol: workerData {path, busyTimeoutMs?} → posts { opened: true } | { openError };
 * in { close: true } → closes the connection and exits.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import Database from 'better-sqlite3';

export const CHECKPOINT_EVERY_MS = 1000;

function run(port: MessagePort, opts: { path: string; busyTimeoutMs?: number }): void {
  let db: Database.Database;
  try {
    db = new Database(opts.path);
    db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
    db.pragma('synchronous = NORMAL');
    port.postMessage({ opened: true });
  } catch (e) {
    const err = e as { code?: string; message?: string };
    port.postMessage({ openError: { code: err.code ?? 'UNKNOWN', message: err.message ?? String(e) } });
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

if (parentPort) run(parentPort, workerData as { path: string; busyTimeoutMs?: number });
