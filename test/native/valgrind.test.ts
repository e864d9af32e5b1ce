/**
 * Leak checks of the plain library under valgrind: 1,000 load/init/shutdown/unload cycles report no
 * definite or indirect leak, and the library really leaves the process each time.
 *
 *   - native/test/abi_cycles.c drives scripts/abi-build.sh's debug build of libclaw_byterover.so
 *     (the binding.gyp flags plus -g): dlopen(RTLD_NOW) -> claw_abi_info -> claw_init ->
 *     get_extension / negotiate_agent_protocol -> shutdown -> dlclose -> dlopen(RTLD_NOLOAD).
 *   - claw-host-matrix (the reference runtime's code plus the ABI test matrix, node-gyp build) runs
 *     its own --cycles loop on the node-gyp .so, and 8 threads initializing at once, under memcheck;
 *     the threaded run also under helgrind.
 *   - The same memcheck flags fail on native/test/abi_leaky_plugin.c, a plugin that leaks on
 *     purpose, so a clean result means something.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools } from '../helpers/tools.js';
import { ensureNativeBuilt, mustRun, ROOT, type Artifacts } from './helpers.js';
import { hangGuard } from '../helpers/timeout.js';

const CYCLES = 1000;
const MEMCHECK = ['--leak-check=full', '--show-leak-kinds=definite,indirect', '--errors-for-leak-kinds=definite,indirect', '--error-exitcode=99'];

const skip = missingTools(['valgrind', 'g++', 'cc', 'python3', 'make'], 'apt-get install -y valgrind build-essential python3');

interface Grind {
  status: number | null;
  stdout: string;
  stderr: string;
}

function grind(args: string[]): Grind {
  const r = spawnSync('valgrind', args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: hangGuard(600_000) });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** memcheck's verdict: no error, and either every block freed or no definite/indirect loss. */
function expectNoLeaks(g: Grind): void {
  expect(g.status, g.stderr).toBe(0);
  expect(g.stderr).toMatch(/ERROR SUMMARY: 0 errors from 0 contexts/);
  if (!g.stderr.includes('All heap blocks were freed -- no leaks are possible')) {
    expect(g.stderr).toMatch(/definitely lost: 0 bytes in 0 blocks/);
    expect(g.stderr).toMatch(/indirectly lost: 0 bytes in 0 blocks/);
  }
}

describe.skipIf(skip)('valgrind', () => {
  let out = '';
  let gyp: Artifacts;

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'claw-valgrind-'));
    mustRun('bash', [join(ROOT, 'scripts', 'abi-build.sh'), '--out', out, 'so', 'cycles', 'leaky']);
    gyp = await ensureNativeBuilt();
  }, hangGuard(600_000));

  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it(`${CYCLES} load/init/shutdown/unload cycles of libclaw_byterover.so leak nothing and unload every time`, () => {
    const g = grind([...MEMCHECK, join(out, 'abi_cycles'), join(out, 'libclaw_byterover.so'), String(CYCLES)]);
    expectNoLeaks(g);
    expect(g.stdout).toContain(`abi_cycles: ${CYCLES} cycles, ${CYCLES} unloaded`);
    // What is still in use at exit (the loader's and libstdc++'s own bookkeeping for the libraries
    // the plugin pulled in) must not grow with the number of cycles.
    const few = grind([...MEMCHECK, join(out, 'abi_cycles'), join(out, 'libclaw_byterover.so'), '10']);
    expectNoLeaks(few);
    const inUse = (s: string): string => /in use at exit: ([\d,]+ bytes in [\d,]+ blocks)/.exec(s)?.[1] ?? 'none';
    expect(inUse(g.stderr)).toBe(inUse(few.stderr));
    console.log(`valgrind: ${CYCLES} cycles: ${/total heap usage: ([^\n]+)/.exec(g.stderr)?.[1] ?? '?'}; in use at exit: ${inUse(g.stderr)} (10 cycles: ${inUse(few.stderr)})`);
  }, hangGuard(600_000));

  it(`claw-host-matrix --cycles ${CYCLES} on the node-gyp build leaks nothing`, () => {
    const g = grind([...MEMCHECK, gyp.matrix, gyp.so, '--now', '--cycles', String(CYCLES), '--json']);
    expectNoLeaks(g);
    const report = JSON.parse(g.stdout) as { ok: boolean; cycles: number };
    expect(report).toMatchObject({ ok: true, cycles: CYCLES });
  }, hangGuard(600_000));

  it('the reference claw-host itself (load, negotiate, agent protocol, shutdown, unload) leaks nothing', () => {
    const g = grind([...MEMCHECK, gyp.host, gyp.so, '--now', '--agent', '3-6', '--json']);
    expectNoLeaks(g);
    expect(JSON.parse(g.stdout) as { ok: boolean; agent: { version: number } }).toMatchObject({ ok: true, agent: { version: 4 } });
  }, hangGuard(600_000));

  it('8 threads initializing at once leak nothing, and helgrind sees no race', () => {
    const g = grind([...MEMCHECK, gyp.matrix, gyp.so, '--now', '--threads', '8', '--json']);
    expectNoLeaks(g);
    expect((JSON.parse(g.stdout) as { ok: boolean }).ok).toBe(true);
    const h = grind(['--tool=helgrind', '--error-exitcode=98', gyp.matrix, gyp.so, '--now', '--threads', '8', '--json']);
    expect(h.status, h.stderr).toBe(0);
    expect(h.stderr).toMatch(/ERROR SUMMARY: 0 errors from 0 contexts/);
  }, hangGuard(600_000));

  it('the same check fails on a plugin that leaks one block per init', () => {
    const g = grind([...MEMCHECK, join(out, 'abi_cycles'), join(out, 'libabi_leaky_plugin.so'), '10']);
    expect(g.status).toBe(99);
    expect(g.stderr).toMatch(/definitely lost: 640 bytes in 10 blocks/);
    // The plugin is dlclose'd by then, so its frames show as ???; the caller is named.
    expect(g.stderr).toMatch(/by 0x[0-9A-F]+: one_cycle \(abi_cycles\.c:\d+\)/);
  }, hangGuard(600_000));
});
