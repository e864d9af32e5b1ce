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
  if (defaultTreeQuery(argv)) {
    // The early open's load and walk keep both cores busy while the modules load; V8's parallel
    // scavenger then waits for helper threads that cannot run (a 1 ms scavenge took 5–11 ms in
    // 2 of 5 runs). This one-shot process scavenges a few MiB: on the main thread alone it is ~1 ms.
    // (node:v8 through require: its ESM facade alone costs ~1.4 ms; node:module is loaded anyway.)
    const { createRequire } = await import('node:module');
    (createRequire(import.meta.url)('node:v8') as typeof import('node:v8')).setFlagsFromString(
      '--no-parallel-scavenge',
    );
    (await import('../memory/prefetch.js')).prefetchOpen(process.cwd());
    // The modules the command imports after the CLI's own, fetched and compiled beside them (a
    // failure is the command's to report when it imports them).
    for (const load of [
      () => import('./context.js'),
      () => import('./commands/memory.js'),
      () => import('./tree.js'),
      () => import('../memory/open.js'),
      () => import('../memory/v4/space.js'),
    ])
      load().catch(() => undefined);
  }
  const { main } = await import('./index.js');
  main();
}

/** A `search`/`recall` whose flags and environment name no other tree, space or backend. */
function defaultTreeQuery(args: string[]): boolean {
  if (args[0] !== 'search' && args[0] !== 'recall') return false;
  if (process.env.CLAW_BYTEROVER_CONTEXT_TREE !== undefined) return false;
  return !args.some((a) => /^--(dir|space|backend|brv|help)(=|$)|^-h$/.test(a));
}
