/**
 * `register(api)`: what the plugin adds to OpenClaw in each registration mode.
 *
 * | mode                          | tools | context engine            | service (close) | warm-up |
 * |-------------------------------|-------|---------------------------|-----------------|---------|
 * | `full`                        | yes   | unless `mode: tools-only` | yes             | yes     |
 * | `discovery`, `tool-discovery` | yes   | unless `mode: tools-only` | no              | no      |
 * | `setup-only`, `setup-runtime`, `cli-metadata` | nothing (no runtime surface to offer)             |
 *
 * (`openclaw plugins inspect --runtime` loads plugins in `tool-discovery` mode, so the engine is
 * registered there too: a registration is an inert factory.) Nothing is opened at registration: the
 * context tree is opened on first use, or, in `full` mode only, when an engine instance is created
 * (warm-up, so the first turn usually finds it indexed). The config is parsed in every mode that registers something; a
 * SecretRef that OpenClaw did not resolve (tool-discovery) is accepted, not resolved (config.ts).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RecallIndexFactory } from '../memory/index.js';
import { packageVersion } from '../version.js';
import { parsePluginConfig, PLUGIN_ID } from './config.js';
import { createCorpusSupplement } from './corpus.js';
import { createContextEngine } from './engine.js';
import { byteroverPluginEnabled } from './v4.js';
import type { OpenClawPluginApi } from './host.js';
import { hostLogger } from './log.js';
import { PluginRuntime } from './runtime.js';
import { createTools, TOOL_NAMES } from './tools.js';

/** The package root: lib/openclaw/*.ts and dist/openclaw/*.js both sit two levels below it. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The manifest (openclaw.plugin.json) shipped at the package root. */
export function readManifest(): Record<string, unknown> & { configSchema: Record<string, unknown> } {
  return JSON.parse(readFileSync(join(PACKAGE_ROOT, 'openclaw.plugin.json'), 'utf8')) as Record<string, unknown> & {
    configSchema: Record<string, unknown>;
  };
}

/** The command that puts this plugin's engine in OpenClaw's context-engine slot. */
export const SELECT_ENGINE_COMMAND = `openclaw config set plugins.slots.contextEngine ${PLUGIN_ID}`;
/** The command that keeps another engine and silences the notice (tools and memory corpus only). */
export const TOOLS_ONLY_COMMAND = `openclaw config set plugins.entries.${PLUGIN_ID}.config.mode tools-only`;

/**
 * Why the engine is registered but unused, or undefined when `plugins.slots.contextEngine` selects it.
 *
 * The manifest declares no `kind`, so `openclaw plugins install` never writes the slot (OpenClaw
 * 2026.9.6 `applySlotSelectionForPlugin` assigns it, replacing any engine there, only for plugins
 * whose manifest or entry declares `kind: "context-engine"`). The user selects the engine with
 * {@link SELECT_ENGINE_COMMAND}; until then, each full load says so, naming the engine that runs.
 */
export function contextEngineSlotNotice(hostConfig: unknown): { slot: string; message: string } | undefined {
  const plugins = (hostConfig as { plugins?: { slots?: { contextEngine?: unknown } } } | undefined)?.plugins;
  const raw = plugins?.slots?.contextEngine;
  const slot = typeof raw === 'string' ? raw.trim() : '';
  if (slot === PLUGIN_ID) return undefined;
  const now =
    slot === ''
      ? 'is unset, so OpenClaw\'s built-in "legacy" engine assembles turns'
      : slot.toLowerCase() === 'none'
        ? 'is "none" (context engines off)'
        : `is "${slot}", so that engine assembles turns (kept: installing ${PLUGIN_ID} never changes the slot)`;
  return {
    slot: slot === '' ? 'legacy (unset)' : slot,
    message:
      `${PLUGIN_ID} context engine registered but not selected: plugins.slots.contextEngine ${now}; ` +
      `turns get no ByteRover recall, the byterover_* tools work. To recall into turns: ` +
      `\`${SELECT_ENGINE_COMMAND}\` then \`openclaw gateway restart\`. ` +
      `To keep the current engine and silence this: \`${TOOLS_ONLY_COMMAND}\``,
  };
}

export interface RegisterOptions {
  sdkSource?: 'host' | 'local';
  /** A recall engine instead of the native one (tests). */
  recallIndex?: RecallIndexFactory;
  env?: () => NodeJS.ProcessEnv;
}

export interface Registered {
  runtime: PluginRuntime | undefined;
  tools: boolean;
  engine: boolean;
  service: boolean;
}

export function registerPlugin(api: OpenClawPluginApi, o: RegisterOptions = {}): Registered {
  const mode = api.registrationMode ?? 'full';
  if (mode === 'setup-only' || mode === 'setup-runtime' || mode === 'cli-metadata')
    return { runtime: undefined, tools: false, engine: false, service: false };
  const config = parsePluginConfig(api.pluginConfig);
  const logger = hostLogger(api.logger, config.logLevel ?? 'info');
  const runtime = new PluginRuntime({
    config,
    logger,
    watch: mode === 'full',
    ...(o.sdkSource ? { sdkSource: o.sdkSource } : {}),
    ...(o.recallIndex ? { recallIndex: o.recallIndex } : {}),
    ...(o.env ? { env: o.env } : {}),
  });
  const version = packageVersion();

  api.registerTool((ctx) => createTools(runtime, ctx), { names: [...TOOL_NAMES] });

  // OpenClaw's own memory_search / memory_get (corpus `all` or `wiki`) also search the tree
  // (corpus.ts). No prompt supplement: the context engine already adds the recalled notes, and a
  // second block would inject them twice.
  const corpus = typeof api.registerMemoryCorpusSupplement === 'function';
  if (corpus) api.registerMemoryCorpusSupplement?.(createCorpusSupplement(runtime, () => api.config));

  const engine = config.mode === 'full';
  if (engine && mode === 'full') {
    const notice = contextEngineSlotNotice(api.config);
    if (notice) logger.warn({ slot: notice.slot }, notice.message);
  }
  if (engine) {
    api.registerContextEngine(PLUGIN_ID, (ctx) =>
      createContextEngine({
        runtime,
        warm: mode === 'full',
        byteroverPlugin: byteroverPluginEnabled(api.config),
        ...(ctx?.workspaceDir ? { workspaceDir: ctx.workspaceDir } : {}),
        ...(ctx?.agentDir ? { agentDir: ctx.agentDir } : {}),
        ...(version ? { version } : {}),
      }),
    );
  }

  const service = mode === 'full';
  if (service) {
    api.registerService({
      id: `${PLUGIN_ID}-memory`,
      start: () => {
        logger.info(
          { mode: config.mode, backend: config.backend, engine, sdk: o.sdkSource ?? 'local', version },
          'claw-byterover ready',
        );
      },
      stop: () => runtime.close(),
    });
  }
  return { runtime, tools: true, engine, service };
}
