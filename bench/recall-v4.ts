/**
 * The v4 rows of the recall benchmark: `node --import tsx bench/recall-v4.ts [sizes…]` (default
 * 10000).
 *
 * For each size, a seeded ByteRover v4 space (bench/recall/v4-space.ts: anchored v3 notes converted
 * into `<bv-topic>` files by the migration mapping, plus `_manifest.json`, `index.html`, archived
 * v3 notes under `.brv/_migrations/`, and signal sidecars for 30% of the topics) is written to a temp
 * data dir, then measured in this process:
 * - claw: the tree walked, topic files picked by isTopicPath, read and indexed natively
 *   (createRecallIndex().addBatch; .html is parsed as <bv-topic>), the sidecars read and set with
 *   setSignals; query latency median and p99 over 200 queries × 5 passes (k = 10), with and without
 *   signals;
 * - the baseline ByteRover's own v4 engine embodies: every query re-reads and re-parses the whole
 *   tree (walk, read every topic, parse and index it, then search). It runs on our own native parser
 *   and index, so it is the cheapest possible re-read-per-query engine; the ratio is a lower bound.
 *   ByteRover's engine itself (JavaScript) was measured at ~2.1 s per query on 1,000 topics on this
 *   kind of machine (shared/reference/byterover-v4.md); that figure is quoted, not re-measured here.
 * Targets (issue 11): median ≤ 0.25 ms, p99 ≤ 1 ms in-process. Both wall time and the process's CPU time per
 * query are printed; exit 1 when the CPU-time figures miss them (the wall figures also count preemption by
 * other processes on a loaded machine).
 */
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { createRecallIndex, isTopicPath, type NativeRecallIndex } from '../lib/native.js';
import { generateQueries, vocabulary } from './recall/generate.js';
import { generateV3Note, writeSpace } from './recall/v4-space.js';

const SEED = 20_261_207;
const QUERIES = 200;
const REPEATS = 5;
const BASELINE_QUERIES = 5;
const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
if (sizes.length === 0) sizes.push(10_000);

async function walk(dir: string, out: string[] = []): Promise<string[]> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Every topic of the tree: [tree-relative path, text]; non-topic files are counted, not read. */
async function readTopics(tree: string): Promise<{ docs: Array<{ path: string; doc: string }>; skipped: number }> {
  const files = await walk(tree);
  const docs: Array<{ path: string; doc: string }> = [];
  let skipped = 0;
  for (const f of files) {
    const rel = relative(tree, f).split(sep).join('/');
    if (!isTopicPath(rel)) {
      skipped++;
      continue;
    }
    docs.push({ path: rel, doc: await readFile(f, 'utf8') });
  }
  return { docs, skipped };
}

const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;

/** Wall time per query, and the CPU time this process spent in it (user + system, µs resolution):
 *  on a loaded machine the wall p99 also counts the time other processes held the core. */
function timeQueries(
  idx: NativeRecallIndex,
  queries: string[],
): { median: number; p99: number; cpuMedian: number; cpuP99: number; hits: number } {
  const times: number[] = [];
  const cpu: number[] = [];
  let hits = 0;
  for (let pass = 0; pass < REPEATS; pass++) {
    for (const q of queries) {
      const c = process.cpuUsage();
      const t = process.hrtime.bigint();
      const h = idx.query(q, 10);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
      const d = process.cpuUsage(c);
      cpu.push((d.user + d.system) / 1000);
      hits += h.length;
    }
  }
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  return {
    median: quantile(times, 0.5),
    p99: quantile(times, 0.99),
    cpuMedian: quantile(cpu, 0.5),
    cpuP99: quantile(cpu, 0.99),
    hits: hits / times.length,
  };
}

const ms = (n: number): string => (n < 1 ? `${(n * 1000).toFixed(0)} µs` : `${n.toFixed(n < 100 ? 2 : 0)} ms`);

