/**
 * The parse cost oracle (native/fuzz/parse_cost_fuzz.cc + parse_cost_libc.c): every parser that
 * sees remote or user text (markdown + frontmatter, the whole indexing path, excerpts, the v4
 * <bv-topic> HTML parser) does work linear in its input. Work is counted, not timed: edges executed
 * in the engine (compiled with -fsanitize-coverage=trace-pc-guard) plus bytes scanned by the libc
 * scanning functions, so the verdict does not depend on machine load. Three runs:
 *   1. the generator table: every unclosed construct (issue 13's `[a](`, `![x](`, `[a](b`, `[a][`,
 *      `<a `, `<http://` and ~50 more) × every parser at 16 KiB and 256 KiB;
 *   2. the committed corpus (native/fuzz/corpus/parse_cost/: the units that were quadratic before);
 *   3. a random run: PARSE_COST_RUNS units (default 2000) from fragments of every construct, seed
 *      PARSE_COST_SEED (default fixed, so CI is reproducible); a finding is written to a scratch
 *      directory and named in the failure (copy it into the corpus to keep it).
 * Each run asserts work/byte <= 100 at 256 KiB and a per-byte cost that does not grow with size.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools } from '../helpers/tools.js';
import { ROOT } from './helpers.js';
import { hangGuard } from '../helpers/timeout.js';

const CORPUS = join(ROOT, 'native', 'fuzz', 'corpus', 'parse_cost');
const RUNS = Number(process.env.PARSE_COST_RUNS ?? 2000);
const SEED = Number(process.env.PARSE_COST_SEED ?? 20261207);

function run(cmd: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

async function mustRun(cmd: string, args: string[]): Promise<void> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.output.slice(-4000)}`);
}

const failures = (output: string): string =>
  output
    .split('\n')
    .filter((l) => l.startsWith('FAIL') || l.startsWith('worst') || l.startsWith('finding'))
    .join('\n');

describe.skipIf(missingTools(['clang++', 'clang'], 'apt-get install -y clang'))('parse cost oracle', () => {
  let work = '';
  let bin = '';

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'parse-cost-'));
    bin = join(work, 'parse_cost_fuzz');
    const recall = join(ROOT, 'native', 'src', 'recall');
    const engine = readdirSync(recall).filter((f) => f.endsWith('.cc'));
    const inc = [`-I${join(ROOT, 'native', 'src')}`, `-I${join(ROOT, 'native', 'include')}`];
    // Engine with edge counting; the driver and the libc half without (their work is not counted).
    await Promise.all([
      ...engine.map((f) =>
        mustRun('clang++', ['-std=c++17', '-O1', '-fsanitize-coverage=trace-pc-guard', ...inc, '-c', join(recall, f), '-o', join(work, `${f}.o`)]),
      ),
      mustRun('clang++', ['-std=c++17', '-O1', '-c', join(ROOT, 'native/fuzz/parse_cost_fuzz.cc'), '-o', join(work, 'driver.o')]),
      mustRun('clang', ['-O1', '-fno-builtin', '-c', join(ROOT, 'native/fuzz/parse_cost_libc.c'), '-o', join(work, 'libc.o')]),
    ]);
    const objects = readdirSync(work).filter((f) => f.endsWith('.o')).map((f) => join(work, f));
    await mustRun('clang++', [...objects, '-ldl', '-pthread', '-o', bin]);
  }, hangGuard(600_000));

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('every generator of an unclosed construct costs linear work in every parser', async () => {
    const r = await run(bin, ['table', '262144']);
    expect(r.code, failures(r.output)).toBe(0);
    const worst = /worst: ([\d.]+) work\/byte \(([^)]*)\)/.exec(r.output);
    expect(worst).not.toBeNull();
    // Must cover issue 13's probes in every parser.
    for (const g of ['link-open-paren', 'image-open-paren', 'link-dest-unclosed', 'link-ref-open', 'html-tag-unclosed', 'autolink-unclosed']) {
      for (const p of ['markdown', 'index', 'excerpt', 'html']) expect(r.output).toMatch(new RegExp(`ok +${g} +${p} `));
    }
    console.log(`parse cost oracle (table): worst ${worst?.[1]} work/byte (${worst?.[2]}) at 256 KiB`);
  }, hangGuard(300_000));

  it('replays the committed corpus (units that were quadratic before) within the bound', async () => {
    const units = readdirSync(CORPUS).map((f) => join(CORPUS, f));
    expect(units.length).toBeGreaterThanOrEqual(10);
    const r = await run(bin, ['corpus', ...units]);
    expect(r.code, failures(r.output)).toBe(0);
    expect(r.output).toContain(`replayed ${units.length} units`);
  }, hangGuard(300_000));

  it(`finds no super-linear input in ${RUNS} random units (seed ${SEED})`, async () => {
    const r = await run(bin, ['fuzz', String(RUNS), String(SEED), work]);
    expect(r.code, failures(r.output)).toBe(0);
    const line = r.output.split('\n').find((l) => l.startsWith('fuzzed')) ?? '';
    expect(line).toContain(`fuzzed ${RUNS} units`);
    console.log(`parse cost oracle (random): ${line}`);
  }, hangGuard(300_000));
});
