/**
 * The open of a one-shot query, started before the process has loaded what it needs to open
 * (issue 15: the CLI's modules load on the main thread meanwhile).
 *
 * `prefetchOpen(projectRoot)` starts, on other threads, what LocalMemory.open would do first for
 * the tree at the default location (`<project>/.brv/context-tree`, its index in
 * `<project>/.brv/claw-byterover`): load the persisted index (loadFileAsync, a libuv worker) and,
 * at the same time, stat-walk the tree against the manifest read beside the load (peekIndexMeta,
 * unverified; the walk is kept only when the verified load returns that same manifest). LocalMemory.open
 * adopts the result only when it opens exactly that tree and index file with the same engine;
 * every other open (another tree, a v4 space, the brv backend) drops it and closes its index.
 * A load that fails is not adopted either: the open then loads (and reports) as before.
 *
 * Nothing is written and nothing is decided here: the result is what an open started at that
 * moment would have read, so answers are the same with or without it (test/unit/memory/
 * prefetch.test.ts). The module is small on purpose: it imports nothing the open does not.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadNativeRecall } from './native-index.js';
import { defaultStateDir, defaultTreeRoot } from './paths.js';
import { DEFAULT_MAX_FILE_BYTES, loadNativeWalk, type WalkResult } from './native-walk.js';
import {
  INDEX_FILE,
  isPersistable,
  manifestHead,
  unpackManifest,
  type PackedNotes,
  type PersistableIndex,
} from './persist.js';
import type { RecallIndex, RecallIndexFactory } from './types.js';

/** What a prefetch loaded: the index, the notes of its manifest, and the walk started against them. */
export interface Prefetched {
  factory: RecallIndexFactory;
  index: RecallIndex & PersistableIndex;
  notes: PackedNotes;
  /** The native walk of the tree root with `notes.known`, omitUnchanged, the default size cap. */
  walk: Promise<WalkResult> | undefined;
}

interface Pending {
  file: string;
  treeRoot: string;
  loaded: Promise<Prefetched | undefined>;
}

let pending: Pending | undefined;

/** `started` is called once the load and the walk run on their threads (or it is known they will not). */
async function prefetch(file: string, treeRoot: string, started: () => void): Promise<Prefetched | undefined> {
  const [native, walkTree, { peekIndexMeta }] = await Promise.all([
    loadNativeRecall(),
    loadNativeWalk(),
    import('../native.js'),
  ]);
  if (!native.factory) return undefined;
  const index = native.factory();
  if (!isPersistable(index) || !index.loadFileAsync) {
    index.close?.();
    return undefined;
  }
  // The load first (it needs nothing but the file), on one thread; the walk, the longer of the two
  // (a stat per file), on two. Measured on two cores, warm search at 10,000 notes: 4 ms faster than
  // one thread each; more threads only slow the main thread, which loads the CLI meanwhile.
  const loading = index.loadFileAsync(file, { threads: 1 });
  loading.catch(() => undefined); // awaited below
  // The walk needs the notes of the manifest: read ahead, unverified, and checked only as far as
  // the walk needs (the header, so the sizes; the walk checks the pairs it is given). The walk is
  // kept only when the verified load returns this very manifest, whole and valid.
  let peeked: string | undefined;
  try {
    peeked = peekIndexMeta(file);
  } catch {
    peeked = undefined; // the load reports its own failure
  }
  const h = peeked === undefined ? undefined : manifestHead(peeked);
  let walk: Promise<WalkResult> | undefined;
  if (peeked !== undefined && h && h.head.root === treeRoot) {
    try {
      walk = walkTree?.(treeRoot, {
        maxFileBytes: DEFAULT_MAX_FILE_BYTES,
        known: peeked.slice(h.at, h.at + h.head.known),
        omitUnchanged: true,
        threads: 2,
      });
    } catch {
      walk = undefined; // a manifest the walk refuses: the open walks itself
    }
    walk?.catch(() => undefined); // the adopting open sees a failure (and walks again); nobody else
  }
  started();
  let meta: string;
  try {
    meta = await loading;
  } catch {
    index.close?.();
    return undefined;
  }
  const m = meta === peeked ? unpackManifest(meta) : undefined;
  if (!m || m.head.root !== treeRoot) {
    // the file was replaced between the two reads, or holds another tree: the open starts over
    index.close?.();
    return undefined;
  }
  return { factory: native.factory, index, notes: m.notes, walk };
}

/**
 * Starts opening the tree at the default location of `projectRoot` (see above); nothing when no
 * index was persisted there. At most one prefetch is pending: a new one drops the last. Resolves
 * once the load and the walk run on their threads (a few milliseconds of this thread: the addon, the
 * manifest read ahead), so the caller can load the rest of the process meanwhile; it never rejects.
 */
export function prefetchOpen(projectRoot: string): Promise<void> {
  const file = join(defaultStateDir(projectRoot), INDEX_FILE);
  if (!existsSync(file)) return Promise.resolve();
  dropPrefetch();
  const treeRoot = defaultTreeRoot(projectRoot);
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  pending = { file, treeRoot, loaded: prefetch(file, treeRoot, started).catch(() => undefined) };
  void pending.loaded.then(started);
  return running;
}

/**
 * The prefetch of exactly this open (index `file`, `treeRoot`), taken once; undefined when there is
 * none. A prefetch of anything else is dropped.
 */
export function takePrefetch(file: string, treeRoot: string): Promise<Prefetched | undefined> | undefined {
  const p = pending;
  if (!p) return undefined;
  pending = undefined;
  if (p.file === file && p.treeRoot === treeRoot) return p.loaded;
  void p.loaded.then((r) => r?.index.close?.());
  return undefined;
}

/** Drops a pending prefetch (its index is closed once loaded): the process opens something else. */
export function dropPrefetch(): void {
  takePrefetch('', '');
}
