/**
 * The local memory's error codes (lib/memory: curate, recall, sync, the brv backend). The hints and
 * what each means are in docs/readme/memory.md, "Error codes".
 */
export const MemoryErrorCode = {
  BRV_ABORTED: 'MEMORY_BRV_ABORTED',
  BRV_NOT_FOUND: 'MEMORY_BRV_NOT_FOUND',
  BRV_FAILED: 'MEMORY_BRV_FAILED',
  BRV_TIMEOUT: 'MEMORY_BRV_TIMEOUT',
  NOTE_EMPTY: 'MEMORY_NOTE_EMPTY',
  NOTE_TOO_LARGE: 'MEMORY_NOTE_TOO_LARGE',
  NAME_EXHAUSTED: 'MEMORY_NAME_EXHAUSTED',
  SECRET_DETECTED: 'MEMORY_SECRET_DETECTED',
  CLOSED: 'MEMORY_CLOSED',
  ABORTED: 'MEMORY_ABORTED',
  ENGINE_UNAVAILABLE: 'MEMORY_ENGINE_UNAVAILABLE',
  OPTIONS: 'MEMORY_OPTIONS',
  V4_ENGINE: 'MEMORY_V4_ENGINE',
  PATH_ESCAPE: 'MEMORY_PATH_ESCAPE',
  STATE_CORRUPT: 'MEMORY_STATE_CORRUPT',
  PUSH_FAILED: 'MEMORY_PUSH_FAILED',
  NATIVE_WALK_UNAVAILABLE: 'MEMORY_NATIVE_WALK_UNAVAILABLE',
  /** search/recall where no context tree exists (nothing is created). */
  TREE_MISSING: 'MEMORY_TREE_MISSING',
  /** The context tree path is a file. */
  TREE_NOT_DIRECTORY: 'MEMORY_TREE_NOT_DIRECTORY',
} as const;
export type MemoryErrorCode = (typeof MemoryErrorCode)[keyof typeof MemoryErrorCode];
