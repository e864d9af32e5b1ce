/**
 * SpaceMemory's two scans — the native walk (native/src/recall/walk.h, tree `.html` + signals `.json`)
 * and the TypeScript fallback — read a space alike: the same topics (dot folders, symlinks to files
 * and folders, index.html at any level, derived artifacts, non-topic HTML and files over the size
 * cap left out), the same sidecars (a symlinked sidecar is not followed), the same answers; after
 * edits of topics and sidecars both see the same, and each reads only what changed.
 */
import { appendFile, mkdir, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { logger } from '../../../../lib/log/index.js';
import { loadNativeWalk } from '../../../../lib/memory/native-walk.js';
import { readTopicHtml } from '../../../../lib/memory/v4/html.js';
import { rootOf, SpaceMemory } from '../../../../lib/memory/v4/memory.js';
import { nativeRecallForTests } from '../../../helpers/native-recall.js';
import { answersOf, makeSpace, NOW, put, rng, signalsJson, topicHtml, type Space } from './persist-helpers.js';

const native = await nativeRecallForTests();
const quiet = logger.child({}, { level: 'error' });
let dir = '';
let space: Space;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'claw-v4-walk-'));
  space = await makeSpace(dir, 24, 7, '0f3c2a1e-5b6d-4c7e-8f90-123456789abc');
  const r = rng(99);
  const outside = join(dir, 'outside');
  await put(join(outside, 'secret.html'), topicHtml('secret', r, 'zebra outside'));
  await put(join(outside, 'sub', 'inner.html'), topicHtml('sub/inner', r, 'zebra outside'));
  await symlink(join(outside, 'secret.html'), join(space.treeRoot, 'link_file.html'));
  await symlink(join(outside, 'sub'), join(space.treeRoot, 'link_dir'));
  await put(join(space.treeRoot, '.hidden', 'h.html'), topicHtml('h', r, 'zebra hidden'));
  await put(join(space.treeRoot, 'big.html'), topicHtml('big', r, `zebra ${'x'.repeat(9000)}`));
  await put(join(space.treeRoot, 'stray.html'), '<div>zebra is not a topic</div>');
  await put(join(space.treeRoot, 'UPPER.HTML'), topicHtml('UPPER', r, 'quokka upper'));
  // a sidecar that is a symlink (to a core sidecar) is not followed by either walk
  await put(join(outside, 'core.json'), '{"importance": 100, "maturity": "core", "recency": 1}\n');
  await symlink(join(outside, 'core.json'), join(space.signalsDir, 'd1', 't1.html.json'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const open = (walker: 'native' | 'ts'): Promise<SpaceMemory> =>
  SpaceMemory.open({ space, walker, watch: false, persist: false, maxFileBytes: 8192, now: () => NOW, logger: quiet });

interface DocView {
  path: string;
  stamp: string;
  sigStamp: string;
  isTopic: boolean;
  title: string;
  signals: unknown;
}
const docs = (m: SpaceMemory): DocView[] =>
  [...(m as unknown as { docs: Map<string, DocView> }).docs.values()]
    .map(({ path, stamp, sigStamp, isTopic, title, signals }) => ({ path, stamp, sigStamp, isTopic, title, signals }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));

describe('rootOf: the root tag alone gives the attributes the whole parse gives', () => {
  it('or nothing, when the file does not start with a plain <bv-topic> tag', () => {
    const body = '<bv-fact subject="s" category="project">x</bv-fact></bv-topic>';
    const same = [
      `<bv-topic path="a" title="Plain" updatedat="2026-11-02T00:00:00.000Z">${body}`,
      `\n  <!-- generated --> <!--x-->\n<bv-topic title="After &amp; comments &#x263A;" path='a'>${body}`,
      `<bv-topic title="a > b, 'quoted'" summary='it said "hi" > there' path="a">${body}`,
      `<bv-topic\n  title=unquoted\n  path="a">${body}`,
      `<bv-topic title="First" title="Second" path="a">${body}`,
      `<bv-topic path="a">${body}`,
    ];
    for (const t of same) {
      const head = rootOf(t);
      const full = readTopicHtml(t);
      if (head) expect(head.attrs).toEqual(full.attrs);
      else expect(full.warnings.length + (full.isTopic ? 0 : 1)).toBeGreaterThan(0); // only malformed roots fall back
    }
    expect(rootOf(same[0]!)?.attrs.updatedat).toBe('2026-11-02T00:00:00.000Z');
    expect(rootOf(same[2]!)?.attrs.title).toBe("a > b, 'quoted'");
    for (const t of [
      '<div>x</div>',
      '<!-- unterminated <bv-topic title="x">',
      '<bv-topicx title="x">',
      '<bv-topic title="x',
    ])
      expect(rootOf(t)).toBeUndefined();
  });
});

describe.skipIf(!native.factory)('SpaceMemory: native walk and TypeScript walk', () => {
  it('the native walk is in this build', async () => {
    expect(await loadNativeWalk()).toBeTypeOf('function');
  });

  it('read the same topics, sidecars and answers, by the same rules', async () => {
    const n = await open('native');
    const t = await open('ts');
    try {
      expect(n.lastScan?.walker).toBe('native');
      expect(t.lastScan?.walker).toBe('ts');
      const paths = docs(n).map((d) => d.path);
      expect(paths).toContain('UPPER.HTML');
      expect(paths).toContain('stray.html'); // held (not a topic: not indexed, not re-read, warned once)
      for (const p of paths) {
        expect(p).not.toMatch(/index\.html$|overview\.html$|^\.|\/\.|^link_|^big\.html$/);
      }
      expect(paths.filter((p) => /^d\d\/t\d+\.html$/.test(p))).toHaveLength(24);
      expect(docs(n)).toEqual(docs(t));
      expect(docs(n).find((d) => d.path === 'd1/t1.html')).toMatchObject({ sigStamp: '', signals: undefined });
      expect(docs(n).filter((d) => d.signals).length).toBe(8);
      expect(await answersOf(n, ['zebra', 'quokka', 'cache invalidation', 'retry'])).toEqual(
        await answersOf(t, ['zebra', 'quokka', 'cache invalidation', 'retry']),
      );
      expect(await n.search('zebra')).toEqual([]);
      expect((await n.stats()).documents).toBe(25);
      expect(n.reads).toBe(26); // 25 topics + stray.html, each once
      expect(t.reads).toBe(26);
      expect(n.signalReads).toBe(8);
      expect(t.signalReads).toBe(8);
    } finally {
      await n.close();
      await t.close();
    }
  });

  it('after edits of topics and sidecars see the same and read only what changed', async () => {
    const n = await open('native');
    const t = await open('ts');
    try {
      await n.refresh();
      await t.refresh();
      expect(n.lastScan).toMatchObject({ read: 0, signalsRead: 0 });
      expect(t.lastScan).toMatchObject({ read: 0, signalsRead: 0 });
      const r = rng(5);
      await appendFile(join(space.treeRoot, 'd0', 't4.html'), ' '); // content change
      await unlink(join(space.treeRoot, 'd1', 't5.html'));
      await put(join(space.treeRoot, 'd9', 'new.html'), topicHtml('d9/new', r, 'quokka fresh'));
      await writeFile(join(space.signalsDir, 'd0', 't0.html.json'), signalsJson(r)); // sidecar changed
      await unlink(join(space.signalsDir, 'd3', 't3.html.json')); // sidecar removed
      await put(join(space.signalsDir, 'd2', 't2.html.json'), signalsJson(r)); // sidecar added
      await writeFile(join(space.treeRoot, 'big.html'), topicHtml('big', r, 'quokka small now'));
      await mkdir(join(space.treeRoot, 'empty'), { recursive: true });
      await n.refresh();
      await t.refresh();
      expect(docs(n)).toEqual(docs(t));
      expect(n.lastScan).toMatchObject({ read: 3, signalsRead: 2 }); // t4, new, big; t0, t2 sidecars
      expect(t.lastScan).toMatchObject({ read: 3, signalsRead: 2 });
      const q = ['quokka', 'cache invalidation', 'deploy rollback', 'retry'];
      expect(await answersOf(n, q)).toEqual(await answersOf(t, q));
      expect(docs(n).some((d) => d.path === 'd1/t5.html')).toBe(false);
      expect(docs(n).find((d) => d.path === 'd3/t3.html')).toMatchObject({ sigStamp: '', signals: undefined });
    } finally {
      await n.close();
      await t.close();
    }
  });

  it('a missing tree and signals folder are an empty space', async () => {
    const empty = { treeRoot: join(dir, 'none', 'context-tree'), signalsDir: join(dir, 'none', 'signals') };
    for (const walker of ['native', 'ts'] as const) {
      const m = await SpaceMemory.open({ space: empty, walker, watch: false, persist: false, logger: quiet });
      expect((await m.stats()).documents).toBe(0);
      await m.close();
    }
  });
});
