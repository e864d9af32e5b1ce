/**
 * Hang guards for tests that need more than the suite's defaults (vitest.config.ts: 300 s per test,
 * 600 s per hook), scaled like them by CLAW_TEST_TIMEOUT_SCALE. A guard is a last resort against a
 * hang, never a measure of speed: tests wait on events, so a busy machine makes them slower, not red.
 * Per-test timeouts below the defaults are not written at all (they would override the scale).
 */
export const TIMEOUT_SCALE = Number(process.env.CLAW_TEST_TIMEOUT_SCALE ?? '1') || 1;

/** `ms` times CLAW_TEST_TIMEOUT_SCALE: for `it(…, fn, hangGuard(900_000))`, spawnSync and waitFor deadlines. */
export function hangGuard(ms: number): number {
  return ms * TIMEOUT_SCALE;
}

/**
 * Polls an observable state (`cond`) every `intervalMs` until it holds or the scaled hang guard
 * (default 60 s × CLAW_TEST_TIMEOUT_SCALE) passes; returns whether it holds, for the caller's own
 * assertion. Replaces loops capped by an iteration count (`for (i < 200) sleep(10)`): a wall-clock
 * cap of a second or two that a busy machine overruns.
 */
export async function pollUntil(
  cond: () => boolean | Promise<boolean>,
  { intervalMs = 10, guardMs = 60_000 }: { intervalMs?: number; guardMs?: number } = {},
): Promise<boolean> {
  const deadline = Date.now() + hangGuard(guardMs);
  while (!(await cond())) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return true;
}
