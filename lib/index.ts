/**
 * claw-byterover as a library (`import { … } from 'claw-byterover'`): the typed face a TypeScript
 * agent uses. Everything here is what the CLI, the OpenClaw plugin and the bridge use themselves —
 * the same opener, the same credential resolver, the same client — so a setup that works in one works
 * in the others. README "Use as a library" shows it end to end (that example is run by a test,
 * test/unit/package/library.test.ts, from the packed tarball).
 *
 * - ByteRover: `openByteRover()` (config file + environment + your settings, the credential resolved
 *   as the CLI does, the API client), or the pieces: createHttpClient, resolveCredential,
 *   createByteRoverClient, the token stores and the logins.
 * - Memory: `openMemory()` (which tree, which engine, how it was found) → search / recall / curate on
 *   `backend`; sync with ByteRover through `local.sync(client, space)` (pull / push).
 * - The native facade: `native` (the addon loader, ABI and agent-protocol negotiation, the recall
 *   engine); also importable alone as `claw-byterover/native`.
 * - The bridge: `createBridge()` (the companion service: skill invoke, webhooks, queue, web login).
 * - Errors: every failure is a `ClawError` with a stable `code`, a message and a `hint`; the code
 *   registries of each concern are exported below.
 *
 * Loading this module loads no native code and opens nothing: the addon loads on first use.
 */
import { createByteRoverClient, type ByteRoverClient } from './byterover/index.js';
import { resolveCredential, type AuthRefreshEvent, type ResolvedCredential } from './byterover/auth/index.js';
import { loadConfig, type ClawConfig } from './config/index.js';
import { createHttpClient, type HttpClient } from './http/index.js';
import { createLogger, type Logger } from './log/index.js';

// --- Errors and codes -------------------------------------------------------------------------
export { ClawError, isClawError, errorMessage, type ClawErrorOptions } from './errors.js';
export { HttpErrorCode } from './http/index.js';
export { AuthErrorCode, type AuthErrorCodeValue } from './byterover/auth/index.js';
export { AGENT_ERROR_CODES, type AgentErrorCode } from './agent/errors.js';
export { ClawApiErrorCode } from './clawapi/index.js';
export { OAuthErrorCode } from './bridge/oauth/index.js';
export { ENGINE_UNAVAILABLE_HINT } from './memory/index.js';
export { packageVersion } from './version.js';

// --- Configuration, logging, the HTTP transport -----------------------------------------------
export { loadConfig, type ClawConfig, type LoadConfigOptions, type LoadedConfig } from './config/index.js';
export { createLogger, type Logger } from './log/index.js';
export { createHttpClient, type HttpClient, type HttpClientOptions, type HttpObserver } from './http/index.js';

// --- ByteRover: client and auth ---------------------------------------------------------------
export {
  createByteRoverClient,
  ByteRoverError,
  isByteRoverError,
  loadByteRoverConfig,
  parseByteRoverConfig,
  DEFAULT_BASE_URLS,
  type ByteRoverConfig,
  type ByteRoverConfigInput,
} from './byterover/index.js';
export type * from './byterover/types.js';
export {
  resolveCredential,
  oauthIssuer,
  clientCredentialsSettings,
  createSessionProvider,
  createFileTokenStore,
  createMemoryTokenStore,
  resolveDataDir,
  DEFAULT_PROFILE,
  loginWithApiKey,
  loginWithOAuth,
  loginWithClientCredentials,
  logout,
  credentialStatus,
  describeCredential,
  LOGIN_HINT,
  type CredentialSettings,
  type ResolveCredentialOptions,
  type ResolvedCredential,
  type SessionProvider,
  type ManagedSessionProvider,
  type AuthRefreshEvent,
  type StoredCredential,
  type TokenStore,
  type FileTokenStore,
  type CredentialSummary,
  type ClientCredentialsSettings,
} from './byterover/auth/index.js';

