/**
 * What the executable (lib/cli/bin.ts) runs after its `--version` shortcut: the whole CLI, with the
 * early open of a `search`/`recall` first. It is the entry of the CLI bundle (dist/cli/cli.cjs, built
 * by scripts/build-ts.mjs and compiled with a code cache by ./code-cache.ts). Without a bundle (the
 * sources run by tsx), or with a stale one (dist/ rebuilt by tsc alone), bin.ts imports it as an ES
 * module. Either way the same modules run in the same order: everything below is imported on demand.
 */

/**
 * Runs the CLI on the real process. `early`: the arguments are a `search`/`recall` of the tree at the
 * default location (bin.ts decides): its open starts before the CLI's modules load
 * (lib/memory/prefetch.ts): the persisted index loads and the tree is stat-walked on other threads
 * meanwhile, and the command's open adopts the result only when it opens exactly that tree.
 */
export async function start(early: boolean): Promise<void> {
  if (early) {
    // Awaited until the load and the walk run on their threads: otherwise the CLI's modules, loaded
    // next, would hold this thread before the prefetch had started them.
    await (await import('../memory/prefetch.js')).prefetchOpen(process.cwd());
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
  (await import('./index.js')).main();
}
