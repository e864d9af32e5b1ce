/**
 * Path safety and file naming inside a context tree.
 *
 * Every path lib/memory writes or deletes goes through `resolveInTree`, which refuses (code
 * MEMORY_PATH_ESCAPE) a path that is absolute, contains a `..` segment, a NUL byte or a backslash, or
 * whose nearest existing ancestor resolves (through symlinks) outside the tree's real path. The final
 * component, when it exists, must not be a symlink either (writes replace files by rename, so a symlink
 * planted there could otherwise redirect a later read).
 */
import { lstat, realpath } from 'node:fs/promises';
import { isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { ClawError } from '../errors.js';
import { MemoryErrorCode } from './errors.js';

const escapeHint =
  'Give a path relative to the context tree, without `..`, and not through a symlink that leaves the tree.';

function escape(path: string, why: string): ClawError {
  return new ClawError(
    MemoryErrorCode.PATH_ESCAPE,
    `expected a path inside the context tree, found ${JSON.stringify(path)} (${why})`,
    {
      hint: escapeHint,
      details: { path },
    },
  );
}

/** A project's context tree by default: `<project>/.brv/context-tree`. */
export function defaultTreeRoot(projectRoot: string): string {
  return join(resolve(projectRoot), '.brv', 'context-tree');
}

/** lib/memory's state directory of a project by default: `<project>/.brv/claw-byterover`. */
export function defaultStateDir(projectRoot: string): string {
  return join(resolve(projectRoot), '.brv', 'claw-byterover');
}

/** Checks the shape of a tree-relative path and returns it normalized (`a/b.md`). No I/O. */
export function normalizeRelative(path: string): string {
  if (typeof path !== 'string' || path.trim() === '') throw escape(String(path), 'empty');
  if (path.includes('\0')) throw escape(path, 'contains a NUL byte');
  if (path.includes('\\')) throw escape(path, 'contains a backslash');
  if (isAbsolute(path) || /^[A-Za-z]:/.test(path)) throw escape(path, 'absolute');
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw escape(path, 'contains `..`');
  if (parts.length === 0) throw escape(path, 'names the tree itself');
  return posix.join(...parts);
}

function isInside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves a tree-relative path to an absolute one that is guaranteed (at the time of the call) to
 * stay inside the tree. `treeRoot` must exist.
 */
export async function resolveInTree(treeRoot: string, path: string): Promise<{ rel: string; abs: string }> {
  const rel = normalizeRelative(path);
  const realRoot = await realpath(treeRoot);
  const abs = join(realRoot, ...rel.split('/'));
  const st = await lstat(abs).catch(() => undefined);
  if (st?.isSymbolicLink()) throw escape(path, 'is a symlink');
  // Nearest existing ancestor (or the file itself) must resolve inside the real root.
  let probe = abs;
  while (!(await exists(probe))) {
    const parent = join(probe, '..');
    if (parent === probe) break;
    probe = parent;
  }
  const realProbe = await realpath(probe);
  if (!isInside(realRoot, realProbe)) throw escape(path, 'resolves outside the tree through a symlink');
  return { rel, abs };
}

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])$/;

/**
 * A safe file stem: NFKD-folded, accents dropped, lower case, `[a-z0-9-]` only, dashes collapsed,
 * at most `max` chars (cut at a dash when one is near), `note` when nothing is left.
 */
export function slugify(text: string, max = 64): string {
  let s = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (s.length > max) {
    const cut = s.slice(0, max);
    const dash = cut.lastIndexOf('-');
    s = (dash >= max / 2 ? cut.slice(0, dash) : cut).replace(/-+$/g, '');
  }
  if (!s) s = 'note';
  if (WINDOWS_RESERVED.test(s)) s = `${s}-note`;
  return s;
}

/**
 * Picks a path for a new note: `dir/stem.md`, or `dir/stem-2.md`, `-3`, … when taken (on disk or in
 * `taken`). `desired`, when given, is validated with `normalizeRelative`; its file name is slugified
 * (folders are kept as given, each segment slugified too).
 */
export async function chooseNotePath(
  treeRoot: string,
  opts: { desired?: string; title: string },
  taken: (rel: string) => boolean = () => false,
): Promise<{ rel: string; abs: string }> {
  let dir = '';
  let stem: string;
  if (opts.desired !== undefined) {
    const rel = normalizeRelative(opts.desired);
    const parts = rel.split('/');
    const file = parts.pop() ?? '';
    dir = parts.map((p) => slugify(p, 48)).join('/');
    stem = slugify(file.replace(/\.md$/i, ''));
  } else {
    stem = slugify(opts.title);
  }
  for (let n = 1; n < 10_000; n++) {
    const name = n === 1 ? `${stem}.md` : `${stem}-${n}.md`;
    const rel = dir ? `${dir}/${name}` : name;
    const target = await resolveInTree(treeRoot, rel);
    if (!taken(target.rel) && !(await exists(target.abs))) return target;
  }
  throw new ClawError(
    MemoryErrorCode.NAME_EXHAUSTED,
    `expected a free file name for ${JSON.stringify(stem)}, found 9,999 taken`,
    {
      hint: 'Give the note a more specific title or path.',
    },
  );
}
