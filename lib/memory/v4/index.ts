/**
 * lib/memory/v4: ByteRover v4 spaces — where a folder's space is (space.ts), reading and validating
 * `<bv-topic>` HTML (html.ts, validate.ts), recording topics (record.ts) with their signal sidecars
 * (signals.ts), and the SpaceMemory backend that indexes a space and cites its hits (memory.ts, cite.ts).
 */
export {
  dataDir,
  spacePaths,
  readRegistry,
  findBinding,
  findMarker,
  parseMarker,
  readSpaceMetadata,
  findSpaceByName,
  resolveSpace,
  boundSpace,
  isSpaceId,
  MARKER_FILENAME,
  BINDINGS_FILENAME,
  type SpaceResolution,
  type SpaceSource,
  type ResolveSpaceOptions,
  type Registry,
  type Marker,
} from './space.js';
export { readTopicHtml, parseTopic, ELEMENT_NAMES, type ParsedTopic, type TopicElement } from './html.js';
export { validateTopic, checkTopicPath, canonicalTopicPath, type Violation } from './validate.js';
export {
  recordTopic,
  buildTopicHtml,
  makeTopicId,
  makeElementId,
  type RecordInput,
  type RecordFields,
  type RecordOptions,
  type RecordResult,
} from './record.js';
export {
  defaultSignals,
  readSignals,
  writeSignals,
  signalFile,
  determineTier,
  decayed,
  type RuntimeSignals,
} from './signals.js';
export { citationBlock, compoundScore, confidenceOf, type Confidence } from './cite.js';
export { SpaceMemory, isTopicPath, type SpaceHit, type SpaceRecallResult, type SpaceMemoryOptions } from './memory.js';
