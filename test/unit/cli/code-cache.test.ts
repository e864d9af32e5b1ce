/**
 * lib/cli/code-cache.ts on a small CommonJS bundle of its own (each load whose cache matters in a
 * fresh process: ./helpers/load-bundle.ts): the cache is created, then accepted;
 * a corrupt, truncated or foreign cache is refused by V8 (with the checksum the loader turns on) and
 * replaced; the cache is keyed by the bundle's hash; a folder others may write is not used; what
 * earlier installs left is removed after 30 days; it can be turned off; a folder that cannot be written costs the cache, never the run; and the bundle sees
 * CommonJS's require and its own file names.
 */
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeCacheDir, loadBundle } from '../../../lib/cli/code-cache.js';

interface Exports {
  answer: number;
  file: string;
  sep: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const tsx = pathToFileURL(join(here, '..', '..', '..', 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'claw-code-cache-'));
});
afterAll(async () => rm(work, { recursive: true, force: true }));

const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);

/** A bundle as scripts/build-ts.mjs writes one: the banner, then CommonJS. */
async function bundle(name: string, hash: string | undefined, answer = 42): Promise<string> {
  const file = join(work, `${name}.cjs`);
  const body = [
    '"use strict";',
    // enough code that V8 has something to cache beyond the top level
    ...Array.from({ length: 200 }, (_, i) => `function f${i}(x) { return x * ${i} + ${answer}; }`),
    `exports.answer = f1(0);`,
    'exports.file = __filename;',
    "exports.sep = require('node:path').sep;",
  ].join('\n');
  await writeFile(file, `${hash ? `/* claw-byterover cli bundle ${hash} */\n` : ''}${body}\n`);
  return file;
}

function load(file: string, dir: string, env: NodeJS.ProcessEnv = {}) {
  const loaded = loadBundle<Exports>(file, {
    profile: 'test',
    env: { CLAW_BYTEROVER_CACHE_DIR: dir, ...env },
    saveAtExit: false,
  });
  if (!loaded) throw new Error(`no bundle at ${file}`);
  return loaded;
}

