/**
 * The OpenClaw host as this plugin sees it: the structural types of the plugin SDK surface it uses
 * (mirrored from `openclaw@2026.9.6`'s `dist/plugin-sdk` declarations, so this package type-checks and
 * its unit tests run under Node 20 without OpenClaw installed), and how the host's own SDK modules
 * are reached at run time.
 *
 * Why not a static `import … from 'openclaw/plugin-sdk/…'`: OpenClaw needs Node >= 24.16 and this
 * package supports Node >= 20, so `openclaw` is an optional peer, not a dependency. A static import
 * would make the entry fail to load wherever `openclaw` is not resolvable from the package (unit
 * tests, `openclaw plugins install -l <checkout>`). Instead:
 * - the entry object is built by the host's `definePluginEntry` when the host SDK resolves
 *   (`require('openclaw/plugin-sdk/plugin-entry')`, synchronous: registration is synchronous and
 *   entries must not use top-level await), else by `localDefinePluginEntry`, which returns the same
 *   shape (`{id, name, description, configSchema, register}`, what 2026.9.6's helper returns and
 *   what OpenClaw also accepts as a plain default export);
 * - `delegateCompactionToRuntime` (from `openclaw/plugin-sdk/core`) is imported lazily, the first
 *   time compaction is requested, from the package's own resolution first (npm installs get a
 *   plugin-local `node_modules/openclaw` link to the host, see docs/plugins/dependency-resolution.md
 *   "Host peer dependency"), else from the running host's installation (the `openclaw` package that
 *   holds `process.argv[1]`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

// ---------------------------------------------------------------------------------------------
// Messages (openclaw's AgentMessage: user / assistant / toolResult / custom)
// ---------------------------------------------------------------------------------------------

export interface TextContent {
  type: 'text';
  text: string;
}
/** Any content part; only `text` parts (and assistant `toolCall` names) are read here. */
export interface ContentPart {
  type: string;
  text?: string;
  name?: string;
  [key: string]: unknown;
}
export interface AgentMessage {
  role: string;
  content?: string | ContentPart[];
  [key: string]: unknown;
}

// ---------------------------------------------------------------------------------------------
// Tools (AgentTool / AgentToolResult)
// ---------------------------------------------------------------------------------------------

export interface AgentToolResult<T = unknown> {
  content: TextContent[];
  details: T;
}

export interface AgentTool<P = Record<string, unknown>, T = unknown> {
  name: string;
  label: string;
  description: string;
  /** JSON Schema of the arguments (TypeBox schemas are JSON Schema too). */
  parameters: Record<string, unknown>;
  /** JSON Schema of `details`. */
  outputSchema?: Record<string, unknown>;
  /** Throws on failure (OpenClaw's contract); never encodes an error as content. */
  execute(toolCallId: string, params: P, signal?: AbortSignal): Promise<AgentToolResult<T>>;
}

export interface ToolContext {
  workspaceDir?: string;
  agentDir?: string;
  agentId?: string;
  sessionKey?: string;
  sessionId?: string;
  sandboxed?: boolean;
  [key: string]: unknown;
}
export type ToolFactory = (ctx: ToolContext) => AgentTool[] | AgentTool | null | undefined;

// ---------------------------------------------------------------------------------------------
// Context engine (src/context-engine/types.ts)
// ---------------------------------------------------------------------------------------------

export interface ContextEngineInfo {
  id: string;
  name: string;
  version?: string;
  acceptedHostParams?: string[];
  transcriptSemantics?: {
    currentTurnFence?: 'before-current-turn-entry-v1';
    turnAdvancementIdempotency?: 'atomic-idempotent-v1';
  };
  ownsCompaction?: boolean;
  turnMaintenanceMode?: 'foreground' | 'background';
}

export interface AssembleParams {
  sessionId: string;
  sessionKey?: string;
  messages: AgentMessage[];
  tokenBudget?: number;
  availableTools?: Set<string>;
  model?: string;
  /** The incoming user prompt for this turn. */
  prompt?: string;
  runtimeContext?: Record<string, unknown>;
  [key: string]: unknown;
}
export interface AssembleResult {
  messages: AgentMessage[];
  estimatedTokens: number;
  systemPromptAddition?: string;
}

export interface CompactParams {
  sessionId: string;
  sessionKey: string;
  tokenBudget?: number;
  force?: boolean;
  abortSignal?: AbortSignal;
  runtimeContext?: Record<string, unknown>;
  [key: string]: unknown;
}
export interface CompactResult {
  ok: boolean;
  compacted: boolean;
  reason?: string;
  result?: Record<string, unknown>;
}

export interface AfterTurnParams {
  sessionId: string;
  sessionKey?: string;
  sessionFile?: string;
  messages: AgentMessage[];
  /** Messages that existed before the prompt was sent: the turn is `messages.slice(prePromptMessageCount)`. */
  prePromptMessageCount: number;
  isHeartbeat?: boolean;
  [key: string]: unknown;
}
export interface CommitTurnParams {
  advancementKey: string;
  /** Inclusive range from the admitted user entry through the accepted terminal entry. */
  messages: AgentMessage[];
  sessionId: string;
  sessionKey?: string;
  isHeartbeat?: boolean;
  [key: string]: unknown;
}

export interface ContextEngine {
  readonly info: ContextEngineInfo;
  ingest(params: {
    sessionId: string;
    sessionKey?: string;
    message: AgentMessage;
    isHeartbeat?: boolean;
  }): Promise<{ ingested: boolean }>;
  assemble(params: AssembleParams): Promise<AssembleResult>;
  compact(params: CompactParams): Promise<CompactResult>;
  afterTurn?(params: AfterTurnParams): Promise<void>;
  commitTurn?(params: CommitTurnParams): Promise<{ status: 'committed' | 'duplicate' }>;
  dispose?(): Promise<void>;
}

