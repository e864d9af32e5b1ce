/**
 * ByteRover v4 as the CLI, the OpenClaw engine and the bridge see it: `SpaceMemory` (lib/memory/v4)
 * over a seeded v4 space (bench/recall/v4-space.ts; default 1,000 topics, `node --import tsx
 * bench/space-memory.ts [size]`), opened through the one memory opener from a folder bound by a
 * `.brvspace` marker. Printed, in one run:
 * - open (resolve the space, walk, read, index natively, read the signal sidecars);
 * - `search` (native query + per-hit element, confidence) and `recall` (plus the token budget and the
 *   📚 citation list) median / p99 over 200 queries × 3 passes, against the raw native index query on
 *   the same index (the TypeScript layer's overhead as a ratio);
 * - the baseline ByteRover's own engine embodies — every query re-reads and re-parses the whole tree —
 *   timed here with our own parser and index (its cheapest form), and the ratio.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { createRecallIndex, isTopicPath } from '../lib/native.js';
import { openMemory } from '../lib/memory/open.js';
import type { SpaceMemory } from '../lib/memory/v4/memory.js';
import { generateQueries, vocabulary } from './recall/generate.js';
import { writeSpace } from './recall/v4-space.js';

const size = Number(process.argv[2] ?? 1000) || 1000;
const SEED = 20_261_207;
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

async function walk(dir: string, out: string[] = []): Promise<string[]> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}

const root = await mkdtemp(join(tmpdir(), 'bench-space-'));
try {
  const vocab = vocabulary(SEED, 4000);
  const space = await writeSpace(join(root, 'brv'), size, vocab, SEED + size);
  const project = join(root, 'project');
  await writeFile(join(root, '.brvspace'), JSON.stringify({ space_id: space.spaceId, space_name: 'Bench' }));
  const queries = generateQueries(200, SEED, vocab);
  console.log(
    `${size.toLocaleString('en')} v4 topics (${(space.bytes / 2 ** 20).toFixed(1)} MiB), ${space.sidecars} sidecars`,
  );

  let t0 = process.hrtime.bigint();
  const opened = await openMemory({
    projectRoot: project,
    dataDir: space.dataDir,
    watch: false,
    maxStalenessMs: 3_600_000,
  });
  const mem = opened.backend as SpaceMemory;
  console.log(`open (resolve ${opened.source.kind}, walk, read, index, sidecars): ${ms(t0).toFixed(0)} ms`);

  const search: number[] = [];
  const recall: number[] = [];
  for (let pass = 0; pass < 3; pass++)
    for (const q of queries) {
      t0 = process.hrtime.bigint();
      await mem.search(q, { k: 10 });
      search.push(ms(t0));
      t0 = process.hrtime.bigint();
      await mem.recall(q, { k: 6, tokenBudget: 800 });
      recall.push(ms(t0));
    }

  // the raw native index on the same topics (what SpaceMemory adds is the difference)
  const files = (await walk(space.tree)).filter((f) => isTopicPath(relative(space.tree, f).split(sep).join('/')));
  const docs = await Promise.all(
    files.map(async (f) => ({ path: relative(space.tree, f).split(sep).join('/'), doc: await readFile(f, 'utf8') })),
  );
  const idx = createRecallIndex({ excerptChars: 200 });
  idx.addBatch(docs);
  const raw: number[] = [];
  for (let pass = 0; pass < 3; pass++)
    for (const q of queries) {
      t0 = process.hrtime.bigint();
      idx.query(q, 10);
      raw.push(ms(t0));
    }

  // baseline: re-read and re-parse the whole tree for every query
  const base: number[] = [];
  for (const q of queries.slice(0, 5)) {
    t0 = process.hrtime.bigint();
    const fresh = createRecallIndex({ excerptChars: 200 });
    const all = await walk(space.tree);
    const d = await Promise.all(
      all
        .filter((f) => isTopicPath(relative(space.tree, f).split(sep).join('/')))
        .map(async (f) => ({ path: relative(space.tree, f).split(sep).join('/'), doc: await readFile(f, 'utf8') })),
    );
    fresh.addBatch(d);
    fresh.query(q, 10);
    fresh.close();
    base.push(ms(t0));
  }
  idx.close();
  await mem.close();

  const row = (name: string, xs: number[]) =>
    `${name.padEnd(34)} median ${pct(xs, 50).toFixed(3)} ms   p99 ${pct(xs, 99).toFixed(3)} ms`;
  console.log(row('native index query (no TS layer)', raw));
  console.log(row('SpaceMemory.search', search));
  console.log(row('SpaceMemory.recall (+budget, 📚)', recall));
  console.log(row('baseline: re-read + re-parse / query', base));
  console.log(
    `ratios (median): search/native ${(pct(search, 50) / pct(raw, 50)).toFixed(1)}x, baseline/search ${(pct(base, 50) / pct(search, 50)).toFixed(0)}x, baseline/recall ${(pct(base, 50) / pct(recall, 50)).toFixed(0)}x`,
  );
} finally {
  await rm(root, { recursive: true, force: true });
}
