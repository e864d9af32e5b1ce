/**
 * Native unit tests of the core (native/test/core_*.cc: negotiation rules checked exhaustively,
 * explanations, struct-size handling in both directions in exactly-sized heap blocks, NULL
 * arguments, refusal logging, reference counting, 8 threads initializing concurrently) built with
 * clang++ -fsanitize=address,undefined (every finding fatal) and again with -fsanitize=thread.
 * A self-check case proves each sanitizer is live in the binary: when asked, it commits the bug the
 * sanitizer exists for, and the run must stop with that sanitizer's report.
 * Build commands: scripts/abi-build.sh (targets core-asan, core-tsan).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools } from '../helpers/tools.js';
import { mustRun, ROOT } from './helpers.js';
import { hangGuard } from '../helpers/timeout.js';

const skip = missingTools(['clang++', 'python3', 'llvm-symbolizer'], 'apt-get install -y clang libclang-rt-14-dev llvm python3');

const SAN_ENV = {
  ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1',
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
  TSAN_OPTIONS: 'halt_on_error=1:second_deadlock_stack=1',
};

function runTests(bin: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(bin, args, { encoding: 'utf8', env: { ...process.env, ...SAN_ENV, ...env }, timeout: hangGuard(300_000), maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** "N passed, N failed" from the runner's last line. */
function tally(stdout: string): { passed: number; failed: number } {
  const m = /^(\d+) passed, (\d+) failed$/m.exec(stdout);
  if (!m) throw new Error(`no "N passed, N failed" line in:\n${stdout}`);
  return { passed: Number(m[1]), failed: Number(m[2]) };
}

describe.skipIf(skip)('native unit tests under sanitizers', () => {
  let out = '';

  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'claw-sanitizers-'));
    mustRun('bash', [join(ROOT, 'scripts', 'abi-build.sh'), '--out', out, 'core-asan', 'core-tsan']);
  }, hangGuard(600_000));

  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('pass under AddressSanitizer + UndefinedBehaviorSanitizer', () => {
    const r = runTests(join(out, 'core_tests_asan'));
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const t = tally(r.stdout);
    expect(t.failed).toBe(0);
    expect(t.passed).toBeGreaterThanOrEqual(17);
    for (const name of [
      'host_info_of_every_size_is_read_within_its_bounds',
      'plugin_info_of_every_size_is_written_within_its_bounds',
      'init_and_shutdown_are_reference_counted',
      'concurrent_init_and_shutdown_from_eight_threads',
      'abi_negotiation_matches_the_highest_common_minor_exhaustively',
    ]) {
      expect(r.stdout).toContain(`ok   ${name}`);
    }
    expect(r.stderr).not.toMatch(/Sanitizer|runtime error/);
  }, hangGuard(300_000));

  it('pass under ThreadSanitizer', () => {
    const r = runTests(join(out, 'core_tests_tsan'));
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(tally(r.stdout).failed).toBe(0);
    expect(r.stdout).toContain('ok   concurrent_init_and_shutdown_from_eight_threads');
    expect(r.stderr).not.toMatch(/ThreadSanitizer/);
  }, hangGuard(300_000));

  it.each([
    ['core_tests_asan', 'heap-overflow', /ERROR: AddressSanitizer: heap-buffer-overflow/],
    ['core_tests_asan', 'signed-overflow', /runtime error: signed integer overflow/],
    ['core_tests_tsan', 'data-race', /WARNING: ThreadSanitizer: data race/],
  ])('%s stops on a planted %s', (bin, bug, report) => {
    const r = runTests(join(out, bin), ['sanitizer_self_check'], { CLAW_CORE_SELFCHECK: bug });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(report);
    expect(r.stdout).not.toMatch(/^1 passed, 0 failed$/m);
  });
});
