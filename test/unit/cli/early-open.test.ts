/**
 * The executable opens the tree of a `search` or `recall` while the CLI loads (lib/cli/bin.ts →
 * lib/memory/prefetch.ts), and only when no flag names another tree: a warm search adopts the early
 * open (the `memory opened` debug line says `prefetched`) and answers as a run without it; `--dir`
 * runs without it; the first run (nothing persisted) has nothing to start early; the program's own
 * options before the command keep it. Both as the installed executable runs (the CLI bundle,
 * dist/cli/cli.cjs) and from the sources (tsx, the ES modules).
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeRecallForTests } from '../../helpers/native-recall.js';
import { ROOT as root, runCli, type How } from './helpers/run-cli.js';

const native = await nativeRecallForTests();

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'claw-early-open-'));
  for (const how of ['source', 'bundle'])
    await cp(join(root, 'test', 'fixtures', 'context-tree'), join(work, how, 'project', '.brv', 'context-tree'), {
      recursive: true,
    });
});
afterAll(async () => rm(work, { recursive: true, force: true }));

async function run(how: How, args: string[]): Promise<{ hits: unknown; opened: Record<string, unknown> | undefined }> {
  const home = join(work, how, 'home');
  const {
    code,
    stdout: out,
    stderr: err,
  } = await runCli(how, [...args, '--json', '--log-level', 'debug'], {
    cwd: join(work, how, 'project'),
    env: { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, '.config') },
  });
  if (code !== 0) throw new Error(`claw-byterover ${args.join(' ')} exited ${code}: ${err}`);
  const line = err
    .split('\n')
    .filter((l) => l.includes('"memory opened"'))
    .map((l) => JSON.parse(l) as { persist: Record<string, unknown> })[0];
  return { hits: (JSON.parse(out) as { hits: unknown }).hits, opened: line?.persist };
}

describe.skipIf(!native.factory).each(['bundle', 'source'] as const)('the early open of a query (%s)', (how) => {
  it('a warm search adopts it and answers as without it; --dir and a first run go without it', async () => {
    const first = await run(how, ['search', 'cache', 'invalidation']);
    expect(first.opened).toMatchObject({ loaded: false, notLoaded: 'RECALL_PERSIST_MISSING' });
    expect(first.opened?.prefetched).toBeUndefined();
    const warm = await run(how, ['search', 'cache', 'invalidation']);
    expect(warm.opened).toMatchObject({ loaded: true, prefetched: true });
    expect(warm.hits).toEqual(first.hits);
    const recall = await run(how, ['recall', 'cache', 'invalidation']);
    expect(recall.opened).toMatchObject({ loaded: true, prefetched: true });
    const options = await run(how, [
      '--json',
      '--log-level',
      'debug',
      '--profile=default',
      'search',
      'cache',
      'invalidation',
    ]);
    expect(options.opened).toMatchObject({ loaded: true, prefetched: true });
    expect(options.hits).toEqual(first.hits);
    const dir = await run(how, ['search', 'cache', 'invalidation', '--dir', '.brv/context-tree']);
    expect(dir.opened).toMatchObject({ loaded: true });
    expect(dir.opened?.prefetched).toBeUndefined();
    expect(dir.hits).toEqual(first.hits);
  });
});
