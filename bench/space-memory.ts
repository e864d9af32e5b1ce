/**
 * ByteRover v4 as the CLI, the OpenClaw engine and the bridge see it: `SpaceMemory` (lib/memory/v4)
 * over seeded v4 spaces (bench/recall/v4-space.ts; `node --import tsx bench/space-memory.ts
 * [sizes]`, default `1000,10000` topics). Printed, in one run, per size:
 * - opening the space (walk, read, index natively, read the signal sidecars), medians of several
 *   opens, each in this process with the page cache warm:
 *   - the old path (the same-run baseline): the TypeScript walk (readdir, a stat of each topic and
 *     of its sidecar, readFile per file), nothing persisted (`walker: 'ts', persist: false`) — the
 *     I/O of every open before issue 15 (it now shares the lighter parse: before, each topic was
 *     also parsed whole in TypeScript, ~0.3 s more at 10,000 topics);
 *   - the native walk (native/src/recall/walk.h), nothing persisted;
 *   - first open: the native walk with no persisted index (builds, then saves it);
 *   - warm open: the persisted index loaded, nothing changed (a stat walk, nothing read);
 *   - warm open after 1% of the topics and 1% of the sidecars changed;
 *   and the persisted file's size;
 * - checking the sidecars alone: a stat of each topic's sidecar from TypeScript vs the native walk
 *   of the signals folder with the stamps held (whether walking the sidecars natively matters);
 * - `search` median / p99 over 200 queries × 3 passes, paired, on a warm-opened memory vs on one
 *   opened by the old path (a topic's elements are parsed on its first hit, in both: that is in p99);
 * and, for the first size, `recall`, the raw native query, and the baseline ByteRover's own engine
 * embodies — every query re-reads and re-parses the whole tree — timed with our own parser and index.
 */
