/**
 * The persisted recall index of a tree: `<stateDir>/recall-index.clawrix` (native/src/recall/
 * persist.h: versioned, checksummed, written atomically), holding the native index and a manifest
 * of the notes it was built from (path, stamp, size, claw_id). Opening a tree loads it, seeds the
 * ContextTree with the manifest (packed: nothing read, no per-note object), and the first scan — a stat walk — re-reads
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
import type { ContextTree, TreeDoc } from './tree.js';
import type { RecallIndex } from './types.js';

export const INDEX_FILE = 'recall-index.clawrix';

/**
 * Notes known from a persisted index (the manifest below), held packed by ContextTree until someone
 * needs them one by one: re-opening an unchanged tree of 10,000 notes then builds no per-note object
 * (the packed pairs go to the native walk as they are, and it answers one flag byte per note).
 */
export interface PackedNotes {
  count: number;
  /** `path\0stamp\0` per note: the native walk's `known` form. */
  known: string;
  /** `size\0` per note, in the same order. */
  sizes: string;
  /** `i\0claw_id\0` for each note (its index in `known`, ascending) that has a claw_id. */
  ids: string;
}

/** Splits `s` at NUL characters from `at`: the next field and where the one after it starts. */
export function packedField(s: string, at: number): [string, number] {
  const end = s.indexOf('\0', at);
  return end < 0 ? [s.slice(at), s.length] : [s.slice(at, end), end + 1];
}

/** The (index, claw_id) pairs of a PackedNotes `ids` section, in order. */
export function* packedIds(ids: string): Generator<[number, string]> {
  for (let at = 0; at < ids.length;) {
    const [i, next] = packedField(ids, at);
    const [id, after] = packedField(ids, next);
    at = after;
    yield [Number(i), id];
  }
}

/**
 * The manifest saved with the index: one JSON line, then the notes packed as ContextTree holds them
 * (PackedNotes: `known`, `sizes`, `ids` back to back, lengths in UTF-16 code units):
 *   {"v":2,"root":"/abs/tree","count":N,"known":K,"sizes":S}\n<known><sizes><ids>
 * A warm open parses the one short line and hands `known` to the native walk as it is: no per-note
 * JSON, no per-note object (version 1 was a JSON array of [path, stamp, size, claw_id]).
 */
const MANIFEST_VERSION = 2;

export interface ManifestHead {
  v: number;
  root: string;
  count: number;
  known: number;
  sizes: number;
}

