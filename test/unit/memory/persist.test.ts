/**
 * The persisted recall index (lib/memory/persist.ts over native/src/recall/persist.h): an open that
 * loads it answers exactly as a fresh build after random edits between runs, reading only the notes
 * whose stamp changed (none twice); a truncated or bit-flipped file, or one of another tree, is
 * never served (rebuilt, then saved whole again); two processes opening one tree at once both
 * answer correctly and leave a valid file.
 */
import { spawn } from 'node:child_process';
import { appendFile, copyFile, mkdir, readFile, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger, logger } from '../../../lib/log/index.js';
import { LocalMemory } from '../../../lib/memory/local.js';
import { INDEX_FILE } from '../../../lib/memory/persist.js';
import { ensureNativeBuilt } from '../../native/helpers.js';
import { FIXTURE_NOTES, tempProject } from './helpers.js';

const quiet = logger.child({}, { level: 'error' });
const QUERIES = [
  'cache invalidation',
  'deploy rollback',
  'database migration',
  'token refresh',
  'retry backoff',
  'zebra quokka',
  'http',
];
const here = dirname(fileURLToPath(import.meta.url));

beforeAll(async () => {
  await ensureNativeBuilt();
});

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function answers(mem: LocalMemory): Promise<string[][]> {
  const out: string[][] = [];
  for (const q of QUERIES) out.push((await mem.search(q, { k: 10 })).map((h) => `${h.path} ${h.score.toFixed(9)}`));
  return out;
}

/** What a fresh build of the tree answers (nothing persisted, nothing saved). */
async function fresh(project: string): Promise<string[][]> {
  const mem = await LocalMemory.open({ projectRoot: project, watch: false, persist: false, logger: quiet });
  try {
    return await answers(mem);
  } finally {
    await mem.close();
  }
}

