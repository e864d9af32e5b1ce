/**
 * The persisted index of a v4 space (lib/memory/v4/persist.ts): an open that loads it answers
 * exactly as a fresh build (paths, element ids, scores, confidences) after random edits of topics
 * and signal sidecars between opens, reading only the topics and sidecars whose stamps changed, each
 * once (and nothing at all when nothing changed: not even index.html or non-topic files); a
 * truncated, bit-flipped, v3 or other-space file is never served (rebuilt, saved whole again); two
 * processes opening one space at once both answer correctly and leave a valid file; the file lives
 * in claw-byterover's data dir, never in ByteRover's space folder.
 */
import { spawn } from 'node:child_process';
import {
  appendFile,
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, logger } from '../../../../lib/log/index.js';
import { INDEX_FILE } from '../../../../lib/memory/persist.js';
import { SpaceMemory } from '../../../../lib/memory/v4/memory.js';
import { spaceStateDir } from '../../../../lib/memory/v4/persist.js';
import { nativeRecallForTests } from '../../../helpers/native-recall.js';
import { pollUntil } from '../../../helpers/timeout.js';
import { answersOf, makeSpace, NOW, put, rng, signalsJson, topicHtml, type Space } from './persist-helpers.js';

const native = await nativeRecallForTests();
const quiet = logger.child({}, { level: 'error' });
const here = dirname(fileURLToPath(import.meta.url));
const ID = '6a1f0c2e-8d3b-4e5f-9a7b-0c1d2e3f4a5b';
const N = 40;
let dir = '';
let space: Space;
let state = '';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'claw-v4-persist-'));
  space = await makeSpace(join(dir, 'space'), N, 11, ID);
  state = join(dir, 'claw-state');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const open = (o: { persist?: boolean; stateDir?: string; logger?: typeof quiet } = {}): Promise<SpaceMemory> =>
  SpaceMemory.open({ space, stateDir: state, watch: false, now: () => NOW, logger: quiet, ...o });

/** What a fresh build answers (nothing loaded, nothing saved). */
async function fresh(): Promise<string[][]> {
  const m = await open({ persist: false });
  try {
    return await answersOf(m);
  } finally {
    await m.close();
  }
}

async function files(root: string, ext: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await files(root, ext, p)));
    else if (/^d\d\/t\d+\.html/.test(p) && p.endsWith(ext)) out.push(p);
  }
  return out.sort();
}

