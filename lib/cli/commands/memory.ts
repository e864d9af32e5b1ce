/**
 * `search`, `recall`, `curate` and `index --stats`: the local context tree through lib/memory.
 *
 * The default backend is `local` (the tree on disk indexed in-process by the native recall engine);
 * `--backend brv` drives ByteRover's own `brv` CLI instead (it must be on PATH, or `--brv <path>`).
 * Nothing here talks to the network: `curate` writes a new note and queues it in the outbox, and
 * `push` sends it.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ClawError } from '../../errors.js';
import type { MemoryBackend, OpenedMemory, RecallHit } from '../../memory/index.js';
import type { CommandContext } from '../context.js';
import type { ConfigFlag } from '../context.js';
import type { CommandModule, CommandResult } from '../program.js';
import type { PersistInfo } from '../../memory/persist.js';
import type { ScanInfo } from '../../memory/tree.js';
import { table } from '../table.js';
import { CliErrorCode } from '../errors.js';

interface BackendFlags extends Record<string, unknown> {
  dir?: string;
  /** A ByteRover v4 space (id, display name or `default`). */
  space?: string;
  backend?: string;
  brv?: string;
}

interface QueryFlags extends BackendFlags {
  k?: string;
  budget?: string;
}

interface CurateFlags extends BackendFlags {
  file?: string;
  title?: string;
  tag?: string[];
  path?: string;
}

const DIR_FLAG: ConfigFlag[] = [{ option: 'dir', path: 'contextTree', flag: '--dir' }];

function positiveInt(value: string | undefined, flag: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new ClawError(
      CliErrorCode.USAGE,
      `expected ${flag} to be a whole number from 1 to ${max}, found ${JSON.stringify(value)}`,
      {
        hint: `Pass for example ${flag} ${fallback}.`,
        exitCode: 2,
      },
    );
  }
  return n;
}

/** Opens the chosen backend for this run (closed by the run's cleanup). */
async function openBackend(
  ctx: CommandContext,
  flags: BackendFlags,
  missingTree: 'create' | 'error' = 'create',
): Promise<MemoryBackend> {
  return (await openMemoryFor(ctx, flags, missingTree)).backend;
}

/**
 * The memory of this run: a ByteRover v4 space when `--space` names one or the folder is bound to one
 * (and no tree was configured), else the v3 context tree (lib/memory/open.ts resolveMemory).
 */
async function openMemoryFor(
  ctx: CommandContext,
  flags: BackendFlags,
  missingTree: 'create' | 'error' = 'create',
): Promise<OpenedMemory> {
  const kind = flags.backend ?? 'local';
  if (kind !== 'local' && kind !== 'brv') {
    throw new ClawError(CliErrorCode.USAGE, `expected --backend local or brv, found ${JSON.stringify(kind)}`, {
      hint: "Use --backend local (native recall, default) or --backend brv (ByteRover's CLI).",
      exitCode: 2,
    });
  }
  // Loaded here, not at the top: `--version` and the other commands never load lib/memory.
  const [{ openMemory }, { treeLocation }, { dataDir }] = await Promise.all([
    import('../../memory/open.js'),
    import('../tree.js'),
    import('../../memory/v4/space.js'),
  ]);
  const { treeRoot, projectRoot, stateDir } = await treeLocation(ctx);
  const { sources } = await ctx.config();
  const treeConfigured = sources.contextTree !== undefined && sources.contextTree !== 'default';
  const logger = await ctx.logger();
  const progress = ctx.progress(1000);
  // The one opener (lib/memory/open.ts): `local` is its native engine, `brv` ByteRover's CLI. The
  // tree goes as `dir` only when configured (--dir, env, config file): otherwise a folder bound to a
  // ByteRover v4 space opens the space.
  const opened = await openMemory({
    projectRoot: treeConfigured ? projectRoot : ctx.io.cwd,
    ...(treeConfigured ? { dir: treeRoot, stateDir } : {}),
    ...(flags.space ? { space: flags.space } : {}),
    dataDir: dataDir({ env: ctx.io.env }),
    engine: kind === 'local' ? 'native' : 'brv',
    // search/recall never start a tree: a missing one is MEMORY_TREE_MISSING (exit 6).
    missingTree,
    watch: false,
    logger,
    // Opening a large tree without a persisted index takes seconds: a progress line on a TTY after 1 s.
    onProgress: (phase, current, total) => progress.update(`opening memory: ${phase}`, current, total),
    ...(flags.brv ? { brv: { path: flags.brv } } : {}),
  });
  progress.done();
  ctx.onCleanup(() => opened.backend.close());
  return opened;
}

