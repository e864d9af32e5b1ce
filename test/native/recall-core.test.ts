/**
 * The recall engine's native tests (native/test/recall_*.cc), compiled here with g++ directly:
 * an optimized -Werror build, an AddressSanitizer + UndefinedBehaviorSanitizer build, and a
 * ThreadSanitizer build of the concurrency tests. Also: recall_c.h must compile as plain C99, the
 * fuzz seed corpus is replayed under g++ sanitizers, and (with clang) the libFuzzer target runs for
 * a bounded number of executions: RECALL_FUZZ_RUNS (default 50000) or RECALL_FUZZ_SECONDS for a
 * longer local run, from the fixed seed RECALL_FUZZ_SEED (default 20261124).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools } from '../helpers/tools.js';
import { hangGuard } from '../helpers/timeout.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// Outside build/: node-gyp rebuild (run by other native tests) deletes build/. Stable per checkout,
// so objects are reused across local runs.
const out = join(tmpdir(), `claw-recall-tests-${createHash('sha256').update(root).digest('hex').slice(0, 10)}`);
const engine = ['utf8', 'tokenizer', 'markdown', 'html', 'excerpt', 'index', 'recall_c', 'walk', 'persist'].map((f) =>
  join(root, 'native/src/recall', `${f}.cc`),
);
const testDir = join(root, 'native/test');
// recall_mmap_nomem_test.cc replaces the global operator new (to fail allocations on demand): it gets
// its own binary, so AddressSanitizer keeps checking new/delete pairs in every other test.
const nomemTest = join(testDir, 'recall_mmap_nomem_test.cc');
const tests = readdirSync(testDir)
  .filter((f) => /^recall_.*\.cc$/.test(f))
  .map((f) => join(testDir, f))
  .filter((f) => f !== nomemTest);
const seedCorpus = join(root, 'native/fuzz/corpus/recall');
const fuzzSource = join(root, 'native/fuzz/recall_fuzz.cc');
/** The fuzz target with its replay main(): a wrapper, so only this object gets the define. */
const fuzzReplaySource = join(out, 'recall_fuzz_replay.cc');
const fuzzReplayText = `#define RECALL_FUZZ_STANDALONE 1\n#include ${JSON.stringify(fuzzSource)}\n`;
const common = ['-std=c++17', '-pthread', '-Wall', '-Wextra'];
const asan = ['-O1', '-g', '-fno-omit-frame-pointer', '-fsanitize=address,undefined', '-fno-sanitize=vptr', '-fno-sanitize-recover=all'];
const sanitizerEnv = {
  ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1:strict_string_checks=1',
  UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
  TSAN_OPTIONS: 'halt_on_error=1:second_deadlock_stack=1',
};

interface Run {
  code: number | null;
  output: string;
}

function run(cmd: string, args: string[], env: Record<string, string> = {}, timeoutMs = 600_000): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, output });
    });
  });
}

function tail(s: string, lines = 60): string {
  return s.split('\n').slice(-lines).join('\n');
}

async function build(compiler: string, args: string[]): Promise<void> {
  const r = await run(compiler, args);
  if (r.code !== 0) throw new Error(`${compiler} ${args.join(' ')}\nfailed:\n${tail(r.output, 80)}`);
}

/** Runs the thunks at most `limit` at a time. */
async function pool<T>(limit: number, jobs: Array<() => Promise<T>>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await (jobs[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, jobs.length)) }, worker));
  return results;
}

/** Newest modification time of the headers every object depends on. */
function headersMtime(): number {
  const dirs = [join(root, 'native/src/recall'), testDir];
  let newest = statSync(fuzzSource).mtimeMs;  // included by the replay wrapper
  for (const d of dirs) {
    for (const f of readdirSync(d)) {
      if (f.endsWith('.h')) newest = Math.max(newest, statSync(join(d, f)).mtimeMs);
    }
  }
  return newest;
}

/**
 * Compiles each source once per compiler and flag set (objects are shared between binaries of the
 * same flags, named by a hash of the flags, and reused while newer than their source and every
 * header), CPU-count jobs at a time, then links.
 */
