/**
 * lib/memory's durable writes are lib/fsx's (the one durable-file module, shared with auth and the
 * bridge); this file re-exports them for memory's modules and adds the content hash memory uses.
 */
import { createHash } from 'node:crypto';

export { createFileExclusive, fsyncDir, unlinkDurable, writeFileAtomic } from '../fsx/index.js';

export function sha256(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}
