/**
 * The plugin in a real OpenClaw (npm `openclaw@OPENCLAW_VERSION` under Node 24 from npm, isolated
 * home; see env.ts), installed the way users install it:
 *
 * - `npm pack` of this package with its linux-x64 N-API prebuild (pack.ts), installed with
 *   `openclaw plugins install npm-pack:<tgz>`, which runs npm with `--ignore-scripts`: nothing is
 *   compiled, so the recall engine that answers below is the shipped prebuild;
 * - `plugins inspect --runtime --json`: loaded, its four tools and its context engine registered (in
 *   the tool-discovery mode inspect uses, with the API key configured as a raw SecretRef), and in
 *   tools-only mode the tools without the engine;
 * - the bundled skill parsed by OpenClaw with its requirements (ineligible without BYTEROVER_API_KEY,
 *   eligible with it);
 * - one loopback gateway (token auth) answering `POST /tools/invoke`: byterover_search and
 *   byterover_recall with hits from the fixture context tree, byterover_sync status, and curate +
 *   sync against the ByteRover stand-in with the key OpenClaw resolved from the SecretRef (the
 *   stand-in sees exactly the environment variable's value).
 */
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools } from '../../helpers/tools.js';
import { startByteRoverStandin, type ByteRoverStandin } from '../../standin/byterover.js';
import { ensureOpenClaw, type Gateway, type OpenClawEnv } from './env.js';
import { packPlugin, type PackedPlugin } from './pack.js';
import { hangGuard } from '../../helpers/timeout.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const FIXTURE_TREE = join(ROOT, 'test', 'fixtures', 'context-tree');
const FIXTURE_NOTES = 54;
const PLUGIN = 'claw-byterover';
const TOOLS = ['byterover_search', 'byterover_recall', 'byterover_curate', 'byterover_sync', 'byterover_record'];
const KEY_ENV = 'CLAW_INTEROP_BRV_KEY';
const KEY = `brv-interop-${Math.random().toString(36).slice(2)}-key`;

const skip = missingTools(
  ['npm', 'g++', 'make', 'python3', 'tar'],
  'apt-get install -y build-essential python3 (and Node/npm)',
);

interface InspectReport {
  plugin: {
    id: string;
    status: string;
    kind?: string;
    toolNames: string[];
    contextEngineIds: string[];
    rootDir: string;
    source: string;
  };
  tools: Array<{ names: string[] }>;
  diagnostics: unknown[];
}

