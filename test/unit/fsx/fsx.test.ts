/**
 * lib/fsx, the one durable-file module: atomic replace, exclusive create, durable unlink, key files,
 * modes — and the tolerant directory fsync, checked for real in child processes where fsync(2) of a
 * directory fails (an LD_PRELOAD shim, dir-fsync-fails.c, as on file systems that answer EINVAL):
 * curating, the token store and the bridge's embedded store all work there, and an I/O error is
 * still an error.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFileExclusive,
  fsyncDir,
  readOrCreateKeyFile,
  unlinkDurable,
  writeFileAtomic,
} from '../../../lib/fsx/index.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
let scratch: string;
let shim: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'claw-fsx-'));
  shim = join(scratch, 'dir-fsync-fails.so');
  const cc = spawnSync('cc', ['-shared', '-fPIC', '-O1', '-o', shim, join(HERE, 'dir-fsync-fails.c'), '-ldl'], {
    encoding: 'utf8',
  });
  expect(cc.status, `building the fsync shim failed: ${cc.stderr}`).toBe(0);
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

function underShim(
  errno: string,
  mode: string,
  dir: string,
  env: Record<string, string> = {},
): Record<string, unknown> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(HERE, 'dir-fsync-child.ts'), mode, dir], {
    encoding: 'utf8',
    env: { ...process.env, LD_PRELOAD: shim, CLAW_DIR_FSYNC_ERRNO: errno, ...env },
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Record<string, unknown>;
}

describe('durable files', () => {
  it('writeFileAtomic replaces the whole file, leaves no temp file, applies the mode asked for', async () => {
    const dir = join(scratch, 'atomic');
    const p = join(dir, 'sub', 'f.json');
    await writeFileAtomic(p, 'one');
    await writeFileAtomic(p, 'two', { mode: 0o600 });
    expect(await readFile(p, 'utf8')).toBe('two');
    expect((await stat(p)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, 'sub'))).toEqual(['f.json']);
  });

  it('createFileExclusive never replaces: the first writer wins, among many at once', async () => {
    const p = join(scratch, 'excl', 'k');
    const wins = await Promise.all(Array.from({ length: 8 }, (_, i) => createFileExclusive(p, `w${i}`)));
    expect(wins.filter(Boolean)).toHaveLength(1);
    expect(await readFile(p, 'utf8')).toBe(`w${wins.indexOf(true)}`);
    expect(await createFileExclusive(p, 'late')).toBe(false);
    expect(await readdir(join(scratch, 'excl'))).toEqual(['k']);
  });

  it('readOrCreateKeyFile: concurrent callers end with the same 0600 key; a wrong size is refused', async () => {
    const dir = join(scratch, 'keys');
    const path = join(dir, 'key');
    const o = {
      bytes: 32,
      wrongSize: (n: number) => new Error(`size ${n}`),
      vanished: () => new Error('vanished'),
      ensureDir: async () => void (await import('node:fs/promises')).mkdir(dir, { recursive: true, mode: 0o700 }),
    };
    const keys = await Promise.all(Array.from({ length: 6 }, () => readOrCreateKeyFile(path, o)));
    expect(new Set(keys.map((k) => k.toString('hex'))).size).toBe(1);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await writeFile(join(dir, 'short'), 'abc');
    await expect(readOrCreateKeyFile(join(dir, 'short'), o)).rejects.toThrow('size 3');
  });

  it('unlinkDurable: absent is fine; fsyncDir of a real directory works', async () => {
    const p = join(scratch, 'gone');
    await writeFile(p, 'x');
    await unlinkDurable(p);
    await unlinkDurable(p);
    await expect(stat(p)).rejects.toMatchObject({ code: 'ENOENT' });
    await fsyncDir(scratch);
  });
});

describe('where fsync of a directory fails', () => {
  it('the shim is active: fsync of a directory answers EINVAL', async () => {
    expect(underShim('EINVAL', 'raw', scratch)).toEqual({ raw: 'EINVAL' });
  });

  for (const errno of ['EINVAL', 'ENOTSUP']) {
    it(`${errno}: curating writes and queues the note, and the token store saves, loads and deletes`, async () => {
      const project = await mkdtemp(join(scratch, `p-${errno}-`));
      const r = underShim(errno, 'curate', project);
      expect(r).toEqual({
        curate: { id: expect.any(String), path: 'dir-fsync.md', status: 'written' },
        hits: ['dir-fsync.md'],
        pending: 1,
        token: 'k-123',
        tokenAfterDelete: null,
      });
    });
  }

  it('without hard links (link answers EPERM) createFileExclusive still lets the first writer win', async () => {
    const dir = await mkdtemp(join(scratch, 'nolink-'));
    expect(underShim('EINVAL', 'excl', dir, { CLAW_LINK_ERRNO: 'EPERM' })).toEqual({
      first: true,
      second: false,
      content: 'first',
      files: ['once'],
    });
  });

  it('the bridge opens its embedded store (durability full) there; EIO is STORE_OPEN_FAILED', async () => {
    expect(underShim('EINVAL', 'bridge', await mkdtemp(join(scratch, 'bridge-')))).toEqual({ bridge: 'opened' });
    const eio = underShim('EIO', 'bridge', await mkdtemp(join(scratch, 'bridge-eio-')));
    expect(eio.bridge).toBe('STORE_OPEN_FAILED');
    expect(eio.message).toContain('(EIO)');
  });

  it('EIO is a real failure: curate and the token store say so', async () => {
    const project = await mkdtemp(join(scratch, 'p-EIO-'));
    expect(underShim('EIO', 'curate', project)).toEqual({ curateError: 'EIO', tokenError: 'EIO' });
  });
});