const vocab = vocabulary(SEED);
const queries = generateQueries(QUERIES, SEED, vocab);
console.log(
  `recall v4 benchmark, seed ${SEED}, ${QUERIES} queries × ${REPEATS} passes (k = 10); node ${process.version}; ` +
    `${cpus().length} CPUs, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at start`,
);
let failed = false;
for (const size of sizes) {
  const dataDir = await mkdtemp(join(tmpdir(), `claw-recall-v4-${size}-`));
  try {
    const space = await writeSpace(dataDir, size, vocab, SEED + size);
    console.log(
      `\n${size.toLocaleString('en')} v4 topics, ${(space.bytes / 2 ** 20).toFixed(1)} MiB, ${space.sidecars} signal sidecars, in ${space.tree}`,
    );
    // claw: one load, then queries against the live index.
    const t0 = process.hrtime.bigint();
    const { docs, skipped } = await readTopics(space.tree);
    const idx = createRecallIndex({ excerptChars: 200 });
    idx.addBatch(docs);
    const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const warnings = idx.takeWarnings().length;
    const plain = timeQueries(idx, queries);
    const signalsRoot = join(space.dataDir, 'projects', space.spaceId, 'state', 'signals');
    let withSignals = 0;
    for (const f of await walk(signalsRoot)) {
      const rel = relative(signalsRoot, f)
        .split(sep)
        .join('/')
        .replace(/\.json$/, '');
      const s = JSON.parse(await readFile(f, 'utf8')) as {
        importance: number;
        recency: number;
        maturity: 'draft' | 'validated' | 'core';
      };
      idx.setSignals(rel, { importance: s.importance, recency: s.recency, maturity: s.maturity });
      withSignals++;
    }
    const signalled = timeQueries(idx, queries);
    const stats = idx.stats();
    const sample = idx.query(queries[0] ?? 'cache', 1)[0];
    idx.close();

    // The same notes as v3 markdown (before conversion), indexed the same way: v4's own cost.
    const v3 = createRecallIndex({ excerptChars: 200 });
    v3.addBatch(
      Array.from({ length: size }, (_, i) => {
        const n = generateV3Note(i, vocab, SEED + size);
        return { path: `${n.path}.md`, doc: n.text };
      }),
    );
    const v3Times = timeQueries(v3, queries);
    v3.close();

    // Baseline: re-read and re-parse the whole tree for every query.
    const base: number[] = [];
    for (const q of queries.slice(0, BASELINE_QUERIES)) {
      const t = process.hrtime.bigint();
      const fresh = await readTopics(space.tree);
      const once = createRecallIndex({ excerptChars: 200 });
      once.addBatch(fresh.docs);
      once.query(q, 10);
      once.close();
      base.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    base.sort((a, b) => a - b);
    const baseMedian = quantile(base, 0.5);

    console.log(
      `indexed ${stats.documents} topics (${skipped} non-topic files skipped: _manifest.json, index.html, .brv/_migrations/), ` +
        `${warnings} parser warnings, load (walk + read + parse + index) ${ms(loadMs)}, ${(stats.memoryBytes / 2 ** 20).toFixed(1)} MiB`,
    );
    if (sample) console.log(`sample hit: ${sample.path} → ${sample.elementType ?? '-'} ${sample.elementId ?? ''}`);
    const rows = [
      ['engine', 'median', 'p99', 'CPU median', 'CPU p99', 'mean hits'],
      [
        'claw (live index)',
        ms(plain.median),
        ms(plain.p99),
        ms(plain.cpuMedian),
        ms(plain.cpuP99),
        plain.hits.toFixed(1),
      ],
      [
        `claw + signals (${withSignals} topics)`,
        ms(signalled.median),
        ms(signalled.p99),
        ms(signalled.cpuMedian),
        ms(signalled.cpuP99),
        signalled.hits.toFixed(1),
      ],
      [
        'claw, same notes as v3 markdown',
        ms(v3Times.median),
        ms(v3Times.p99),
        ms(v3Times.cpuMedian),
        ms(v3Times.cpuP99),
        v3Times.hits.toFixed(1),
      ],
      [
        `re-read + re-parse per query (${BASELINE_QUERIES} q)`,
        ms(baseMedian),
        ms(base[base.length - 1] ?? NaN),
        '-',
        '-',
        '-',
      ],
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    console.log(
      rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n'),
    );
    const wallMet = plain.median <= 0.25 && plain.p99 <= 1 && signalled.median <= 0.25 && signalled.p99 <= 1;
    const cpuMet = plain.cpuMedian <= 0.25 && plain.cpuP99 <= 1 && signalled.cpuMedian <= 0.25 && signalled.cpuP99 <= 1;
    console.log(
      `claw vs re-read-per-query: median ${(baseMedian / plain.median).toFixed(0)}× faster (with signals ${(baseMedian / signalled.median).toFixed(0)}×)\n` +
        `targets median ≤ 0.25 ms, p99 ≤ 1 ms: wall ${wallMet ? 'met' : 'missed'}, CPU time ${cpuMet ? 'met' : 'MISSED'} ` +
        `(load average ${loadavg()[0]?.toFixed(1)} on ${cpus().length} CPUs: a wall p99 above the CPU p99 is time other processes held the core)`,
    );
    if (!cpuMet) failed = true;
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}
process.exit(failed ? 1 : 0);
