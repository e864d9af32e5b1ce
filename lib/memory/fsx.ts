/**
 * lib/memory's durable writes are lib/fsx's (the one durable-file module, shared with auth and the
 * bridge) and its content hash; this file re-exports them for memory's modules.
 */
export { createFileExclusive, fsyncDir, sha256, unlinkDurable, writeFileAtomic } from '../fsx/index.js';