import { lstat, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { createRecallIndex, isTopicPath } from '../lib/native.js';
import { logger } from '../lib/log/index.js';
import { loadNativeWalk } from '../lib/memory/native-walk.js';
import { SpaceMemory, type SpaceMemoryOptions } from '../lib/memory/v4/memory.js';
import { spaceIndexFile, spaceStateDir } from '../lib/memory/v4/persist.js';
import { resolveSpace } from '../lib/memory/v4/space.js';
import { generateQueries, vocabulary } from './recall/generate.js';
import { writeSpace } from './recall/v4-space.js';

const sizes = (process.argv[2] ?? '1000,10000')
  .split(',')
  .map((s) => Number(s))
  .filter((n) => n > 0);
const SEED = 20_261_207;
const quiet = logger.child({}, { level: 'error' });
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const med = (xs: number[]): number => pct(xs, 50);
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
// the persisted indexes go to a throw-away claw-byterover data dir
process.env.CLAW_BYTEROVER_DATA_DIR = join(root, 'claw-data');
try {
  for (const [si, size] of sizes.entries()) {
    const vocab = vocabulary(SEED, 4000);
    const sp = await writeSpace(join(root, `brv-${size}`), size, vocab, SEED + size);
    const project = join(root, `project-${size}`);
    await writeFile(join(root, '.brvspace'), JSON.stringify({ space_id: sp.spaceId, space_name: 'Bench' }));
    const space = await resolveSpace(project, { dataDir: sp.dataDir });
    const queries = generateQueries(200, SEED, vocab);
    console.log(
      `\n${size.toLocaleString('en')} v4 topics (${(sp.bytes / 2 ** 20).toFixed(1)} MiB), ${sp.sidecars} sidecars`,
    );
    const base: Partial<SpaceMemoryOptions> = { watch: false, pollMs: 3_600_000, logger: quiet };
    const timeOpen = async (o: Partial<SpaceMemoryOptions>): Promise<[number, SpaceMemory]> => {
      const t0 = process.hrtime.bigint();
      const m = await SpaceMemory.open({ space, ...base, ...o });
      return [ms(t0), m];
    };
    const runs = size >= 10_000 ? 3 : 5;
    const rows: [string, number[], string][] = [];
    const series = async (name: string, o: Partial<SpaceMemoryOptions>, before?: () => Promise<void>) => {
      const xs: number[] = [];
      let note = '';
      for (let i = 0; i < runs; i++) {
        await before?.();
        const [t, m] = await timeOpen(o);
        xs.push(t);
        const s = m.lastScan;
        note = s ? `read ${s.read} topics + ${s.signalsRead} sidecars, reused ${s.reused}` : '';
        await m.close();
      }
      rows.push([name, xs, note]);
      return xs;
    };
    const old = await series('old path: TS walk, nothing persisted', { walker: 'ts', persist: false });
    await series('native walk, nothing persisted', { walker: 'native', persist: false });
    const file = spaceIndexFile(spaceStateDir(space));
    const first = await series('first open: native walk, builds + saves', { walker: 'native' }, () =>
      rm(file, { force: true }),
    );
    const warm = await series('warm open: persisted, nothing changed', {});
    // 1% of topics (content) and 1% of sidecars rewritten before each open
    const topics = (await walk(sp.tree)).filter((f) => isTopicPath(relative(sp.tree, f).split(sep).join('/')));
    let k = 0;
    const warm1 = await series('warm open after 1% topics + sidecars changed', {}, async () => {
      for (let i = 0; i < Math.max(1, size / 100); i++) {
        const f = topics[(k++ * 7919) % topics.length]!;
        await writeFile(f, (await readFile(f, 'utf8')).replace('</bv-topic>', ' </bv-topic>'));
        const rel = relative(sp.tree, f);
        await writeFile(
          join(space.signalsDir, `${rel}.json`),
          JSON.stringify({ importance: (k * 13) % 100, maturity: 'validated', recency: 0.5 }),
        );
      }
    });
    for (const [name, xs, note] of rows)
      console.log(`  open, ${name.padEnd(46)} median ${med(xs).toFixed(0).padStart(6)} ms  (${note})`);
    const bytes = (await stat(file)).size;
    console.log(
      `  persisted index ${(bytes / 2 ** 20).toFixed(1)} MiB; ratios (median): old/first ${(med(old) / med(first)).toFixed(1)}x, old/warm ${(med(old) / med(warm)).toFixed(1)}x, old/warm-after-1% ${(med(old) / med(warm1)).toFixed(1)}x`,
    );

    // the sidecars alone: one stat per topic from TypeScript vs the native walk with the stamps held
    {
      const rels = topics.map((f) => relative(sp.tree, f).split(sep).join('/'));
      const tsx: number[] = [];
      const nat: number[] = [];
      const nwalk = (await loadNativeWalk())!;
      const held = await nwalk(space.signalsDir, { extensions: ['.json'] });
      for (let i = 0; i < 3; i++) {
        let t0 = process.hrtime.bigint();
        for (let j = 0; j < rels.length; j += 64)
          await Promise.all(
            rels
              .slice(j, j + 64)
              .map((r) => lstat(join(space.signalsDir, `${r}.json`), { bigint: true }).catch(() => undefined)),
          );
        tsx.push(ms(t0));
        t0 = process.hrtime.bigint();
        await nwalk(space.signalsDir, {
          extensions: ['.json'],
          known: { paths: held.files.map((f) => f.path), stamps: held.files.map((f) => f.stamp) },
        });
        nat.push(ms(t0));
      }
      console.log(
        `  sidecar check alone: TS stat per topic ${med(tsx).toFixed(1)} ms, native walk of signals/ ${med(nat).toFixed(1)} ms (${(med(tsx) / med(nat)).toFixed(1)}x)`,
      );
    }

    // queries: a warm-opened memory vs one opened by the old path, paired (each query on both, the
    // order alternating), so machine load falls on both alike
    const [, warmMem] = await timeOpen({});
    const [, oldMem] = await timeOpen({ walker: 'ts', persist: false });
    const sw: number[] = [];
    const so: number[] = [];
    for (let pass = 0; pass < 3; pass++)
      for (const [i, query] of queries.entries()) {
        const pair: [SpaceMemory, number[]][] = [
          [warmMem, sw],
          [oldMem, so],
        ];
        for (const [m, xs] of i % 2 === 0 ? pair : pair.reverse()) {
          const t0 = process.hrtime.bigint();
          await m.search(query, { k: 10 });
          xs.push(ms(t0));
        }
      }
    const row = (name: string, xs: number[]) =>
      `  ${name.padEnd(48)} median ${pct(xs, 50).toFixed(3)} ms   p99 ${pct(xs, 99).toFixed(3)} ms`;
    console.log(row('search, opened warm (persisted index)', sw));
    console.log(row('search, opened by the old path', so));
    console.log(
      `  search median warm/old ${(med(sw) / med(so)).toFixed(2)}x; topics parsed on a hit: ${warmMem.hitReads}`,
    );

    if (si === 0) {
      const recall: number[] = [];
      for (let pass = 0; pass < 3; pass++)
        for (const query of queries) {
          const t0 = process.hrtime.bigint();
          await warmMem.recall(query, { k: 6, tokenBudget: 800 });
          recall.push(ms(t0));
        }
      // the raw native index on the same topics (what SpaceMemory adds is the difference)
      const docs = await Promise.all(
        topics.map(async (f) => ({ path: relative(sp.tree, f).split(sep).join('/'), doc: await readFile(f, 'utf8') })),
      );
      const idx = createRecallIndex({ excerptChars: 200 });
      idx.addBatch(docs);
      const raw: number[] = [];
      for (let pass = 0; pass < 3; pass++)
        for (const query of queries) {
          const t0 = process.hrtime.bigint();
          idx.query(query, 10);
          raw.push(ms(t0));
        }
      idx.close();
      // baseline: re-read and re-parse the whole tree for every query
      const reparse: number[] = [];
      for (const query of queries.slice(0, 5)) {
        const t0 = process.hrtime.bigint();
        const fresh = createRecallIndex({ excerptChars: 200 });
        const all = await walk(sp.tree);
        const d = await Promise.all(
          all
            .filter((f) => isTopicPath(relative(sp.tree, f).split(sep).join('/')))
            .map(async (f) => ({ path: relative(sp.tree, f).split(sep).join('/'), doc: await readFile(f, 'utf8') })),
        );
        fresh.addBatch(d);
        fresh.query(query, 10);
        fresh.close();
        reparse.push(ms(t0));
      }
      console.log(row('native index query (no TS layer)', raw));
      console.log(row('SpaceMemory.recall (+budget, 📚)', recall));
      console.log(row('baseline: re-read + re-parse / query', reparse));
      console.log(
        `  ratios (median): search/native ${(med(sw) / med(raw)).toFixed(1)}x, baseline/search ${(med(reparse) / med(sw)).toFixed(0)}x, baseline/recall ${(med(reparse) / med(recall)).toFixed(0)}x`,
      );
    }
    await warmMem.close();
    await oldMem.close();
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
