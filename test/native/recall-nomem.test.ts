/**
 * The core never aborts its host (issue 13). test/native/fixtures/recall_nomem_driver.cc is a C++
 * claw-runtime that replaces the global operator new (linked -rdynamic, so the loaded plugin's
 * allocations bind to it) and makes the Nth allocation throw std::bad_alloc. For every recall entry
 * point it sweeps N = 1, 2, ... over every allocation the call makes: each call must return
 * RECALL_OK or RECALL_NO_MEMORY and leave the index usable. Then upsert_batch with threads 9,
 * 100000, 2^31-1 and 2^32-1 (the documented maximum is 8) must succeed. Before: the core was built
 * with -fno-exceptions, so the first injected failure (or 100000 threads) terminated the host.
 * Runs against the real build/Release/lib.target/libclaw_byterover.so (binding.gyp flags).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools } from '../helpers/tools.js';
import { ensureNativeBuilt, mustRun, ROOT, type Artifacts } from './helpers.js';
import { hangGuard } from '../helpers/timeout.js';

describe.skipIf(missingTools(['c++'], 'apt-get install -y g++'))('allocation failure and thread counts through the C ABI', () => {
  let a: Artifacts;
  let tmp = '';
  let driver = '';

  beforeAll(async () => {
    a = await ensureNativeBuilt();
    tmp = mkdtempSync(join(tmpdir(), 'claw-recall-nomem-'));
    driver = join(tmp, 'recall_nomem_driver');
    mustRun('c++', ['-std=c++17', '-O1', '-g', '-rdynamic', `-I${join(ROOT, 'native', 'include')}`, `-I${join(ROOT, 'native', 'test')}`, '-o', driver, join(ROOT, 'test', 'native', 'fixtures', 'recall_nomem_driver.cc'), '-ldl', '-lpthread']);
  }, hangGuard(900_000));

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('every allocation of every entry point can fail: RECALL_NO_MEMORY, never an abort; huge thread counts are clamped', () => {
    const r = spawnSync(driver, [a.so], { encoding: 'utf8', timeout: hangGuard(300_000) });
    if (r.error) throw r.error;
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const sweep = Object.fromEntries(lines.filter((l) => 'allocations' in l).map((l) => [l.entry, l]));
    // The calls that allocate were swept through each of their allocations, and each failed cleanly.
    for (const entry of ['create', 'upsert', 'upsert_replace', 'upsert_batch', 'search']) {
      expect(Number(sweep[entry]?.allocations), entry).toBeGreaterThan(0);
    }
    for (const entry of ['upsert', 'upsert_batch', 'search']) expect(Number(sweep[entry]?.no_memory), entry).toBeGreaterThan(0);
    expect(lines.filter((l) => l.entry === 'upsert_batch_threads')).toEqual(
      [9, 100000, 2147483647, 4294967295].map((threads) => ({ entry: 'upsert_batch_threads', threads, status: 'OK' })),
    );
    expect(lines.at(-1)).toEqual({ done: true, failed: 0 });
  }, hangGuard(300_000));
});