describe.skipIf(skip)('claw-byterover in a real OpenClaw', () => {
  let oc: OpenClawEnv;
  let packed: PackedPlugin;
  let cloud: ByteRoverStandin;
  let project = '';
  let installOut = '';
  let gw: Gateway;
  let inspectFull: InspectReport;
  let inspectToolsOnly: InspectReport;
  let team = '';
  let space = '';

  const json = async <T>(args: string[], env?: NodeJS.ProcessEnv): Promise<T> => {
    const r = await oc.mustRun(args, { timeoutMs: 300_000, ...(env ? { env } : {}) });
    try {
      return JSON.parse(r.stdout) as T;
    } catch {
      throw new Error(
        `openclaw ${args.join(' ')} printed no JSON:\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`,
      );
    }
  };
  const inspect = (): Promise<InspectReport> =>
    json<InspectReport>(['plugins', 'inspect', PLUGIN, '--runtime', '--json']);
  const setPluginConfig = async (patch: Record<string, unknown>): Promise<void> => {
    const cfg = (await oc.readConfig()) as {
      plugins: { entries: Record<string, { config?: Record<string, unknown> }> };
    };
    const entry = cfg.plugins.entries[PLUGIN] ?? {};
    entry.config = { ...entry.config, ...patch };
    cfg.plugins.entries[PLUGIN] = entry;
    await oc.writeConfig(cfg as unknown as Record<string, unknown>);
  };

  beforeAll(async () => {
    oc = await ensureOpenClaw();
    packed = await packPlugin();
    cloud = await startByteRoverStandin({ sessionKeys: [KEY] });
    const t = cloud.addTeam({ is_default: true });
    const s = cloud.addSpace(t.id, { is_default: true });
    team = t.id;
    space = s.id;
    cloud.commitFiles(team, space, 'main', {
      '/ops/pager-rota.md':
        '---\ntitle: Pager rota\n---\n# Pager rota\nThe pager rota hands over every Monday at 10:00 UTC.\n',
    });
    project = await mkdtemp(join(tmpdir(), 'claw-openclaw-project-'));
    await cp(FIXTURE_TREE, join(project, '.brv', 'context-tree'), { recursive: true });

    const installed = await oc.mustRun(
      ['plugins', 'install', `npm-pack:${packed.tarball}`, '--force', '--accept-capabilities'],
      { timeoutMs: 600_000 },
    );
    installOut = installed.stdout + installed.stderr;

    // Everything but the key in the config file; the key as a SecretRef through the documented command.
    await setPluginConfig({
      projectDir: project,
      byterover: { iamBaseUrl: cloud.urls.iam, cogitBaseUrl: cloud.urls.cogit, billingBaseUrl: cloud.urls.billing },
    });
    await oc.mustRun(
      [
        'config',
        'set',
        `plugins.entries.${PLUGIN}.config.apiKey`,
        '--ref-source',
        'env',
        '--ref-provider',
        'default',
        '--ref-id',
        KEY_ENV,
      ],
      { env: { [KEY_ENV]: KEY } },
    );

    inspectFull = await inspect();
    await setPluginConfig({ mode: 'tools-only' });
    inspectToolsOnly = await inspect();
    await setPluginConfig({ mode: 'full' });

    gw = await oc.startGateway({ env: { [KEY_ENV]: KEY } });
  }, hangGuard(1_800_000));

  afterAll(async () => {
    await oc?.cleanup();
    packed?.cleanup();
    await cloud?.close();
    if (project) await rm(project, { recursive: true, force: true });
  });

  const invoke = async (
    tool: string,
    args: Record<string, unknown>,
    token = gw.token,
  ): Promise<{
    status: number;
    body: {
      ok: boolean;
      result?: { content: Array<{ type: string; text: string }>; details: Record<string, unknown> };
      error?: unknown;
    };
  }> => {
    const res = await fetch(`${gw.url}/tools/invoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tool, args }),
    });
    const text = await res.text();
    try {
      return { status: res.status, body: JSON.parse(text) as never };
    } catch {
      return { status: res.status, body: { ok: false, error: text } };
    }
  };

  it('packs with the prebuild and installs through npm-pack with no install script run', async () => {
    expect(packed.files).toEqual(
      expect.arrayContaining([
        'dist/openclaw/index.js',
        'openclaw.plugin.json',
        'skills/byterover/SKILL.md',
        'prebuilds/linux-x64/claw-byterover.glibc.node',
      ]),
    );
    expect(installOut).toContain(`Installed plugin: ${PLUGIN}`);
    // npm-pack installs declare the host as a peer and get it linked (so the host SDK is used).
    expect(installOut).toMatch(/Linked peerDependency "openclaw"/);
    const root = inspectFull.plugin.rootDir;
    expect(existsSync(join(root, 'prebuilds', 'linux-x64', 'claw-byterover.glibc.node'))).toBe(true);
    // --ignore-scripts: node-gyp never ran, so there is no build/ beside the prebuild.
    expect(existsSync(join(root, 'build'))).toBe(false);
    const cfg = (await oc.readConfig()) as {
      plugins: {
        slots?: { contextEngine?: string };
        entries: Record<string, { enabled?: boolean; config?: { apiKey?: unknown } }>;
      };
    };
    // The installer leaves the context-engine slot alone (no `kind` in the manifest): the user selects
    // the engine with `openclaw config set plugins.slots.contextEngine claw-byterover` (slot.test.ts).
    expect(cfg.plugins.slots?.contextEngine).toBeUndefined();
    expect(cfg.plugins.entries[PLUGIN]?.enabled).toBe(true);
    // The key is stored as a reference, never as the value.
    expect(cfg.plugins.entries[PLUGIN]?.config?.apiKey).toEqual({ source: 'env', provider: 'default', id: KEY_ENV });
    expect(JSON.stringify(cfg)).not.toContain(KEY);
  });

  it('inspect --runtime: loaded with its four tools and its context engine (raw SecretRef in tool-discovery)', () => {
    expect(inspectFull.plugin).toMatchObject({ id: PLUGIN, status: 'loaded' });
    expect(inspectFull.plugin.kind).toBeUndefined(); // so the installer never takes the slot
    expect(inspectFull.plugin.source).toMatch(/dist\/openclaw\/index\.js$/);
    expect(inspectFull.plugin.toolNames).toEqual(TOOLS);
    expect(inspectFull.tools.flatMap((t) => t.names)).toEqual(TOOLS);
    expect(inspectFull.plugin.contextEngineIds).toEqual([PLUGIN]);
    expect(inspectFull.diagnostics).toEqual([]);
  });

  it('tools-only mode registers the tools without the context engine', () => {
    expect(inspectToolsOnly.plugin.status).toBe('loaded');
    expect(inspectToolsOnly.tools.flatMap((t) => t.names)).toEqual(TOOLS);
    expect(inspectToolsOnly.plugin.contextEngineIds).toEqual([]);
  });

  it('ships the byterover skill; OpenClaw reads its requirements (eligible once BYTEROVER_API_KEY is set)', async () => {
    const without = await json<Record<string, unknown>>(['skills', 'info', 'byterover', '--json']);
    expect(without).toMatchObject({
      name: 'byterover',
      primaryEnv: 'BYTEROVER_API_KEY',
      emoji: '🧠',
      eligible: false,
      requirements: { env: ['BYTEROVER_API_KEY'], bins: [] },
      missing: { env: ['BYTEROVER_API_KEY'] },
    });
    expect(String(without.filePath)).toMatch(/byterover\/SKILL\.md$/);
    const withKey = await json<Record<string, unknown>>(['skills', 'info', 'byterover', '--json'], {
      BYTEROVER_API_KEY: 'set-for-eligibility-check',
    });
    expect(withKey).toMatchObject({ eligible: true, missing: { env: [] } });
  });

  it('the gateway loaded the plugin in full mode through the host SDK', async () => {
    const log = await readFile(join(oc.home, 'logs', 'openclaw.log'), 'utf8').catch(() => '');
    expect(`${gw.output()}\n${log}`).toMatch(/claw-byterover ready mode=full backend=auto engine=true sdk=host/);
  });

  it('POST /tools/invoke byterover_search answers hits from the fixture tree, from the shipped native engine', async () => {
    const r = await invoke('byterover_search', { query: 'refresh token rotation', limit: 5 });
    expect(r.status).toBe(200);
    expect(r.body.ok).toBe(true);
    const d = r.body.result?.details as {
      engine: string;
      hits: Array<{ path: string; title: string; excerpt: string }>;
    };
    expect(d.engine).toBe('native');
    expect(d.hits.length).toBeGreaterThan(0);
    expect(d.hits[0]?.path).toBe('auth/jwt-session-tokens.md');
    const fixturePaths = new Set<string>();
    const walk = async (dir: string, rel = ''): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        if (e.isDirectory()) await walk(join(dir, e.name), `${rel}${e.name}/`);
        else fixturePaths.add(`${rel}${e.name}`);
      }
    };
    await walk(FIXTURE_TREE);
    for (const h of d.hits) expect(fixturePaths.has(h.path), h.path).toBe(true);
    expect(r.body.result?.content[0]?.text).toContain('(auth/jwt-session-tokens.md)');
    // And the gateway's own auth is in front of it.
    expect((await invoke('byterover_search', { query: 'x' }, 'wrong-token')).status).toBe(401);
  });

  it('byterover_recall renders the notes with their paths within the budget', async () => {
    const r = await invoke('byterover_recall', { query: 'database migrations lock timeout', tokenBudget: 400 });
    expect(r.status).toBe(200);
    const d = r.body.result?.details as { tokens: number; paths: string[]; text: string };
    expect(d.tokens).toBeLessThanOrEqual(400);
    expect(d.paths[0]).toBe('database/migrations.md');
    for (const p of d.paths) expect(d.text).toContain(`(${p})`);
  });

  it('byterover_sync status: the SecretRef was resolved for the gateway (full mode), the key never shown', async () => {
    const r = await invoke('byterover_sync', { action: 'status' });
    expect(r.status).toBe(200);
    expect(r.body.result?.details).toMatchObject({
      engine: 'native',
      documents: FIXTURE_NOTES,
      pending: 0,
      credential: `API key from openclaw plugins.entries.${PLUGIN}.config`,
      sdk: 'host',
      mode: 'full',
    });
    expect(JSON.stringify(r.body)).not.toContain(KEY);
  });

  it('curate + sync round-trip with the ByteRover stand-in, authenticated with the resolved key', async () => {
    const c = await invoke('byterover_curate', {
      content: 'Canary deploys hold for 15 minutes before promotion.',
      path: 'deploy/canary-hold',
      tags: ['deploy'],
    });
    expect(c.status).toBe(200);
    expect(c.body.result?.details).toMatchObject({ path: 'deploy/canary-hold.md', status: 'written', pending: 1 });
    const s = await invoke('byterover_sync', { action: 'both' });
    expect(s.status).toBe(200);
    expect(s.body.result?.details).toMatchObject({
      action: 'both',
      team,
      space,
      branch: 'main',
      pull: { added: ['ops/pager-rota.md'] },
    });
    expect((s.body.result?.details as { push: { pushed: string[] } }).push.pushed).toHaveLength(1);
    expect([...cloud.files(team, space).keys()].sort()).toEqual(['/deploy/canary-hold.md', '/ops/pager-rota.md']);
    // Every call carried the value OpenClaw resolved from the env SecretRef.
    expect(cloud.requests.length).toBeGreaterThan(0);
    expect(new Set(cloud.requests.map((q) => q.sessionId))).toEqual(new Set([KEY]));
    // The pulled note is searchable through the gateway at once.
    const f = await invoke('byterover_search', { query: 'pager rota Monday handover' });
    expect((f.body.result?.details as { hits: Array<{ path: string }> }).hits[0]?.path).toBe('ops/pager-rota.md');
    expect(await readFile(join(project, '.brv', 'context-tree', 'deploy', 'canary-hold.md'), 'utf8')).toContain(
      '15 minutes',
    );
  });

  // Last: restarts the gateway. The README's SecretRef step with the variable absent must not block
  // startup (manifest ownerKind "capability": OpenClaw isolates the owner); only sync says it lacks the key.
  it('with the SecretRef configured and its variable absent, the gateway starts and byterover_sync fails with OPENCLAW_API_KEY_UNAVAILABLE', async () => {
    await gw.stop();
    gw = await oc.startGateway();
    expect(gw.output()).not.toContain('required secrets are unavailable');
    // OpenClaw's own warning for an isolated secret owner (runtime-owner-assignments).
    expect(gw.output()).toMatch(
      /Secret owner capability:plugins\.entries\.claw-byterover\.config\.apiKey is configured-unavailable/,
    );
    expect((await invoke('byterover_search', { query: 'refresh token rotation' })).status).toBe(200);
    const st = await invoke('byterover_sync', { action: 'status' });
    expect(st.body.result?.details).toMatchObject({
      credential: `token store (SecretRef env:default:${KEY_ENV} not resolved in this load)`,
    });
    const before = cloud.requests.length;
    const s = await invoke('byterover_sync', { action: 'pull' });
    // POST /tools/invoke answers a generic tool_error (HTTP 500) and logs the tool's error; the
    // plugin's log line carries the code, the message names the SecretRef and the variable.
    expect(s.status).toBe(500);
    expect(s.body.ok).toBe(false);
    const log = gw.output();
    expect(log, log.slice(-4000)).toContain('OPENCLAW_API_KEY_UNAVAILABLE');
    expect(log).toContain(
      `expected the ByteRover API key from SecretRef env:default:${KEY_ENV}, found it unresolved (OpenClaw could not resolve it when the gateway started: ${KEY_ENV} is not in the gateway's environment)`,
    );
    expect(cloud.requests.length).toBe(before);
  });
});
