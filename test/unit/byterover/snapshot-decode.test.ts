/**
 * The snapshot answer decoded off the event loop (issue 13): the worker thread gives the same
 * Snapshot and the same errors (code, message, hint, details) as the in-place decode, the caller's
 * loop keeps turning while a large answer is decoded, and an abort ends the decode with its reason.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../../../lib/byterover/types.js';
import { ByteRoverError } from '../../../lib/byterover/errors.js';
import {
  decodeSnapshot,
  decodeSnapshotBody,
  decodeSnapshotOffLoop,
  OFFLOAD_BYTES,
} from '../../../lib/byterover/snapshot-decode.js';

const ids = { teamId: 't1', spaceId: 's1' };
const ctx = { endpoint: 'cogit.snapshot', what: 'Pulling from ByteRover', status: 200, requestId: 'req-1' };

function file(path: string, content: Buffer) {
  return { path, content: content.toString('base64'), mode: '100644', sha: 'x'.repeat(40), size: content.length };
}
function body(doc: unknown): Uint8Array {
  return new TextEncoder().encode(typeof doc === 'string' ? doc : JSON.stringify(doc));
}
const doc = (files: unknown[]) => ({ branch: 'main', commit_sha: 'c'.repeat(40), message: 'm', author: null, files });

/** The snapshot with each file's bytes and text as digests (a deep compare of MBs is slow). */
function digest(s: Snapshot | undefined) {
  const h = (x: Uint8Array | string) => createHash('sha256').update(x).digest('hex');
  return (
    s && {
      ...s,
      files: s.files.map((f) => ({ ...f, bytes: h(f.bytes), text: f.text === undefined ? 'none' : h(f.text) })),
    }
  );
}

/** One decode's outcome: the snapshot, or the error it threw. */
interface Outcome {
  ok?: Snapshot;
  err?: ByteRoverError;
}

async function both(b: Uint8Array): Promise<{ inPlace: Outcome; worker: Outcome }> {
  const inPlace = ((): Outcome => {
    try {
      return { ok: decodeSnapshotBody(b.slice(), ids, ctx) };
    } catch (e) {
      return { err: e as ByteRoverError };
    }
  })();
  const worker = await decodeSnapshotOffLoop(b.slice(), ids, ctx).then(
    (ok): Outcome => ({ ok }),
    (e: unknown): Outcome => ({ err: e as ByteRoverError }),
  );
  return { inPlace, worker };
}

describe('snapshot decode off the event loop', () => {
  it('gives the same snapshot as the in-place decode (text, binary, empty, multi-MB files)', async () => {
    const files = [
      file('/a.md', Buffer.from('# a\n[x](' + '[a]('.repeat(1000))),
      file('/bin', Buffer.from([0xff, 0xfe, 0, 1])),
      file('/empty.md', Buffer.alloc(0)),
      file('/big.md', Buffer.alloc(3 * 1024 * 1024, 'n')),
    ];
    const { inPlace, worker } = await both(body(doc(files)));
    expect(inPlace.ok).toBeDefined();
    expect(digest(worker.ok)).toEqual(digest(inPlace.ok));
    expect(worker.ok?.files[1]?.text).toBeUndefined();
    expect(worker.ok?.files[3]?.bytes.byteLength).toBe(3 * 1024 * 1024);
  });

  it.each([
    ['malformed JSON', body('{"branch": "main", "files": [')],
    ['a field of the wrong type', body({ ...doc([]), files: 'nope' })],
    ['content outside the base64 alphabet', body(doc([{ ...file('/a.md', Buffer.from('abc')), content: '!!!!' }]))],
    ['a size that is not the decoded length', body(doc([{ ...file('/a.md', Buffer.from('abc')), size: 4 }]))],
  ])('fails on %s with the same error in both', async (_name, b) => {
    const { inPlace, worker } = await both(b);
    expect(inPlace.err).toBeInstanceOf(ByteRoverError);
    expect(worker.err).toBeInstanceOf(ByteRoverError);
    const { cause: _c, ...expected } = inPlace.err!.toJSON();
    expect(worker.err!.toJSON()).toEqual(expected);
    expect(worker.err!.code).toBe('BYTEROVER_BAD_RESPONSE');
  });

  it('keeps the caller’s event loop turning while a large answer is decoded', async () => {
    const b = body(doc(Array.from({ length: 8 }, (_, i) => file(`/n${i}.md`, Buffer.alloc(1024 * 1024, 'q')))));
    expect(b.byteLength).toBeGreaterThan(OFFLOAD_BYTES);
    let turns = 0;
    let decoded = false;
    const tick = (): void => {
      turns++;
      if (!decoded) setImmediate(tick);
    };
    setImmediate(tick);
    const snap = await decodeSnapshot(b, ids, ctx);
    decoded = true;
    expect(snap.files).toHaveLength(8);
    // In place, the decode would run before any immediate; off the loop, immediates run meanwhile.
    expect(turns).toBeGreaterThan(1);
  });

  it('an abort ends the decode with the signal’s reason', async () => {
    const ac = new AbortController();
    const b = body(doc([file('/a.md', Buffer.alloc(2 * 1024 * 1024, 'z'))]));
    const p = decodeSnapshot(b, ids, ctx, { signal: ac.signal });
    const reason = new Error('deadline');
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
  });
});
