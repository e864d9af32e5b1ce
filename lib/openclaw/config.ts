/**
 * The plugin's configuration (`plugins.entries.claw-byterover.config` in openclaw.json, delivered as
 * `api.pluginConfig`): parsed with zod, then mapped onto lib/config's one schema as a layer, so the
 * ByteRover settings (API key, team, space, branch, service URLs, data dir, log level) mean what they
 * mean everywhere else. Keys that only make sense inside OpenClaw (mode, backend, project dir, recall
 * deadline and budget, after-turn curation) stay here.
 *
 * The manifest (openclaw.plugin.json `configSchema`) is the JSON Schema OpenClaw validates with before
 * loading any code; `PluginConfigSchema` below accepts exactly the same shape (a unit test checks that
 * both list the same keys).
 *
 * The API key is a string or a SecretRef `{source, provider, id}` (the path `apiKey` is declared under
 * `configContracts.secretInputs`). In `full` registration mode OpenClaw resolves it and hands over the
 * string; in `tool-discovery` mode it hands over the raw object. A raw SecretRef is accepted and kept
 * as a description (never resolved here, never an error): the key then comes from the environment or
 * the token store, as if none were configured, and `byterover_sync` says so if it needs one.
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ClawError } from '../errors.js';
import { LOG_LEVELS, type ConfigLayer } from '../config/index.js';
import { registerSecret } from '../log/index.js';
import { ConfigErrorCode } from '../errors.js';

/** The plugin id (manifest `id`, `plugins.entries.<id>`, context engine id). */
export const PLUGIN_ID = 'claw-byterover';

export const SECRET_REF_SOURCES = ['env', 'file', 'exec', 'store'] as const;

/** OpenClaw's SecretRef (docs/gateway/secrets/secretref-contract.md). */
export const SecretRefSchema = z.strictObject({
  source: z.enum(SECRET_REF_SOURCES),
  provider: z.string().trim().min(1),
  id: z.string().trim().min(1),
});
export type SecretRef = z.infer<typeof SecretRefSchema>;

const nonEmpty = z.string().trim().min(1);

export const RecallConfigSchema = z.strictObject({
  /** Longest time `assemble` may wait for recall before the turn goes on without it (ms). */
  deadlineMs: z.number().int().min(10).max(10_000).default(250),
  /**
   * Upper bound of the system-prompt addition, in estimated tokens (chars / 4). Default: sized from
   * the model's context window (2 %, 200–2,000 tokens; 800 when OpenClaw gives no window).
   */
  maxTokens: z.number().int().min(50).max(20_000).optional(),
  /** Share of the turn's token budget the addition may take, when the host gives a budget. */
  budgetShare: z.number().gt(0).max(0.5).default(0.1),
  /** Notes recalled at most. */
  maxHits: z.number().int().min(1).max(50).default(6),
  /** Prompts shorter than this (trimmed) recall nothing. */
  minQueryChars: z.number().int().min(1).max(200).default(5),
  /**
   * ByteRover v4 spaces: a short "how to record" block after the recalled topics. `auto` (default):
   * on, unless ByteRover's own OpenClaw plugin (`byterover`) is enabled too (it adds its own guidance).
   */
  recordGuidance: z.enum(['auto', 'on', 'off']).default('auto'),
  /** ByteRover v4 spaces: hits below this confidence are not cited (ByteRover's high ≥ 0.6, medium ≥ 0.4). */
  citeMinConfidence: z.enum(['high', 'medium', 'low']).default('medium'),
});

export const CurateConfigSchema = z.strictObject({
  /** Curate durable statements of each accepted turn (see lib/openclaw/curation.ts). */
  afterTurn: z.boolean().default(true),
});

export const BrvConfigSchema = z.strictObject({
  /** The `brv` executable (backend "brv", or "auto" without the native engine). */
  path: nonEmpty.default('brv'),
  /** `brv search` timeout (ms). */
  timeoutMs: z.number().int().min(100).max(120_000).default(5000),
});

const ByteRoverUrlsSchema = z.strictObject({
  iamBaseUrl: nonEmpty.optional(),
  cogitBaseUrl: nonEmpty.optional(),
  billingBaseUrl: nonEmpty.optional(),
  llmBaseUrl: nonEmpty.optional(),
});

/** What an entry of `agents` may override: where that agent's memory is. */
export const AgentScopeSchema = z.strictObject({
  projectDir: nonEmpty.optional(),
  contextTree: nonEmpty.optional(),
  v4Space: nonEmpty.optional(),
});
export type AgentScope = z.infer<typeof AgentScopeSchema>;

