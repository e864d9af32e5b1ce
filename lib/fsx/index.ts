/**
 * lib/fsx: the one durable-file module (memory, auth, the bridge and the plugin write through it).
 *
 * - writeFileAtomic: temp file beside the target (mode as asked, default 0644) → write → fsync →
 *   rename over the target → fsync of the directory. After it resolves, a crash leaves either the
 *   old file or the new one, never a torn one, and the rename itself is on disk.
 * - createFileExclusive: the same, but never replaces an existing file (link(2) of the fsynced temp
 *   file; EEXIST means another writer won). On file systems without hard links an exclusive copy
 *   gives the same first-wins rule.
 * - unlinkDurable: delete (absent is fine) and make the deletion durable.
 * - readKeyFile / readOrCreateKeyFile: a random key kept in a file, created race-free across processes.
 * - fsyncFile: fdatasync of an existing file.
 * - fsyncDir: fsync of a directory, tolerant: file systems that cannot fsync a directory (EINVAL,
 *   ENOTSUP/EOPNOTSUPP, EISDIR, EPERM — some network, FUSE and Windows file systems) are skipped,
 *   because the rename before it is already atomic there; any other error is thrown.
 *
 * Temp files are named `.<name>.<pid>.<random>.tmp` (hidden, so tree scans and listings skip them).
 * This module imports nothing of the project: every layer may use it.
 */
import { chmod, constants, copyFile, link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';

// node:crypto through require, on first use: an ESM import of it builds its whole export facade
// (~2 ms), which a process that writes and hashes nothing (a warm search) need not pay (issue 15).
const require = createRequire(import.meta.url);
let cryptoModule: typeof import('node:crypto') | undefined;
function crypto(): typeof import('node:crypto') {
  return (cryptoModule ??= require('node:crypto') as typeof import('node:crypto'));
}

/** SHA-256 of `data`, in hex. */
export function sha256(data: string | Uint8Array): string {
  return crypto().createHash('sha256').update(data).digest('hex');
}

/** Directory-fsync errors that mean "this file system does not do that", not "the data is at risk". */
export const DIR_FSYNC_UNSUPPORTED: ReadonlySet<string> = new Set([
  'EINVAL',
  'ENOTSUP',
  'EOPNOTSUPP',
  'EISDIR',
  'EPERM',
]);

export interface DurableOptions {
  /**
   * Mode of the new file. Given: applied exactly (chmod after create, so a restrictive umask cannot
   * narrow it). Default: 0o644 less the umask.
   */
  mode?: number;
  /** Mode of directories created for it (default: the umask's). */
  dirMode?: number;
}

/** fsync of a directory (its entries: renames, links, unlinks); unsupported file systems are skipped. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
  } catch (e) {
    if (DIR_FSYNC_UNSUPPORTED.has((e as NodeJS.ErrnoException).code ?? '')) return;
    throw e;
  }
  try {
    await fh.sync();
  } catch (e) {
    if (!DIR_FSYNC_UNSUPPORTED.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
  } finally {
    await fh.close();
  }
}

/** fdatasync of an existing file (e.g. a database's WAL after its first write). */
export async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${crypto().randomBytes(4).toString('hex')}.tmp`);
}

/** Creates `path` (must not exist) with `data` and fsyncs it (mode: see DurableOptions). Removes it on failure. */
export async function writeNewFile(path: string, data: string | Uint8Array, mode?: number): Promise<void> {
  const fh = await open(path, 'wx', mode ?? 0o644);
  try {
    if (mode !== undefined) await fh.chmod(mode);
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw e;
  }
  await fh.close();
}

/** Writes `data` to a fresh, fsynced temp file beside `path` (the folder is created) and returns its name. */
async function writeTemp(path: string, data: string | Uint8Array, o: DurableOptions): Promise<string> {
  await mkdir(dirname(path), { recursive: true, ...(o.dirMode !== undefined ? { mode: o.dirMode } : {}) });
  const tmp = tempPath(path);
  await writeNewFile(tmp, data, o.mode);
  return tmp;
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, o: DurableOptions = {}): Promise<void> {
  const tmp = await writeTemp(path, data, o);
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncDir(dirname(path));
}

/** link(2) is not there (FAT, some network and FUSE file systems). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);

/**
 * Creates `path` with `data` durably, never replacing an existing file: the temp file is hard-linked
 * to the target (link(2) fails with EEXIST when the target exists, symlink or not), then unlinked.
 * Without hard links an exclusive copy (COPYFILE_EXCL) decides instead. Returns false when the
 * target already existed.
 */
export async function createFileExclusive(
  path: string,
  data: string | Uint8Array,
  o: DurableOptions = {},
): Promise<boolean> {
  const tmp = await writeTemp(path, data, o);
  try {
    await link(tmp, path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return false;
    if (!NO_HARD_LINKS.has(code)) throw e;
    try {
      await copyFile(tmp, path, constants.COPYFILE_EXCL);
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e2;
    }
    const fh = await open(path, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  await fsyncDir(dirname(path));
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

export interface KeyFileOptions {
  /** The key's length; a file of another size is refused, never replaced. */
  bytes: number;
  wrongSize(found: number): Error;
  /** The file was gone right after it was created (someone deletes it). */
  vanished(): Error;
  /** Tighten a key file readable by group/others back to 0600 (default false). */
  tightenMode?: boolean;
}

/** A random key kept in a file: its bytes, or undefined when the file does not exist. */
export async function readKeyFile(path: string, o: KeyFileOptions): Promise<Buffer | undefined> {
  let key: Buffer;
  try {
    key = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if (key.length !== o.bytes) throw o.wrongSize(key.length);
  if (o.tightenMode && ((await stat(path)).mode & 0o077) !== 0) await chmod(path, 0o600);
  return key;
}

/**
 * Reads the key file, or creates it (0600) with random bytes. Creation is race-free across processes
 * (createFileExclusive: the first writer wins); the file in place is then read, so every process ends
 * with the same key.
 */
export async function readOrCreateKeyFile(
  path: string,
  o: KeyFileOptions & { ensureDir(): Promise<void> },
): Promise<Buffer> {
  const existing = await readKeyFile(path, o);
  if (existing) return existing;
  await o.ensureDir();
  await createFileExclusive(path, crypto().randomBytes(o.bytes), { mode: 0o600 });
  const key = await readKeyFile(path, o);
  if (!key) throw o.vanished();
  return key;
}