/** Loads `file` with the cache in `dir` in a new process; saves the cache unless it was accepted. */
function loadInChild(file: string, dir: string): { cache: string; answer: number; saved?: boolean } {
  const r = spawnSync(process.execPath, ['--import', tsx, join(here, 'helpers', 'load-bundle.ts'), file, dir], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  });
  if (r.status !== 0) throw new Error(`load-bundle exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { cache: string; answer: number; saved?: boolean };
}

describe('the CLI bundle through a V8 code cache', () => {
  it('runs the bundle as CommonJS: its exports, __filename and require', async () => {
    const file = await bundle('plain', HASH_A);
    const { exports } = load(file, join(work, 'cache-plain'));
    expect(exports.answer).toBe(42);
    expect(exports.file).toBe(file);
    expect(exports.sep).toBe('/');
  });

  it('creates the cache, then V8 accepts it; a corrupt or truncated cache is refused and replaced', async () => {
    const file = await bundle('cached', HASH_A);
    const dir = join(work, 'cache-1');
    const cacheFile = join(dir, 'v8', `${'a'.repeat(16)}-${process.version}-${process.arch}-test.bin`);
    expect(load(file, dir).cacheFile).toBe(cacheFile);
    expect(loadInChild(file, dir)).toEqual({ cache: 'created', answer: 42, saved: true });
    const good = await readFile(cacheFile);
    expect((await stat(cacheFile)).mode & 0o777).toBe(0o600);
    expect(loadInChild(file, dir)).toEqual({ cache: 'accepted', answer: 42 });

    // One bit flipped in the middle of the data: V8's checksum refuses it; the run is the same, and
    // the cache is replaced by a good one.
    const flipped = Buffer.from(good);
    flipped[flipped.length >> 1]! ^= 0x10;
    await writeFile(cacheFile, flipped);
    expect(loadInChild(file, dir)).toEqual({ cache: 'rejected', answer: 42, saved: true });
    expect(loadInChild(file, dir)).toEqual({ cache: 'accepted', answer: 42 });

    await truncate(cacheFile, 100);
    expect(loadInChild(file, dir)).toEqual({ cache: 'rejected', answer: 42, saved: true });
    expect(loadInChild(file, dir)).toEqual({ cache: 'accepted', answer: 42 });
  });

  it('uses no cache from a folder others may write (V8 would run what it holds)', async () => {
    const file = await bundle('shared', HASH_A);
    const dir = join(work, 'cache-shared');
    expect(loadInChild(file, dir)).toMatchObject({ cache: 'created', saved: true });
    expect((await stat(join(dir, 'v8'))).mode & 0o777).toBe(0o700);
    await chmod(join(dir, 'v8'), 0o777);
    expect(loadInChild(file, dir)).toEqual({ cache: 'off', answer: 42, saved: false });
    await chmod(join(dir, 'v8'), 0o700);
    expect(loadInChild(file, dir)).toEqual({ cache: 'accepted', answer: 42 });
  });

  it("a cache written removes other bundles' caches untouched for 30 days, nothing newer and none of its own", async () => {
    const dir = join(work, 'cache-prune');
    const v8 = join(dir, 'v8');
    await mkdir(v8, { recursive: true, mode: 0o700 });
    const old = join(v8, `${'c'.repeat(16)}-v20.0.0-x64-cli.bin`);
    const recent = join(v8, `${'d'.repeat(16)}-v22.0.0-x64-cli.bin`);
    const mine = join(v8, `${'a'.repeat(16)}-v22.0.0-x64-query.bin`); // this bundle, made long ago, in use
    for (const f of [old, recent, mine]) await writeFile(f, 'a cache');
    const monthAgo = new Date(Date.now() - 31 * 86_400_000);
    for (const f of [old, mine]) await utimes(f, monthAgo, monthAgo);
    const r = load(await bundle('prune', HASH_A), dir);
    expect(r.saveCache()).toBe(true);
    expect((await readdir(v8)).sort()).toEqual([basename(r.cacheFile!), basename(recent), basename(mine)].sort());
  });

  it('keys the cache by the bundle: another build (another hash) never meets this cache', async () => {
    const dir = join(work, 'cache-2');
    expect(loadInChild(await bundle('key-a', HASH_A, 1), dir)).toMatchObject({ cache: 'created', answer: 1 });
    // Same length, other code: V8 alone would check only the length of the source.
    expect(loadInChild(await bundle('key-b', HASH_B, 2), dir)).toMatchObject({ cache: 'created', answer: 2 });
    expect(loadInChild(await bundle('key-a', HASH_A, 1), dir)).toMatchObject({ cache: 'accepted', answer: 1 });
  });

  it('is off with CLAW_BYTEROVER_CODE_CACHE=off, with NODE_DISABLE_COMPILE_CACHE, and for a file without the banner', async () => {
    const dir = join(work, 'cache-off');
    const file = await bundle('off', HASH_A);
    for (const env of [{ CLAW_BYTEROVER_CODE_CACHE: 'off' }, { NODE_DISABLE_COMPILE_CACHE: '1' }]) {
      const r = load(file, dir, env);
      expect(r.cache).toBe('off');
      expect(r.cacheFile).toBeUndefined();
      expect(r.saveCache()).toBe(false);
    }
    expect(load(await bundle('no-banner', undefined), dir).cache).toBe('off');
    await expect(stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a cache folder that cannot be written costs the cache, not the run', async () => {
    const blocker = join(work, 'a-file');
    await writeFile(blocker, 'not a folder');
    const r = load(await bundle('blocked', HASH_A), join(blocker, 'cache'));
    expect(r.exports.answer).toBe(42);
    expect(r.saveCache()).toBe(false);
  });

  it('no bundle, or a stale one in a checkout: undefined, so the executable runs the ES modules', async () => {
    expect(loadBundle(join(work, 'missing.cjs'), { profile: 'test', saveAtExit: false })).toBeUndefined();
    const file = await bundle('stale', HASH_A);
    const source = join(work, 'entry.ts');
    const output = join(work, 'entry.js');
    await writeFile(output, 'export {};');
    await utimes(file, 1000, 1000); // tsc rewrote entry.js after the bundle was made
    const staleIf = { source, output };
    // No source beside it: an installed package, whose files have the times of their extraction.
    expect(loadBundle<Exports>(file, { profile: 'test', saveAtExit: false, staleIf })?.exports.answer).toBe(42);
    await writeFile(source, 'export {};');
    expect(loadBundle(file, { profile: 'test', saveAtExit: false, staleIf })).toBeUndefined();
    await utimes(file, new Date(), new Date(Date.now() + 60_000)); // rebuilt
    expect(loadBundle<Exports>(file, { profile: 'test', saveAtExit: false, staleIf })?.exports.answer).toBe(42);
  });

  it('puts the cache in the user cache folder of each platform', () => {
    expect(codeCacheDir({ CLAW_BYTEROVER_CACHE_DIR: '/c', HOME: '/h' }, 'linux')).toBe('/c');
    expect(codeCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' }, 'linux')).toBe('/x/claw-byterover');
    expect(codeCacheDir({ XDG_CACHE_HOME: 'relative', HOME: '/h' }, 'linux')).toBe('/h/.cache/claw-byterover');
    expect(codeCacheDir({ HOME: '/h' }, 'darwin')).toBe('/h/Library/Caches/claw-byterover');
    expect(codeCacheDir({ LOCALAPPDATA: 'C:\\L' }, 'win32')).toMatch(/^C:\\L.claw-byterover.Cache$/);
    expect(codeCacheDir({}, 'linux')).toBeUndefined();
  });
});