describe.skipIf(!native.factory)('persisted index of a v4 space', () => {
  it('after random edits of topics and sidecars, a loaded index answers as a fresh build, reading only what changed', async () => {
    const phases: string[] = [];
    const first = await SpaceMemory.open({
      space,
      stateDir: state,
      watch: false,
      now: () => NOW,
      logger: quiet,
      onProgress: (p) => phases.push(p),
    });
    expect(first.persist).toMatchObject({ loaded: false, notLoaded: 'RECALL_PERSIST_MISSING', saves: 1 });
    expect(first.reads).toBe(N);
    expect(phases).toEqual([
      'reading the space',
      'indexing 40 topics',
      expect.stringMatching(/^indexed 40 topics/),
      'saving the index',
    ]);
    await first.close();
    // Nothing changed: nothing is read, not even index.html, the derived file or a sidecar.
    phases.length = 0;
    const warm = await SpaceMemory.open({
      space,
      stateDir: state,
      watch: false,
      now: () => NOW,
      logger: quiet,
      onProgress: (p) => phases.push(p),
    });
    expect(phases).toEqual(['checking 40 topics against the space']);
    expect(warm.persist).toMatchObject({ loaded: true, restored: N, saves: 0 });
    expect(warm.lastScan).toMatchObject({ walker: 'native', read: 0, reused: N, signalsRead: 0, bytesRead: 0 });
    expect(await answersOf(warm)).toEqual(await fresh());
    expect(warm.hitReads).toBeGreaterThan(0); // restored topics are parsed on their first hit only
    await warm.close();

    const next = rng(424242);
    let extra = 0;
    for (let round = 0; round < 5; round++) {
      const topics = await files(space.treeRoot, '.html');
      const changed = new Set<string>();
      const sigChanged = new Set<string>();
      for (let i = 0; i < 8; i++) {
        const p = topics[Math.floor(next() * topics.length)]!;
        const kind = Math.floor(next() * 7);
        const sig = join(space.signalsDir, `${p}.json`);
        if (kind === 0 && !changed.has(p)) {
          await unlink(join(space.treeRoot, p));
          topics.splice(topics.indexOf(p), 1);
        } else if (kind === 1) {
          await writeFile(join(space.treeRoot, p), topicHtml(p.slice(0, -5), next, `zebra quokka round ${round}`));
          changed.add(p);
        } else if (kind === 2) {
          const np = `d${round}/n${extra++}.html`;
          await put(join(space.treeRoot, np), topicHtml(np.slice(0, -5), next, 'cache invalidation quokka'));
          topics.push(np);
          changed.add(np);
        } else if (kind === 3) {
          const t = new Date(NOW.getTime() - 86_400_000 * (round + 3));
          await utimes(join(space.treeRoot, p), t, t); // a stamp change without a content change
          changed.add(p);
        } else if (kind === 4 || kind === 5) {
          await put(sig, signalsJson(next)); // a sidecar written or rewritten
          sigChanged.add(p);
        } else {
          await unlink(sig).catch(() => undefined); // a sidecar removed (if there was one)
          sigChanged.delete(p);
        }
      }
      const mem = await open();
      expect(mem.persist?.loaded).toBe(true);
      // Only the topics and sidecars whose stamp changed were read, each once.
      expect(mem.reads).toBe([...changed].filter((p) => topics.includes(p)).length);
      expect(mem.signalReads).toBe([...sigChanged].filter((p) => topics.includes(p)).length);
      expect(await answersOf(mem)).toEqual(await fresh());
      await mem.close();
    }
    // The file is in the state dir given, not in the space's folder.
    expect((await readFile(join(state, INDEX_FILE))).length).toBeGreaterThan(1000);
  });

  it('a truncated, bit-flipped, v3 or other-space file is never served: rebuilt, answers equal, saved whole', async () => {
    const file = join(state, INDEX_FILE);
    await (await open()).close();
    const good = await readFile(file);
    const expected = await fresh();
    const flipped = Buffer.from(good);
    flipped[Math.floor(flipped.length * 0.6)]! ^= 0x08;
    for (const bytes of [good.subarray(0, Math.floor(good.length / 2)), good.subarray(0, 16), flipped]) {
      await writeFile(file, bytes);
      const mem = await open();
      expect(mem.persist).toMatchObject({ loaded: false, notLoaded: 'RECALL_PERSIST_CORRUPT', saves: 1 });
      expect(mem.reads).toBe(N);
      expect(await answersOf(mem)).toEqual(expected);
      await mem.close();
      expect((await readFile(file)).equals(bytes)).toBe(false); // rewritten…
      const again = await open();
      expect(again.persist?.loaded).toBe(true); // …whole
      expect(again.reads).toBe(0);
      await again.close();
    }
    // Another space's file (same topics, another tree): not served.
    const other = await makeSpace(join(dir, 'other'), N, 11, ID);
    const otherState = join(dir, 'other-state');
    await mkdir(otherState, { recursive: true });
    await copyFile(file, join(otherState, INDEX_FILE));
    const o = await SpaceMemory.open({
      space: other,
      stateDir: otherState,
      watch: false,
      now: () => NOW,
      logger: quiet,
    });
    expect(o.persist).toMatchObject({ loaded: false, notLoaded: 'MANIFEST_OTHER_TREE' });
    expect(await answersOf(o)).toEqual(expected);
    await o.close();
    // A v3 tree's file (valid, but its manifest lists notes): not served.
    const { LocalMemory } = await import('../../../../lib/memory/local.js');
    const v3 = join(dir, 'v3');
    await put(join(v3, '.brv', 'context-tree', 'a.md'), '# Cache invalidation\nzebra\n');
    await (await LocalMemory.open({ projectRoot: v3, watch: false, logger: quiet })).close();
    await copyFile(join(v3, '.brv', 'claw-byterover', INDEX_FILE), file);
    const m3 = await open();
    expect(m3.persist).toMatchObject({ loaded: false, notLoaded: 'MANIFEST_INVALID' });
    expect(await answersOf(m3)).toEqual(expected);
    await m3.close();
  });

  it('what a memory records while open is saved on close: the next open reads nothing and finds it', async () => {
    const mem = await open();
    expect(mem.persist?.saves).toBe(1);
    await mem.record('d2/recorded_here', { title: 'Recorded here', body: 'plinthwort quokka memo' });
    const [hit] = await mem.search('plinthwort');
    expect(hit?.path).toBe('d2/recorded_here.html');
    await mem.close();
    expect(mem.persist?.saves).toBe(2);
    const again = await open();
    expect(again.persist?.loaded).toBe(true);
    expect(again.lastScan).toMatchObject({ read: 0, signalsRead: 0 });
    expect((await again.search('plinthwort'))[0]).toMatchObject({
      path: 'd2/recorded_here.html',
      title: 'Recorded here',
    });
    expect(await answersOf(again)).toEqual(await fresh());
    await again.close();
  });

  it('a long-running watched memory persists after its background rescan once enough changed', async () => {
    const mem = await SpaceMemory.open({ space, stateDir: state, pollMs: 0, now: () => NOW, logger: quiet });
    try {
      expect(mem.persist?.saves).toBe(1);
      const r = rng(77);
      for (let i = 0; i < 60; i++)
        await put(join(space.treeRoot, 'd7', `w${i}.html`), topicHtml(`d7/w${i}`, r, 'gribble'));
      // each query runs the background rescan (pollMs 0); it saves once 50 or more changes are held
      await pollUntil(
        async () => {
          await mem.search('gribble');
          return mem.persist!.saves >= 2;
        },
        { intervalMs: 10 },
      );
      expect(mem.persist!.saves).toBe(2);
      const other = await open(); // another process's open, while this one runs
      expect(other.persist?.loaded).toBe(true);
      expect(other.reads).toBe(0);
      expect((await other.search('gribble')).length).toBe(10);
      await other.close();
    } finally {
      await mem.close();
    }
  });

  it('a file written by one walk serves the other: the TS fallback and the native walk stamp alike', async () => {
    const ts = await SpaceMemory.open({
      space,
      stateDir: state,
      walker: 'ts',
      watch: false,
      now: () => NOW,
      logger: quiet,
    });
    expect(ts.lastScan?.walker).toBe('ts');
    await ts.close();
    const nat = await open();
    expect(nat.persist?.loaded).toBe(true);
    expect(nat.lastScan).toMatchObject({ walker: 'native', read: 0, signalsRead: 0 });
    await nat.close();
    await appendFile(join(space.treeRoot, 'd2', 't2.html'), ' ');
    await (await open()).close();
    const back = await SpaceMemory.open({
      space,
      stateDir: state,
      walker: 'ts',
      watch: false,
      now: () => NOW,
      logger: quiet,
    });
    expect(back.persist?.loaded).toBe(true);
    expect(back.lastScan).toMatchObject({ walker: 'ts', read: 0, signalsRead: 0 });
    expect(await answersOf(back)).toEqual(await fresh());
    await back.close();
  });

  it('a malformed or non-topic file warns once per change, not on every open', async () => {
    await put(join(space.treeRoot, 'd0', 'broken.html'), '<bv-topic path="d0/broken" title="B"><bv-rule>unclosed');
    const lines: string[] = [];
    const log = createLogger({ level: 'warn', destination: { write: (l: string) => void lines.push(l) } });
    const count = () => lines.filter((l) => l.includes('broken.html') || l.includes('not a <bv-topic>')).length;
    await put(join(space.treeRoot, 'stray.html'), '<div>not a topic</div>');
    const once = async () => (await open({ logger: log })).close();
    await once();
    expect(count()).toBe(2);
    await once();
    await once();
    expect(count()).toBe(2);
    await appendFile(join(space.treeRoot, 'd0', 'broken.html'), ' more');
    await once();
    expect(count()).toBe(3);
  });

  it('two processes opening one space at once both answer as a fresh build and leave a valid file', async () => {
    const child = (): Promise<{ persist: { loaded: boolean }; reads: number; results: string[][] }> =>
      new Promise((resolve, reject) => {
        const c = spawn(
          process.execPath,
          ['--import', 'tsx', join(here, 'space-persist-child.ts'), JSON.stringify(space), state],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let out = '';
        let err = '';
        c.stdout.on('data', (d: Buffer) => (out += d.toString()));
        c.stderr.on('data', (d: Buffer) => (err += d.toString()));
        c.on('error', reject);
        c.on('close', (code) =>
          code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${code}: ${err}`)),
        );
      });
    const [a, b] = await Promise.all([child(), child()]);
    const expected = await fresh();
    expect(a.results).toEqual(expected);
    expect(b.results).toEqual(expected);
    await appendFile(join(space.treeRoot, 'd1', 't1.html'), ' ');
    await put(join(space.signalsDir, 'd2', 't2.html.json'), signalsJson(rng(3)));
    const [c, d] = await Promise.all([child(), child()]);
    const expected2 = await fresh();
    expect(c.persist.loaded).toBe(true);
    expect(d.persist.loaded).toBe(true);
    expect(c.results).toEqual(expected2);
    expect(d.results).toEqual(expected2);
    const last = await open();
    expect(last.persist?.loaded).toBe(true);
    expect(last.reads).toBe(0);
    expect(await answersOf(last)).toEqual(expected2);
    await last.close();
  });

  it("by default the file is in claw-byterover's data dir, keyed by space id and tree, never in the space folder", async () => {
    const data = join(dir, 'claw-data');
    const env = { ...process.env, CLAW_BYTEROVER_DATA_DIR: data };
    const where = spaceStateDir(space, env);
    expect(relative(data, where)).toMatch(new RegExp(`^spaces/${ID}-[0-9a-f]{12}$`));
    const other = await makeSpace(join(dir, 'copy'), 2, 1, ID);
    expect(spaceStateDir(other, env)).not.toBe(where); // same id, another tree: another file
    const saved = process.env.CLAW_BYTEROVER_DATA_DIR;
    process.env.CLAW_BYTEROVER_DATA_DIR = data;
    try {
      const before = await readdir(join(dir, 'space'), { recursive: true });
      const m = await SpaceMemory.open({ space, watch: false, now: () => NOW, logger: quiet });
      expect(m.persist?.path).toBe(join(where, INDEX_FILE));
      expect((await m.stats()).persisted).toMatchObject({ path: join(where, INDEX_FILE), loaded: false, reread: N });
      await m.close();
      expect(await readdir(join(dir, 'space'), { recursive: true })).toEqual(before);
      const again = await SpaceMemory.open({ space, watch: false, now: () => NOW, logger: quiet });
      expect((await again.stats()).persisted).toMatchObject({ loaded: true, reused: N, reread: 0 });
      await again.close();
    } finally {
      if (saved === undefined) delete process.env.CLAW_BYTEROVER_DATA_DIR;
      else process.env.CLAW_BYTEROVER_DATA_DIR = saved;
    }
  });
});