describe('persisted recall index', () => {
  it('after random edits between runs, a loaded index answers as a fresh build and reads only changed notes', async () => {
    const { project, tree, state } = await tempProject(true);
    const first = await LocalMemory.open({ projectRoot: project, watch: false, logger: quiet });
    expect(first.persist).toMatchObject({ loaded: false, notLoaded: 'RECALL_PERSIST_MISSING', saves: 1 });
    expect(first.tree.reads).toBe(FIXTURE_NOTES);
    await first.close();
    const next = rng(424242);
    let extra = 0;
    for (let round = 0; round < 4; round++) {
      const paths = (await readdirRecursive(tree)).sort();
      const changed = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const p = paths[Math.floor(next() * paths.length)] as string;
        const kind = Math.floor(next() * 4);
        if (kind === 0 && !changed.has(p)) {
          await unlink(join(tree, p));
          paths.splice(paths.indexOf(p), 1);
        } else if (kind === 1) {
          await appendFile(join(tree, p), `\n\nround ${round}: zebra quokka ${i} retry backoff\n`);
          changed.add(p);
        } else if (kind === 2) {
          const np = `added/r${round}-${extra++}.md`;
          await mkdir(join(tree, 'added'), { recursive: true });
          await writeFile(join(tree, np), `---\ntitle: Added: ${np}\n---\n# Cache invalidation ${round}\nzebra ${i}\n`);
          paths.push(np);
          changed.add(np);
        } else {
          const t = new Date(Date.now() - 3_600_000 * (round + 1));
          await utimes(join(tree, p), t, t); // a stamp change without a content change
          changed.add(p);
        }
      }
      const mem = await LocalMemory.open({ projectRoot: project, watch: false, logger: quiet });
      expect(mem.persist?.loaded).toBe(true);
      // Only notes whose stamp changed were read, each once.
      expect(mem.tree.reads).toBe([...changed].filter((p) => paths.includes(p)).length);
      expect(await answers(mem)).toEqual(await fresh(project));
      await mem.close();
    }
    // The file is where index --stats says it is.
    expect((await readFile(join(state, INDEX_FILE))).length).toBeGreaterThan(1000);
  });

  it('a truncated, bit-flipped or other-tree file is never served: rebuilt, answers equal a fresh build, saved whole', async () => {
    const { project, state } = await tempProject(true);
    const file = join(state, INDEX_FILE);
    await (await LocalMemory.open({ projectRoot: project, watch: false, logger: quiet })).close();
    const good = await readFile(file);
    const expected = await fresh(project);
    const damaged: Array<[string, Buffer]> = [
      ['truncated', good.subarray(0, Math.floor(good.length / 2))],
      ['torn header', good.subarray(0, 20)],
      [
        'bit flipped',
        (() => {
          const b = Buffer.from(good);
          const at = Math.floor(b.length * 0.7);
          b[at] = (b[at] as number) ^ 0x10;
          return b;
        })(),
      ],
    ];
    for (const [, bytes] of damaged) {
      await writeFile(file, bytes);
      const mem = await LocalMemory.open({ projectRoot: project, watch: false, logger: quiet });
      expect(mem.persist).toMatchObject({ loaded: false, notLoaded: 'RECALL_PERSIST_CORRUPT', saves: 1 });
      expect(mem.tree.reads).toBe(FIXTURE_NOTES);
      expect(await answers(mem)).toEqual(expected);
      await mem.close();
      expect((await readFile(file)).equals(bytes)).toBe(false); // rewritten…
      const again = await LocalMemory.open({ projectRoot: project, watch: false, logger: quiet });
      expect(again.persist?.loaded).toBe(true); // …whole
      expect(again.tree.reads).toBe(0);
      await again.close();
    }
    // The file of another tree (same notes, another root): not served.
    const other = await tempProject(true);
    await mkdir(other.state, { recursive: true });
    await copyFile(file, join(other.state, INDEX_FILE));
    const mem = await LocalMemory.open({ projectRoot: other.project, watch: false, logger: quiet });
    expect(mem.persist).toMatchObject({ loaded: false, notLoaded: 'MANIFEST_OTHER_TREE' });
    expect(await answers(mem)).toEqual(expected);
    await mem.close();
  });

  it('claw_ids live in the packed manifest: an unchanged tree builds no note, and a restored note whose outbox entry is gone is re-enqueued', async () => {
    const { project, tree } = await tempProject(true);
    const ids = ['orphan-aaaa1111', 'queued-bbbb2222'];
    for (const id of ids)
      await writeFile(
        join(tree, `${id}.md`),
        `---\ntitle: Note ${id}\nclaw_id: ${id}\n---\n# Cache invalidation\n${id}\n`,
      );
    const open = () => LocalMemory.open({ projectRoot: project, watch: false, logger: quiet });
    const queued = async (m: LocalMemory) => (await m.outbox.list()).map((e) => e.id).sort();
    const first = await open();
    expect(await queued(first)).toEqual(ids); // read, no outbox entry: enqueued by the crash recovery
    await first.close();

    const warm = await open();
    expect(warm.persist?.loaded).toBe(true);
    expect(warm.tree.reads).toBe(0);
    expect(warm.tree.packedSeed()?.count).toBe(FIXTURE_NOTES + 2); // nothing built per note
    expect(warm.tree.size).toBe(FIXTURE_NOTES + 2);
    expect([...warm.tree.ids()].sort()).toEqual(ids.map((id) => [`${id}.md`, id]));
    expect(warm.tree.findById(ids[1] as string)?.path).toBe(`${ids[1]}.md`); // built on demand
    expect(warm.tree.packedSeed()).toBeUndefined();
    expect(warm.tree.get(`${ids[0]}.md`)).toMatchObject({ id: ids[0], size: expect.any(Number) as number });
    await warm.outbox.remove(ids[0] as string); // what a crash before the entry was written leaves
    await warm.close();

    const again = await open();
    expect(again.persist?.loaded).toBe(true);
    expect(again.tree.reads).toBe(0);
    expect(await queued(again)).toEqual(ids);
    expect(await again.outbox.get(ids[0] as string)).toMatchObject({ path: `${ids[0]}.md`, title: `Note ${ids[0]}` });
    await again.close();
  });

  it('a manifest that is not what this version writes (checksum valid) is never served: the index is rebuilt', async () => {
    const { project, state } = await tempProject(true);
    const file = join(state, INDEX_FILE);
    const treeRoot = join(project, '.brv', 'context-tree');
    const expected = await fresh(project);
    // One note "a.md" at stamp "x" of size 1: "a.md\0x\0" (7 characters), "1\0" (2).
    const head = (o: object) => `${JSON.stringify({ v: 2, root: treeRoot, count: 1, known: 7, sizes: 2, ...o })}\n`;
    const manifests: Array<[string, string, boolean]> = [
      ['well formed (accepted: the rejections below are for their own reason)', `${head({})}a.md\0x\x001\0`, true],
      // What the previous release wrote: a JSON list of notes.
      ['version 1', JSON.stringify({ v: 1, root: treeRoot, files: [['a.md', '1:2:3:4', 1, null]] }), false],
      ['a path without its stamp', `${head({ known: 5, sizes: 4 })}a.md\0x\x001\0`, false],
      ['a section past the end', `${head({ sizes: 40 })}a.md\0x\x001\0`, false],
      ['the claw_id of note 5 of 1', `${head({})}a.md\0x\x001\x005\0abcdefgh\0`, false],
      ['no header line', 'a.md\0x\x001\0', false],
    ];
    const { createRecallIndex } = await import('../../../lib/native.js');
    for (const [what, meta, served] of manifests) {
      await mkdir(state, { recursive: true });
      const index = createRecallIndex();
      index.saveFile(file, meta); // a whole file with a valid checksum, only the manifest is off
      index.close();
      const mem = await LocalMemory.open({ projectRoot: project, watch: false, logger: quiet });
      expect({ what, persist: mem.persist }).toMatchObject({
        what,
        persist: served ? { loaded: true } : { loaded: false, notLoaded: 'MANIFEST_INVALID' },
      });
      expect(mem.tree.reads).toBe(FIXTURE_NOTES);
      expect(await answers(mem)).toEqual(expected);
      await mem.close();
    }
    const again = await LocalMemory.open({ projectRoot: project, watch: false, logger: quiet });
    expect(again.persist?.loaded).toBe(true); // saved again whole, in this version's form
    await again.close();
  });

  it('a hand-edited note with invalid frontmatter warns once per change, not on every open', async () => {
    const { project, tree } = await tempProject(true);
    await writeFile(join(tree, 'hand.md'), '---\ntitle: Deploy: blue/green\n---\n# H\nrollout\n');
    const lines: string[] = [];
    const log = createLogger({ level: 'warn', destination: { write: (l: string) => void lines.push(l) } });
    const warnings = () => lines.filter((l) => l.includes('invalid frontmatter') && l.includes('hand.md')).length;
    const open = async () => (await LocalMemory.open({ projectRoot: project, watch: false, logger: log })).close();
    await open();
    expect(warnings()).toBe(1);
    await open(); // loaded from the persisted index: the note is not read, nothing to warn about
    await open();
    expect(warnings()).toBe(1);
    await appendFile(join(tree, 'hand.md'), 'more\n'); // changed: read again, warned again
    await open();
    expect(warnings()).toBe(2);
  });

  it('two processes opening one tree at once both answer as a fresh build and leave a valid file', async () => {
    const { project, tree, state } = await tempProject(true);
    const child = (): Promise<{ persist: { loaded: boolean }; results: string[][] }> =>
      new Promise((resolve, reject) => {
        const c = spawn(
          process.execPath,
          ['--import', 'tsx', join(here, 'persist-child.ts'), project, JSON.stringify(QUERIES)],
          {
            stdio: ['ignore', 'pipe', 'pipe'],
          },
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
    // Nothing persisted: both build, both save (atomic renames; the last one wins whole).
    const [a, b] = await Promise.all([child(), child()]);
    const expected = await fresh(project);
    expect(a.results).toEqual(expected);
    expect(b.results).toEqual(expected);
    // A change, then two at once again: both load the file, reconcile, and may both save.
    await appendFile(join(tree, (await readdirRecursive(tree))[0] as string), '\nzebra quokka\n');
    const [c, d] = await Promise.all([child(), child()]);
    const expected2 = await fresh(project);
    expect(c.persist.loaded).toBe(true);
    expect(d.persist.loaded).toBe(true);
    expect(c.results).toEqual(expected2);
    expect(d.results).toEqual(expected2);
    const last = await LocalMemory.open({ projectRoot: project, watch: false, logger: quiet });
    expect(last.persist?.loaded).toBe(true);
    expect(last.tree.reads).toBe(0);
    expect(await answers(last)).toEqual(expected2);
    await last.close();
    await rm(state, { recursive: true, force: true });
  });
});

async function readdirRecursive(dir: string, rel = ''): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory()) out.push(...(await readdirRecursive(dir, p)));
    else if (e.name.endsWith('.md')) out.push(p);
  }
  return out;
}