export interface ContextEngineFactoryContext {
  config?: unknown;
  agentDir?: string;
  workspaceDir?: string;
}
export type ContextEngineFactory = (ctx: ContextEngineFactoryContext) => ContextEngine | Promise<ContextEngine>;

// ---------------------------------------------------------------------------------------------
// The plugin API (the part used here)
// ---------------------------------------------------------------------------------------------

export interface PluginLogger {
  debug?: (message: string) => void;
  info: (message: string) => void;
  warn: (message: string) => void;
  error: (message: string) => void;
}

export type RegistrationMode =
  'full' | 'discovery' | 'tool-discovery' | 'setup-only' | 'setup-runtime' | 'cli-metadata';

export interface PluginServiceContext {
  workspaceDir?: string;
  stateDir: string;
  logger: PluginLogger;
  [key: string]: unknown;
}

export type { MemoryCorpusSupplement } from './corpus.js';
import type { MemoryCorpusSupplement } from './corpus.js';

export interface OpenClawPluginApi {
  id: string;
  name?: string;
  version?: string;
  source?: string;
  rootDir?: string;
  registrationMode: RegistrationMode;
  config?: unknown;
  pluginConfig?: Record<string, unknown>;
  logger: PluginLogger;
  registerTool(tool: AgentTool | ToolFactory, opts?: { name?: string; names?: string[]; optional?: boolean }): void;
  registerContextEngine(id: string, factory: ContextEngineFactory): void;
  /** OpenClaw ≥ 2026.9: an additive corpus for memory_search / memory_get (lib/openclaw/corpus.ts). */
  registerMemoryCorpusSupplement?(supplement: MemoryCorpusSupplement): void;
  registerService(service: {
    id: string;
    start: (ctx: PluginServiceContext) => void | Promise<void>;
    stop?: (ctx: PluginServiceContext) => void | Promise<void>;
  }): void;
  [key: string]: unknown;
}

export interface PluginEntryOptions {
  id: string;
  name: string;
  description: string;
  configSchema?: Record<string, unknown> | (() => Record<string, unknown>);
  register(api: OpenClawPluginApi): void;
}

export interface PluginEntry {
  id: string;
  name: string;
  description: string;
  readonly configSchema: Record<string, unknown>;
  register(api: OpenClawPluginApi): void;
}

// ---------------------------------------------------------------------------------------------
// Reaching the host SDK
// ---------------------------------------------------------------------------------------------

const require = createRequire(import.meta.url);

/** Same shape as openclaw 2026.9.6's `definePluginEntry` (configSchema as a memoized getter). */
export function localDefinePluginEntry(o: PluginEntryOptions): PluginEntry {
  let schema: Record<string, unknown> | undefined;
  return {
    id: o.id,
    name: o.name,
    description: o.description,
    get configSchema() {
      schema ??=
        typeof o.configSchema === 'function'
          ? o.configSchema()
          : (o.configSchema ?? { type: 'object', additionalProperties: false, properties: {} });
      return schema;
    },
    register: o.register,
  };
}

export interface HostSdk {
  /** Where `definePluginEntry` came from: the host's SDK, or the local equivalent. */
  source: 'host' | 'local';
  definePluginEntry: (o: PluginEntryOptions) => PluginEntry;
  /** Why the host SDK was not used (when `source` is 'local'). */
  reason?: string;
}

/** The host's `definePluginEntry` when `openclaw/plugin-sdk/plugin-entry` resolves, else the local one. */
export function pluginEntryFactory(req: (id: string) => unknown = require): HostSdk {
  try {
    const mod = req('openclaw/plugin-sdk/plugin-entry') as { definePluginEntry?: unknown };
    if (typeof mod.definePluginEntry === 'function') {
      return { source: 'host', definePluginEntry: mod.definePluginEntry as HostSdk['definePluginEntry'] };
    }
    return {
      source: 'local',
      definePluginEntry: localDefinePluginEntry,
      reason: 'openclaw/plugin-sdk/plugin-entry has no definePluginEntry export',
    };
  } catch (e) {
    return {
      source: 'local',
      definePluginEntry: localDefinePluginEntry,
      reason: (e as Error).message.split('\n')[0] ?? 'not resolvable',
    };
  }
}

/** The root of the running OpenClaw installation: the `openclaw` package holding `argv[1]`. */
export function hostPackageRoot(argv1: string | undefined = process.argv[1]): string | undefined {
  if (!argv1) return undefined;
  let dir = dirname(resolve(argv1));
  for (let i = 0; i < 8; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'openclaw') return dir;
      } catch {
        // unreadable package.json: keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

/**
 * Imports an `openclaw/plugin-sdk/<subpath>` module: from this package's own resolution first, then
 * from the running host's installation (its `exports` map, resolved by self-reference).
 */
export async function importHostSdk<T>(subpath: string): Promise<T> {
  const spec = `openclaw/plugin-sdk/${subpath}`;
  const tried: string[] = [];
  try {
    return (await import(spec)) as T;
  } catch (e) {
    tried.push(`${spec} from this package: ${(e as Error).message.split('\n')[0]}`);
  }
  const root = hostPackageRoot();
  if (root) {
    try {
      const file = createRequire(join(root, 'package.json')).resolve(spec);
      return (await import(pathToFileURL(file).href)) as T;
    } catch (e) {
      tried.push(`${spec} from the host at ${root}: ${(e as Error).message.split('\n')[0]}`);
    }
  } else {
    tried.push("no openclaw installation holds this process's main script");
  }
  throw new Error(`cannot load the OpenClaw plugin SDK (${tried.join('; ')})`);
}