function hitRows(hits: RecallHit[]): string {
  // ByteRover v4 hits name the element they came from and a confidence
  const v4 = hits.some((h) => 'elementType' in h);
  if (v4) {
    const el = (h: RecallHit): string => {
      const x = h as RecallHit & { elementType?: string; elementId?: string; confidence?: string };
      return `${(x.elementType ?? '').replace(/^bv-/, '')}${x.elementId ? `#${x.elementId}` : ''} ${x.confidence ?? ''}`.trim();
    };
    return table(
      ['#', 'SCORE', 'PATH', 'ELEMENT', 'TITLE'],
      hits.map((h, i) => [String(i + 1), h.score.toFixed(3), h.path, el(h), h.title]),
    );
  }
  return table(
    ['#', 'SCORE', 'PATH', 'TITLE'],
    hits.map((h, i) => [String(i + 1), h.score.toFixed(3), h.path, h.title]),
  );
}

async function search(ctx: CommandContext, flags: QueryFlags, args: string[]): Promise<CommandResult> {
  const query = args.join(' ').trim();
  const k = positiveInt(flags.k, '--k', 10, 1000);
  const backend = await openBackend(ctx, flags, 'error');
  const hits = await backend.search(query, { k, signal: ctx.signal });
  return {
    data: { query, backend: backend.kind, hits, total: hits.length },
    human:
      hits.length === 0
        ? `No notes match ${JSON.stringify(query)}.`
        : [hitRows(hits), ...hits.map((h) => `\n${h.path}: ${h.excerpt}`)],
  };
}

async function recall(ctx: CommandContext, flags: QueryFlags, args: string[]): Promise<CommandResult> {
  const query = args.join(' ').trim();
  const k = positiveInt(flags.k, '--k', 5, 1000);
  const tokenBudget = positiveInt(flags.budget, '--budget', 1000, 1_000_000);
  const backend = await openBackend(ctx, flags, 'error');
  const r = await backend.recall(query, { k, tokenBudget, signal: ctx.signal });
  return {
    data: { query, backend: backend.kind, tokenBudget, ...r },
    human: r.hits.length === 0 ? `Nothing to recall for ${JSON.stringify(query)}.` : r.text,
  };
}

async function curate(ctx: CommandContext, flags: CurateFlags, args: string[]): Promise<CommandResult> {
  let content = args.join(' ');
  if (flags.file !== undefined) {
    if (content.trim() !== '') {
      throw new ClawError(CliErrorCode.USAGE, 'expected either note text or --file, found both', {
        hint: 'Pass the text, or --file <path>, not both.',
        exitCode: 2,
      });
    }
    const file = resolve(ctx.io.cwd, flags.file);
    try {
      content = await readFile(file, 'utf8');
    } catch (e) {
      throw new ClawError(
        CliErrorCode.FILE_UNREADABLE,
        `expected a readable file at ${file}, found ${(e as NodeJS.ErrnoException).code ?? 'an error'}`,
        {
          hint: 'Check the path given to --file.',
          exitCode: 6,
        },
      );
    }
  }
  if (content.trim() === '' && flags.file !== undefined) {
    const file = resolve(ctx.io.cwd, flags.file);
    throw new ClawError(CliErrorCode.FILE_EMPTY, `expected note text in ${file}, found an empty file`, {
      hint: 'Write the note into the file first, or pass the text directly: claw-byterover curate "<note>".',
      details: { file },
      exitCode: 6,
    });
  }
  if (content.trim() === '') {
    throw new ClawError(CliErrorCode.USAGE, 'expected note text or --file <path>, found nothing', {
      hint: 'Example: claw-byterover curate "We deploy with blue/green; rollback is a DNS flip." --tag deploy',
      exitCode: 2,
    });
  }
  const opened = await openMemoryFor(ctx, flags);
  const backend = opened.backend;
  const res = await backend.curate(
    {
      content,
      ...(flags.title ? { title: flags.title } : {}),
      ...(flags.tag && flags.tag.length > 0 ? { tags: flags.tag } : {}),
      ...(flags.path ? { path: flags.path } : {}),
    },
    { signal: ctx.signal },
  );
  // A curate in the wrong folder would otherwise quietly start a second tree: say so.
  if (opened.createdTree !== undefined && res.status !== 'existing' && res.status !== 'queued') {
    ctx.out.note(
      `note: no context tree was here; started a new one at ${opened.createdTree} (use --dir or run in the project that has one to add to an existing tree)`,
    );
  }
  const where = res.path ?? '(brv decides)';
  const human =
    res.status === 'existing'
      ? `Already curated as ${where} (id ${res.id}); nothing written.`
      : res.status === 'queued'
        ? `Handed to brv curate (id ${res.id}).`
        : `Wrote ${where} (id ${res.id}); run \`claw-byterover push\` to send it to ByteRover.`;
  return { data: { backend: backend.kind, ...res }, human };
}

