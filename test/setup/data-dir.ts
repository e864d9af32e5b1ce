/**
 * Every test file runs with its own claw-byterover data dir (CLAW_BYTEROVER_DATA_DIR) unless the run
 * already sets one: what a test writes there (a v4 space's persisted index, a bridge database, tokens)
 * never lands in the developer's ~/.local/share/claw-byterover, and no test sees another's files.
 * Tests of the data dir's own resolution pass their env explicitly and are unaffected.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

if (!process.env.CLAW_BYTEROVER_DATA_DIR) {
  const dir = mkdtempSync(join(tmpdir(), 'claw-test-data-'));
  process.env.CLAW_BYTEROVER_DATA_DIR = dir;
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    if (process.env.CLAW_BYTEROVER_DATA_DIR === dir) delete process.env.CLAW_BYTEROVER_DATA_DIR;
  });
}
