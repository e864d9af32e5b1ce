/**
 * The persisted recall index of a tree: `<stateDir>/recall-index.clawrix` (native/src/recall/
 * persist.h: versioned, checksummed, written atomically), holding the native index and a manifest
 * of the notes it was built from (path, stamp, size, claw_id). Opening a tree loads it, seeds the
 * ContextTree with the manifest (StoredDoc: nothing read), and the first scan — a stat walk — re-reads
 * only files whose (size, mtime, ctime, inode) changed, so the index then equals a fresh build.
 * A missing, torn, corrupt, foreign-version or other-options file, or a manifest for another tree,
 * is never served: the index is built from the tree and saved again.
 *
 * Concurrency: two processes opening one tree each load (or build) their own index in memory; a
 * save writes a unique temp file and renames it over the old one, so a reader sees one whole file.
 */
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log/index.js';
import { StoredDoc, type ContextTree } from './tree.js';
import type { RecallIndex } from './types.js';

export const INDEX_FILE = 'recall-index.clawrix';
const MANIFEST_VERSION = 1;

interface Manifest {
  v: number;
  root: string;
  /** [path, stamp, size, claw_id | null] per note. */
  files: Array<[string, string, number, string | null]>;
}

export interface PersistableIndex {
  saveFile(path: string, meta: string): void;
  loadFile(path: string): string;
}

export function isPersistable(index: RecallIndex): index is RecallIndex & PersistableIndex {
  const i = index as Partial<PersistableIndex>;
  return typeof i.saveFile === 'function' && typeof i.loadFile === 'function';
}

/** What the persisted index did for this open (`index --stats`). */
export interface PersistInfo {
  path: string;
  /** The file was loaded and served (after reconciling with the tree). */
  loaded: boolean;
  /** Why it was not loaded (RECALL_PERSIST_MISSING, _CORRUPT, …, or MANIFEST_OTHER_TREE). */
  notLoaded?: string;
  /** Notes restored from the file without reading them. */
  restored: number;
  /** File size and write time as of the last load or save. */
  bytes?: number;
  writtenAt?: Date;
  /** Saves done by this process. */
  saves: number;
}

export type LoadOutcome =
  | { docs: StoredDoc[] }
  | { docs: undefined; reason: string; /** the index holds documents and must be replaced */ dirty: boolean };

/**
 * Loads `file` into the empty `index` and answers the manifest string saved with it, or why the file
 * was not loaded (RECALL_PERSIST_MISSING, _CORRUPT, _VERSION, …; a missing file is not logged). The
 * format and its checks are the native one (persist.h); what the manifest means is the caller's (the
 * v3 tree's below, a v4 space's in lib/memory/v4/persist.ts).
 */
export function loadIndexFile(
  index: RecallIndex & PersistableIndex,
  file: string,
  log: Logger,
): { meta: string } | { meta: undefined; reason: string } {
  try {
    return { meta: index.loadFile(file) };
  } catch (e) {
    const code = (e as { code?: string }).code ?? 'RECALL_PERSIST_IO';
    if (code !== 'RECALL_PERSIST_MISSING')
      log.warn({ path: file, code, err: (e as Error).message }, 'persisted recall index not served; rebuilding it');
    return { meta: undefined, reason: code };
  }
}

/** Writes the index and `meta` atomically (native: unique temp file, renamed); false (logged) when it could not. */
export function saveIndexFile(index: RecallIndex & PersistableIndex, file: string, meta: string, log: Logger): boolean {
  try {
    mkdirSync(join(file, '..'), { recursive: true });
    index.saveFile(file, meta);
    return true;
  } catch (e) {
    log.warn(
      { path: file, err: (e as Error).message },
      'could not persist the recall index; the next open rebuilds it',
    );
    return false;
  }
}

/** Loads `file` into the empty `index`; on success, the notes it was built from. */
export function loadPersisted(
  index: RecallIndex & PersistableIndex,
  file: string,
  root: string,
  log: Logger,
): LoadOutcome {
  const loaded = loadIndexFile(index, file, log);
  if (loaded.meta === undefined) return { docs: undefined, reason: loaded.reason, dirty: false };
  const meta = loaded.meta;
  let m: Manifest | undefined;
  try {
    m = JSON.parse(meta) as Manifest;
  } catch {
    m = undefined;
  }
  if (!m || m.v !== MANIFEST_VERSION || !Array.isArray(m.files)) {
    log.warn({ path: file }, 'persisted recall index has no readable manifest; rebuilding it');
    return { docs: undefined, reason: 'MANIFEST_INVALID', dirty: true };
  }
  if (m.root !== root) {
    log.warn({ path: file, root: m.root, expected: root }, 'persisted recall index is of another tree; rebuilding it');
    return { docs: undefined, reason: 'MANIFEST_OTHER_TREE', dirty: true };
  }
  return { docs: m.files.map(([path, stamp, size, id]) => new StoredDoc(root, path, stamp, size, id ?? undefined)) };
}

/** Writes the index and the tree's manifest atomically; false (logged) when it could not. */
export function savePersisted(
  index: RecallIndex & PersistableIndex,
  file: string,
  tree: ContextTree,
  log: Logger,
): boolean {
  const m: Manifest = {
    v: MANIFEST_VERSION,
    root: tree.root,
    files: [...tree.all()].map((d) => [d.path, d.stamp, d.size, d.id ?? null]),
  };
  return saveIndexFile(index, file, JSON.stringify(m), log);
}

/** Size and mtime of `file`, or undefined. */
export function fileFacts(file: string): { bytes: number; writtenAt: Date } | undefined {
  try {
    const st = statSync(file);
    return { bytes: st.size, writtenAt: st.mtime };
  } catch {
    return undefined;
  }
}
