/**
 * Recall benchmark: `node --import tsx bench/recall.ts [sizes…]` (default 1000 10000).
 *
 * For each size, a seeded synthetic context tree (bench/recall/generate.ts: 200–800 words per note,
 * Zipf-distributed real + long-tail vocabulary) is written to a temp dir, and measured:
 * - native recall (lib/native.ts createRecallIndex, through lib/memory's RecallIndex seam) and
 *   minisearch 7 configured as `brv` configures it — each in a fresh child process
 *   (bench/recall/worker.ts): index build time, RSS growth, per-query latency median and p99 over a
 *   fixed set of 200 queries × 5 passes;
 * - `brv search` (byterover-cli 3.14.0, offline, its daemon warm) as a subprocess per query, the way
 *   ByteRover's OpenClaw plugin recalls each turn: first (cold) query time, daemon RSS, and per-query
 *   wall time median and p99 over 20 queries.
 * Prints a table and the ratios native/minisearch and native/brv. Exits 1 when the native engine is
 * not available (the benchmark exists to measure it): wire it by exporting createRecallIndex from
 * lib/native.ts (see lib/memory/native-index.ts).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBrv } from '../lib/memory/brv.js';
import { loadNativeRecall } from '../lib/memory/native-index.js';
import { brvColdQuery, ensureBrv, startOfflineBrv } from '../test/interop/helpers/brv.js';
import { generateDocs, generateQueries, vocabulary, writeTree } from './recall/generate.js';

const here = dirname(fileURLToPath(import.meta.url));
const SEED = 20_251_124;
const QUERIES = 200;
const REPEATS = 5;
const BRV_QUERIES = 20;
const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
if (sizes.length === 0) sizes.push(1000, 10_000);

interface EngineFigures {
  engine: string;
  documents: number;
  buildMs: number;
  rssMb: number;
  heapMb: number;
  medianMs: number;
  p99Ms: number;
  queries: number;
  meanHits: number;
}

interface BrvFigures {
  coldMs: number;
  rssMb: number;
  medianMs: number;
  p99Ms: number;
  queries: number;
  meanHits: number;
}

function runWorker(engine: string, project: string, queriesFile: string): Promise<EngineFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        '--import',
        'tsx',
        join(here, 'recall', 'worker.ts'),
        engine,
        project,
        queriesFile,
        String(REPEATS),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{'))
        reject(new Error(`${engine} worker exited ${code}: ${out.slice(-2000)}`));
      else resolve(JSON.parse(line) as EngineFigures);
    });
  });
}

/** RSS (MiB) of every process in a process group (the brv daemon and its agent), from /proc. */
function groupRssMb(pgid: number): number {
  let kb = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue; // field 5 of stat: pgrp
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      kb += Number(m?.[1] ?? 0);
    } catch {
      // process ended meanwhile
    }
  }
  return kb / 1024;
}

const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;

/**
 * brv at large sizes can fail its cold query: its agent builds the whole index synchronously, and when
 * that blocks the agent's event loop past Socket.IO's ping timeout (5 s + 10 s in brv 3.14) the daemon
 * drops the agent ("Agent disconnected"). Tried up to 3 times; a failure is reported, not hidden.
 */
async function benchBrv(project: string, queries: string[]): Promise<BrvFigures | { error: string }> {
  const { brv, binDir } = await ensureBrv((l) => console.log(l));
  const env = await startOfflineBrv(binDir);
  try {
    const run = (q: string) =>
      runBrv(['search', '--format', 'json', '--limit', '10', '--', q], {
        brvPath: brv,
        cwd: project,
        env: env.env,
        timeoutMs: 300_000,
      });
    const cold = await brvColdQuery(run, queries[0] ?? 'cache', 'query');
    if ('error' in cold) return cold;
    const { coldMs } = cold;
    await run(queries[1] ?? 'index'); // warm
    const times: number[] = [];
    let hits = 0;
    for (const q of queries) {
      const t = performance.now();
      const r = await run(q);
      times.push(performance.now() - t);
      hits += Array.isArray(r.data.results) ? r.data.results.length : 0;
    }
    times.sort((a, b) => a - b);
    const daemon = JSON.parse(readFileSync(join(env.env.BRV_DATA_DIR as string, 'daemon.json'), 'utf8')) as {
      pid: number;
    };
    return {
      coldMs,
      rssMb: groupRssMb(daemon.pid),
      medianMs: quantile(times, 0.5),
      p99Ms: quantile(times, 0.99),
      queries: times.length,
      meanHits: hits / queries.length,
    };
  } finally {
    await env.stop();
  }
}

