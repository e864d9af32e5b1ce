/**
 * The memory corpus supplement (lib/openclaw/corpus.ts) over the fixture tree: what OpenClaw's
 * memory_search / memory_get receive from it — our ranking and tree paths, the note read back by the
 * path search returned (whole or by lines), nothing for paths outside the tree, the agent's
 * workspace from OpenClaw's config — and that registerPlugin registers it when the host offers it.
 */
import { describe, expect, it } from 'vitest';
import { agentWorkspace, createCorpusSupplement } from '../../../lib/openclaw/corpus.js';
import { registerPlugin } from '../../../lib/openclaw/plugin.js';
import { captureLogger, engines, testRuntime } from './helpers.js';

const minisearch = (await engines()).find((e) => e.name === 'minisearch')?.factory;
if (!minisearch) throw new Error('minisearch engine missing');

describe('memory corpus supplement', () => {
  it('search answers with the same ranking and paths as byterover_search; get reads the path back', async () => {
    const { rt, project } = await testRuntime({ index: minisearch });
    const sup = createCorpusSupplement(rt, () => ({ agents: { defaults: { workspace: project } } }));
    const hits = await sup.search({ query: 'database migrations long locks', maxResults: 3 });
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.length).toBeLessThanOrEqual(3);
    const direct = await (await rt.memory(project)).backend.search('database migrations long locks', { k: 3 });
    expect(hits.map((h) => h.path)).toEqual(direct.map((h) => h.path));
    expect(hits[0]).toMatchObject({
      corpus: 'byterover',
      path: 'database/migrations.md',
      kind: 'note',
      citation: 'database/migrations.md',
    });
    expect(hits[0]!.snippet.length).toBeGreaterThan(0);

    const got = await sup.get({ lookup: hits[0]!.path });
    expect(got).toMatchObject({ corpus: 'byterover', path: 'database/migrations.md', fromLine: 1 });
    expect(got!.content).toContain('lock');
    const prefixed = await sup.get({ lookup: 'byterover:database/migrations.md', fromLine: 2, lineCount: 2 });
    expect(prefixed).toMatchObject({ fromLine: 2, lineCount: 2 });
    expect(prefixed!.content.split('\n')).toHaveLength(2);

    for (const lookup of ['../../etc/passwd.md', 'nope/missing.md', 'MEMORY.md', '', '/etc/hosts'])
      expect(await sup.get({ lookup }), lookup).toBeNull();
    expect(await sup.search({ query: '   ' })).toEqual([]);
  });

  it("finds the agent's workspace in OpenClaw's config", () => {
    const cfg = { agents: { defaults: { workspace: '/w/default' }, list: [{ id: 'ops', workspace: '/w/ops' }] } };
    expect(agentWorkspace(cfg, 'ops')).toBe('/w/ops');
    expect(agentWorkspace(cfg, 'other')).toBe('/w/default');
    expect(agentWorkspace(cfg, undefined)).toBe('/w/default');
    expect(agentWorkspace({}, 'ops')).toBeUndefined();
  });

  it('is registered when the host offers registerMemoryCorpusSupplement, and not required otherwise', () => {
    const supplements: unknown[] = [];
    const api = {
      id: 'claw-byterover',
      registrationMode: 'full' as const,
      pluginConfig: {},
      logger: captureLogger().logger,
      registerTool: () => undefined,
      registerContextEngine: () => undefined,
      registerService: () => undefined,
      registerMemoryCorpusSupplement: (s: unknown) => supplements.push(s),
    };
    const r = registerPlugin(api);
    expect(supplements).toHaveLength(1);
    void r.runtime?.close();
    const { registerMemoryCorpusSupplement: _omit, ...older } = api;
    const r2 = registerPlugin(older);
    expect(r2.tools).toBe(true);
    void r2.runtime?.close();
  });
});
