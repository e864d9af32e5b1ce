/**
 * Records topics in a child process, for the crash and concurrency tests.
 * argv: <treeRoot> <signalsDir> <mode> <json>
 * - mode `crash`: json = {path, html, overwrite}; SIGKILLs itself right after the temp file is written
 *   (before the rename/link): a real crash, no finally blocks run.
 * - mode `many`: json = {paths: string[], tag}; records each path (no overwrite) and prints one JSON
 *   line {created: [...], refused: {code: n}}.
 */
import { recordTopic } from '../../../../lib/memory/v4/record.js';

const [treeRoot = '', signalsDir = '', mode = '', json = '{}'] = process.argv.slice(2);
const space = { treeRoot, signalsDir };
if (mode === 'crash') {
  const a = JSON.parse(json) as { path: string; html: string; overwrite: boolean };
  await recordTopic(
    space,
    a.path,
    { html: a.html },
    {
      overwrite: a.overwrite,
      allowDrop: true,
      hooks: {
        at(p) {
          if (p === 'record:temp-written') process.kill(process.pid, 'SIGKILL');
        },
      },
    },
  );
} else if (mode === 'many') {
  const a = JSON.parse(json) as { paths: string[]; tag: string };
  const created: string[] = [];
  const refused: Record<string, number> = {};
  await Promise.all(
    a.paths.map(async (p) => {
      try {
        await recordTopic(space, p, {
          html: `<bv-topic path="${p}" title="${a.tag} ${p}"><bv-highlights>written by ${a.tag}</bv-highlights></bv-topic>`,
        });
        created.push(p);
      } catch (e) {
        const code = (e as { code?: string }).code ?? String(e);
        refused[code] = (refused[code] ?? 0) + 1;
      }
    }),
  );
  process.stdout.write(`${JSON.stringify({ created, refused })}\n`);
}