async function buildAll(
  compiler: string,
  configs: Record<string, { flags: string[]; sources: string[]; bin: string }>,
): Promise<void> {
  const newestHeader = headersMtime();
  const objects = new Map<string, { src: string; flags: string[]; obj: string }>();
  for (const c of Object.values(configs)) {
    const flagKey = c.flags.join(' ');
    for (const src of c.sources) {
      const key = `${flagKey}|${src}`;
      if (!objects.has(key)) {
        const flagHash = createHash('sha256').update(`${compiler} ${flagKey}`).digest('hex').slice(0, 10);
        objects.set(key, { src, flags: c.flags, obj: join(out, 'obj', `${basename(src)}-${flagHash}.o`) });
      }
    }
  }
  mkdirSync(join(out, 'obj'), { recursive: true });
  const fresh = (o: { src: string; obj: string }): boolean =>
    existsSync(o.obj) && statSync(o.obj).mtimeMs > Math.max(statSync(o.src).mtimeMs, newestHeader);
  await pool(
    availableParallelism(),
    [...objects.values()].filter((o) => !fresh(o)).map((o) => () => build(compiler, [...o.flags, '-c', o.src, '-o', o.obj])),
  );
  await pool(
    availableParallelism(),
    Object.values(configs).map((c) => () => {
      const objs = c.sources.map((src) => (objects.get(`${c.flags.join(' ')}|${src}`) as { obj: string }).obj);
      return build(compiler, [...c.flags, ...objs, '-o', c.bin]);
    }),
  );
}

/** ThreadSanitizer cannot start on some kernels' address-space layouts; `setarch -R` fixes that. */
async function runTsan(bin: string, args: string[]): Promise<Run> {
  const r = await run(bin, args, sanitizerEnv);
  if (r.code !== 0 && /unexpected memory mapping|FATAL: ThreadSanitizer/.test(r.output)) {
    const arch = (await run('uname', ['-m'])).output.trim();
    return run('setarch', [arch, '-R', bin, ...args], sanitizerEnv);
  }
  return r;
}

const gppMissing = missingTools(['g++', 'gcc'], 'apt-get install -y g++');

