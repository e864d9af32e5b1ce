/**
 * SpaceMemory over the native engine: a v4 space's topics are indexed (index.html, _manifest.json,
 * archived migrations and non-topic files are not), hits name the element they came from with a
 * confidence, the citation block cites only confident hits, the signal sidecars change the ranking,
 * a recorded topic is found at once, and the recall text fits the token budget.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { estimateTokens } from '../../../../lib/memory/budget.js';
import { loadNativeRecall } from '../../../../lib/memory/native-index.js';
import { SpaceMemory } from '../../../../lib/memory/v4/memory.js';
import { recordTopic } from '../../../../lib/memory/v4/record.js';
import { writeSignals } from '../../../../lib/memory/v4/signals.js';
import { resolveSpace } from '../../../../lib/memory/v4/space.js';
import { inCI } from '../../../helpers/tools.js';
import { fixture, v4Home } from './helpers.js';

const native = await loadNativeRecall();
if (!native.factory && inCI) throw new Error(`CI requires the native recall engine: ${native.reason}`);

async function setup() {
  const h = await v4Home();
  const id = await h.addSpace('Engineering');
  const proj = join(h.work, 'proj');
  await h.marker(proj, { space_id: id, space_name: 'Engineering' });
  const space = await resolveSpace(proj, { dataDir: h.data });
  await recordTopic(space, 'auth/jwt_design', { html: await fixture('jwt_design.html') });
  await recordTopic(space, 'facts/vocabulary_examples', { html: await fixture('vocabulary_examples.html') });
  const t = space.treeRoot;
  await writeFile(
    join(t, 'index.html'),
    '<bv-index project="x"><bv-index-domain name="auth"></bv-index-domain></bv-index>',
  );
  await writeFile(join(t, '_manifest.json'), '{"version":1}');
  await mkdir(join(t, '.brv', '_migrations', 'm1'), { recursive: true });
  await writeFile(join(t, '.brv', '_migrations', 'm1', 'old.md'), '# Zanzibar archived note');
  await writeFile(join(t, 'auth', 'jwt_design.full.html'), '<bv-topic path="x" title="Zanzibar derived"></bv-topic>');
  await writeFile(join(t, 'stray.html'), '<div>zanzibar is not a topic</div>');
  return { h, space };
}

describe.skipIf(!native.factory)('SpaceMemory (native engine)', () => {
  it('indexes the topics only, and each hit names its element, a confidence and a citation', async () => {
    const { space } = await setup();
    const mem = await SpaceMemory.open({ space, watch: false });
    try {
      expect((await mem.stats()).documents).toBe(2);
      expect(await mem.search('zanzibar')).toEqual([]);
      const hits = await mem.search('clock drift rejects valid tokens');
      expect(hits[0]).toMatchObject({
        path: 'auth/jwt_design.html',
        title: 'JWT authentication design',
        elementType: 'bv-bug',
      });
      expect(hits[0]!.elementId).toMatch(/^bve-[a-z0-9]{8}$/);
      expect(hits[0]!.excerpt).toContain('clock drift');
      expect(hits[0]!.confidence).toBe('high');
      const r = await mem.recall('clock drift rejects valid tokens', { k: 5 });
      expect(r.citation.split('\n')[0]).toBe('📚 From ByteRover:');
      expect(r.citation).toContain(`- JWT authentication design (bug) — auth/jwt_design.html#${hits[0]!.elementId}`);
      expect(r.citation).toMatch(/\n {2}> .*clock drift/);
      for (const [q, type] of [
        ['regex match an email address', 'bv-pattern'],
        ['oclif binary published artifact', 'bv-structure'],
        ['mermaid authentication flow has token', 'bv-diagram'],
        ['sprint cycles two weeks', 'bv-fact'],
      ] as const) {
        const [top] = await mem.search(q);
        expect(top, q).toMatchObject({ path: 'facts/vocabulary_examples.html', elementType: type });
      }
    } finally {
      await mem.close();
    }
  });

  it('a weak hit (one word of many) is low confidence and not cited', async () => {
    const { space } = await setup();
    const mem = await SpaceMemory.open({ space, watch: false });
    try {
      const r = await mem.recall('kubernetes helm istio ingress terraform gateway', { k: 5 });
      expect(r.hits.length).toBeGreaterThan(0);
      expect(r.hits.every((h) => h.confidence === 'low')).toBe(true);
      expect(r.citation).toBe('');
      expect(r.cited).toBe(0);
    } finally {
      await mem.close();
    }
  });

  it('the signal sidecars change the ranking (importance, maturity), re-read when they change', async () => {
    const { space } = await setup();
    const body = (p: string) =>
      `<bv-topic path="${p}" title="Cache notes ${p}"><bv-highlights>the cache warms at boot</bv-highlights></bv-topic>`;
    await recordTopic(space, 'cache/one', { html: body('cache/one') });
    await recordTopic(space, 'cache/two', { html: body('cache/two') });
    const mem = await SpaceMemory.open({ space, watch: false, pollMs: 0 });
    try {
      const strong = { accessCount: 9, importance: 100, maturity: 'core' as const, recency: 1, updateCount: 3 };
      const weak = { accessCount: 0, importance: 0, maturity: 'draft' as const, recency: 0, updateCount: 0 };
      await writeSignals(space.signalsDir, 'cache/one.html', weak);
      await writeSignals(space.signalsDir, 'cache/two.html', strong);
      await mem.refresh();
      expect((await mem.search('cache warms boot')).map((h) => h.path).slice(0, 2)).toEqual([
        'cache/two.html',
        'cache/one.html',
      ]);
      await writeSignals(space.signalsDir, 'cache/one.html', strong);
      await writeSignals(space.signalsDir, 'cache/two.html', weak);
      await mem.refresh();
      expect((await mem.search('cache warms boot')).map((h) => h.path).slice(0, 2)).toEqual([
        'cache/one.html',
        'cache/two.html',
      ]);
    } finally {
      await mem.close();
    }
  });

  it('a topic recorded through the memory is found at once; recall fits the token budget', async () => {
    const { space } = await setup();
    const mem = await SpaceMemory.open({ space, watch: false, pollMs: 60_000 });
    try {
      await mem.record('ops/pager_rotation', {
        title: 'Pager rotation',
        body: 'The pager rotates every Monday at 09:00 between the three platform engineers.',
      });
      const [top] = await mem.search('pager rotates monday');
      expect(top).toMatchObject({ path: 'ops/pager_rotation.html', elementType: 'bv-highlights' });
      for (const budget of [40, 80, 400]) {
        const r = await mem.recall('tokens RS256 verify public key', { tokenBudget: budget });
        expect(r.tokens).toBeLessThanOrEqual(budget);
        expect(estimateTokens(r.text)).toBe(r.tokens);
      }
    } finally {
      await mem.close();
    }
  });
});

describe('SpaceMemory over an engine without v4 support (minisearch, fields)', () => {
  it('indexes topics as fields and picks the top element itself', async () => {
    const { MiniSearchIndex } = await import('../../../../bench/recall/minisearch-index.js');
    const { space } = await setup();
    const mem = await SpaceMemory.open({ space, watch: false, index: () => new MiniSearchIndex() });
    try {
      expect((await mem.stats()).documents).toBe(2);
      const [top] = await mem.search('30-second leeway tolerance');
      expect(top).toMatchObject({ path: 'auth/jwt_design.html', elementType: 'bv-fix' });
      expect(top!.elementId).toMatch(/^bve-/);
      expect(top!.excerpt).toContain('30-second leeway');
    } finally {
      await mem.close();
    }
  });
});
