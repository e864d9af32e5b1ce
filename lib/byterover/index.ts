/**
 * lib/byterover: typed calls for ByteRover's cloud API (IAM, CoGit, billing, legacy memories) over
 * lib/http. Auth lives in ./auth (its own face); this face exports the client, its config and errors.
 */
export { createByteRoverClient } from './client.js';
export {
  CONFIG_ENV,
  DEFAULT_BASE_URLS,
  DEFAULT_TIMEOUTS_MS,
  byteRoverConfigSchema,
  loadByteRoverConfig,
  parseByteRoverConfig,
  type ByteRoverConfig,
  type ByteRoverConfigInput,
  type ByteRoverService,
} from './config.js';
export { ByteRoverError, isByteRoverError, type ByteRoverErrorOptions } from './errors.js';
export { SESSION_HEADER, API_KEY_HEADER } from './call.js';
export { staleShaRejection, validateMemories } from './push.js';
export type * from './types.js';
