#!/usr/bin/env node
/**
 * The `claw-byterover` executable. `--version` (alone) is answered here from package.json, before
 * commander and the command list load: a version check — what install scripts and `doctor` runs
 * do most — loads two files (issue 15: each process loads only what it uses). Everything else,
 * `--version` with other arguments included, runs the whole CLI (lib/cli/index.ts) unchanged.
 */
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const { packageVersion } = await import('../version.js');
  process.stdout.write(`${packageVersion()}\n`);
} else {
  const { main } = await import('./index.js');
  main();
}
