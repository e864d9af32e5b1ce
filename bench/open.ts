/**
 * Cold-start benchmark (issue 15): `node --import tsx bench/open.ts [sizes…]` (default 1000 10000).
 *
 * What a user pays before the first answer, each figure beside a baseline measured in the same run:
 * - `claw-byterover --version` and `--help` as whole processes, paired with a bare `node -e 0` (run
 *   alternately, medians compared): the cost of the CLI's module loading;
 * - `claw-byterover search <q>` as a whole process on a generated tree (bench/recall/generate.ts,
 *   brv's curated-note layout) of each size: the first run (no persisted index: it builds and saves
 *   one) and warm runs (they load it), each paired with `node -e 0`; at 10,000 notes also warm runs
 *   with a config file as `config set` writes it (plain top-level keys: read without yaml or zod);
 * - `LocalMemory.open` in-process at each size, without and with the persisted index (the first
 *   search run above saved it): median wall time of a few opens, and their CPU time (all threads) —
 *   on a loaded machine wall time includes waiting for a core, CPU time does not.
 * With GNU time installed, each child's CPU time (user + system) is printed beside its wall time: on
 * a shared machine the wall time includes waiting for a core. The children are spawned from a small
 * process of their own (bench/open-runner.ts, run by a bare node), unwrapped for the wall times, so
 * that neither this process's size nor GNU time adds to both sides of a pair (which flattered a
 * ratio 4.3× → 3.7×): as a shell would spawn them.
 * Targets (issue 15): --version ≤ 2× bare node; warm search at 10,000 notes ≤ 4× bare node; a first
 * run ≤ 1.5 s; LocalMemory.open at 10,000 ≤ 1 s without a persisted index (≤ 150 ms with one).
 * The CLI runs from dist/ (built here first, as `npm run build:ts` does: tsc, then the CLI bundle, whose
 * V8 code cache the first CLI process writes under HOME and the later ones use; a row shows a warm
 * search without it).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateDocs, vocabulary, writeTree } from './recall/generate.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The executable npm links as `claw-byterover` (package.json bin).
const cli = join(root, 'dist', 'cli', 'bin.js');
const SEED = 20_251_124;
const PAIRS = Number(process.env.BENCH_OPEN_PAIRS ?? 9);
const OPENS = Number(process.env.BENCH_OPEN_OPENS ?? 3);
const sizes = process.argv
  .slice(2)
  .filter((a) => !a.startsWith('--') && process.argv[process.argv.indexOf(a) - 1] !== '--scale')
  .map(Number)
  .filter((n) => n > 0);
if (sizes.length === 0) sizes.push(1000, 10_000);

interface Row {
  what: string;
  ms: number;
  baseMs?: number;
  target?: string;
  met?: boolean;
  /** CPU time (all threads): of the measured call in-process, or of the child process. */
  cpuMs?: number;
  baseCpuMs?: number;
}
const rows: Row[] = [];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** CPU runs per figure (under GNU time, apart from the wall-time pairs). */
const CPU_RUNS = Number(process.env.BENCH_OPEN_CPU_RUNS ?? 3);

interface Timing {
  ms: number;
  baseMs: number;
  cpuMs: number;
  baseCpuMs: number;
}

/**
 * Times `node <args>` against `node -e 0` from bench/open-runner.ts, a small process of its own (see
 * there: spawning from this grown process, or under GNU time, adds the same milliseconds to both
 * sides and flatters the ratio): `runs` alternating pairs (medians), or one run each when `once`.
 */
