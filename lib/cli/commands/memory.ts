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
import type { MemoryBackend, RecallHit } from '../../memory/index.js';
import type { CommandContext } from '../context.js';
import type { ConfigFlag } from '../context.js';
import type { CommandModule, CommandResult } from '../program.js';
import { table } from '../table.js';

interface BackendFlags extends Record<string, unknown> {
  dir?: string;
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
      'CLI_USAGE',
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
async function openBackend(ctx: CommandContext, flags: BackendFlags): Promise<MemoryBackend> {
  const kind = flags.backend ?? 'local';
  if (kind !== 'local' && kind !== 'brv') {
    throw new ClawError('CLI_USAGE', `expected --backend local or brv, found ${JSON.stringify(kind)}`, {
      hint: "Use --backend local (native recall, default) or --backend brv (ByteRover's CLI).",
      exitCode: 2,
    });
  }
  // Loaded here, not at the top: `--version` and the other commands never load lib/memory.
  const [{ openMemory }, { treeLocation }] = await Promise.all([import('../../memory/open.js'), import('../tree.js')]);
  const { treeRoot, projectRoot, stateDir } = await treeLocation(ctx);
  const logger = await ctx.logger();
  // The one opener (lib/memory/open.ts): `local` is its native engine, `brv` ByteRover's CLI.
  const { backend } = await openMemory({
    projectRoot,
    dir: treeRoot,
    stateDir,
    engine: kind === 'local' ? 'native' : 'brv',
    watch: false,
    logger,
    ...(flags.brv ? { brv: { path: flags.brv } } : {}),
  });
  ctx.onCleanup(() => backend.close());
  return backend;
}

function hitRows(hits: RecallHit[]): string {
  return table(
    ['#', 'SCORE', 'PATH', 'TITLE'],
    hits.map((h, i) => [String(i + 1), h.score.toFixed(3), h.path, h.title]),
  );
}

async function search(ctx: CommandContext, flags: QueryFlags, args: string[]): Promise<CommandResult> {
  const query = args.join(' ').trim();
  const k = positiveInt(flags.k, '--k', 10, 1000);
  const backend = await openBackend(ctx, flags);
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
  const backend = await openBackend(ctx, flags);
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
      throw new ClawError('CLI_USAGE', 'expected either note text or --file, found both', {
        hint: 'Pass the text, or --file <path>, not both.',
        exitCode: 2,
      });
    }
    const file = resolve(ctx.io.cwd, flags.file);
    try {
      content = await readFile(file, 'utf8');
    } catch (e) {
      throw new ClawError(
        'CLI_FILE_UNREADABLE',
        `expected a readable file at ${file}, found ${(e as NodeJS.ErrnoException).code ?? 'an error'}`,
        {
          hint: 'Check the path given to --file.',
          exitCode: 6,
        },
      );
    }
  }
  if (content.trim() === '') {
    throw new ClawError('CLI_USAGE', 'expected note text or --file <path>, found nothing', {
      hint: 'Example: claw-byterover curate "We deploy with blue/green; rollback is a DNS flip." --tag deploy',
      exitCode: 2,
    });
  }
  const backend = await openBackend(ctx, flags);
  const res = await backend.curate(
    {
      content,
      ...(flags.title ? { title: flags.title } : {}),
      ...(flags.tag && flags.tag.length > 0 ? { tags: flags.tag } : {}),
      ...(flags.path ? { path: flags.path } : {}),
    },
    { signal: ctx.signal },
  );
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
    throw new ClawError('CLI_USAGE', 'expected --stats (the only index action), found none', {
      hint: 'Run: claw-byterover index --stats',
      exitCode: 2,
    });
  }
  const backend = await openBackend(ctx, flags);
  const s = await backend.stats();
  const rows: string[][] = [
    ['backend', s.backend],
    ['tree', s.treeRoot],
    ['documents', String(s.documents)],
    ...(s.engine?.terms !== undefined ? [['terms', String(s.engine.terms)]] : []),
    ...(s.engine?.memoryBytes !== undefined
      ? [['engine memory', `${(s.engine.memoryBytes / 1048576).toFixed(1)} MiB`]]
      : []),
    ...(s.pending !== undefined ? [['outbox (not pushed)', String(s.pending)]] : []),
    ['last synced commit', s.commitSha ?? '(never synced)'],
  ];
  return { data: { ...s }, human: table(['', ''], rows).split('\n').slice(1).join('\n') };
}

export const memoryCommands: CommandModule = (program, rt) => {
  const withBackend = (cmd: ReturnType<typeof program.command>) =>
    cmd
      .option('--dir <path>', 'context tree directory (default: ./.brv/context-tree)')
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
