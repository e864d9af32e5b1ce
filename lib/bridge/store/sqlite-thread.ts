/**
 * Worker-thread entry of the SQLite store: owns the one better-sqlite3 connection and runs the calls
 * store/sqlite.ts posts to it, one at a time, in arrival order. Protocol (structured clone):
 *   in:  { open: SqliteEngineOptions }            → out: { opened: true } | { openError }
 *   in:  { id, method, args }                     → out: { id, result } | { id, error: {code, message} }
 *   in:  { close: true }                          → closes the database and exits
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteEngine, type SqliteEngineOptions } from './sqlite-engine.js';

interface Call {
  id: number;
  method: string;
  args: unknown[];
}

const port = parentPort;
if (!port) throw new Error('sqlite-thread.ts runs only as a worker thread');

let engine: SqliteEngine | undefined;
try {
  engine = new SqliteEngine(workerData as SqliteEngineOptions);
  port.postMessage({ opened: true });
} catch (e) {
  const err = e as { code?: string; message?: string };
  port.postMessage({ openError: { code: err.code ?? 'UNKNOWN', message: err.message ?? String(e) } });
}

port.on('message', (msg: Call | { close: true }) => {
  if ('close' in msg) {
    engine?.close();
    port.close();
    return;
  }
  try {
    if (!engine) throw new Error('database is not open');
    const fn = (engine as unknown as Record<string, (...a: unknown[]) => unknown>)[msg.method];
    if (typeof fn !== 'function') throw new Error(`unknown store method ${msg.method}`);
    port.postMessage({ id: msg.id, result: fn.apply(engine, msg.args) });
  } catch (e) {
    const err = e as { code?: string; message?: string };
    port.postMessage({ id: msg.id, error: { code: err.code ?? 'UNKNOWN', message: err.message ?? String(e) } });
  }
});
