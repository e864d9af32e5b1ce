#!/usr/bin/env node
/**
 * The `claw-byterover` executable. `--version` (alone) is answered here from package.json, before
 * commander and the command list load: a version check — what install scripts and `doctor` runs
 * do most — loads two files (issue 15: each process loads only what it uses).
 *
 * Everything else, `--version` with other arguments included, runs the whole CLI, lib/cli/entry.ts:
 * from the CLI bundle next to this file (dist/cli/cli.cjs, one CommonJS file compiled with a V8 code
 * cache: ./code-cache.ts), or as ES modules without one (the sources run by tsx) or with a stale one
 * (in a checkout, dist/ rebuilt by tsc alone leaves the bundle older than entry.js). A
 * `search`/`recall` of the tree at the default location starts opening it before the CLI's modules
 * load (entry.ts, lib/memory/prefetch.ts).
 */
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const { packageVersion } = await import('../version.js');
  process.stdout.write(`${packageVersion()}\n`);
} else {
  const early = defaultTreeQuery(argv);
  if (early) {
    // The early open's load and walk keep both cores busy while the modules load; V8's parallel
    // scavenger then waits for helper threads that cannot run (a 1 ms scavenge took 5–11 ms in
    // 2 of 5 runs). This one-shot process scavenges a few MiB: on the main thread alone it is ~1 ms.
    // (node:v8 through require: its ESM facade alone costs ~1.4 ms; node:module is loaded anyway.)
    const { createRequire } = await import('node:module');
    (createRequire(import.meta.url)('node:v8') as typeof import('node:v8')).setFlagsFromString(
      '--no-parallel-scavenge',
    );
  }
  type Entry = typeof import('./entry.js');
  // The bundle `require`s every package; some are ES modules only (openid-client, jose), which
  // `require` loads from Node 20.19 on: on an older Node the CLI runs as ES modules.
  const bundle = !process.features.require_module
    ? undefined
    : (await import('./code-cache.js')).loadBundle<Entry>(new URL('./cli.cjs', import.meta.url), {
        profile: early ? 'query' : 'cli',
        // In a checkout, dist/ rebuilt by tsc alone leaves the bundle stale.
        staleIf: {
          source: new URL('../../lib/cli/entry.ts', import.meta.url),
          output: new URL('./entry.js', import.meta.url),
        },
      });
  await (bundle?.exports ?? (await import('./entry.js'))).start(early);
}

/**
 * A `search`/`recall` (after any of the program's options) whose flags and environment name no other
 * tree, space or backend. (A config file or profile that does is found by the open, which then drops
 * the early start.)
 */
function defaultTreeQuery(args: string[]): boolean {
  let i = 0; // past the program's options (lib/cli/program.ts)
  for (;;) {
    const a = args[i] ?? '';
    if (/^--(json|debug)$|^--(profile|log-level|config)=/.test(a)) i += 1;
    else if (/^--(profile|log-level|config)$/.test(a))
      i += 2; // and its value
    else break;
  }
  if (args[i] !== 'search' && args[i] !== 'recall') return false;
  if (process.env.CLAW_BYTEROVER_CONTEXT_TREE !== undefined) return false;
  return !args.some((a) => /^--(dir|space|backend|brv|help)(=|$)|^-h$/.test(a));
}
