/**
 * CoGit snapshot files: base64 `content` → bytes (+ UTF-8 text when valid), checked against `size`.
 */
import type { z } from 'zod';
import type { snapshotResponse } from './schemas.js';
import { badResponse } from './schemas.js';
import type { Snapshot, SnapshotFile } from './types.js';

/** 1 for the 64 characters of the base64 alphabet (RFC 4648 §4), 0 otherwise. */
const ALPHABET = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') ALPHABET[c.charCodeAt(0)] = 1;

/**
 * Canonical padded base64 (length a multiple of 4, `=` only as the last one or two characters), in
 * one loop: the regexp this replaces recursed per 4-character group and overflowed the stack on
 * files over ~3.2 MB (issue 13), far below the 64 MiB response cap.
 */
export function isBase64(s: string): boolean {
  const n = s.length;
  if (n % 4 !== 0) return false;
  const pad = n === 0 ? 0 : s.charCodeAt(n - 1) !== 61 ? 0 : s.charCodeAt(n - 2) === 61 ? 2 : 1;
  for (let i = 0; i < n - pad; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || ALPHABET[c] === 0) return false;
  }
  return true;
}
const utf8 = new TextDecoder('utf-8', { fatal: true });

interface Ctx {
  endpoint: string;
  what: string;
  status: number;
  requestId: string | undefined;
}

export function decodeFile(
  wire: z.output<typeof snapshotResponse>['files'][number],
  index: number,
  ctx: Ctx,
): SnapshotFile {
  const b64 = wire.content.replace(/[\r\n]/g, '');
  if (!isBase64(b64))
    throw badResponse(ctx, `files[${index}].content`, 'base64', 'characters outside the base64 alphabet');
  const buf = Buffer.from(b64, 'base64');
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (bytes.byteLength !== wire.size) {
    throw badResponse(
      ctx,
      `files[${index}].size`,
      `${bytes.byteLength} (the decoded content's length)`,
      String(wire.size),
    );
  }
  let text: string | undefined;
  try {
    text = utf8.decode(bytes);
  } catch {
    text = undefined;
  }
  return { path: wire.path, bytes, text, mode: wire.mode, sha: wire.sha, size: wire.size };
}

export function toSnapshot(
  wire: z.output<typeof snapshotResponse>,
  ids: { teamId: string; spaceId: string },
  ctx: Ctx,
): Snapshot {
  return {
    teamId: ids.teamId,
    spaceId: ids.spaceId,
    branch: wire.branch,
    commitSha: wire.commit_sha,
    message: wire.message,
    author: wire.author ? { name: wire.author.name, email: wire.author.email, when: wire.author.when } : undefined,
    files: wire.files.map((f, i) => decodeFile(f, i, ctx)),
    requestId: ctx.requestId,
  };
}