const f = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : '-');
const ms = (n: number): string =>
  !Number.isFinite(n) ? '-' : n < 1 ? `${f(n * 1000, 0)} µs` : n < 100 ? `${f(n, 2)} ms` : `${f(n, 0)} ms`;
const ratio = (base: number, ours: number): string =>
  ours > 0 && Number.isFinite(base) ? `${f(base / ours, 1)}×` : '-';

const native = await loadNativeRecall();
const vocab = vocabulary(SEED);
const queries = generateQueries(QUERIES, SEED, vocab);
const report: string[] = [];
console.log(
  `recall benchmark, seed ${SEED}, ${queries.length} queries × ${REPEATS} passes (k = 10); brv: ${BRV_QUERIES} queries; node ${process.version}; ` +
    `${cpus().length} CPUs, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at start`,
);

for (const size of sizes) {
  const project = await mkdtemp(join(tmpdir(), `claw-recall-bench-${size}-`));
  try {
    const docs = generateDocs(size, SEED + size, vocab);
    const bytes = await writeTree(project, docs);
    const queriesFile = join(project, 'queries.json');
    await writeFile(queriesFile, JSON.stringify(queries));
    console.log(`\n${size.toLocaleString('en')} notes, ${f(bytes / 2 ** 20)} MiB, in ${project}`);
    const engines: EngineFigures[] = [];
    if (native.factory) engines.push(await runWorker('native', project, queriesFile));
    engines.push(await runWorker('minisearch', project, queriesFile));
    const brvResult = await benchBrv(project, queries.slice(0, BRV_QUERIES));
    const brv: BrvFigures =
      'error' in brvResult
        ? { coldMs: NaN, rssMb: NaN, medianMs: NaN, p99Ms: NaN, queries: 0, meanHits: NaN }
        : brvResult;

    const rows = [
      ['engine', 'index build', 'RSS Δ', 'heap Δ', 'median', 'p99', 'mean hits'],
      ...engines.map((e) => [
        e.engine,
        ms(e.buildMs),
        `${f(e.rssMb, 0)} MiB`,
        `${f(e.heapMb, 0)} MiB`,
        ms(e.medianMs),
        ms(e.p99Ms),
        f(e.meanHits),
      ]),
      'error' in brvResult
        ? ['brv search (subprocess)', 'failed', '-', '-', '-', '-', '-']
        : [
            'brv search (subprocess)',
            `${ms(brv.coldMs)} (cold 1st query)`,
            `${f(brv.rssMb, 0)} MiB (daemon)`,
            '-',
            ms(brv.medianMs),
            ms(brv.p99Ms),
            f(brv.meanHits),
          ],
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    const table = rows
      .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '))
      .join('\n');
    console.log(table);
    const ms_ = engines.find((e) => e.engine === 'minisearch')!;
    const nat = engines.find((e) => e.engine === 'native');
    const lines: string[] = [];
    if (nat) {
      lines.push(
        `native vs minisearch: build ${ratio(ms_.buildMs, nat.buildMs)} faster, RSS ${ratio(ms_.rssMb, nat.rssMb)} smaller, median ${ratio(ms_.medianMs, nat.medianMs)} faster, p99 ${ratio(ms_.p99Ms, nat.p99Ms)} faster`,
      );
      if (!('error' in brvResult))
        lines.push(
          `native vs brv search per turn: median ${ratio(brv.medianMs, nat.medianMs)} faster, p99 ${ratio(brv.p99Ms, nat.p99Ms)} faster`,
        );
    }
    if ('error' in brvResult) lines.push(`brv search failed at this size: ${brvResult.error}`);
    else
      lines.push(
        `minisearch (in-process) vs brv search (subprocess) per turn: median ${ratio(brv.medianMs, ms_.medianMs)} faster`,
      );
    console.log(lines.join('\n'));
    report.push(`${size}: ${lines.join('; ')}`);
  } finally {
    await rm(project, { recursive: true, force: true });
  }
}

if (!native.factory) {
  console.error(
    `\nnative: not yet available (${native.reason}). Export createRecallIndex() from lib/native.ts to measure it; failing until then.`,
  );
  process.exit(1);
}