async function indexStats(ctx: CommandContext, flags: BackendFlags & { stats?: boolean }): Promise<CommandResult> {
  if (!flags.stats) {
    throw new ClawError(CliErrorCode.USAGE, 'expected --stats (the only index action), found none', {
      hint: 'Run: claw-byterover index --stats',
      exitCode: 2,
    });
  }
  const opened = await openMemoryFor(ctx, flags);
  const s = await opened.backend.stats();
  const src = opened.source;
  const rows: string[][] = [
    ['backend', s.backend],
    ...(src.kind === 'v4-space'
      ? [
          ['memory', `ByteRover v4 space ${src.spaceName ? `"${src.spaceName}" ` : ''}(${src.spaceId})`],
          ['found', src.how],
        ]
      : [['memory', `v3 context tree (${src.found === 'dir' ? 'configured' : 'the project default'})`]]),
    ['tree', s.treeRoot],
    ['documents', String(s.documents)],
    ...(s.engine?.terms !== undefined ? [['terms', String(s.engine.terms)]] : []),
    ...(s.engine?.memoryBytes !== undefined
      ? [
          [
            'engine memory',
            `${(s.engine.memoryBytes / 1048576).toFixed(1)} MiB${s.engine.mappedBytes ? ` (+ ${(s.engine.mappedBytes / 1048576).toFixed(1)} MiB mapped from the persisted index)` : ''}`,
          ],
        ]
      : []),
    ...(s.pending !== undefined ? [['outbox (not pushed)', String(s.pending)]] : []),
    ['last synced commit', s.commitSha ?? '(never synced)'],
  ];
  // The persisted index (local backend): where, how big, how old, and what this open reused.
  // (a v4 SpaceMemory has the same `persist`, and its own `lastScan`: reused / re-read topics)
  const local = opened.backend as {
    persist?: PersistInfo;
    tree?: { lastScan?: ScanInfo };
    lastScan?: Pick<ScanInfo, 'reused' | 'read'>;
  };
  const p = local.persist;
  const scan = local.tree?.lastScan ?? local.lastScan;
  if (p) {
    const age = p.writtenAt ? `${Math.max(0, Math.round((Date.now() - p.writtenAt.getTime()) / 1000))} s ago` : 'never';
    rows.push(
      ['persisted index', p.path],
      [
        'persisted size / age',
        `${p.bytes !== undefined ? `${(p.bytes / 1048576).toFixed(1)} MiB` : '-'} / written ${age}`,
      ],
      ['this open', p.loaded ? 'loaded the persisted index' : `built from the tree (${p.notLoaded ?? 'not loaded'})`],
      ...(scan ? [['files reused / re-read', `${scan.reused} / ${scan.read}`]] : []),
    );
  }
  const persisted = p
    ? {
        path: p.path,
        loaded: p.loaded,
        ...(p.notLoaded ? { notLoaded: p.notLoaded } : {}),
        ...(p.bytes !== undefined ? { bytes: p.bytes } : {}),
        ...(p.writtenAt ? { writtenAt: p.writtenAt.toISOString() } : {}),
        ...(scan ? { reused: scan.reused, reread: scan.read } : {}),
      }
    : undefined;
  return {
    data: { ...s, source: src, ...(persisted ? { persisted } : {}) },
    human: table(['', ''], rows).split('\n').slice(1).join('\n'),
  };
}

export const memoryCommands: CommandModule = (program, rt) => {
  const withBackend = (cmd: ReturnType<typeof program.command>) =>
    cmd
      .option('--dir <path>', 'context tree directory (default: ./.brv/context-tree)')
      .option('--space <id|name>', 'a ByteRover v4 space (default: the one this folder is bound to, if any)')
      .option('--backend <name>', "local (native recall, default) or brv (ByteRover's CLI)")
      .option('--brv <path>', 'the brv executable for --backend brv (default: brv on PATH)');

  withBackend(program.command('search').argument('<query...>', 'what to look for'))
    .description("rank the context tree's notes for a query (BM25 over title, headings and body)")
    .option('--k <n>', 'how many hits (default 10)')
    .action(rt.action<QueryFlags>(search, DIR_FLAG));

  withBackend(program.command('recall').argument('<query...>', 'the prompt or question'))
    .description('the memory block an agent would get for this prompt, within a token budget')
    .option('--k <n>', 'how many notes at most (default 5)')
    .option('--budget <tokens>', 'token budget of the block (default 1000)')
    .action(rt.action<QueryFlags>(recall, DIR_FLAG));

  withBackend(program.command('curate').argument('[text...]', 'the note (markdown); or use --file'))
    .description('write a new note into the context tree and queue it for push')
    .option('--file <path>', 'read the note from a file')
    .option('--title <title>', 'title (default: the first line)')
    .option('--tag <tag...>', 'tags (repeatable)')
    .option('--path <path>', 'path inside the tree (default: from the title)')
    .action(rt.action<CurateFlags>(curate, DIR_FLAG));

  withBackend(program.command('index'))
    .description('the recall index: --stats shows documents, terms, memory and sync state')
    .option('--stats', 'show index statistics')
    .action(rt.action<BackendFlags & { stats?: boolean }>(indexStats, DIR_FLAG));
};
