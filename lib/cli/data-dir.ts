/**
 * Is the data dir usable? Checked before a command stores anything there (serve's SQLite store,
 * the credential store), so an unusable one fails at once with one clear error instead of deep in a
 * store (a raw EEXIST for a file in the way) or never (a recursive mkdir under /proc spins forever).
 *
 * Usable: an existing directory we may write to, or a path whose nearest existing ancestor is such a
 * directory on an ordinary filesystem. Refused: a file in the way, a read-only or unwritable
 * directory (access W_OK, which reports EROFS even to root), a path under /proc or /sys (procfs,
 * sysfs: writes there are not files). Nothing is created here.
 */
import { constants } from 'node:fs';
import { access, stat, statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ClawError } from '../errors.js';
import { CliErrorCode } from './errors.js';

/** statfs `type` of filesystems that do not hold files: procfs, sysfs, cgroup (v1, v2), debugfs, securityfs. */
const PSEUDO_FS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'procfs'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x73636673, 'securityfs'],
]);

function unusable(dir: string, found: string, source: string): ClawError {
  return new ClawError(
    CliErrorCode.DATA_DIR_UNUSABLE,
    `expected the data dir ${dir} (${source}) to be a writable directory, found ${found}`,
    {
      hint: 'Point it at a writable directory: CLAW_BYTEROVER_DATA_DIR=<dir>, `claw-byterover config set dataDir <dir>`, or unset both for the default (~/.local/share/claw-byterover).',
      details: { dataDir: dir, source },
      exitCode: 6,
    },
  );
}

/** Throws CLI_DATA_DIR_UNUSABLE (exit 6) when `dir` cannot hold the CLI's files; `source` says where it was set. */
export async function checkDataDir(dirIn: string, source = 'the data dir setting'): Promise<void> {
  const dir = resolve(dirIn);
  let probe = dir;
  for (;;) {
    try {
      const st = await stat(probe);
      if (!st.isDirectory()) {
        throw unusable(dir, probe === dir ? 'a file' : `a file in the way at ${probe}`, source);
      }
      break;
    } catch (e) {
      if (e instanceof ClawError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && dirname(probe) !== probe) {
        probe = dirname(probe);
        continue;
      }
      if (code === 'ENOTDIR') throw unusable(dir, 'a file in the way on its path', source);
      throw unusable(dir, `${code ?? 'an error'} reading ${probe}`, source);
    }
  }
  const fs = await statfs(probe).catch(() => undefined);
  const pseudo = fs ? PSEUDO_FS.get(Number(fs.type)) : undefined;
  if (pseudo) throw unusable(dir, `a path on ${pseudo} (${probe}), which cannot hold files`, source);
  try {
    await access(probe, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const what =
      code === 'EROFS' ? 'a read-only filesystem' : code === 'EACCES' ? 'a directory we may not write to' : code;
    throw unusable(dir, `${what} at ${probe}`, source);
  }
}
