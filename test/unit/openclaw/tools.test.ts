/**
 * The four agent tools over a real context tree: schemas, compact results an agent can use (text +
 * details), argument refusals, curate idempotency, and sync with the ByteRover stand-in (which
 * implements the documented CoGit/IAM contract) using the API key from each of its sources.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isClawError } from '../../../lib/errors.js';
import { estimateTokens } from '../../../lib/memory/index.js';
import { createTools, TOOL_NAMES } from '../../../lib/openclaw/tools.js';
import type { AgentTool } from '../../../lib/openclaw/host.js';
import { readManifest } from '../../../lib/openclaw/plugin.js';
import { startByteRoverStandin, type ByteRoverStandin } from '../../standin/byterover.js';
import { engines, FIXTURE_NOTES, testRuntime } from './helpers.js';

const minisearch = (await engines()).find((e) => e.name === 'minisearch')?.factory;
if (!minisearch) throw new Error('minisearch engine missing');

function tool(tools: AgentTool[], name: string): AgentTool<Record<string, unknown>> {
  const t = tools.find((x) => x.name === name);
  if (!t) throw new Error(`no tool ${name}`);
  return t as AgentTool<Record<string, unknown>>;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('tool definitions', () => {
  it('are the four tools of the manifest, each with a JSON Schema and a label', async () => {
    const { rt } = await testRuntime({ index: minisearch });
    const tools = createTools(rt);
    expect(tools.map((t) => t.name)).toEqual([...TOOL_NAMES]);
    expect((readManifest() as unknown as { contracts: { tools: string[] } }).contracts.tools).toEqual([...TOOL_NAMES]);
    for (const t of tools) {
      expect(t.parameters).toMatchObject({ type: 'object', additionalProperties: false });
      expect(t.label.length).toBeGreaterThan(0);
      expect(t.description.length).toBeGreaterThan(60);
    }
    expect(tool(tools, 'byterover_search').parameters).toMatchObject({ required: ['query'] });
    expect(tool(tools, 'byterover_curate').parameters).toMatchObject({ required: ['content'] });
  });
});

describe('byterover_search and byterover_recall', () => {
  it('search answers ranked notes as text and as details', async () => {
    const { rt } = await testRuntime({ index: minisearch });
    const r = await tool(createTools(rt), 'byterover_search').execute('c1', {
      query: 'refresh token rotation',
      limit: 3,
    });
    const d = r.details as {
      query: string;
      engine: string;
      hits: Array<{ path: string; title: string; score: number; excerpt: string }>;
    };
    expect(d.query).toBe('refresh token rotation');
    expect(d.engine).toBe('injected');
    expect(d.hits).toHaveLength(3);
    expect(d.hits[0]?.path).toBe('auth/jwt-session-tokens.md');
    const t = r.content[0]?.text ?? '';
    expect(t).toMatch(/^3 note\(s\) match "refresh token rotation":\n1\. .+ \(auth\/jwt-session-tokens\.md\) — /);
    const none = await tool(createTools(rt), 'byterover_search').execute('c2', { query: 'qqzzxv wwkkp' });
    expect(none.content[0]?.text).toBe('No note in the context tree matches "qqzzxv wwkkp".');
    expect((none.details as { hits: unknown[] }).hits).toEqual([]);
  });

  it('recall renders a block within the budget that names every path it used', async () => {
    const { rt } = await testRuntime({ index: minisearch });
    const recall = tool(createTools(rt), 'byterover_recall');
    for (const tokenBudget of [60, 300, 3000]) {
      const r = await recall.execute('c', { query: 'postgres indexing migrations', tokenBudget });
      const d = r.details as { text: string; tokens: number; paths: string[]; hits: Array<{ path: string }> };
      expect(d.tokens).toBeLessThanOrEqual(tokenBudget);
      expect(estimateTokens(r.content[0]?.text ?? '')).toBeLessThanOrEqual(tokenBudget);
      expect(d.paths.length).toBeGreaterThan(0);
      for (const p of d.paths) expect(r.content[0]?.text).toContain(`(${p})`);
    }
  });

  it('refuse bad arguments with OPENCLAW_TOOL_ARGUMENT and the next step', async () => {
    const { rt } = await testRuntime({ index: minisearch });
    const tools = createTools(rt);
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['byterover_search', {}, 'a non-empty string "query"'],
      ['byterover_search', { query: '   ' }, 'a non-empty string "query"'],
      ['byterover_search', { query: 'x', limit: 0 }, '"limit" as an integer from 1 to 50'],
      ['byterover_recall', { query: 'x', tokenBudget: 10 }, '"tokenBudget" as an integer from 50 to 20000'],
      ['byterover_curate', { content: 'x', tags: 'one' }, '"tags" as an array of strings'],
      ['byterover_sync', { action: 'merge' }, '"action" as pull, push, both or status'],
    ];
    for (const [name, args, expected] of cases) {
      const e = await rejection(tool(tools, name).execute('c', args));
      expect(isClawError(e, 'OPENCLAW_TOOL_ARGUMENT'), `${name} ${JSON.stringify(args)}`).toBe(true);
      expect((e as Error).message).toContain(expected);
      expect((e as { hint?: string }).hint).toContain(name);
    }
  });
});

describe('byterover_curate', () => {
  it('writes a note, queues it, and writes the same note only once', async () => {
    const { rt, tree } = await testRuntime({ index: minisearch });
    const curate = tool(createTools(rt), 'byterover_curate');
    const args = {
      content: 'Feature flags live in LaunchDarkly; stale flags are removed after 30 days.',
      title: 'Feature flag hygiene',
      tags: ['flags'],
      path: 'process/feature-flags',
    };
    const r = await curate.execute('c', args);
    expect(r.details).toEqual({
      id: expect.stringMatching(/^[a-f0-9]{24}$/),
      path: 'process/feature-flags.md',
      status: 'written',
      pending: 1,
    });
    expect(r.content[0]?.text).toMatch(
      /^Saved the note at process\/feature-flags\.md \(id [a-f0-9]{24}\)\. 1 note\(s\) wait to be pushed: byterover_sync pushes them\.$/,
    );
    expect(await readFile(join(tree, 'process', 'feature-flags.md'), 'utf8')).toContain(
      'stale flags are removed after 30 days',
    );
    const again = await curate.execute('c', args);
    expect(again.details).toMatchObject({ status: 'existing', path: 'process/feature-flags.md', pending: 1 });
    expect(again.content[0]?.text).toContain('already saved');
    const found = await tool(createTools(rt), 'byterover_search').execute('c', { query: 'LaunchDarkly stale flags' });
    expect((found.details as { hits: Array<{ path: string }> }).hits[0]?.path).toBe('process/feature-flags.md');
  });
});

describe('byterover_sync', () => {
  let cloud: ByteRoverStandin | undefined;
  afterEach(async () => {
    await cloud?.close();
    cloud = undefined;
  });
  const KEY = 'brv-unit-sync-key-5b8e21c7d9';

  async function withCloud(config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) {
    cloud = await startByteRoverStandin({ sessionKeys: [KEY] });
    const team = cloud.addTeam({ is_default: true });
    const space = cloud.addSpace(team.id, { is_default: true });
    cloud.commitFiles(team.id, space.id, 'main', {
      '/ops/pager.md': '---\ntitle: Pager rota\n---\n# Pager rota\nThe pager rota rotates every Monday at 10:00.\n',
    });
    const urls = { iamBaseUrl: cloud.urls.iam, cogitBaseUrl: cloud.urls.cogit, billingBaseUrl: cloud.urls.billing };
    const t = await testRuntime({ index: minisearch, config: { byterover: urls, ...config }, env });
    return { ...t, team, space, tools: createTools(t.rt) };
  }

  it('status needs no network and names the credential source, never the key', async () => {
    const { tools } = await withCloud({ apiKey: KEY });
    const r = await tool(tools, 'byterover_sync').execute('c', { action: 'status' });
    expect(r.details).toMatchObject({
      engine: 'injected',
      documents: FIXTURE_NOTES,
      pending: 0,
      commitSha: '',
      branch: 'main',
      credential: 'API key from openclaw plugins.entries.claw-byterover.config',
      mode: 'full',
    });
    expect(JSON.stringify(r)).not.toContain(KEY);
    expect(cloud?.requests).toEqual([]);
  });

  it("pulls teammates' notes and pushes curated ones with the plugin-config key, into the default team and space", async () => {
    const { tools, tree, team, space } = await withCloud({ apiKey: KEY });
    await tool(tools, 'byterover_curate').execute('c', {
      content: 'Releases are cut from main every Tuesday.',
      path: 'process/releases',
    });
    const r = await tool(tools, 'byterover_sync').execute('c', {});
    const d = r.details as {
      action: string;
      team: string;
      space: string;
      pull: { added: string[] };
      push: { pushed: string[]; commits: string[] };
      commitSha: string;
      credential: string;
    };
    expect(d).toMatchObject({
      action: 'both',
      team: team.id,
      space: space.id,
      credential: 'openclaw plugins.entries.claw-byterover.config',
    });
    expect(d.pull.added).toEqual(['ops/pager.md']);
    expect(d.push.pushed).toHaveLength(1);
    expect(d.commitSha).toBe(cloud?.head(team.id, space.id));
    expect(r.content[0]?.text).toMatch(
      /^Synced team-\S+\/space-\S+@main: pulled 1 added, 0 updated, 0 deleted, 0 kept; pushed 1 note\(s\) in 1 commit\(s\)\. Head [0-9a-f]{12}\.$/,
    );
    expect(await readFile(join(tree, 'ops', 'pager.md'), 'utf8')).toContain('every Monday');
    expect([...(cloud?.files(team.id, space.id).keys() ?? [])].sort()).toEqual([
      '/ops/pager.md',
      '/process/releases.md',
    ]);
    expect(new Set(cloud?.requests.map((q) => q.sessionId))).toEqual(new Set([KEY]));
    // The pulled note is searchable right away.
    const found = await tool(tools, 'byterover_search').execute('c', { query: 'pager rota Monday' });
    expect((found.details as { hits: Array<{ path: string }> }).hits[0]?.path).toBe('ops/pager.md');
  });

  it('a pull reports the snapshot entries it could not apply (PullResult.failed) in details and in the summary', async () => {
    const { tools, team, space } = await withCloud({ apiKey: KEY });
    const long = `${'n'.repeat(300)}.md`;
    cloud?.commitFiles(team.id, space.id, 'main', {
      [`/${long}`]: '# too long a name\n',
      '/x.md': '# x\n',
      '/x.md/y.md': '# y\n',
    });
    const r = await tool(tools, 'byterover_sync').execute('c', { action: 'pull' });
    const failed = (r.details as { pull: { failed: Array<{ path: string; code: string; message: string }> } }).pull
      .failed;
    expect(failed.map((f) => [f.path, f.code]).sort()).toEqual(
      [
        [long, 'MEMORY_PULL_NAME_TOO_LONG'],
        ['x.md/y.md', 'MEMORY_PULL_PATH_CONFLICT'],
      ].sort(),
    );
    expect(failed.every((f) => f.message.startsWith('expected '))).toBe(true);
    expect(r.content[0]?.text).toMatch(
      /, 2 not applied \(.*MEMORY_PULL_NAME_TOO_LONG.*MEMORY_PULL_PATH_CONFLICT|, 2 not applied \(.*MEMORY_PULL_PATH_CONFLICT.*MEMORY_PULL_NAME_TOO_LONG/,
    );
    expect(r.content[0]?.text).not.toMatch(/\n/);
  });

  it('reads BYTEROVER_API_KEY at call time (skills.entries.byterover.apiKey injects it per run)', async () => {
    const env: NodeJS.ProcessEnv = {};
    const { tools } = await withCloud({}, env);
    const sync = tool(tools, 'byterover_sync');
    expect(((await sync.execute('c', { action: 'status' })).details as { credential: string }).credential).toBe(
      'token store',
    );
    // The runtime reads its environment at each call: the key set after the tools were built counts.
    env.BYTEROVER_API_KEY = KEY;
    expect(((await sync.execute('c', { action: 'status' })).details as { credential: string }).credential).toBe(
      'API key from env BYTEROVER_API_KEY',
    );
    const r = await sync.execute('c', { action: 'pull' });
    expect(r.details).toMatchObject({
      action: 'pull',
      credential: 'env BYTEROVER_API_KEY',
      pull: { added: ['ops/pager.md'] },
    });
    expect(new Set(cloud?.requests.map((q) => q.sessionId))).toEqual(new Set([KEY]));
  });

  it('with a SecretRef left unresolved (tool-discovery) it falls back to the token store and says so', async () => {
    const { tools, log } = await withCloud({ apiKey: { source: 'env', provider: 'default', id: 'BRV_KEY' } });
    const s = await tool(tools, 'byterover_sync').execute('c', { action: 'status' });
    expect((s.details as { credential: string }).credential).toBe(
      'token store (SecretRef env:default:BRV_KEY not resolved in this load)',
    );
    const e = await rejection(tool(tools, 'byterover_sync').execute('c', { action: 'pull' }));
    const err = e as Error & { code?: string; hint?: string };
    expect(err.code).toBe('OPENCLAW_API_KEY_UNAVAILABLE');
    expect(err.message).toContain(
      'expected the ByteRover API key from SecretRef env:default:BRV_KEY, found it unresolved',
    );
    expect(err.message).toContain("BRV_KEY is not in the gateway's environment");
    expect(err.hint).toContain("Set BRV_KEY in the gateway's environment and restart the gateway");
    expect(err.hint).toContain('Only sync needs the key');
    // Operators see the code (not redacted) and the next step in the gateway log.
    const warn = log.lines.find((l) => l.level === 'warn' && l.text.startsWith('byterover_sync pull failed'));
    expect(warn?.text).toContain('code=OPENCLAW_API_KEY_UNAVAILABLE');
    expect(warn?.text).toContain("Set BRV_KEY in the gateway's environment");
    expect(cloud?.requests).toEqual([]);
  });

  it('the manifest declares apiKey as a capability-owned secret input, so an unresolvable SecretRef never blocks the gateway', () => {
    const m = readManifest() as unknown as {
      configContracts: { secretInputs: { paths: { path: string; ownerKind?: string }[] } };
    };
    // OpenClaw 2026.9.6 isolates a failing SecretRef only for ownerKind capability/route; without it
    // the owner is "unknown" and startup fails with "required secrets are unavailable".
    expect(m.configContracts.secretInputs.paths.find((p) => p.path === 'apiKey')?.ownerKind).toBe('capability');
  });

  it('a rejected key is an error with a next step, not a silent failure', async () => {
    const { tools } = await withCloud({ apiKey: 'brv-wrong-key-000000000000' });
    const e = await rejection(tool(tools, 'byterover_sync').execute('c', { action: 'pull' }));
    const err = e as Error & { code?: string; hint?: string };
    expect(err.code).toBe('BYTEROVER_UNAUTHORIZED');
    expect(err.message).toContain('HTTP 401 AUTH_INVALID_TOKEN');
    expect(err.hint).toContain('login');
    expect(err.message).not.toContain('brv-wrong-key-000000000000');
    expect(cloud?.requests.length).toBeGreaterThan(0);
  });

  it('several teams and none default: OPENCLAW_TEAM_REQUIRED naming them', async () => {
    const { tools } = await withCloud({ apiKey: KEY });
    cloud?.addTeam({ is_default: false, name: 'second' });
    cloud?.teams.forEach((t) => (t.is_default = false));
    const e = await rejection(tool(tools, 'byterover_sync').execute('c', { action: 'pull' }));
    expect(isClawError(e, 'OPENCLAW_TEAM_REQUIRED')).toBe(true);
    expect((e as Error).message).toMatch(/found 2 teams and none marked default: team-\S+ \(.+\), team-\S+ \(second\)/);
    expect((e as { hint?: string }).hint).toContain('plugins.entries.claw-byterover.config.team');
  });

  it('the brv backend does not sync from here', async () => {
    const { rt } = await testRuntime({ config: { backend: 'brv', brv: { path: '/nonexistent/brv' } } });
    const e = await rejection(tool(createTools(rt), 'byterover_sync').execute('c', { action: 'push' }));
    expect(isClawError(e, 'OPENCLAW_SYNC_UNSUPPORTED')).toBe(true);
    expect((e as { hint?: string }).hint).toContain('brv push');
  });
});
