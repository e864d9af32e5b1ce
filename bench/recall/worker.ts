/**
 * One engine, measured in a fresh process (so its resident memory is its own):
 *   node --expose-gc --import tsx bench/recall/worker.ts <engine> <projectRoot> <queries.json> <repeats>
 * Reads every note of the tree into memory first (not timed: the same for every engine), then times
 * the index build, measures the RSS growth it caused (after a GC), warms up with one pass of the
 * queries, then times `repeats` passes of query(text, 10). Prints one JSON line.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MiniSearchIndex } from './minisearch-index.js';
import { loadNativeRecall } from '../../lib/memory/native-index.js';
import type { RecallIndex } from '../../lib/memory/types.js';

const [engine = '', project = '', queriesFile = '', repeatsArg = '5'] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

async function engineFactory(name: string): Promise<() => RecallIndex> {
  if (name === 'minisearch') return () => new MiniSearchIndex();
  if (name === 'native') {
    const n = await loadNativeRecall();
    if (!n.factory) throw new Error(`native recall not available: ${n.reason}`);
    return n.factory;
  }
  throw new Error(`unknown engine ${name}`);
}

async function readTree(root: string): Promise<Array<{ path: string; doc: string }>> {
  const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith('.md')).sort();
  return Promise.all(files.map(async (f) => ({ path: f, doc: await readFile(join(root, f), 'utf8') })));
}

const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;

const create = await engineFactory(engine);
const docs = await readTree(join(project, '.brv', 'context-tree'));
const queries = JSON.parse(await readFile(queriesFile, 'utf8')) as string[];
gc();
gc();
const rss0 = process.memoryUsage().rss;
const heap0 = process.memoryUsage().heapUsed;
const t0 = process.hrtime.bigint();
const index = create();
if (index.addBatch) index.addBatch(docs);
else for (const d of docs) index.add(d.path, d.doc);
const buildMs = Number(process.hrtime.bigint() - t0) / 1e6;
gc();
gc();
const rssMb = (process.memoryUsage().rss - rss0) / 2 ** 20;
const heapMb = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
let hits = 0;
for (const q of queries) hits += index.query(q, 10).length;
const times: number[] = [];
for (let r = 0; r < Number(repeatsArg); r++) {
  for (const q of queries) {
    const t = process.hrtime.bigint();
    index.query(q, 10);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
}
times.sort((a, b) => a - b);
const stats = index.stats();
process.stdout.write(
  `${JSON.stringify({
    engine,
    documents: stats.documents,
    buildMs,
    rssMb,
    heapMb,
    medianMs: quantile(times, 0.5),
    p99Ms: quantile(times, 0.99),
    queries: times.length,
    meanHits: hits / queries.length,
  })}\n`,
);
index.close?.();
