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
