/**
 * Durable file writes: write a temp file beside the target, fsync it, rename it over the target,
 * fsync the directory. After `writeFileAtomic` resolves, a crash leaves either the old file or the new
 * one, never a torn one, and the rename itself is on disk.
 */
import { randomBytes, createHash } from 'node:crypto';
import { link, mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `data` to a fresh, fsynced temp file beside `path` (the folder is created) and returns its name. */
async function writeTemp(path: string, data: string | Uint8Array): Promise<{ dir: string; tmp: string }> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  return { dir, tmp };
}

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const { dir, tmp } = await writeTemp(path, data);
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncDir(dir);
}

/**
 * Creates `path` with `data` durably, never replacing an existing file: the temp file is hard-linked
 * to the target (link(2) fails with EEXIST when the target exists, symlink or not), then unlinked.
 * Returns false when the target already existed.
 */
export async function createFileExclusive(path: string, data: string | Uint8Array): Promise<boolean> {
  const { dir, tmp } = await writeTemp(path, data);
  try {
    await link(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  await fsyncDir(dir);
  return true;
}

/** Deletes a file (absent is fine) and makes the deletion durable. */
export async function unlinkDurable(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    return;
  }
  await fsyncDir(dirname(path));
}

export function sha256(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}
