/**
 * Installing claw-byterover never replaces the user's context engine (issue 16), against the real
 * pinned OpenClaw (env.ts) and the lean package users install (pack.ts):
 *
 * - over an existing engine: a small context-engine plugin declaring `kind: "context-engine"` is
 *   installed first, and OpenClaw's installer puts it in `plugins.slots.contextEngine` (the
 *   behaviour that used to replace engines: 2026.9.6 `applySlotSelectionForPlugin`). Then
 *   claw-byterover is installed the documented way: the slot still names the user's engine, which
 *   stays enabled, and the gateway log says, in a warning, that ByteRover's engine is registered but
 *   not selected, naming the engine that runs and the exact commands to select ours or keep theirs;
 * - fresh: nothing in the slot after install (OpenClaw's built-in `legacy` engine), then the
 *   `openclaw config set plugins.slots.contextEngine claw-byterover` line of the docs (README.md,
 *   docs/readme/openclaw.md), run verbatim, selects it, and the
 *   gateway loads it with no warning. (That the selected engine recalls into a turn is
 *   turn.test.ts.)
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools } from '../../helpers/tools.js';
import { ensureOpenClaw, type Gateway, type OpenClawEnv } from './env.js';
import { packPlugin, type PackedPlugin } from './pack.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PLUGIN = 'claw-byterover';
const OTHER = 'other-engine';
/** The select command as docs/readme/openclaw.md and README.md give it, run verbatim below. */
function documentedSelect(): string[] {
  const lines = new Set<string>();
  for (const file of ['README.md', 'docs/readme/openclaw.md'])
    for (const block of readFileSync(join(ROOT, file), 'utf8').matchAll(/```(?:sh|bash)\n([\s\S]*?)```/g))
      for (const raw of block[1]!.split('\n')) {
        const line = raw.replace(/#.*$/, '').trim();
        if (line.startsWith('openclaw config set plugins.slots.contextEngine ')) lines.add(line);
      }
  expect([...lines]).toEqual([`openclaw config set plugins.slots.contextEngine ${PLUGIN}`]);
  return [...lines][0]!.split(/\s+/).slice(1);
}
const NOT_SELECTED = 'context engine registered but not selected';

const skip = missingTools(
  ['npm', 'g++', 'make', 'python3', 'tar'],
  'apt-get install -y build-essential python3 (and Node/npm)',
);

interface PluginsConfig {
  plugins?: { slots?: { contextEngine?: string }; entries?: Record<string, { enabled?: boolean }> };
}

/** A minimal third-party context engine, as a user's existing one (e.g. lossless-claw) would be. */
async function writeOtherEngine(dir: string): Promise<void> {
  await writeFile(
    join(dir, 'openclaw.plugin.json'),
    JSON.stringify({
      id: OTHER,
      name: 'Other engine',
      kind: 'context-engine',
      configSchema: { type: 'object', additionalProperties: false, properties: {} },
    }),
  );
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({ name: OTHER, version: '1.0.0', type: 'module', openclaw: { extensions: ['./index.js'] } }),
  );
  await writeFile(
    join(dir, 'index.js'),
    `export default {
  id: ${JSON.stringify(OTHER)},
  name: 'Other engine',
  register(api) {
    api.registerContextEngine(${JSON.stringify(OTHER)}, () => ({
      info: { id: ${JSON.stringify(OTHER)}, name: 'Other engine' },
      ingest: async () => ({ ingested: false }),
      assemble: async ({ messages }) => ({ messages, estimatedTokens: 0 }),
      compact: async () => ({ ok: true, compacted: false, reason: 'not owned' }),
    }));
  },
};
`,
  );
}

