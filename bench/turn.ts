/**
 * Turn benchmark: `node --import tsx bench/turn.ts [sizes…]` (default 1000 10000).
 *
 * What a turn costs for memory, measured the way each plugin does it, in the same run:
 * - **claw-byterover**: the context engine's `assemble` (lib/openclaw/engine.ts) over the native
 *   recall index, in-process: prompt → recall (k = 6) → budgeted system-prompt addition. Median and p99
 *   of 200 prompts × 3 passes, after the tree is open; plus the time to open and index the tree (once
 *   per gateway process, off the turn path) and how many turns would have hit the default 250 ms
 *   deadline.
 * - **a `brv` subprocess per turn**, as ByteRover's own OpenClaw plugin does (it spawns `brv query`
 *   before every turn). `brv query` needs an LLM provider, which this offline machine has not, so the
 *   baseline is `brv search` (byterover-cli 3.14.0, offline, daemon warm): the same spawn + daemon
 *   round trip without the LLM, i.e. a lower bound of what `brv query` costs. 20 prompts. At 10,000
 *   notes brv 3.14's cold search can fail (its agent indexes synchronously and the daemon drops it):
 *   that is reported, not hidden;
 * - **the floor of any subprocess per turn**: spawning `node -e ''` and waiting for it (20 times), a
 *   bound no per-turn CLI can beat, measured at every size so a ratio exists even when brv fails.
 * Trees: bench/recall/generate.ts's seeded synthetic notes (200–800 words, Zipf vocabulary). Prints a
 * table and the ratios. Exits 1 when the native engine is not available.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../lib/log/index.js';
import { loadNativeRecall, runBrv } from '../lib/memory/index.js';
import { parsePluginConfig } from '../lib/openclaw/config.js';
import { createContextEngine } from '../lib/openclaw/engine.js';
import type { AgentMessage } from '../lib/openclaw/host.js';
import { PluginRuntime } from '../lib/openclaw/runtime.js';
import { brvColdQuery, ensureBrv, startOfflineBrv } from '../test/interop/helpers/brv.js';
import { generateDocs, generateQueries, vocabulary, writeTree } from './recall/generate.js';

const SEED = 20_251_124;
const PROMPTS = 200;
const PASSES = 3;
const BRV_PROMPTS = 20;
const DEFAULT_DEADLINE_MS = 250;
const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
if (sizes.length === 0) sizes.push(1000, 10_000);

const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
const f = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : '-');
const ms = (n: number): string =>
  !Number.isFinite(n) ? '-' : n < 1 ? `${f(n * 1000, 0)} µs` : n < 100 ? `${f(n, 2)} ms` : `${f(n, 0)} ms`;
const ratio = (base: number, ours: number): string =>
  ours > 0 && Number.isFinite(base) ? `${f(base / ours, 0)}×` : '-';

/** A user turn around the query words, as an agent would receive it. */
const promptOf = (q: string): string =>
  `Before I change it: how is ${q} handled in this project, and what did we decide about it?`;
const history: AgentMessage[] = [
  { role: 'user', content: [{ type: 'text', text: 'We are reviewing the service before the release.' }] },
  { role: 'assistant', content: [{ type: 'text', text: 'Understood. Which part first?' }] },
];

interface EngineFigures {
  openMs: number;
  medianMs: number;
  p99Ms: number;
  turns: number;
  withAddition: number;
  overDeadline: number;
  meanTokens: number;
}

async function benchEngine(project: string, prompts: string[]): Promise<EngineFigures> {
  // A deadline far above any turn, so the figures are the true latency (the default would clip them).
  const config = parsePluginConfig({
    projectDir: project,
    backend: 'native',
    recall: { deadlineMs: 10_000 },
    logLevel: 'warn',
  });
  const rt = new PluginRuntime({ config, logger: createLogger({ level: 'warn' }), watch: false });
  try {
    const t0 = performance.now();
    const mem = await rt.memory(undefined);
    const openMs = performance.now() - t0;
    if (mem.engine !== 'native') throw new Error(`expected the native engine, got ${mem.engine}`);
    const engine = createContextEngine({ runtime: rt });
    const times: number[] = [];
    let withAddition = 0;
    let tokens = 0;
    for (const p of prompts.slice(0, 10))
      await engine.assemble({ sessionId: 'warm', messages: history, prompt: p, tokenBudget: 32_000 });
    for (let pass = 0; pass < PASSES; pass++) {
      for (const p of prompts) {
        const t = performance.now();
        const r = await engine.assemble({ sessionId: 'bench', messages: history, prompt: p, tokenBudget: 32_000 });
        times.push(performance.now() - t);
        if (r.systemPromptAddition) {
          withAddition++;
          tokens += Math.ceil(r.systemPromptAddition.length / 4);
        }
      }
    }
    times.sort((a, b) => a - b);
    return {
      openMs,
      medianMs: quantile(times, 0.5),
      p99Ms: quantile(times, 0.99),
      turns: times.length,
      withAddition,
      overDeadline: times.filter((t) => t > DEFAULT_DEADLINE_MS).length,
      meanTokens: withAddition ? tokens / withAddition : 0,
    };
  } finally {
    await rt.close();
  }
}

