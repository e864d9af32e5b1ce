/**
 * lib/memory: the local ByteRover context tree — reading and watching it, recall within a token
 * budget, curate into a durable outbox, pull/push with ByteRover — behind one MemoryBackend interface
 * with two implementations: LocalMemory (in-process RecallIndex, the native engine by default) and
 * BrvMemory (ByteRover's own `brv` CLI).
 */
export type {
  CurateOptions,
  CurateResult,
  MemoryBackend,
  MemoryStats,
  Note,
  RecallDoc,
  RecallHit,
  RecallIndex,
  RecallIndexFactory,
  RecallIndexStats,
  RecallOptions,
  RecallResult,
  SearchOptions,
} from './types.js';
export { LocalMemory, toRecallDoc, type LocalMemoryOptions } from './local.js';
export { BrvMemory, runBrv, lastJsonLine, BRV_MAX_OUTPUT_CHARS, type BrvOptions, type BrvResult } from './brv.js';
export { MemorySync, treePath, type CoGitClient, type PullResult, type PushSummary, type SyncOptions } from './sync.js';
export { ContextTree, defaultTreeRoot, type TreeChanges, type TreeDoc } from './tree.js';
export { parseNote, splitFrontmatter, extractHeadings, renderNote, type ParsedNote } from './markdown.js';
export { estimateTokens, fitToBudget, trimExcerpt, renderHit, CHARS_PER_TOKEN } from './budget.js';
export { Outbox, noteId, type OutboxEntry } from './outbox.js';
export { curateNote, recoverOrphans, entryFor, type CurateHygiene } from './curate.js';
export { resolveInTree, normalizeRelative, slugify } from './paths.js';
export { defaultStateDir, loadSyncState, type SyncState } from './state.js';
export { loadNativeRecall, engineUnavailable, ENGINE_UNAVAILABLE_HINT, type NativeRecall } from './native-index.js';
export {
  openMemory,
  locateTree,
  onPath,
  resolveMemoryLocation,
  resolveMemory,
  type MemoryEngineChoice,
  type MemoryLocation,
  type MemorySource,
  type OpenMemoryOptions,
  type OpenedMemory,
  type OpenedLocalMemory,
  type OpenedBrvMemory,
} from './open.js';
export type { StepHooks, StepPoint } from './hooks.js';
export * as v4 from './v4/index.js';
export { SpaceMemory, type SpaceHit, type SpaceRecallResult } from './v4/memory.js';