describe.skipIf(gppMissing)('recall engine native tests (g++)', () => {
  const bins = {
    release: join(out, 'recall_tests'),
    asan: join(out, 'recall_tests_asan'),
    tsan: join(out, 'recall_tests_tsan'),
    replay: join(out, 'recall_fuzz_replay'),
    nomem: join(out, 'recall_tests_nomem'),
  };

  beforeAll(async () => {
    mkdirSync(out, { recursive: true });
    if (!existsSync(fuzzReplaySource) || readFileSync(fuzzReplaySource, 'utf8') !== fuzzReplayText) {
      writeFileSync(fuzzReplaySource, fuzzReplayText);
    }
    const release = [...common, '-O2', '-Werror', '-Wshadow'];
    const sanitized = [...common, ...asan];
    await buildAll('g++', {
      release: { flags: release, sources: [...engine, ...tests], bin: bins.release },
      asan: { flags: sanitized, sources: [...engine, ...tests], bin: bins.asan },
      tsan: {
        flags: [...common, '-O1', '-g', '-fsanitize=thread'],
        sources: [...engine, join(testDir, 'recall_main.cc'), join(testDir, 'recall_concurrency_test.cc')],
        bin: bins.tsan,
      },
      // Same flags as `asan`: the engine objects are shared. RECALL_FUZZ_STANDALONE only reaches
      // the fuzz source, which gets its own object.
      replay: { flags: sanitized, sources: [...engine, fuzzReplaySource], bin: bins.replay },
      nomem: { flags: sanitized, sources: [...engine, join(testDir, 'recall_main.cc'), nomemTest], bin: bins.nomem },
    });
  }, hangGuard(900_000));

  it('passes every native unit test in an optimized -Werror build', async () => {
    const r = await run(bins.release, []);
    expect(r.code, tail(r.output)).toBe(0);
    const m = /(\d+) tests, 0 failed checks/.exec(r.output);
    expect(m, tail(r.output)).not.toBeNull();
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(50);
  }, hangGuard(300_000));

  it('passes under AddressSanitizer and UndefinedBehaviorSanitizer', async () => {
    const r = await run(bins.asan, [], sanitizerEnv);
    expect(r.code, tail(r.output)).toBe(0);
    expect(r.output).toMatch(/tests, 0 failed checks/);
    expect(r.output).not.toMatch(/runtime error|AddressSanitizer|LeakSanitizer/);
  }, hangGuard(300_000));

  it('fails every allocation of a load and of copy-on-write changes in turn: OK or NO_MEMORY, never a crash', async () => {
    const r = await run(bins.nomem, [], sanitizerEnv);
    expect(r.code, tail(r.output)).toBe(0);
    expect(r.output).toMatch(/1 tests, 0 failed checks/);
    expect(r.output).not.toMatch(/runtime error|AddressSanitizer|LeakSanitizer/);
  }, hangGuard(300_000));

  it('runs the concurrency tests under ThreadSanitizer without reports', async () => {
    const r = await runTsan(bins.tsan, ['concurrency']);
    expect(r.code, tail(r.output)).toBe(0);
    expect(r.output).toMatch(/4 tests, 0 failed checks/);
    expect(r.output).not.toMatch(/ThreadSanitizer: (data race|lock-order|thread leak)/);
  }, hangGuard(300_000));

  it('replays the fuzz seed corpus under g++ sanitizers', async () => {
    const seeds = readdirSync(seedCorpus).map((f) => join(seedCorpus, f));
    expect(seeds.length).toBeGreaterThanOrEqual(10);
    const r = await run(bins.replay, seeds, sanitizerEnv);
    expect(r.code, tail(r.output)).toBe(0);
    expect(r.output).toContain(`replayed ${seeds.length} inputs`);
  });

  it('keeps recall_c.h plain C99 (no C++ in the facade)', async () => {
    const r = await run('gcc', [
      '-x',
      'c',
      '-std=c99',
      '-pedantic',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-fsyntax-only',
      join(root, 'native/src/recall/recall_c.h'),
    ]);
    expect(r.code, r.output).toBe(0);
  });
});

const clangMissing = missingTools(['clang++'], 'apt-get install -y clang libclang-rt-14-dev');

describe.skipIf(clangMissing)('recall engine fuzzing (clang libFuzzer)', () => {
  const bin = join(out, 'recall_fuzz');
  let work = '';

  beforeAll(async () => {
    mkdirSync(out, { recursive: true });
    work = mkdtempSync(join(tmpdir(), 'recall-fuzz-'));
    await buildAll('clang++', {
      fuzz: {
        flags: ['-std=c++17', '-g', '-O1', '-fsanitize=fuzzer,address,undefined', '-fno-sanitize-recover=all'],
        sources: [fuzzSource, ...engine],
        bin,
      },
    });
  }, hangGuard(600_000));

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('survives a bounded fuzzing run over markdown, frontmatter and the tokenizer', async () => {
    const seconds = process.env.RECALL_FUZZ_SECONDS;
    const budget = seconds ? [`-max_total_time=${Number(seconds)}`] : [`-runs=${Number(process.env.RECALL_FUZZ_RUNS ?? 50_000)}`];
    const seed = `-seed=${Number(process.env.RECALL_FUZZ_SEED ?? 20261124)}`;  // fixed: CI runs are reproducible
    const newCorpus = join(work, 'corpus');
    mkdirSync(newCorpus);
    const r = await run(
      bin,
      [...budget, seed, '-max_len=4096', '-rss_limit_mb=2048', `-artifact_prefix=${work}/`, newCorpus, seedCorpus],
      sanitizerEnv,
      seconds ? (Number(seconds) + 600) * 1000 : 600_000,
    );
    expect(r.code, tail(r.output)).toBe(0);
    expect(r.output).toMatch(/Done \d+ runs/);
    expect(readdirSync(work).filter((f) => /^(crash|leak|timeout|oom)-/.test(f))).toEqual([]);
  }, hangGuard(900_000));
});
