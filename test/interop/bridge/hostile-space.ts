/**
 * The ByteRover stand-in serving a hostile space, run in its own process (test/interop/bridge/
 * responsive.test.ts) so that encoding its multi-MB snapshot answers does not run on the event loop
 * being measured. Prints one JSON line ({ clientConfig, sessionKey, teamId, spaceId, files }) once
 * ready; each line "commit <n>" on stdin commits round n of the hostile notes and is answered with
 * "committed <n>"; it exits when stdin closes.
 */
import { createInterface } from 'node:readline';
import { DEFAULT_SESSION_KEY, startByteRoverStandin } from '../../standin/byterover.js';

/** `chars` characters of the unclosed constructs that used to make the markdown parser rescan. */
export function hostileMarkdown(chars: number, seed: number): string {
  const units = ['[a](', '![x](', '[a](b', '[a][', '<a ', '<http://', '`', '*'];
  const parts: string[] = [`# Hostile ${seed}\n\n`];
  let n = parts[0]!.length;
  for (let i = seed; n < chars; i++) {
    const u = units[i % units.length]!;
    parts.push(u);
    n += u.length;
  }
  return parts.join('');
}

/** Round n: 24 notes of 256 KiB and 2 of 3 MB of hostile markdown, plus entries this tree cannot hold. */
function round(n: number): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < 24; i++) files[`/hostile/n${i}.md`] = hostileMarkdown(256 * 1024, i + n);
  for (let i = 0; i < 2; i++) files[`/hostile/big${i}.md`] = hostileMarkdown(3 * 1024 * 1024, i + n);
  files[`/${'n'.repeat(300)}.md`] = '# too long a name\n';
  files['/x.md'] = `# x ${n}\n`;
  files['/x.md/y.md'] = '# below a file\n';
  return files;
}

const standin = await startByteRoverStandin({ record: false });
const team = standin.addTeam();
const space = standin.addSpace(team.id, { is_default: true });
const commit = (n: number): void => {
  standin.commitFiles(team.id, space.id, 'main', round(n), `hostile round ${n}`);
};
commit(0);
process.stdout.write(
  JSON.stringify({
    clientConfig: standin.clientConfig(),
    sessionKey: DEFAULT_SESSION_KEY,
    teamId: team.id,
    spaceId: space.id,
    files: Object.keys(round(0)).length,
  }) + '\n',
);
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const m = /^commit (\d+)$/.exec(line.trim());
  if (!m) return;
  commit(Number(m[1]));
  process.stdout.write(`committed ${m[1]}\n`);
});
lines.on('close', () => {
  void standin.close().then(() => process.exit(0));
});
