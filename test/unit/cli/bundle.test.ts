/**
 * The installed executable (dist/cli/bin.js) runs the CLI from its bundle (dist/cli/cli.cjs, built
 * with dist/ by scripts/build-ts.mjs) through a V8 code cache (lib/cli/code-cache.ts):
 * - the bundle is the one the build stamped (its banner carries its sha-256) and plain ASCII;
 * - every command answers exactly as the ES modules (the sources, run by tsx) do: output, errors and
 *   exit codes, commands that load the config schema, the memory and the native engine included;
 * - its code cache lands in the user cache folder, is written once and then used, and a corrupt one
 *   is replaced without the run noticing;
 * - it still loads only what each command uses (test/unit/cli/helpers/trace-modules.mjs).
 */
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT as root, homeEnv, runCli, runTraced, type How, type Ran } from './helpers/run-cli.js';

const bundle = join(root, 'dist', 'cli', 'cli.cjs');

let work: string;
let home: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'claw-bundle-'));
  home = join(work, 'home');
  await cp(join(root, 'test', 'fixtures', 'context-tree'), join(work, 'project', '.brv', 'context-tree'), {
    recursive: true,
  });
});
afterAll(async () => rm(work, { recursive: true, force: true }));

function run(how: How, args: string[], env: Record<string, string> = {}): Promise<Ran> {
  return runCli(how, args, {
    cwd: join(work, 'project'),
    env: { ...homeEnv(home), ...env },
  });
}

const cacheDir = () => join(home, '.cache', 'claw-byterover', 'v8');

describe('the executable runs the CLI bundle', () => {
  it('is the bundle the build stamped: its first line carries its sha-256, and it is ASCII', async () => {
    const text = await readFile(bundle, 'latin1');
    const m = /^\/\* claw-byterover cli bundle ([0-9a-f]{64}) \*\//.exec(text);
    expect(m).not.toBeNull();
    const stamped = text.replace(m![1]!, '0'.repeat(64));
    expect(createHash('sha256').update(stamped).digest('hex')).toBe(m![1]);
    expect(/[^\x00-\x7f]/.test(text)).toBe(false);
  });

  it('answers every command as the ES modules do: output, errors, exit codes', async () => {
    const cases: string[][] = [
      ['--help'],
      ['search', '--help'],
      ['--json', 'search', 'cache', 'invalidation'], // the first run builds and persists the index
      ['--json', 'search', 'cache', 'invalidation'], // warm: the early open, adopted
      ['search', 'retry', '--limit', '3'],
      ['recall', 'how do we invalidate the cache'],
      ['--json', 'index', '--stats'],
      ['config', 'set', 'team', 'abc'],
      ['--json', 'config', 'show'], // the config schema: zod and yaml, required by the bundle
      ['search'], // usage error
      ['--json', 'whoami'], // no credential: an auth error
      ['nosuch'],
    ];
    for (const args of cases) {
      const viaSource = await run('source', args);
      const viaBundle = await run('bundle', args);
      const normalize = (r: Ran) => ({
        code: r.code,
        stderr: r.stderr,
        // index --stats reports the index's age
        stdout: r.stdout.replace(/"ageMs":\s*\d+/g, '"ageMs":0').replace(/"age(Seconds)?":\s*[\d.]+/g, '"age":0'),
      });
      expect({ args, ...normalize(viaBundle) }).toEqual({ args, ...normalize(viaSource) });
    }
  });

  it('keeps its code cache in the user cache folder: written once, then used; a corrupt one is replaced', async () => {
    await rm(cacheDir(), { recursive: true, force: true });
    const first = await run('bundle', ['--json', 'search', 'retry']);
    expect(first.code).toBe(0);
    const files = await readdir(cacheDir());
    expect(files).toEqual([
      expect.stringMatching(new RegExp(`^[0-9a-f]{16}-${process.version}-${process.arch}-query\\.bin$`)),
    ]);
    const file = join(cacheDir(), files[0]!);
    const written = await stat(file);
    expect(written.mode & 0o777).toBe(0o600);

    // Used, not rewritten: V8 accepted it.
    expect(await run('bundle', ['--json', 'search', 'retry'])).toEqual(first);
    const after = await stat(file);
    expect([after.ino, after.mtimeMs]).toEqual([written.ino, written.mtimeMs]);

    // Corrupt: refused (V8's checksum), the answer is the same, and a good cache replaces it.
    const data = await readFile(file);
    data[data.length >> 1]! ^= 0x01;
    await writeFile(file, data);
    expect(await run('bundle', ['--json', 'search', 'retry'])).toEqual(first);
    expect((await readFile(file)).equals(data)).toBe(false);
    const replaced = await stat(file);
    expect(await run('bundle', ['--json', 'search', 'retry'])).toEqual(first);
    expect((await stat(file)).mtimeMs).toBe(replaced.mtimeMs);

    // Other commands keep a cache of their own (a search runs under other V8 flags).
    expect((await run('bundle', ['--help'])).code).toBe(0);
    expect((await readdir(cacheDir())).sort()).toEqual([files[0]!.replace('-query.', '-cli.'), files[0]!]);
  });

  it('runs without a cache when it is off or its folder cannot be written', async () => {
    const expected = await run('bundle', ['--json', 'search', 'retry']);
    const off = await run('bundle', ['--json', 'search', 'retry'], {
      CLAW_BYTEROVER_CODE_CACHE: 'off',
      XDG_CACHE_HOME: join(work, 'cache-off'),
    });
    expect(off).toEqual(expected);
    await expect(stat(join(work, 'cache-off'))).rejects.toMatchObject({ code: 'ENOENT' });

    await writeFile(join(work, 'a-file'), 'not a folder');
    expect(await run('bundle', ['--json', 'search', 'retry'], { XDG_CACHE_HOME: join(work, 'a-file') })).toEqual(
      expected,
    );
  });

  it('loads only what the command uses: a search requires no heavy package, a warm one neither zod nor yaml', async () => {
    const traced = async (args: string[], n: number) => {
      const r = await runTraced('bundle', args, {
        cwd: join(work, 'project'),
        env: homeEnv(home),
        trace: join(work, `trace-${n}.jsonl`),
      });
      expect(r.code).toBe(0);
      return { ...r, packages: r.trace.packages, addons: r.trace.addons };
    };
    const version = await traced(['--version'], 1);
    expect([...version.packages]).toEqual([]);
    expect(version.addons).toEqual([]);

    const search = await traced(['--json', 'search', 'cache'], 2);
    expect(JSON.parse(search.stdout)).toMatchObject({ hits: expect.any(Array) });
    expect(search.addons.some((a) => a?.endsWith('.node'))).toBe(true);
    // commander is inside the bundle; every other package would be required by name.
    expect([...search.packages]).toEqual([]);

    const help = await traced(['teams', '--help'], 3);
    expect([...help.packages]).toEqual([]);
    expect(help.addons).toEqual([]);

    const config = await traced(['--json', 'config', 'show'], 4);
    expect([...config.packages].sort()).toEqual(['yaml', 'zod']);
  });
});
