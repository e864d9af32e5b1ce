/**
 * `record <topic-path>`: write a ByteRover v4 topic into the space this folder is bound to (or
 * `--space <id|name>`), validated against ByteRover's vocabulary, stamped and with its signal sidecar,
 * as lib/memory/v4/record.ts does it. Either the whole `<bv-topic>` HTML (`--html` or `--html-file`)
 * or fields (`--title`, `--summary`, `--keywords`, `--tags`, `--related`, `--body`).
 *
 * A folder not bound to a v4 space has no place for topics: BV_RECORD_NO_SPACE says how to bind it.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ClawError } from '../../errors.js';
import type { CommandContext } from '../context.js';
import type { CommandModule, CommandResult } from '../program.js';
import { CliErrorCode } from '../errors.js';

interface RecordFlags extends Record<string, unknown> {
  html?: string;
  htmlFile?: string;
  title?: string;
  summary?: string;
  keywords?: string;
  tags?: string;
  related?: string;
  body?: string;
  overwrite?: boolean;
  allowDrop?: boolean;
  space?: string;
}

async function record(ctx: CommandContext, flags: RecordFlags, args: string[]): Promise<CommandResult> {
  const topicPath = args[0] ?? '';
  let html = flags.html;
  if (flags.htmlFile !== undefined) {
    if (html !== undefined)
      throw new ClawError(CliErrorCode.USAGE, 'expected --html or --html-file, found both', {
        hint: 'Give the topic HTML one way.',
        exitCode: 2,
      });
    const file = resolve(ctx.io.cwd, flags.htmlFile);
    try {
      html = await readFile(file, 'utf8');
    } catch (e) {
      throw new ClawError(
        CliErrorCode.FILE_UNREADABLE,
        `expected a readable file at ${file}, found ${(e as NodeJS.ErrnoException).code ?? 'an error'}`,
        { hint: 'Check the path given to --html-file.', exitCode: 6 },
      );
    }
  }
  const fields = {
    ...(flags.title !== undefined ? { title: flags.title } : {}),
    ...(flags.summary !== undefined ? { summary: flags.summary } : {}),
    ...(flags.keywords !== undefined ? { keywords: flags.keywords } : {}),
    ...(flags.tags !== undefined ? { tags: flags.tags } : {}),
    ...(flags.related !== undefined ? { related: flags.related } : {}),
    ...(flags.body !== undefined ? { body: flags.body } : {}),
  };
  if (html === undefined && Object.keys(fields).length === 0)
    throw new ClawError(
      CliErrorCode.USAGE,
      'expected --html <bv-topic…>, --html-file <path> or fields (--title, --body…), found none',
      {
        hint: 'Example: claw-byterover record ops/deploy_window --title "Deploy window" --body "Deploys happen Tuesdays before noon."',
        exitCode: 2,
      },
    );
  // Loaded here, not at the top: other commands never load lib/memory.
  const [{ resolveMemory }, { recordTopic }, { dataDir }, { TopicErrorCode }] = await Promise.all([
    import('../../memory/open.js'),
    import('../../memory/v4/record.js'),
    import('../../memory/v4/space.js'),
    import('../../memory/v4/errors.js'),
  ]);
  const { space } = await resolveMemory({
    projectRoot: ctx.io.cwd,
    dataDir: dataDir({ env: ctx.io.env }),
    ...(flags.space ? { space: flags.space } : {}),
  });
  if (!space)
    throw new ClawError(
      TopicErrorCode.RECORD_NO_SPACE,
      `expected ${ctx.io.cwd} to be bound to a ByteRover v4 space (a .brvspace marker or a binding), found none`,
      {
        hint: 'Bind this folder with ByteRover (`space bind "<name>"`) or pass --space <id|name|default>. v3 trees take notes with `curate`.',
        exitCode: 2,
      },
    );
  const r = await recordTopic(space, topicPath, html !== undefined ? { html, ...fields } : fields, {
    ...(flags.overwrite ? { overwrite: true } : {}),
    ...(flags.allowDrop ? { allowDrop: true } : {}),
    agent: 'claw-byterover',
  });
  const where = space.spaceName ? `"${space.spaceName}" (${space.spaceId})` : space.spaceId;
  return {
    data: {
      path: r.path,
      file: r.file,
      created: r.created,
      id: r.id,
      space: { id: space.spaceId, name: space.spaceName ?? null, found: space.source, treeRoot: space.treeRoot },
      signals: r.signals,
      warnings: r.warnings,
      dropped: r.dropped,
    },
    human: [
      `${r.created ? 'Recorded' : 'Updated'} ${r.path} in space ${where} (${r.file}, id ${r.id}).`,
      ...r.warnings.map((w) => `warning: ${w}`),
      ...r.dropped.map((d) => `dropped: ${d.type} ${d.before}→${d.after}`),
    ],
  };
}

export const recordCommands: CommandModule = (program, rt) => {
  program
    .command('record')
    .argument('<topic-path>', 'topic path, snake_case segments (e.g. auth/jwt_design); .html optional')
    .description(
      "write a ByteRover v4 topic (<bv-topic> HTML, validated against ByteRover's vocabulary) into this folder's space",
    )
    .option('--html <html>', 'the whole <bv-topic>…</bv-topic> HTML')
    .option('--html-file <path>', 'read the <bv-topic> HTML from a file')
    .option('--title <title>', 'topic title (fields form)')
    .option('--summary <text>', 'one-sentence summary (fields form)')
    .option('--keywords <a,b>', 'comma-separated keywords (fields form)')
    .option('--tags <a,b>', 'comma-separated tags (fields form)')
    .option('--related <@a/b.html,@c>', 'related topics (fields form)')
    .option('--body <text>', 'the text, kept as <bv-highlights> (fields form)')
    .option('--overwrite', 'replace an existing topic (merge its elements into yours first)')
    .option('--allow-drop', 'with --overwrite: accept fewer elements than the existing topic has')
    .option('--space <id|name>', 'the v4 space (default: the one this folder is bound to)')
    .action(rt.action<RecordFlags>(record));
};
