/**
 * Registration in each OpenClaw registration mode (recorded through an object with the plugin API's
 * register* methods; the real host is exercised in test/interop/openclaw), the entry's shape with and
 * without the host SDK, and the log bridge into OpenClaw's logger.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import entry from '../../../lib/openclaw/index.js';
import {
  hostPackageRoot,
  localDefinePluginEntry,
  pluginEntryFactory,
  type OpenClawPluginApi,
  type RegistrationMode,
} from '../../../lib/openclaw/host.js';
import { formatLine, hostLogger } from '../../../lib/openclaw/log.js';
import {
  contextEngineSlotNotice,
  PACKAGE_ROOT,
  readManifest,
  registerPlugin,
  SELECT_ENGINE_COMMAND,
} from '../../../lib/openclaw/plugin.js';
import { registerSecret } from '../../../lib/log/index.js';
import { captureLogger, engines, tempProject } from './helpers.js';

const minisearch = (await engines()).find((e) => e.name === 'minisearch')?.factory;

interface Recorded {
  api: OpenClawPluginApi;
  tools: Array<{ factory: unknown; names: string[] | undefined }>;
  engines: Array<{ id: string; factory: (ctx: { workspaceDir?: string }) => unknown }>;
  services: Array<{ id: string; stop?: (ctx: never) => unknown }>;
  log: ReturnType<typeof captureLogger>;
}

function recordingApi(
  mode: RegistrationMode,
  pluginConfig: Record<string, unknown> | undefined,
  hostConfig?: unknown,
): Recorded {
  const log = captureLogger();
  const rec: Omit<Recorded, 'api'> = { tools: [], engines: [], services: [], log };
  const api: OpenClawPluginApi = {
    id: 'claw-byterover',
    registrationMode: mode,
    pluginConfig,
    config: hostConfig,
    logger: log.logger,
    registerTool: (factory, opts) => rec.tools.push({ factory, names: opts?.names }),
    registerContextEngine: (id, factory) =>
      rec.engines.push({ id, factory: factory as Recorded['engines'][number]['factory'] }),
    registerService: (s) => rec.services.push(s as Recorded['services'][number]),
  };
  return { api, ...rec };
}

describe('registration modes', () => {
  it('full: tools, the context engine and the stopping service', async () => {
    const { project } = await tempProject(true);
    const r = recordingApi('full', { projectDir: project });
    const out = registerPlugin(r.api, minisearch ? { recallIndex: minisearch } : {});
    expect(out).toMatchObject({ tools: true, engine: true, service: true });
    expect(r.tools).toHaveLength(1);
    expect(r.tools[0]?.names).toEqual([
      'byterover_search',
      'byterover_recall',
      'byterover_curate',
      'byterover_sync',
      'byterover_record',
    ]);
    expect(r.engines.map((e) => e.id)).toEqual(['claw-byterover']);
    expect(r.services.map((s) => s.id)).toEqual(['claw-byterover-memory']);
    // The tool factory builds the five tools for a run; the engine factory an engine per turn.
    const tools = (r.tools[0]?.factory as (ctx: object) => Array<{ name: string }>)({ workspaceDir: project });
    expect(tools.map((t) => t.name)).toHaveLength(5);
    const engine = r.engines[0]?.factory({ workspaceDir: project }) as { info: { id: string } };
    expect(engine.info.id).toBe('claw-byterover');
    await r.services[0]?.stop?.({} as never);
  });

  it('tools-only: the tools without the engine', () => {
    const r = recordingApi('full', { mode: 'tools-only' });
    expect(registerPlugin(r.api)).toMatchObject({ tools: true, engine: false, service: true });
    expect(r.engines).toEqual([]);
    expect(r.tools).toHaveLength(1);
  });

  it('tool-discovery (what `plugins inspect --runtime` uses): tools and engine, no service, a raw SecretRef accepted', async () => {
    const ref = { source: 'env', provider: 'default', id: 'BYTEROVER_API_KEY' };
    const r = recordingApi('tool-discovery', { apiKey: ref });
    const out = registerPlugin(r.api);
    expect(out).toMatchObject({ tools: true, engine: true, service: false });
    expect(out.runtime?.config.unresolvedApiKeyRef).toEqual(ref);
    expect(out.runtime?.config.apiKey).toBeUndefined();
    expect(r.services).toEqual([]);
    await out.runtime?.close();
  });

  it('full mode gets the resolved string', async () => {
    const r = recordingApi('full', { apiKey: 'resolved-by-openclaw-0123456789' });
    const out = registerPlugin(r.api);
    expect(out.runtime?.config.apiKey).toBe('resolved-by-openclaw-0123456789');
    expect(out.runtime?.config.unresolvedApiKeyRef).toBeUndefined();
    await out.runtime?.close();
  });

  it('full mode with another engine in the slot: warns, naming it and the exact commands; silent once selected', async () => {
    const other = recordingApi('full', {}, { plugins: { slots: { contextEngine: 'lossless-claw' } } });
    const out = registerPlugin(other.api);
    expect(other.engines.map((e) => e.id)).toEqual(['claw-byterover']); // registered, usable once selected
    const warns = other.log.lines.filter((l) => l.level === 'warn').map((l) => l.text);
    expect(warns).toHaveLength(1);
    expect(warns[0]).toContain('plugins.slots.contextEngine is "lossless-claw"');
    expect(warns[0]).toContain('`openclaw config set plugins.slots.contextEngine claw-byterover`');
    expect(warns[0]).toContain('`openclaw config set plugins.entries.claw-byterover.config.mode tools-only`');
    await out.runtime?.close();

    const selected = recordingApi('full', {}, { plugins: { slots: { contextEngine: 'claw-byterover' } } });
    await registerPlugin(selected.api).runtime?.close();
    expect(selected.log.lines.filter((l) => l.level === 'warn')).toEqual([]);
    // tools-only (the user keeps their engine on purpose) and discovery loads say nothing.
    for (const r of [
      recordingApi('full', { mode: 'tools-only' }, { plugins: { slots: { contextEngine: 'lossless-claw' } } }),
      recordingApi('tool-discovery', {}, { plugins: { slots: { contextEngine: 'lossless-claw' } } }),
    ]) {
      await registerPlugin(r.api).runtime?.close();
      expect(r.log.lines.filter((l) => l.level === 'warn')).toEqual([]);
    }
  });

  it('the slot notice for an unset slot, "none", and ours', () => {
    expect(SELECT_ENGINE_COMMAND).toBe('openclaw config set plugins.slots.contextEngine claw-byterover');
    expect(contextEngineSlotNotice(undefined)?.message).toMatch(/is unset, so OpenClaw's built-in "legacy" engine/);
    expect(contextEngineSlotNotice({ plugins: { slots: {} } })?.slot).toBe('legacy (unset)');
    expect(contextEngineSlotNotice({ plugins: { slots: { contextEngine: 'none' } } })?.message).toMatch(
      /is "none" \(context engines off\)/,
    );
    expect(contextEngineSlotNotice({ plugins: { slots: { contextEngine: ' claw-byterover ' } } })).toBeUndefined();
  });

  it('setup and CLI-metadata loads register nothing', () => {
    for (const mode of ['setup-only', 'setup-runtime', 'cli-metadata'] as const) {
      const r = recordingApi(mode, { colour: 'not even valid' });
      expect(registerPlugin(r.api)).toEqual({ runtime: undefined, tools: false, engine: false, service: false });
      expect([...r.tools, ...r.engines, ...r.services]).toEqual([]);
    }
  });

  it('an invalid config fails the load with CONFIG_INVALID', () => {
    expect(() => registerPlugin(recordingApi('full', { recall: { deadlineMs: 'soon' } }).api)).toThrow(
      /Invalid openclaw plugins\.entries\.claw-byterover\.config: recall\.deadlineMs/,
    );
  });
});

describe('the entry', () => {
  it('is the definePluginEntry shape with the manifest id and config schema', () => {
    expect(entry.id).toBe('claw-byterover');
    expect(entry.id).toBe(readManifest().id);
    expect(entry.name).toBe('ByteRover memory');
    expect(typeof entry.register).toBe('function');
    expect(entry.configSchema).toEqual(readManifest().configSchema);
    expect(entry.configSchema).toBe(entry.configSchema); // memoized, like the host helper
  });

  it('the manifest, package.json and skill agree on identity, version, entry and shipped files', async () => {
    const { readFile } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
      version: string;
      files: string[];
      openclaw: { extensions: string[]; compat: { pluginApi: string }; install: { minHostVersion: string } };
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional: boolean }>;
    };
    const m = readManifest() as unknown as {
      id: string;
      name: string;
      version: string;
      kind?: unknown;
      skills: string[];
    };
    expect(m).toMatchObject({
      id: 'claw-byterover',
      name: entry.name,
      version: pkg.version,
      skills: ['./skills'],
    });
    // No kind, in the manifest or the entry: OpenClaw's installer (2026.9.6 applySlotSelectionForPlugin)
    // writes plugins.slots.contextEngine, replacing the user's engine, for any plugin declaring
    // `kind: "context-engine"`. The user selects ours explicitly (docs/readme/openclaw.md).
    expect(m.kind).toBeUndefined();
    expect((entry as { kind?: unknown }).kind).toBeUndefined();
    expect(pkg.openclaw.extensions).toEqual(['./dist/openclaw/index.js']);
    expect(pkg.files).toEqual(expect.arrayContaining(['dist/', 'openclaw.plugin.json', 'skills/', 'prebuilds/']));
    expect(pkg.peerDependencies.openclaw).toBe(pkg.openclaw.compat.pluginApi);
    expect(pkg.openclaw.install.minHostVersion).toBe(pkg.openclaw.compat.pluginApi);
    expect(pkg.peerDependenciesMeta.openclaw?.optional).toBe(true);
    const skill = await readFile(join(PACKAGE_ROOT, 'skills', 'byterover', 'SKILL.md'), 'utf8');
    const front = /^---\n([\s\S]*?)\n---\n/.exec(skill)?.[1] ?? '';
    const { parse } = await import('yaml');
    const fm = parse(front) as {
      name: string;
      version: string;
      description: string;
      metadata: {
        openclaw: {
          primaryEnv: string;
          requires: { env: string[] };
          envVars: Array<{ name: string; required: boolean; description: string }>;
        };
      };
    };
    expect(fm).toMatchObject({ name: 'byterover', version: pkg.version });
    expect(fm.description.length).toBeGreaterThan(40);
    expect(fm.metadata.openclaw.primaryEnv).toBe('BYTEROVER_API_KEY');
    expect(fm.metadata.openclaw.requires.env).toEqual(['BYTEROVER_API_KEY']);
    // ClawHub flags env vars a skill mentions but does not declare: every one the body names is declared.
    const declared = new Set(fm.metadata.openclaw.envVars.map((v) => v.name));
    for (const v of fm.metadata.openclaw.envVars) expect(v.description.length, v.name).toBeGreaterThan(20);
    const mentioned = new Set(skill.slice(front.length).match(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b/g) ?? []);
    expect([...mentioned].filter((n) => !declared.has(n))).toEqual([]);
  });

  it('uses the host SDK when it resolves, the identical local helper otherwise', () => {
    // Here (Node 20, no openclaw installed) the SDK does not resolve.
    const here = pluginEntryFactory();
    expect(here.source).toBe('local');
    expect(here.reason).toMatch(/openclaw/);
    const calls: unknown[] = [];
    const hostDefine = (o: unknown) => (calls.push(o), { fromHost: true });
    const host = pluginEntryFactory((id) =>
      id === 'openclaw/plugin-sdk/plugin-entry' ? { definePluginEntry: hostDefine } : {},
    );
    expect(host.source).toBe('host');
    expect(host.definePluginEntry({ id: 'x', name: 'x', description: 'x', register() {} })).toEqual({ fromHost: true });
    expect(calls).toHaveLength(1);
    expect(pluginEntryFactory(() => ({})).source).toBe('local');
    const local = localDefinePluginEntry({ id: 'a', name: 'b', description: 'c', register() {} });
    expect(local.configSchema).toEqual({ type: 'object', additionalProperties: false, properties: {} });
  });

  it('finds the running OpenClaw installation from the main script', async () => {
    const root = await mkdtemp(join(tmpdir(), 'claw-host-root-'));
    try {
      await mkdir(join(root, 'node_modules', 'openclaw', 'dist'), { recursive: true });
      await writeFile(join(root, 'node_modules', 'openclaw', 'package.json'), JSON.stringify({ name: 'openclaw' }));
      await writeFile(join(root, 'package.json'), JSON.stringify({ name: 'someone-else' }));
      expect(hostPackageRoot(join(root, 'node_modules', 'openclaw', 'openclaw.mjs'))).toBe(
        join(root, 'node_modules', 'openclaw'),
      );
      expect(hostPackageRoot(join(root, 'bin', 'other.mjs'))).toBeUndefined();
      expect(hostPackageRoot(undefined)).toBeUndefined();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('logging into OpenClaw', () => {
  it('maps pino levels onto the host logger and keeps fields readable', () => {
    const log = captureLogger();
    const l = hostLogger(log.logger, 'debug');
    l.debug({ hits: 3 }, 'recall done');
    l.info({ tree: '/a b/c' }, 'context tree open');
    l.warn({ error: 'MEMORY_X', reason: 'it broke' }, 'recall failed');
    l.error('fatal-ish');
    expect(log.lines).toEqual([
      { level: 'debug', text: 'recall done hits=3' },
      { level: 'info', text: 'context tree open tree="/a b/c"' },
      { level: 'warn', text: 'recall failed error=MEMORY_X reason="it broke"' },
      { level: 'error', text: 'fatal-ish' },
    ]);
    expect(formatLine('not json')).toEqual({ level: 30, text: 'not json' });
  });

  it('never writes a registered secret', () => {
    const secret = 'brv-log-secret-value-9f8e7d6c';
    registerSecret(secret);
    const log = captureLogger();
    const l = hostLogger(log.logger, 'info');
    l.info({ apiKey: secret, note: `key is ${secret}` }, `using ${secret}`);
    expect(log.text()).not.toContain(secret);
    expect(log.text()).toContain('[REDACTED]');
  });

  it('respects the configured level', () => {
    const log = captureLogger();
    hostLogger(log.logger, 'warn').info('hidden');
    expect(log.lines).toEqual([]);
  });
});
