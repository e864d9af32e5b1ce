/**
 * The claw_init libFuzzer target (native/fuzz/claw_init_fuzz.cc, clang -fsanitize=fuzzer,address,
 * undefined): arbitrary claw_host_info bytes and sizes, a lying struct_size, any plugin-info size,
 * then the function table. Two steps in CI:
 *   1. every input of the committed corpus (native/fuzz/corpus/claw_init/, including regression
 *      inputs for bugs found before) runs clean;
 *   2. a bounded fuzzing run from that corpus: CLAW_FUZZ_RUNS executions (default 100000, a few seconds), or
 *      CLAW_FUZZ_SECONDS seconds when set; CLAW_FUZZ_SEED picks the seed (default fixed, so CI is
 *      reproducible). New inputs go to a scratch directory, never into the committed corpus; to
 *      keep one, see docs/readme/prebuilds.md ("Fuzzing").
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools } from '../helpers/tools.js';
import { mustRun, ROOT } from './helpers.js';
import { hangGuard } from '../helpers/timeout.js';

const CORPUS = join(ROOT, 'native', 'fuzz', 'corpus', 'claw_init');
const RUNS = Number(process.env.CLAW_FUZZ_RUNS ?? 100_000);
const SECONDS = process.env.CLAW_FUZZ_SECONDS ? Number(process.env.CLAW_FUZZ_SECONDS) : undefined;
const SEED = Number(process.env.CLAW_FUZZ_SEED ?? 20261124);

const skip = missingTools(['clang++', 'python3', 'llvm-symbolizer'], 'apt-get install -y clang libclang-rt-14-dev llvm python3');

function fuzz(bin: string, args: string[], cwd: string): { status: number | null; log: string } {
  const r = spawnSync(bin, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:halt_on_error=1', UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1' },
    timeout: SECONDS ? (SECONDS + 300) * 1000 : 600_000,
    maxBuffer: 256 << 20,
  });
  if (r.error) throw r.error;
  return { status: r.status, log: `${r.stdout}${r.stderr}` };
}

/** The finding's report and reproducer, for the assertion message. */
function finding(log: string): string {
  const lines = log.split('\n');
  const start = lines.findIndex((l) => /ERROR: |runtime error|deadly signal/.test(l));
  const base64 = lines.find((l) => l.startsWith('Base64: '));
  return [...lines.slice(Math.max(0, start), start + 25), base64 ?? ''].join('\n');
}

describe.skipIf(skip)('claw_init fuzzing', () => {
  let work = '';
  let bin = '';

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'claw-fuzz-'));
    mustRun('bash', [join(ROOT, 'scripts', 'abi-build.sh'), '--out', work, 'fuzz']);
    bin = join(work, 'claw_init_fuzz');
  }, hangGuard(600_000));

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('every committed corpus input runs clean', () => {
    const inputs = readdirSync(CORPUS);
    expect(inputs.length).toBeGreaterThanOrEqual(20);
    // Each file as its own run, so a failure names the input.
    const r = fuzz(bin, [`-artifact_prefix=${work}/`, ...inputs.map((f) => join(CORPUS, f))], work);
    expect(r.status, finding(r.log)).toBe(0);
    for (const f of inputs) expect(r.log).toContain(`Running: ${join(CORPUS, f)}`);
  }, hangGuard(300_000));

  it(`fuzzes ${SECONDS ? `${SECONDS} s` : `${RUNS} executions`} from the corpus without a finding`, () => {
    // libFuzzer writes new inputs into the first directory: a scratch copy, not the repository.
    const scratch = join(work, 'corpus');
    mkdirSync(scratch);
    cpSync(CORPUS, scratch, { recursive: true });
    const before = readdirSync(scratch).length;
    const limit = SECONDS ? [`-max_total_time=${SECONDS}`] : [`-runs=${RUNS}`];
    const r = fuzz(bin, [...limit, `-seed=${SEED}`, '-max_len=1024', '-timeout=10', '-rss_limit_mb=2048', `-artifact_prefix=${work}/`, '-print_final_stats=1', scratch], work);
    expect(r.status, finding(r.log)).toBe(0);
    const done = /Done (\d+) runs in (\d+) second/.exec(r.log);
    expect(done, r.log.slice(-2000)).not.toBeNull();
    if (!SECONDS) expect(Number(done?.[1])).toBe(RUNS);
    const cov = /cov: (\d+) ft: (\d+)/.exec(r.log.split('\n').filter((l) => l.includes('DONE')).pop() ?? '');
    // Figures for the report (not assertions on time): executions, coverage, corpus growth.
    console.log(
      `claw_init fuzz: ${done?.[1]} executions in ${done?.[2]} s (seed ${SEED}), coverage ${cov?.[1] ?? '?'} edges / ${cov?.[2] ?? '?'} features, corpus ${before} -> ${readdirSync(scratch).length}`,
    );
  }, hangGuard(900_000));
});
