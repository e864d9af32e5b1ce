/**
 * CoGit snapshot files: base64 `content` → bytes (+ UTF-8 text when valid), checked against `size`.
 */
import type { z } from 'zod';
import type { snapshotResponse } from './schemas.js';
import { badResponse } from './schemas.js';
import type { Snapshot, SnapshotFile } from './types.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
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
  if (!BASE64.test(b64))
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