/** Gateway output and its log file, with JSON string escapes undone. */
async function gatewayText(oc: OpenClawEnv, gw: Gateway): Promise<string> {
  const log = await readFile(join(oc.home, 'logs', 'openclaw.log'), 'utf8').catch(() => '');
  return `${gw.output()}\n${log}`.replace(/\\"/g, '"').replace(/\\`/g, '`');
}

/** Waits for the plugin's startup line (its service starts after registration), at most 120 s. */
async function waitForReady(oc: OpenClawEnv, gw: Gateway): Promise<string> {
  const until = Date.now() + 120_000;
  for (;;) {
    const text = await gatewayText(oc, gw);
    if (/claw-byterover ready mode=full/.test(text) || Date.now() > until) return text;
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.skipIf(skip)('installing claw-byterover keeps the context-engine slot (real OpenClaw)', () => {
  let packed: PackedPlugin;
  let over: OpenClawEnv;
  let fresh: OpenClawEnv;
  let otherDir = '';
  let slotAfterOther: string | undefined;
  let overCfg: PluginsConfig;
  let freshCfg: PluginsConfig;

  const install = (oc: OpenClawEnv): Promise<unknown> =>
    oc.mustRun(['plugins', 'install', `npm-pack:${packed.tarball}`, '--accept-capabilities', '--force'], {
      timeoutMs: 600_000,
    });

  beforeAll(async () => {
    packed = await packPlugin();
    [over, fresh] = await Promise.all([ensureOpenClaw(), ensureOpenClaw()]);
    otherDir = await mkdtemp(join(tmpdir(), 'claw-openclaw-other-engine-'));
    await writeOtherEngine(otherDir);
    await over.mustRun(['plugins', 'install', '-l', otherDir, '--force', '--accept-capabilities'], {
      timeoutMs: 300_000,
    });
    slotAfterOther = ((await over.readConfig()) as PluginsConfig).plugins?.slots?.contextEngine;
    await install(over);
    overCfg = (await over.readConfig()) as PluginsConfig;
    await install(fresh);
    freshCfg = (await fresh.readConfig()) as PluginsConfig;
  }, 1_800_000);

  afterAll(async () => {
    await over?.cleanup();
    await fresh?.cleanup();
    packed?.cleanup();
    if (otherDir) await rm(otherDir, { recursive: true, force: true });
  }, 120_000);

  it('an engine declaring kind context-engine takes the slot at install (the installer behaviour we avoid)', () => {
    expect(slotAfterOther).toBe(OTHER);
  });

  it('over an existing engine: the slot and the engine stay; the gateway warns with the exact commands', async () => {
    expect(overCfg.plugins?.slots?.contextEngine).toBe(OTHER);
    expect(overCfg.plugins?.entries?.[OTHER]?.enabled).not.toBe(false);
    expect(overCfg.plugins?.entries?.[PLUGIN]?.enabled).toBe(true);
    const gw = await over.startGateway();
    const text = await waitForReady(over, gw);
    await gw.stop();
    expect(text).toMatch(/claw-byterover ready mode=full/);
    const warning = text.split('\n').find((l) => l.includes(NOT_SELECTED)) ?? '';
    expect(warning).toContain(`plugins.slots.contextEngine is "${OTHER}"`);
    expect(warning).toContain('`openclaw config set plugins.slots.contextEngine claw-byterover`');
    expect(warning).toContain('`openclaw config set plugins.entries.claw-byterover.config.mode tools-only`');
  });

  it('fresh: the slot is left unset; the documented command selects the engine, loaded with no warning', async () => {
    expect(freshCfg.plugins?.slots?.contextEngine).toBeUndefined();
    expect(freshCfg.plugins?.entries?.[PLUGIN]?.enabled).toBe(true);
    await fresh.mustRun(documentedSelect());
    const got = await fresh.mustRun(['config', 'get', 'plugins.slots.contextEngine']);
    expect(got.stdout.trim()).toBe(PLUGIN);
    const gw = await fresh.startGateway();
    const text = await waitForReady(fresh, gw);
    await gw.stop();
    expect(text).toMatch(/claw-byterover ready mode=full backend=\S+ engine=true/);
    expect(text).not.toContain(NOT_SELECTED);
  });
});
