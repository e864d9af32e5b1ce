/**
 * Thread body of decodeSnapshotOffLoop (snapshot-decode.ts): one request in, one reply out, with the
 * files' bytes transferred back.
 */
import { parentPort } from 'node:worker_threads';
import { decodeSnapshotBody, toWireError, type WorkerReply, type WorkerRequest } from './snapshot-decode.js';

parentPort?.once('message', (req: WorkerRequest) => {
  let reply: WorkerReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const snapshot = decodeSnapshotBody(req.body, req.ids, req.ctx);
    const seen = new Set<ArrayBufferLike>();
    for (const f of snapshot.files) {
      // Buffer.from(base64) of a small file views Node's shared pool: copy those so each file owns its buffer.
      if (f.bytes.byteOffset !== 0 || f.bytes.byteLength !== f.bytes.buffer.byteLength || seen.has(f.bytes.buffer)) {
        f.bytes = f.bytes.slice();
      }
      seen.add(f.bytes.buffer);
      transfer.push(f.bytes.buffer as ArrayBuffer);
    }
    reply = { ok: true, snapshot };
  } catch (e) {
    reply = { ok: false, error: toWireError(e) };
  }
  parentPort?.postMessage(reply, transfer);
});