function timings(
  jobs: Array<{ args: string[]; cwd: string; env: NodeJS.ProcessEnv; runs: number; once?: boolean }>,
): Timing[] {
  const input = JSON.stringify({ jobs: jobs.map((j) => ({ cpuRuns: j.once ? 0 : CPU_RUNS, ...j })) });
  const r = spawnSync(process.execPath, [runnerScript()], { cwd: root, input, maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`bench/open-runner.ts exited ${r.status}: ${r.stderr.toString().slice(0, 800)}`);
  // (JSON has no NaN: a CPU time GNU time did not give comes back as null.)
  const nan = (v: number | null): number => (v === null ? NaN : v);
  return (JSON.parse(r.stdout.toString()) as Array<Record<keyof Timing, number | null>>).map((t) => ({
    ms: nan(t.ms),
    baseMs: nan(t.baseMs),
    cpuMs: nan(t.cpuMs),
    baseCpuMs: nan(t.baseCpuMs),
  }));
}

let runnerJs: string | undefined;

/**
 * bench/open-runner.ts as plain JavaScript (TypeScript's transpileModule, types stripped), run by a
 * bare node: with tsx's loader the runner process grows and each spawn from it costs more.
 */
function runnerScript(): string {
  if (runnerJs) return runnerJs;
  const require = createRequire(import.meta.url);
  const ts = require('typescript') as typeof import('typescript');
  const source = readFileSync(join(root, 'bench', 'open-runner.ts'), 'utf8');
  const js = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  runnerJs = join(mkdtempSync(join(tmpdir(), 'claw-bench-runner-')), 'open-runner.mjs');
  writeFileSync(runnerJs, js);
  return runnerJs;
}

/** `runs` alternating pairs (bare node, the command): both medians, wall and CPU. */
function paired(args: string[], cwd: string, env: NodeJS.ProcessEnv, runs: number): Timing {
  return timings([{ args, cwd, env, runs }])[0] as Timing;
}

/** dist/ as `npm run build:ts` makes it: tsc, then the CLI bundle the executable runs. */
async function buildDist(): Promise<void> {
  const { build } = await import('../scripts/build-ts.mjs');
  if ((await build(root, () => undefined)) !== 0 || !existsSync(cli)) throw new Error('`npm run build:ts` failed');
}

async function main(): Promise<void> {
  await buildDist();
  const work = await mkdtemp(join(tmpdir(), 'claw-bench-open-'));
  const home = join(work, 'home');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
  };
  try {
    console.log(
      `machine: load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; ${PAIRS} pairs per figure; node ${process.version}`,
    );
    // Every child (the CLI and the bare node beside it) gets this environment and nothing else: no
    // NODE_OPTIONS, no NODE_EXTRA_CA_CERTS (which alone adds ~30 ms to each node start here).
    console.log(`child env: ${Object.keys(env).join(', ')} (HOME: an empty temp dir, so no config file)`);
    const v = paired([cli, '--version'], work, env, PAIRS);
    rows.push({ what: 'claw-byterover --version', ...v, target: '≤ 2× node', met: v.ms <= 2 * v.baseMs });
    // The top-level help lists every command without loading a command module (lib/cli/commands/index.ts).
    rows.push({ what: 'claw-byterover --help', ...paired([cli, '--help'], work, env, PAIRS) });

    const { LocalMemory } = await import('../lib/memory/local.js');
    const { logger } = await import('../lib/log/index.js');
    const quiet = logger.child({}, { level: 'error' });
    const words = vocabulary(SEED);
    for (const n of sizes) {
      const project = join(work, `tree-${n}`);
      await writeTree(project, generateDocs(n, SEED, words));
      const stateDir = join(project, '.brv', 'claw-byterover');
      const search = [cli, 'search', 'retry', 'cache'];
      // First run: nothing persisted for this tree.
      await rm(stateDir, { recursive: true, force: true });
      const first = timings([{ args: search, cwd: project, env, runs: 1, once: true }])[0] as Timing;
      rows.push({
        what: `search, ${n} notes, first run`,
        ...first,
        target: '≤ 1500 ms',
        met: first.ms <= 1500,
      });
      const warm = paired(search, project, env, PAIRS);
      rows.push({
        what: `search, ${n} notes, warm`,
        ...warm,
        ...(n >= 10_000 ? { target: '≤ 4× node', met: warm.ms <= 4 * warm.baseMs } : {}),
      });
      if (n >= 10_000) {
        // A user who ran `config set team …`: the config file is read without the YAML parser or zod
        // (lib/config/fast.ts) when it holds plain top-level keys.
        const config = join(home, '.config', 'claw-byterover');
        await mkdir(config, { recursive: true });
        await writeFile(join(config, 'config.yaml'), 'team: bench-team\nbranch: main\n');
        const withFile = paired(search, project, env, PAIRS);
        await rm(config, { recursive: true, force: true });
        rows.push({ what: `search, ${n} notes, warm, plain config file`, ...withFile });
        // The first runs after an install or upgrade: no V8 code cache for the CLI bundle yet
        // (lib/cli/code-cache.ts), so every function it runs is compiled.
        const uncached = paired(search, project, { ...env, CLAW_BYTEROVER_CODE_CACHE: 'off' }, PAIRS);
        rows.push({ what: `search, ${n} notes, warm, no code cache`, ...uncached });
      }
      // In-process opens: without the persisted index (built from the tree), then with it.
      for (const persist of [false, true]) {
        const opens: number[] = [];
        const cpu: number[] = [];
        for (let i = 0; i < OPENS; i++) {
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          const mem = await LocalMemory.open({ projectRoot: project, watch: false, persist, logger: quiet });
          opens.push(performance.now() - t0);
          const c = process.cpuUsage(c0);
          cpu.push((c.user + c.system) / 1000);
          if (persist && !mem.persist?.loaded) throw new Error('the persisted index was not loaded');
          await mem.close();
        }
        const limit = persist ? 150 : 1000;
        rows.push({
          what: `LocalMemory.open, ${n} notes, ${persist ? 'persisted index' : 'no persisted index'}`,
          ms: median(opens),
          cpuMs: median(cpu),
          ...(n >= 10_000 ? { target: `≤ ${limit} ms`, met: median(opens) <= limit } : {}),
        });
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
    if (runnerJs) await rm(dirname(runnerJs), { recursive: true, force: true });
  }
  const w = Math.max(...rows.map((r) => r.what.length));
  console.log(
    `${'figure'.padEnd(w)}  ${'median ms'.padStart(10)}  ${'node -e 0'.padStart(10)}  ${'ratio'.padStart(6)}  target`,
  );
  for (const r of rows) {
    const ratio = r.baseMs ? `${(r.ms / r.baseMs).toFixed(1)}×` : '';
    // GNU time counts in 10 ms steps: a bare node's CPU (often 0–10 ms) is too coarse for a ratio.
    const cpu =
      r.cpuMs === undefined || Number.isNaN(r.cpuMs)
        ? ''
        : ` (CPU ${r.cpuMs.toFixed(0)} ms${r.baseCpuMs !== undefined && !Number.isNaN(r.baseCpuMs) ? `; node -e 0: ${r.baseCpuMs.toFixed(0)} ms` : ''})`;
    const target = `${r.target ? `${r.target} ${r.met ? 'met' : 'NOT met'}` : ''}${cpu}`;
    console.log(
      `${r.what.padEnd(w)}  ${r.ms.toFixed(0).padStart(10)}  ${r.baseMs === undefined ? ''.padStart(10) : r.baseMs.toFixed(0).padStart(10)}  ${ratio.padStart(6)}  ${target}`,
    );
  }
}

/**
 * `--scale N` (e.g. 100000): a tree of N notes built, persisted and queried in this process: build
 * time (walk + read + index, no persisted index), index file size, resident memory, query median and
 * p99 (200 queries × 5), then a warm open from the persisted index. Not part of `npm run bench`
 * (generating 100,000 notes writes ~390 MB).
 */
async function scale(n: number): Promise<void> {
  const { LocalMemory } = await import('../lib/memory/local.js');
  const { logger } = await import('../lib/log/index.js');
  const { generateQueries } = await import('./recall/generate.js');
  const quiet = logger.child({}, { level: 'error' });
  const work = await mkdtemp(join(tmpdir(), 'claw-bench-scale-'));
  try {
    const words = vocabulary(SEED);
    const t0 = performance.now();
    const bytes = await writeTree(work, generateDocs(n, SEED, words));
    console.log(
      `generated ${n} notes (${(bytes / 1048576).toFixed(0)} MiB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const rss0 = process.memoryUsage().rss;
    const c0 = process.cpuUsage();
    const t1 = performance.now();
    const mem = await LocalMemory.open({ projectRoot: work, watch: false, logger: quiet });
    const buildMs = performance.now() - t1;
    const cu = process.cpuUsage(c0);
    const stats = mem.tree.lastScan;
    const engine = (await mem.stats()).engine;
    const rss = process.memoryUsage().rss;
    const queries = generateQueries(200, SEED + 1, words);
    const lat: number[] = [];
    for (let rep = 0; rep < 5; rep++)
      for (const q of queries) {
        const t = performance.now();
        await mem.search(q, { k: 10 });
        lat.push(performance.now() - t);
      }
    lat.sort((a, b) => a - b);
    const p99 = lat[Math.floor(lat.length * 0.99)] as number;
    const file = mem.persist?.bytes ?? 0;
    await mem.close();
    const warm: number[] = [];
    let warmRss = 0;
    for (let i = 0; i < 3; i++) {
      const r0 = process.memoryUsage().rss;
      const t = performance.now();
      const m2 = await LocalMemory.open({ projectRoot: work, watch: false, logger: quiet });
      warm.push(performance.now() - t);
      if (!m2.persist?.loaded) throw new Error('the persisted index was not loaded');
      warmRss = Math.max(warmRss, process.memoryUsage().rss - r0);
      await m2.close();
    }
    console.log(`notes                          ${n} (walk read ${stats?.read ?? '?'} files)`);
    console.log(
      `build (open, no persisted)     ${(buildMs / 1000).toFixed(2)} s wall, ${((cu.user + cu.system) / 1e6).toFixed(2)} s CPU (target: —)`,
    );
    console.log(`index file on disk             ${(file / 1048576).toFixed(0)} MiB`);
    console.log(
      `index memory (engine)          ${((engine?.memoryBytes ?? 0) / 1048576).toFixed(0)} MiB (target ≤ 1024 MiB)`,
    );
    console.log(
      `process RSS growth after build ${((rss - rss0) / 1048576).toFixed(0)} MiB (RSS ${(rss / 1048576).toFixed(0)} MiB)`,
    );
    console.log(`query median / p99            ${median(lat).toFixed(3)} / ${p99.toFixed(3)} ms (target p99 ≤ 2 ms)`);
    console.log(`warm open (persisted index)    ${median(warm).toFixed(0)} ms median of 3 (target ≤ 1000 ms)`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const scaleAt = process.argv.indexOf('--scale');
if (scaleAt !== -1) await scale(Number(process.argv[scaleAt + 1] ?? 100_000));
else await main();
