/**
 * `pull` and `push`: the local context tree ⇄ a ByteRover space (CoGit), through lib/memory's sync
 * (which decides per file what to write, keep, delete or send; see docs/readme/memory.md).
 *
 * `push` sends the outbox (notes curated here). `push <files…>` first queues the named files of the
 * tree that differ from what was last synced, then pushes everything queued.
 */
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { createHash } from 'node:crypto';
import { ClawError } from '../../errors.js';
import { oneLine } from '../../log/escape.js';
import type { CommandContext } from '../context.js';
import { ExitCode } from '../exit.js';
import { SCOPE_FLAGS, type CommandModule, type CommandResult } from '../program.js';
import { resolveScope, type Scope } from '../scope.js';
import { CliErrorCode } from '../errors.js';

/** lib/memory, the services and the tree location, loaded when pull/push runs (never for other commands). */
async function syncDeps() {
  const [memory, curate, svc, tree] = await Promise.all([
    import('../../memory/index.js'),
    import('../../memory/curate.js'),
    import('../services.js'),
    import('../tree.js'),
  ]);
  return { ...memory, entryFor: curate.entryFor, services: svc.services, treeLocation: tree.treeLocation };
}

interface SyncFlags extends Record<string, unknown> {
  team?: string;
  space?: string;
  branch?: string;
  dir?: string;
}

async function openSync(ctx: CommandContext, scope: Scope) {
  const { ContextTree, MemorySync, Outbox, services, treeLocation } = await syncDeps();
  const s = await services(ctx);
  const logger = await ctx.logger();
  const { treeRoot, projectRoot, stateDir } = await treeLocation(ctx);
  const tree = new ContextTree({ projectRoot, treeRoot, logger });
  ctx.onCleanup(() => tree.close());
  const outbox = new Outbox(stateDir, logger);
  const sync = new MemorySync({
    tree,
    outbox,
    stateDir,
    client: s.client,
    teamId: scope.teamId,
    spaceId: scope.spaceId,
    branch: scope.branch,
    logger,
  });
  return { sync, tree, outbox, treeRoot };
}

function scopeData(scope: Scope): Record<string, unknown> {
  return { team: scope.teamId, space: scope.spaceId, branch: scope.branch };
}

