/**
 * The ByteRover v4 topic parser under libFuzzer (native/fuzz/html_fuzz.cc): the committed corpus
 * (native/fuzz/corpus/html/, regression inputs included) replays without an invariant failure or a
 * sanitizer report, then a bounded fuzzing run from that corpus: HTML_FUZZ_RUNS executions (default
 * 5000) or HTML_FUZZ_SECONDS, from the fixed seed HTML_FUZZ_SEED (default 20261207).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools } from '../helpers/tools.js';
import { hangGuard } from '../helpers/timeout.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CORPUS = join(ROOT, 'native/fuzz/corpus/html');
const RUNS = Number(process.env.HTML_FUZZ_RUNS ?? 5000);
const SECONDS = process.env.HTML_FUZZ_SECONDS ? Number(process.env.HTML_FUZZ_SECONDS) : 0;
const SEED = Number(process.env.HTML_FUZZ_SEED ?? 20261207);

function run(cmd: string, args: string[], cwd = ROOT): Promise<{ code: number | null; output: string }> {
  return new Promise((done, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => done({ code, output }));
  });
}

const tail = (s: string): string => s.split('\n').slice(-40).join('\n');

describe.skipIf(missingTools(['clang++'], 'apt-get install -y clang libclang-rt-14-dev'))('v4 topic parser fuzzing', () => {
  let work = '';
  let bin = '';

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'html-fuzz-'));
    bin = join(work, 'html_fuzz');
    const engine = ['utf8', 'tokenizer', 'markdown', 'html', 'excerpt', 'index'].map((f) =>
      join(ROOT, 'native/src/recall', `${f}.cc`),
    );
    const flags = ['-std=c++17', '-g', '-O1', '-fsanitize=fuzzer,address,undefined', '-fno-sanitize-recover=all'];
    const r = await run('clang++', [...flags, join(ROOT, 'native/fuzz/html_fuzz.cc'), ...engine, '-o', bin]);
    if (r.code !== 0) throw new Error(`building html_fuzz failed:\n${tail(r.output)}`);
  }, hangGuard(600_000));

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('replays the committed corpus', async () => {
    const inputs = readdirSync(CORPUS);
    expect(inputs.length).toBeGreaterThanOrEqual(15);
    const r = await run(bin, [`-artifact_prefix=${work}/`, ...inputs.map((f) => join(CORPUS, f))], work);
    expect(r.code, tail(r.output)).toBe(0);
    expect(r.output).not.toMatch(/invariant failed|ERROR: AddressSanitizer|runtime error/);
  }, hangGuard(300_000));

  it(`fuzzes ${SECONDS ? `${SECONDS} s` : `${RUNS} executions`} from the corpus without a finding`, async () => {
    const scratch = mkdtempSync(join(work, 'corpus-'));
    const limit = SECONDS ? [`-max_total_time=${SECONDS}`] : [`-runs=${RUNS}`];
    const r = await run(
      bin,
      [...limit, `-seed=${SEED}`, '-max_len=4096', '-timeout=20', '-rss_limit_mb=2048', `-artifact_prefix=${work}/`, scratch, CORPUS],
      work,
    );
    expect(r.code, tail(r.output)).toBe(0);
    expect(r.output).toMatch(/Done \d+ runs/);
  }, hangGuard(900_000));
});
