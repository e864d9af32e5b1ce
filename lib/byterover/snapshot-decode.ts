/**
 * The snapshot answer's heavy part — JSON.parse of up to 64 MiB, the schema check and the base64
 * decoding of every file — run off the caller's event loop (issue 13: a hostile or large space must
 * not stall the bridge while it is pulled). Bodies of at least `offloadBytes` go to a worker thread
 * (snapshot-worker.ts), started for the one decode and ended after it; smaller ones, which take well
 * under a millisecond, are decoded in place. Both paths run the same code (decodeSnapshotBody), so
 * the answer and every error (code, message, hint, details) are the same.
 *
 * The worker receives the body's bytes by transfer (no copy) and sends back each file's bytes by
 * transfer. An abort (the caller's signal) ends the worker at once and rejects with the signal's reason.
 */
import { Worker } from 'node:worker_threads';
import { ClawError } from '../errors.js';
import { ByteRoverError } from './errors.js';
import { badResponse, parseResponse, snapshotResponse } from './schemas.js';
import { toSnapshot } from './snapshot.js';
import type { Snapshot } from './types.js';

export interface DecodeContext {
  endpoint: string;
  what: string;
  status: number;
  requestId: string | undefined;
}

/** Default size from which a snapshot body is decoded in a worker thread (256 KiB). */
export const OFFLOAD_BYTES = 256 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes of a snapshot answer → Snapshot, with the errors the JSON client would give. */
export function decodeSnapshotBody(
  body: Uint8Array,
  ids: { teamId: string; spaceId: string },
  ctx: DecodeContext,
): Snapshot {
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(body));
  } catch (e) {
    throw badResponse(ctx, '(body)', 'valid JSON', 'malformed JSON', e);
  }
  return toSnapshot(parseResponse(snapshotResponse, json, ctx), ids, ctx);
}

/** What crosses the thread boundary for a failure. */
export interface WireError {
  name: string;
  code: string;
  message: string;
  json: Record<string, unknown>;
}

export function toWireError(e: unknown): WireError {
  if (e instanceof ClawError) return { name: e.name, code: e.code, message: e.message, json: e.toJSON() };
  const err = e instanceof Error ? e : new Error(String(e));
  return { name: err.name, code: '', message: err.message, json: {} };
}

export function fromWireError(w: WireError): Error {
  if (!w.code) {
    const err = new Error(w.message);
    err.name = w.name;
    return err;
  }
  const j = w.json;
  const opts = {
    ...(typeof j.hint === 'string' ? { hint: j.hint } : {}),
    ...(j.details && typeof j.details === 'object' ? { details: j.details as Record<string, unknown> } : {}),
  };
  if (w.name === 'ByteRoverError') {
    return new ByteRoverError(w.code, w.message, {
      ...opts,
      ...(typeof j.status === 'number' ? { status: j.status } : {}),
      ...(typeof j.requestId === 'string' ? { requestId: j.requestId } : {}),
      retryable: j.retryable === true,
      ...(typeof j.endpoint === 'string' ? { endpoint: j.endpoint } : {}),
    });
  }
  return new ClawError(w.code, w.message, opts);
}

export interface WorkerRequest {
  body: Uint8Array;
  ids: { teamId: string; spaceId: string };
  ctx: DecodeContext;
}
export type WorkerReply = { ok: true; snapshot: Snapshot } | { ok: false; error: WireError };

/** Starts the decode thread. Running from TypeScript sources (tsx, vitest), it loads tsx first. */
function startWorker(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const file = new URL('./snapshot-worker.ts', here).href;
    const code = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(file)}); })`;
    return new Worker(code, { eval: true });
  }
  return new Worker(new URL('./snapshot-worker.js', here));
}

/** Decodes in a worker thread; resolves/rejects exactly as decodeSnapshotBody would. */
export function decodeSnapshotOffLoop(
  body: Uint8Array,
  ids: { teamId: string; spaceId: string },
  ctx: DecodeContext,
  signal?: AbortSignal,
): Promise<Snapshot> {
  if (signal?.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<Snapshot>((resolve, reject) => {
    const worker = startWorker();
    let settled = false;
    const done = (f: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      f();
    };
    const onAbort = (): void => done(() => reject(signal?.reason as Error));
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: WorkerReply) => done(() => (m.ok ? resolve(m.snapshot) : reject(fromWireError(m.error)))));
    worker.on('error', (e) => done(() => reject(e)));
    worker.on('exit', (code) =>
      done(() => reject(new Error(`the snapshot decode thread exited (code ${code}) before answering`))),
    );
    // A Buffer from lib/http may view a pooled ArrayBuffer: copy those, transfer the rest.
    const own = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength ? body : body.slice();
    const req: WorkerRequest = { body: own, ids, ctx };
    worker.postMessage(req, [own.buffer as ArrayBuffer]);
  });
}

/** The decode as pull uses it: in place below `offloadBytes`, in a worker thread from it. */
export function decodeSnapshot(
  body: Uint8Array,
  ids: { teamId: string; spaceId: string },
  ctx: DecodeContext,
  opts: { offloadBytes?: number; signal?: AbortSignal } = {},
): Promise<Snapshot> {
  if (body.byteLength < (opts.offloadBytes ?? OFFLOAD_BYTES)) {
    try {
      return Promise.resolve(decodeSnapshotBody(body, ids, ctx));
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }
  return decodeSnapshotOffLoop(body, ids, ctx, opts.signal);
}
