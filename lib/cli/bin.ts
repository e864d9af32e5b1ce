#!/usr/bin/env node
/**
 * The `claw-byterover` executable. `--version` (alone) is answered here from package.json, before
 * commander and the command list load: a version check — what install scripts and `doctor` runs
 * do most — loads two files (issue 15: each process loads only what it uses). Everything else,
 * `--version` with other arguments included, runs the whole CLI (lib/cli/index.ts) unchanged.
 *
 * `search` and `recall` on the tree at the default location start opening it here, before the CLI's
 * modules load (lib/memory/prefetch.ts): the persisted index loads and the tree is stat-walked on
 * other threads meanwhile, and the command's open adopts the result only when it opens exactly that
 * tree (flags and the config decide as always; anything else drops it).
 */
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const { packageVersion } = await import('../version.js');
  process.stdout.write(`${packageVersion()}\n`);
} else {
  if (defaultTreeQuery(argv)) (await import('../memory/prefetch.js')).prefetchOpen(process.cwd());
  const { main } = await import('./index.js');
  main();
}

/** A `search`/`recall` whose flags and environment name no other tree, space or backend. */
function defaultTreeQuery(args: string[]): boolean {
  if (args[0] !== 'search' && args[0] !== 'recall') return false;
  if (process.env.CLAW_BYTEROVER_CONTEXT_TREE !== undefined) return false;
  return !args.some((a) => /^--(dir|space|backend|brv|help)(=|$)|^-h$/.test(a));
}