export interface PersistableIndex {
  saveFile(path: string, meta: string): void;
  loadFile(path: string): string;
  /** loadFile off the event loop (the native engine's; optional for other engines). */
  loadFileAsync?(path: string, opts?: { threads?: number }): Promise<string>;
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
  /** It was loaded (and the tree walked) early, while the process started (lib/memory/prefetch.ts). */
  prefetched?: boolean;
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
  | { notes: PackedNotes }
  | { notes: undefined; reason: string; /** the index holds documents and must be replaced */ dirty: boolean };

/**
 * Loads `file` into the empty `index` and answers the manifest string saved with it, or why the file
 * was not loaded (RECALL_PERSIST_MISSING, _CORRUPT, _VERSION, …; a missing file is not logged). The
 * format and its checks are the native one (persist.h); what the manifest means is the caller's (the
 * v3 tree's below, a v4 space's in lib/memory/v4/persist.ts).
 */
export async function loadIndexFile(
  index: RecallIndex & PersistableIndex,
  file: string,
  log: Logger,
): Promise<{ meta: string } | { meta: undefined; reason: string }> {
  try {
    // Off the event loop when the engine can: the load reads the whole file.
    return { meta: index.loadFileAsync ? await index.loadFileAsync(file) : index.loadFile(file) };
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

/** NUL characters in `s`. */
function nulCount(s: string): number {
  let n = 0;
  for (let at = s.indexOf('\0'); at >= 0; at = s.indexOf('\0', at + 1)) n++;
  return n;
}

/**
 * A manifest's header line and where its packed sections start, when the header is one savePersisted
 * writes and its section sizes fit; the sections themselves are not checked (unpackManifest does).
 */
export function manifestHead(meta: string): { head: ManifestHead; at: number } | undefined {
  const nl = meta.indexOf('\n');
  if (nl < 0) return undefined;
  let head: ManifestHead;
  try {
    head = JSON.parse(meta.slice(0, nl)) as ManifestHead;
  } catch {
    return undefined;
  }
  if (head === null || typeof head !== 'object' || head.v !== MANIFEST_VERSION || typeof head.root !== 'string')
    return undefined;
  const { count, known, sizes } = head;
  const rest = meta.length - nl - 1;
  if (![count, known, sizes].every((n) => Number.isSafeInteger(n) && n >= 0) || known + sizes > rest) return undefined;
  return { head, at: nl + 1 };
}

/** The packed notes of a manifest, or undefined when its shape is not what savePersisted writes. */
export function unpackManifest(meta: string): { head: ManifestHead; notes: PackedNotes } | undefined {
  const h = manifestHead(meta);
  if (!h) return undefined;
  const { head, at } = h;
  const { count, known, sizes } = head;
  const notes: PackedNotes = {
    count,
    known: meta.slice(at, at + known),
    sizes: meta.slice(at + known, at + known + sizes),
    ids: meta.slice(at + known + sizes),
  };
  // Every section whole: 2 fields per note, 1 size per note, (index, claw_id) pairs of ascending
  // indexes below count; each section empty or ending with its last field's NUL.
  const ends = (x: string): boolean => x === '' || x.endsWith('\0');
  if (nulCount(notes.known) !== 2 * count || nulCount(notes.sizes) !== count || nulCount(notes.ids) % 2 !== 0)
    return undefined;
  if (!ends(notes.known) || !ends(notes.sizes) || !ends(notes.ids)) return undefined;
  let last = -1;
  for (const [i] of packedIds(notes.ids)) {
    if (!Number.isInteger(i) || i <= last || i >= count) return undefined;
    last = i;
  }
  return { head, notes };
}

/** Loads `file` into the empty `index`; on success, the notes it was built from (packed). */
export async function loadPersisted(
  index: RecallIndex & PersistableIndex,
  file: string,
  root: string,
  log: Logger,
): Promise<LoadOutcome> {
  const loaded = await loadIndexFile(index, file, log);
  if (loaded.meta === undefined) return { notes: undefined, reason: loaded.reason, dirty: false };
  const m = unpackManifest(loaded.meta);
  if (!m) {
    log.warn({ path: file }, 'persisted recall index has no readable manifest; rebuilding it');
    return { notes: undefined, reason: 'MANIFEST_INVALID', dirty: true };
  }
  if (m.head.root !== root) {
    log.warn(
      { path: file, root: m.head.root, expected: root },
      'persisted recall index is of another tree; rebuilding it',
    );
    return { notes: undefined, reason: 'MANIFEST_OTHER_TREE', dirty: true };
  }
  return { notes: m.notes };
}

/** The tree's notes packed for the manifest (a claw_id holding a NUL, which curate never writes, is left out). */
function packNotes(docs: Iterable<TreeDoc>): PackedNotes {
  const known: string[] = [];
  const sizes: string[] = [];
  const ids: string[] = [];
  let count = 0;
  for (const d of docs) {
    known.push(d.path, d.stamp);
    sizes.push(String(d.size));
    const id = d.id;
    if (id && !id.includes('\0')) ids.push(String(count), id);
    count++;
  }
  const join = (xs: string[]): string => (xs.length ? `${xs.join('\0')}\0` : '');
  return { count, known: join(known), sizes: join(sizes), ids: join(ids) };
}

/** Writes the index and the tree's manifest atomically; false (logged) when it could not. */
export function savePersisted(
  index: RecallIndex & PersistableIndex,
  file: string,
  tree: ContextTree,
  log: Logger,
): boolean {
  const notes = tree.packedSeed() ?? packNotes(tree.all());
  const head: ManifestHead = {
    v: MANIFEST_VERSION,
    root: tree.root,
    count: notes.count,
    known: notes.known.length,
    sizes: notes.sizes.length,
  };
  return saveIndexFile(index, file, `${JSON.stringify(head)}\n${notes.known}${notes.sizes}${notes.ids}`, log);
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
