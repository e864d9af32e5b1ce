/**
 * Retrieval quality on a brv-bench ground-truth file (default: ../shared/data/locomo-dev.json, half
 * of LoCoMo as brv-bench transforms it; override with QUALITY_DATA=<file>). Every engine of
 * bench/quality/engines.ts is built from the same corpus in this run and answers every query at
 * limit 10; brv-bench's metrics (bench/quality/metrics.ts) are printed overall and per category,
 * with the ratio of our nDCG@10 to the best FTS5 baseline's. Exit status 1 when our engine is below
 * FTS5 on nDCG@10 (the bar).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clawEngine, fts5Engine, minisearchEngine, type Doc, type Engine } from './quality/engines.js';
import { LIMIT, mean, METRIC_NAMES, scoreQuery, type Scores } from './quality/metrics.js';

interface Entry {
  query: string;
  expected_doc_ids: string[];
  category?: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const file = resolve(process.env.QUALITY_DATA ?? join(here, '../../shared/data/locomo-dev.json'));
if (!existsSync(file)) {
  console.error(
    `bench/quality: expected the brv-bench ground truth at ${file}, found nothing; set QUALITY_DATA=<file> ({corpus:[{doc_id,content}], entries:[{query,expected_doc_ids,category}]})`,
  );
  process.exit(2);
}
const data = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; corpus: Doc[]; entries: Entry[] };
console.log(
  `${data.name ?? file}: ${data.corpus.length} documents, ${data.entries.length} queries, limit ${LIMIT} (brv-bench metrics)`,
);

const engines: Engine[] = [
  clawEngine(data.corpus, 'md'),
  clawEngine(data.corpus, 'v4'),
  fts5Engine(data.corpus, 'unicode61'),
  fts5Engine(data.corpus, 'porter unicode61'),
  minisearchEngine(data.corpus),
];

const categories = [...new Set(data.entries.map((e) => e.category ?? 'all'))].sort();
const perEngine = new Map<string, { all: Scores; byCat: Map<string, Scores>; ms: number }>();
for (const engine of engines) {
  const scores: Scores[] = [];
  const byCat = new Map<string, Scores[]>();
  const t0 = process.hrtime.bigint();
  for (const e of data.entries) {
    const s = scoreQuery(engine.search(e.query).slice(0, LIMIT), e.expected_doc_ids);
    scores.push(s);
    const c = e.category ?? 'all';
    byCat.set(c, [...(byCat.get(c) ?? []), s]);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  perEngine.set(engine.name, {
    all: mean(scores),
    byCat: new Map([...byCat].map(([c, v]) => [c, mean(v)])),
    ms,
  });
  engine.close();
}

const pad = (s: string, n: number): string => s.padEnd(n);
const f = (v: number): string => v.toFixed(4).padStart(8);
function table(title: string, pick: (r: { all: Scores; byCat: Map<string, Scores> }) => Scores | undefined): void {
  console.log(`\n${title}`);
  console.log(pad('engine', 24) + METRIC_NAMES.map(([, n]) => n.padStart(8)).join(''));
  for (const [name, r] of perEngine) {
    const s = pick(r);
    if (s) console.log(pad(name, 24) + METRIC_NAMES.map(([k]) => f(s[k])).join(''));
  }
}
table(`all ${data.entries.length} queries`, (r) => r.all);
for (const c of categories) {
  const n = data.entries.filter((e) => (e.category ?? 'all') === c).length;
  table(`${c} (${n} queries)`, (r) => r.byCat.get(c));
}

console.log('\nquery time for all queries (in-process, one thread):');
for (const [name, r] of perEngine) console.log(`  ${pad(name, 24)} ${r.ms.toFixed(1)} ms`);

const ours = ['claw (md)', 'claw (v4)'].map((n) => perEngine.get(n)?.all.ndcg10 ?? 0);
const fts = Math.max(perEngine.get('FTS5 bm25')?.all.ndcg10 ?? 0, perEngine.get('FTS5 bm25 porter')?.all.ndcg10 ?? 0);
const mini = perEngine.get('minisearch (brv 3.14)')?.all.ndcg10 ?? 0;
console.log(
  `\nnDCG@10: claw (md) ${ours[0]?.toFixed(4)}, claw (v4) ${ours[1]?.toFixed(4)}; best FTS5 ${fts.toFixed(4)} ` +
    `(ratio ${((ours[0] ?? 0) / fts).toFixed(3)} / ${((ours[1] ?? 0) / fts).toFixed(3)}); minisearch ${mini.toFixed(4)} ` +
    `(ratio ${((ours[0] ?? 0) / mini).toFixed(3)})`,
);
if (Math.min(...ours) < fts) {
  console.log('BAR NOT MET: our engine is below FTS5 on nDCG@10');
  process.exit(1);
}
console.log('bar met: not below FTS5 on nDCG@10');
