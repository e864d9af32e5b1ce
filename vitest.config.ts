import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'lib/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // vitest's default is CPUs - 1 (one worker on a 2-core CI machine); most suites wait on
    // subprocesses, installs and loopback servers, so two workers overlap that waiting.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
