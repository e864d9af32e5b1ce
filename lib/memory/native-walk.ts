/**
 * The native tree walk (native/src/recall/walk.h, exposed by the addon as `walkTree`): the context
 * tree listed, stat'ed and read in parallel off the event loop, with the same rules as
 * ContextTree's own walk (dot entries skipped, symlinks never followed, files over the size cap
 * listed as too large and not read). lib/native.ts is imported lazily, so lib/memory loads where the
 * addon is not built; then `loadNativeWalk()` resolves undefined and ContextTree walks in TypeScript.
 */

/** One file of the tree. `text` is present when the file was read (not too large, not `known`). */
export interface WalkedFile {
  /** Tree-relative, `/`-separated. */
  path: string;
  /** `size:mtimeNs:ctimeNs:ino`, as ContextTree stamps a note. */
  stamp: string;
  size: number;
  tooLarge?: true;
  text?: string;
}

export interface WalkResult {
  /** Sorted by path. */
  files: WalkedFile[];
  folders: number;
  bytesRead: number;
  /** With `omitUnchanged`: 1 at i when `known.paths[i]` was found at `known.stamps[i]` (not in `files`). */
  unchanged?: Uint8Array;
}

export interface WalkOptions {
  maxFileBytes?: number;
  /** Worker threads (0 or absent: one per core, at most 8). */
  threads?: number;
  /** Lower-case extensions with the dot (default [".md"]). */
  extensions?: string[];
  /**
   * Files the caller already holds at these stamps: listed, not read. Either two arrays, or the same
   * pairs packed in one string `path\0stamp\0path\0stamp\0…` (one copy instead of two per file;
   * indexed on the walk's thread, off the event loop).
   */
  known?: { paths: string[]; stamps: string[] } | string;
  /**
   * Leave known files found at their stamp out of `files` and flag them in `unchanged` instead: a
   * re-open of a large unchanged tree then costs one byte per note, not one object.
   */
  omitUnchanged?: boolean;
}

export type WalkFn = (root: string, opts?: WalkOptions) => Promise<WalkResult>;

/** ContextTree's default size cap: larger files are listed as too large and not read (4 MiB). */
export const DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024;

let cached: Promise<WalkFn | undefined> | undefined;

/** The native walk, or undefined when the addon (or a build with walkTree) is not there. */
export function loadNativeWalk(): Promise<WalkFn | undefined> {
  cached ??= import('../native.js').then(
    (mod) => {
      try {
        const b = mod.binding() as unknown as { walkTree?: WalkFn };
        return typeof b.walkTree === 'function' ? b.walkTree.bind(b) : undefined;
      } catch {
        return undefined; // the addon did not load: the TypeScript walk is used
      }
    },
    () => undefined,
  );
  return cached;
}
