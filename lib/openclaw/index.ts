/**
 * lib/openclaw: the OpenClaw plugin `claw-byterover` (package.json `openclaw.extensions` points at
 * the built `dist/openclaw/index.js`). Its default export is the plugin entry: made by the host's
 * own `definePluginEntry` when OpenClaw's SDK resolves from here (npm installs link it), else by the
 * identical local helper (see host.ts for why the SDK is not a static import).
 *
 * Pieces: config.ts (plugin config, SecretRef, mapping onto lib/config), engine.ts (context engine),
 * tools.ts + sync.ts (agent tools), curation.ts (what a turn leaves in memory), runtime.ts (shared
 * open trees and ByteRover client), plugin.ts (what `register` adds in each mode), log.ts, host.ts.
 */
import { PLUGIN_ID } from './config.js';
import { pluginEntryFactory } from './host.js';
import { readManifest, registerPlugin } from './plugin.js';

export {
  PLUGIN_ID,
  parsePluginConfig,
  PluginConfigSchema,
  SecretRefSchema,
  configLayer,
  treeLocation,
  describeSecretRef,
} from './config.js';
export type { PluginConfig, PluginConfigInput, SecretRef, TreeLocation } from './config.js';
export {
  createContextEngine,
  additionBudget,
  queryOf,
  renderAddition,
  withDeadline,
  ADDITION_HEADER,
  type EngineOptions,
} from './engine.js';
export { createTools, TOOL_NAMES, type ToolName } from './tools.js';
export { durableNotes, type CuratedCandidate } from './curation.js';
export { PluginRuntime, type OpenMemory, type RuntimeOptions } from './runtime.js';
export { registerPlugin, readManifest, PACKAGE_ROOT, type RegisterOptions, type Registered } from './plugin.js';
export {
  pluginEntryFactory,
  localDefinePluginEntry,
  type OpenClawPluginApi,
  type ContextEngine,
  type AgentTool,
} from './host.js';

const sdk = pluginEntryFactory();

const entry = sdk.definePluginEntry({
  id: PLUGIN_ID,
  name: 'ByteRover memory',
  description:
    "ByteRover memory for OpenClaw: recall from the project's context tree before each turn, curate durable statements after it, and search/recall/curate/sync tools.",
  configSchema: () => readManifest().configSchema,
  register(api) {
    registerPlugin(api, { sdkSource: sdk.source });
  },
});

export default entry;
