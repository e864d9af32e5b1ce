/**
 * Where the context tree and lib/memory's state live for this run: the tree is `contextTree` from
 * the config (`--dir`, CLAW_BYTEROVER_CONTEXT_TREE, default `.brv/context-tree`) resolved against the
 * working directory. Every command that touches the tree (pull, push, and later search, recall,
 * curate, index) uses this one answer.
 */
import { basename, dirname, join, resolve, sep } from 'node:path';
import { defaultStateDir } from '../memory/index.js';
import type { CommandContext } from './context.js';

export interface TreeLocation {
  treeRoot: string;
  projectRoot: string;
  stateDir: string;
}

/**
 * The state directory of a tree: `<project>/.brv/claw-byterover` for the standard
 * `<project>/.brv/context-tree`; for any other directory `<parent>/.<name>.claw-byterover`, so two
 * trees never share a sync manifest or an outbox.
 */
export function locateTree(treeRoot: string): TreeLocation {
  if (treeRoot.endsWith(`${sep}.brv${sep}context-tree`)) {
    const projectRoot = dirname(dirname(treeRoot));
    return { treeRoot, projectRoot, stateDir: defaultStateDir(projectRoot) };
  }
  return {
    treeRoot,
    projectRoot: dirname(treeRoot),
    stateDir: join(dirname(treeRoot), `.${basename(treeRoot)}.claw-byterover`),
  };
}

export async function treeLocation(ctx: CommandContext): Promise<TreeLocation> {
  const { config } = await ctx.config();
  return locateTree(resolve(ctx.io.cwd, config.contextTree));
}
