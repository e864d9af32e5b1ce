import { defineConfig } from 'vitest/config';

/**
 * Two tiers (README "Building, testing, CI"):
 * - `default` (`npm test`): everything that needs nothing beyond `npm ci` and the Debian packages of
 *   scripts/apt-packages.txt: unit, integration against the real servers, native.
 * - `interop` (`npm run test:interop`): whatever downloads (real OpenClaw, real `brv`, the Node
 *   version matrix and qemu-aarch64), cached outside node_modules between runs (test/interop/helpers/cache.ts).
 * `npx vitest run <file>` finds a file of either tier.
 *
 * Timeouts are a last-resort guard against a hang, not a measure of speed: tests wait on events
 * (a process exiting, a server answering, a line printed), so a busy machine makes them slower,
 * never red. Hence the generous defaults; CLAW_TEST_TIMEOUT_SCALE (default 1) multiplies them.
 */
const scale = Number(process.env.CLAW_TEST_TIMEOUT_SCALE ?? '1') || 1;

export default defineConfig({
  test: {
    testTimeout: 300_000 * scale,
    hookTimeout: 600_000 * scale,
    pool: 'forks',
    // A private claw-byterover data dir per test file (never the developer's ~/.local/share).
    setupFiles: ['test/setup/data-dir.ts'],
    // vitest's default is CPUs - 1 (one worker on a 2-core CI machine); most suites wait on
    // subprocesses, installs and loopback servers, so two workers overlap that waiting.
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'default',
          include: ['test/**/*.test.ts', 'lib/**/*.test.ts'],
          exclude: ['test/interop/**', '**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'interop',
          include: ['test/interop/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
        },
      },
    ],
  },
});