export const PluginConfigSchema = z.strictObject({
  /** `full`: context engine + tools; `tools-only`: tools, no engine (keep another context engine). */
  mode: z.enum(['full', 'tools-only']).default('full'),
  /** ByteRover API key: a string, or a SecretRef OpenClaw resolves. */
  apiKey: z.union([nonEmpty, SecretRefSchema]).optional(),
  /** Recall engine: the native index (default when it loads), `brv search`, or auto (native, else brv). */
  backend: z.enum(['auto', 'native', 'brv']).default('auto'),
  /** Directory holding `.brv/` (relative: to the agent workspace). Default: the agent workspace. */
  projectDir: nonEmpty.optional(),
  /** The context tree (relative: to projectDir). Default `<projectDir>/.brv/context-tree`. */
  contextTree: nonEmpty.optional(),
  /**
   * A ByteRover v4 space (id, display name or `default`) to use instead of the project's binding.
   * Without it (and without contextTree), a project bound to a v4 space (.brvspace / ByteRover's
   * registry) uses that space, any other its v3 context tree. (`space` is the v3 sync space.)
   */
  v4Space: nonEmpty.optional(),
  /**
   * Per-agent memory: an OpenClaw agent id mapped to its own project, context tree or v4 space
   * (each key as above, relative paths against that agent's workspace). Agents not listed use the
   * top-level keys; without any, each agent workspace has its own memory (one per workspace).
   */
  agents: z.record(z.string().trim().min(1), AgentScopeSchema).optional(),
  team: nonEmpty.optional(),
  space: nonEmpty.optional(),
  branch: nonEmpty.optional(),
  /** Where credentials live (default: the XDG data dir, shared with the CLI). */
  dataDir: nonEmpty.optional(),
  logLevel: z.enum(LOG_LEVELS).optional(),
  recall: RecallConfigSchema.prefault({}),
  curate: CurateConfigSchema.prefault({}),
  brv: BrvConfigSchema.prefault({}),
  /** ByteRover service base URLs (defaults: ByteRover's hosts). */
  byterover: ByteRoverUrlsSchema.optional(),
});
export type PluginConfigInput = z.input<typeof PluginConfigSchema>;
export type ParsedPluginConfig = z.infer<typeof PluginConfigSchema>;

/** What the plugin works with: the parsed config with the API key split by kind. */
export interface PluginConfig extends Omit<ParsedPluginConfig, 'apiKey'> {
  /** The key, when configured as a string (or resolved by OpenClaw). */
  apiKey: string | undefined;
  /** A SecretRef OpenClaw did not resolve for this load (tool-discovery mode): described, never used. */
  unresolvedApiKeyRef: SecretRef | undefined;
}

/** Where the plugin config is, for messages. */
export const CONFIG_SOURCE = `openclaw plugins.entries.${PLUGIN_ID}.config`;

/**
 * Parses `api.pluginConfig`. Never throws for a SecretRef in any mode; throws CONFIG_INVALID (naming
 * each bad key, never its value) for anything else that does not fit.
 */
export function parsePluginConfig(raw: unknown): PluginConfig {
  const parsed = PluginConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new ClawError(ConfigErrorCode.INVALID, `Invalid ${CONFIG_SOURCE}: ${problems.join('; ')}.`, {
      hint: `Fix it with \`openclaw config set plugins.entries.${PLUGIN_ID}.config.<key> <value>\` (see \`openclaw plugins inspect ${PLUGIN_ID}\`), then restart the gateway.`,
      details: { problems },
    });
  }
  const { apiKey, ...rest } = parsed.data;
  if (typeof apiKey === 'string') registerSecret(apiKey);
  return {
    ...rest,
    apiKey: typeof apiKey === 'string' ? apiKey : undefined,
    unresolvedApiKeyRef: typeof apiKey === 'object' ? apiKey : undefined,
  };
}

/** A SecretRef as text for messages (the id names an env var or a key path, not a secret). */
export function describeSecretRef(ref: SecretRef): string {
  return `SecretRef ${ref.source}:${ref.provider}:${ref.id}`;
}

/** The plugin config as a lib/config layer (the ByteRover settings it shares with the CLI). */
export function configLayer(cfg: PluginConfig): ConfigLayer {
  const values: Record<string, unknown> = {};
  if (cfg.apiKey) values.apiKey = cfg.apiKey;
  for (const k of ['team', 'space', 'branch', 'dataDir', 'logLevel'] as const)
    if (cfg[k] !== undefined) values[k] = cfg[k];
  if (cfg.byterover) {
    const urls = Object.fromEntries(Object.entries(cfg.byterover).filter(([, v]) => v !== undefined));
    if (Object.keys(urls).length > 0) values.byterover = urls;
  }
  return { source: CONFIG_SOURCE, values };
}

export interface TreeLocation {
  projectRoot: string;
  treeRoot: string;
  stateDir: string;
}

/**
 * The context tree of an agent: `projectDir` (relative to the agent workspace, default the workspace
 * itself) holds `.brv/context-tree`; `contextTree` overrides the tree (relative to the project).
 * lib/memory's state (outbox, sync state) is `<project>/.brv/claw-byterover` for the standard tree,
 * else `<parent>/.<name>.claw-byterover` beside a custom tree (as the CLI places it), so two trees
 * never share an outbox.
 */
export function treeLocation(
  cfg: Pick<PluginConfig, 'projectDir' | 'contextTree'>,
  workspaceDir: string | undefined,
): TreeLocation {
  const base = workspaceDir ?? process.cwd();
  const projectRoot = cfg.projectDir
    ? isAbsolute(cfg.projectDir)
      ? cfg.projectDir
      : resolve(base, cfg.projectDir)
    : resolve(base);
  const standard = resolve(projectRoot, '.brv', 'context-tree');
  const treeRoot = cfg.contextTree ? resolve(projectRoot, cfg.contextTree) : standard;
  if (treeRoot === standard) return { projectRoot, treeRoot, stateDir: resolve(projectRoot, '.brv', 'claw-byterover') };
  const parent = resolve(treeRoot, '..');
  const name = treeRoot.slice(parent.length + 1);
  return { projectRoot, treeRoot, stateDir: resolve(parent, `.${name}.claw-byterover`) };
}