// --- Memory: open, search, recall, curate, sync ------------------------------------------------
export {
  openMemory,
  resolveMemoryLocation,
  locateTree,
  loadNativeRecall,
  LocalMemory,
  BrvMemory,
  MemorySync,
  ContextTree,
  type OpenMemoryOptions,
  type OpenedMemory,
  type OpenedLocalMemory,
  type OpenedBrvMemory,
  type MemoryEngineChoice,
  type MemoryLocation,
  type MemorySource,
  type MemoryBackend,
  type MemoryStats,
  type Note,
  type CurateResult,
  type RecallHit,
  type RecallOptions,
  type RecallResult,
  type SearchOptions,
  type RecallIndex,
  type RecallIndexFactory,
  type LocalMemoryOptions,
  type BrvOptions,
  type PullResult,
  type PushSummary,
  type SyncOptions,
  type CoGitClient,
} from './memory/index.js';
// ByteRover v4: which space a folder uses, recording topics into it, and its memory (lib/memory/v4).
export { resolveMemory, SpaceMemory, type SpaceHit, type SpaceRecallResult } from './memory/index.js';
export {
  resolveSpace,
  boundSpace,
  dataDir as byteroverDataDir,
  recordTopic,
  buildTopicHtml,
  validateTopic,
  readTopicHtml,
  citationBlock,
  type SpaceResolution,
  type SpaceSource,
  type RecordInput,
  type RecordFields,
  type RecordOptions,
  type RecordResult,
  type Violation,
  type ParsedTopic,
  type Confidence,
} from './memory/v4/index.js';

// --- The native facade -------------------------------------------------------------------------
export * as native from './native.js';

// --- The bridge (companion service) ------------------------------------------------------------
export {
  createBridge,
  type Bridge,
  type BridgeStatus,
  type CreateBridgeOptions,
  BridgeConfigSchema,
  type BridgeConfig,
} from './bridge/index.js';

// --- One call for the common case --------------------------------------------------------------

export interface OpenByteRoverOptions {
  /** Environment read for the config (BYTEROVER_API_KEY, BRV_*_BASE_URL, CLAW_BYTEROVER_*; default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The profile (token-store slot and config profile; default CLAW_BYTEROVER_PROFILE, the file's, `default`). */
  profile?: string;
  /** The config file (default CLAW_BYTEROVER_CONFIG, else the platform's config dir). */
  configPath?: string;
  /** Settings over the file and the environment, as in the config file (e.g. `{ apiKey }`, `{ byterover: { … } }`). */
  settings?: Record<string, unknown>;
  logger?: Logger;
  /** Called once per credential renewal (telemetry). */
  onAuthRefresh?: (e: AuthRefreshEvent) => void;
}

export interface ByteRover {
  client: ByteRoverClient;
  http: HttpClient;
  credential: ResolvedCredential;
  config: ClawConfig;
  profile: string;
  /** Closes the HTTP transport (keep-alive sockets). */
  close(): Promise<void>;
}

/**
 * The ByteRover client as the CLI builds it: the validated config (file < environment < `settings`),
 * the credential from lib/byterover/auth's resolver (an API key, else the profile's login, else
 * client credentials), one HTTP transport.
 */
export async function openByteRover(o: OpenByteRoverOptions = {}): Promise<ByteRover> {
  const loaded = await loadConfig({
    ...(o.env ? { env: o.env } : {}),
    ...(o.profile ? { profile: o.profile } : {}),
    ...(o.configPath ? { configPath: o.configPath } : {}),
    ...(o.settings ? { layers: [{ source: 'openByteRover settings', values: o.settings }] } : {}),
  });
  const { config, profile, sources } = loaded;
  // Warnings and errors unless a level is configured (a library should not chatter on stdout).
  const logger = o.logger ?? createLogger({ level: sources.logLevel === 'default' ? 'warn' : config.logLevel });
  const http = createHttpClient({ logger });
  const credential = resolveCredential({
    settings: config,
    apiKeySource: sources.apiKey,
    profile,
    http,
    ...(o.env ? { env: o.env } : {}),
    logger,
    onRefresh: o.onAuthRefresh,
  });
  const client = createByteRoverClient({ http, session: credential.session, config: config.byterover, logger });
  return { client, http, credential, config, profile, close: () => http.close() };
}