interface BrvFigures {
  coldMs: number;
  medianMs: number;
  p99Ms: number;
  turns: number;
  overDeadline: number;
}

async function benchBrv(project: string, prompts: string[]): Promise<BrvFigures | { error: string }> {
  const { brv, binDir } = await ensureBrv((l) => console.log(l));
  const env = await startOfflineBrv(binDir);
  try {
    // What a per-turn plugin does: spawn brv with the prompt, read its last JSON line.
    const turn = (p: string) =>
      runBrv(['search', '--format', 'json', '--limit', '6', '--', p], {
        brvPath: brv,
        cwd: project,
        env: env.env,
        timeoutMs: 300_000,
      });
    const cold = await brvColdQuery(turn, prompts[0] ?? 'cache', 'turn');
    if ('error' in cold) return cold;
    const { coldMs } = cold;
    await turn(prompts[1] ?? 'index');
    const times: number[] = [];
    for (const p of prompts) {
      const t = performance.now();
      await turn(p);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    return {
      coldMs,
      medianMs: quantile(times, 0.5),
      p99Ms: quantile(times, 0.99),
      turns: times.length,
      overDeadline: times.filter((t) => t > DEFAULT_DEADLINE_MS).length,
    };
  } finally {
    await env.stop();
  }
}

/** Median and p99 of spawning `node -e ''` and waiting for its exit. */
async function benchSpawnFloor(n: number): Promise<{ medianMs: number; p99Ms: number }> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await new Promise<void>((res, rej) => {
      const c = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
      c.on('error', rej);
      c.on('close', () => res());
    });
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { medianMs: quantile(times, 0.5), p99Ms: quantile(times, 0.99) };
}

const native = await loadNativeRecall();
if (!native.factory) {
  console.error(
    `turn benchmark: the native recall engine is not available (${native.reason}); build it with \`npm run build:native\`.`,
  );
  process.exit(1);
}
const vocab = vocabulary(SEED);
const prompts = generateQueries(PROMPTS, SEED, vocab).map(promptOf);
console.log(
  `turn benchmark, seed ${SEED}: assemble ${PROMPTS} prompts × ${PASSES} passes (k = 6, 32k-token budget); brv: ${BRV_PROMPTS} prompts; node ${process.version}; ` +
    `${cpus().length} CPUs, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at start`,
);

for (const size of sizes) {
  const project = await mkdtemp(join(tmpdir(), `claw-turn-bench-${size}-`));
  try {
    const bytes = await writeTree(project, generateDocs(size, SEED + size, vocab));
    console.log(`\n${size.toLocaleString('en')} notes, ${f(bytes / 2 ** 20)} MiB, in ${project}`);
    const e = await benchEngine(project, prompts);
    const b = await benchBrv(project, prompts.slice(0, BRV_PROMPTS));
    const floor = await benchSpawnFloor(BRV_PROMPTS);
    const rows = [
      ['per turn', 'median', 'p99', `> ${DEFAULT_DEADLINE_MS} ms`, 'once per process'],
      [
        'claw-byterover assemble (native, in-process)',
        ms(e.medianMs),
        ms(e.p99Ms),
        `${e.overDeadline}/${e.turns}`,
        `open + index ${ms(e.openMs)}`,
      ],
      'error' in b
        ? ['brv search subprocess (ByteRover plugin style)', 'failed', '-', '-', '-']
        : [
            'brv search subprocess (ByteRover plugin style)',
            ms(b.medianMs),
            ms(b.p99Ms),
            `${b.overDeadline}/${b.turns}`,
            `cold first turn ${ms(b.coldMs)}`,
          ],
      ["node -e '' subprocess (floor of any per-turn CLI)", ms(floor.medianMs), ms(floor.p99Ms), '-', '-'],
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    console.log(
      rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n'),
    );
    console.log(`addition on ${e.withAddition}/${e.turns} turns, mean ${f(e.meanTokens, 0)} tokens`);
    if ('error' in b) console.log(`brv search failed at this size: ${b.error}`);
    else
      console.log(
        `assemble vs a brv subprocess per turn: median ${ratio(b.medianMs, e.medianMs)} faster, p99 ${ratio(b.p99Ms, e.p99Ms)} faster`,
      );
    console.log(
      `assemble vs the bare cost of spawning a process per turn: median ${ratio(floor.medianMs, e.medianMs)} faster, p99 ${ratio(floor.p99Ms, e.p99Ms)} faster`,
    );
  } finally {
    await rm(project, { recursive: true, force: true });
  }
}
