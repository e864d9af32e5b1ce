/**
 * Where the context tree and lib/memory's state live for this run: the tree is `contextTree` from
 * the config (`--dir`, CLAW_BYTEROVER_CONTEXT_TREE, default `.brv/context-tree`) resolved against the
 * working directory. Every command that touches the tree (pull, push, and later search, recall,
 * curate, index) uses this one answer.
 */
import { resolve } from 'node:path';
import { locateTree, type MemoryLocation } from '../memory/open.js';
import type { CommandContext } from './context.js';

export type TreeLocation = MemoryLocation;

/**
 * The state directory of a tree: `<project>/.brv/claw-byterover` for the standard
 * `<project>/.brv/context-tree`; for any other directory `<parent>/.<name>.claw-byterover`, so two
 * trees never share a sync manifest or an outbox (lib/memory/open.ts decides; re-exported here).
 */
export { locateTree };

export async function treeLocation(ctx: CommandContext): Promise<TreeLocation> {
  const { config } = await ctx.config();
  return locateTree(resolve(ctx.io.cwd, config.contextTree));
}