async function pull(ctx: CommandContext): Promise<CommandResult> {
  const { services } = await syncDeps();
  const s = await services(ctx);
  const progress = ctx.progress();
  progress.update('resolving team and space');
  const scope = await resolveScope(ctx, s);
  const { sync, treeRoot } = await openSync(ctx, scope);
  progress.update(`pulling ${scope.teamId}/${scope.spaceId}@${scope.branch}`);
  const r = await sync.pull({ signal: ctx.signal });
  progress.done();
  const changed = r.added.length + r.updated.length + r.deleted.length;
  const human = [
    changed === 0 && r.kept.length === 0 && r.failed.length === 0
      ? `Already up to date with ${scope.teamId}/${scope.spaceId}@${scope.branch} (${r.commitSha.slice(0, 12) || 'no commits yet'}).`
      : `Pulled ${scope.teamId}/${scope.spaceId}@${scope.branch} at ${r.commitSha.slice(0, 12) || '(no commits)'} into ${treeRoot}: ${r.added.length} added, ${r.updated.length} updated, ${r.deleted.length} deleted, ${r.kept.length} kept.`,
    ...r.kept.map(
      (k) =>
        `  kept ${oneLine(k.path)}: ${k.reason === 'unpushed' ? 'not pushed yet (run push)' : k.reason === 'changed-locally' ? 'changed here since the last sync' : 'unsafe path in the snapshot'}`,
    ),
    // Entries this tree cannot hold (remote names: escaped, they reach a terminal).
    ...r.failed.map((f) => `  not applied ${oneLine(f.path)}: ${f.code}: ${oneLine(f.message)}`),
  ];
  return {
    data: {
      ...scopeData(scope),
      dir: treeRoot,
      commitSha: r.commitSha,
      added: r.added,
      updated: r.updated,
      deleted: r.deleted,
      kept: r.kept,
      failed: r.failed,
    },
    human,
  };
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Queues the named tree files that differ from the last sync; returns what happened to each. */
async function queueFiles(
  ctx: CommandContext,
  opened: Awaited<ReturnType<typeof openSync>>,
  files: string[],
): Promise<Array<{ path: string; status: 'queued' | 'already-queued' | 'unchanged' }>> {
  const { noteId, resolveInTree, entryFor } = await syncDeps();
  const { tree, outbox, sync, treeRoot } = opened;
  await tree.ensure();
  await tree.refresh();
  const state = await sync.loadState();
  const queued = new Set((await outbox.list()).map((e) => e.path));
  const out: Array<{ path: string; status: 'queued' | 'already-queued' | 'unchanged' }> = [];
  for (const file of files) {
    const rel0 = relative(treeRoot, resolve(ctx.io.cwd, file));
    if (rel0 === '' || rel0.startsWith('..') || isAbsolute(rel0)) {
      throw new ClawError(
        CliErrorCode.PATH_OUTSIDE_TREE,
        `Expected a file inside the context tree ${treeRoot}, found ${file}.`,
        {
          hint: 'Name files under the tree (or pass --dir for another tree).',
          exitCode: ExitCode.USAGE,
        },
      );
    }
    const { rel } = await resolveInTree(treeRoot, rel0.split(sep).join('/'));
    const doc = tree.get(rel);
    if (!doc) {
      throw new ClawError(
        CliErrorCode.FILE_NOT_FOUND,
        `Expected a markdown note at ${join(treeRoot, rel)}, found none.`,
        {
          hint: 'Check the path; only .md files in the tree (not dot-files) are synced.',
          exitCode: ExitCode.NOT_FOUND,
        },
      );
    }
    if (queued.has(rel)) out.push({ path: rel, status: 'already-queued' });
    else if (state.manifest[rel] === sha256(doc.text)) out.push({ path: rel, status: 'unchanged' });
    else {
      const id = doc.note.id ?? noteId({ title: doc.note.title, content: doc.text, tags: doc.note.tags, path: rel });
      await outbox.put(entryFor(doc, id, new Date().toISOString()));
      queued.add(rel);
      out.push({ path: rel, status: 'queued' });
    }
  }
  return out;
}

async function push(ctx: CommandContext, _opts: SyncFlags, files: string[]): Promise<CommandResult> {
  const { services } = await syncDeps();
  const s = await services(ctx);
  const progress = ctx.progress();
  progress.update('resolving team and space');
  const scope = await resolveScope(ctx, s);
  const opened = await openSync(ctx, scope);
  const named = files.length > 0 ? await queueFiles(ctx, opened, files) : [];
  progress.update(`pushing to ${scope.teamId}/${scope.spaceId}@${scope.branch}`);
  const r = await opened.sync.push({ signal: ctx.signal });
  progress.done();
  const human =
    r.pushed.length === 0 && r.confirmed.length === 0
      ? [`Nothing to push to ${scope.teamId}/${scope.spaceId}@${scope.branch}.`]
      : [
          `Pushed ${r.pushed.length} note(s) to ${scope.teamId}/${scope.spaceId}@${scope.branch} in ${r.commits.length} commit(s); head ${r.commitSha.slice(0, 12)}.`,
          ...(r.confirmed.length > 0
            ? [`  ${r.confirmed.length} note(s) from an interrupted push were already on ByteRover (not sent again).`]
            : []),
        ];
  for (const n of named)
    if (n.status === 'unchanged') human.push(`  ${n.path}: unchanged since the last sync, not sent`);
  return {
    data: {
      ...scopeData(scope),
      dir: opened.treeRoot,
      commitSha: r.commitSha,
      commits: r.commits,
      pushed: r.pushed,
      confirmed: r.confirmed,
      files: named,
    },
    human,
  };
}

export const syncCommands: CommandModule = (program, rt) => {
  const scoped = (cmd: ReturnType<typeof program.command>) =>
    cmd
      .option('--team <id>', 'team id (default: config, else your default team)')
      .option('--space <id>', "space id (default: config, else the team's default space)")
      .option('--branch <name>', 'CoGit branch (default: config, else main)')
      .option('--dir <path>', 'context tree directory (default: ./.brv/context-tree)');

  scoped(program.command('pull'))
    .description("download the space's snapshot into the context tree (local unpushed or changed notes are kept)")
    .action(rt.action<SyncFlags>(pull, SCOPE_FLAGS));

  scoped(program.command('push [files...]'))
    .description('send notes to ByteRover: everything queued (curated notes), plus the named tree files that changed')
    .action(rt.action<SyncFlags>(push, SCOPE_FLAGS));
};
