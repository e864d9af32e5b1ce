/**
 * The context tree on disk: `<project>/.brv/context-tree/**\/*.md` (the tree root is configurable).
 *
 * `ContextTree` keeps a parsed copy of every note and tells listeners what changed. Correctness never
 * depends on file-system events: `refresh()` rescans the tree and compares each file's
 * (size, mtime ns, ctime ns, inode) with what it saw last, re-reading only files that differ. `watch()`
 * adds `fs.watch(root, {recursive: true})` (inotify-backed on Linux since Node 20) as a trigger for a
 * debounced refresh, and a poll as a safety net; when recursive watching is unavailable it polls only.
 *
 * Symlinks inside the tree are not followed (a link could point outside it); dot-files and
 * dot-folders are skipped; files larger than `maxFileBytes` are skipped with a warning.
 *
 * The walk is native when the addon is there (native/src/recall/walk.h: listed, stat'ed and read in
 * parallel off the event loop; files whose stamp is unchanged are not read), else the TypeScript
 * walk below; both follow the rules above (test/unit/memory/tree-walk.test.ts holds them equal).
 */
import { readFileSync, watch as fsWatch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ClawError } from '../errors.js';
import { logger as rootLogger, type Logger } from '../log/index.js';
import { noteHeader, parseNote, type ParsedNote } from './markdown.js';
import { DEFAULT_MAX_FILE_BYTES, loadNativeWalk, type WalkFn, type WalkResult } from './native-walk.js';
import { MemoryErrorCode } from './errors.js';
import { defaultTreeRoot } from './paths.js';
import { packedField as field, packedIds, type PackedNotes } from './persist.js';

export interface TreeDoc {
  /** Tree-relative, `/`-separated. */
  path: string;
  note: ParsedNote;
  /** Raw file text. */
  text: string;
  size: number;
  /** Fingerprint of the stat data the note was read with. */
  stamp: string;
  /** The note's `claw_id` (= note.id), known without parsing for notes restored from a persisted index. */
  id?: string | undefined;
}

/**
 * A note restored from a persisted index (lib/memory/persist.ts): its path, stamp, size and claw_id
 * are known; its text is read from disk (synchronously) and parsed only when someone asks for it
 * (sync, curate). The next scan replaces it when the file's stamp changed.
 */
export class StoredDoc implements TreeDoc {
  #text: string | undefined;
  #note: ParsedNote | undefined;

  constructor(
    private readonly root: string,
    readonly path: string,
    readonly stamp: string,
    readonly size: number,
    readonly id: string | undefined,
    text?: string,
  ) {
    this.#text = text;
  }

  /** The text if it is in memory (not read from disk for this). */
  peekText(): string | undefined {
    return this.#text;
  }

  /** Drops the text and parse from memory (LocalMemory, once indexed); read again on demand. */
  release(): void {
    this.#text = undefined;
    this.#note = undefined;
  }

  get text(): string {
    this.#text ??= readFileSync(join(this.root, ...this.path.split('/')), 'utf8');
    return this.#text;
  }

  get note(): ParsedNote {
    this.#note ??= parseNote(this.text, this.path);
    return this.#note;
  }
}

/** A note's claw_id: known without reading for a StoredDoc (restored or read), else parsed. */
export function clawIdOf(doc: TreeDoc): string | undefined {
  return doc instanceof StoredDoc ? doc.id : doc.note.id;
}

export interface TreeChanges {
  added: TreeDoc[];
  updated: TreeDoc[];
  /** Paths no longer in the tree. */
  removed: string[];
}

export type TreeListener = (changes: TreeChanges) => void;

export interface ContextTreeOptions {
  /** The project directory holding `.brv/`. */
  projectRoot: string;
  /** Override of the tree root (default `<projectRoot>/.brv/context-tree`). */
  treeRoot?: string;
  /** Files larger than this are skipped (default 4 MiB). */
  maxFileBytes?: number;
  /** `native` (the addon's parallel walk; fails without it), `ts`, or `auto` (default: native when there). */
  walker?: 'auto' | 'native' | 'ts';
  logger?: Logger;
}

/** What the last completed scan did (for `index --stats`, progress and tests). */
export interface ScanInfo {
  walker: 'native' | 'ts';
  /** Notes in the tree after the scan. */
  files: number;
  /** Files read (new or changed stamp). */
  read: number;
  /** Files whose stamp was unchanged: kept, not read. */
  reused: number;
  bytesRead: number;
  ms: number;
}

export { defaultTreeRoot } from './paths.js';

export class ContextTree {
  readonly projectRoot: string;
  readonly root: string;
  private readonly maxFileBytes: number;
  private readonly log: Logger;
  readonly #docs = new Map<string, TreeDoc>();
  /** Notes seeded packed and not yet needed one by one (see `seedPacked`). */
  #packed: PackedNotes | undefined;
  /** A native walk already started against the packed seed (lib/memory/prefetch.ts): the first scan's. */
  #prewalk: Promise<WalkResult> | undefined;
  private readonly listeners = new Set<TreeListener>();
  private running: Promise<TreeChanges> | undefined;
  private queued: Promise<TreeChanges> | undefined;
  private watcher: FSWatcher | undefined;
  private poller: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private lastRefreshAt = 0;
  private readonly walker: 'auto' | 'native' | 'ts';
  /** Every file read since construction (a note is read again only when its stamp changed). */
  reads = 0;
  /** The last completed scan. */
  lastScan: ScanInfo | undefined;

  constructor(opts: ContextTreeOptions) {
    this.projectRoot = resolve(opts.projectRoot);
    this.root = opts.treeRoot ? resolve(opts.treeRoot) : defaultTreeRoot(this.projectRoot);
    this.maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.walker = opts.walker ?? 'auto';
    this.log = (opts.logger ?? rootLogger).child({ component: 'memory.tree' });
  }

  /** Creates the tree folder when missing. */
  async ensure(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }

  /** The notes by path (a seeded packed list is unpacked on first use). */
  private get docs(): Map<string, TreeDoc> {
    if (this.#packed) this.unpack(this.#packed);
    return this.#docs;
  }

  get size(): number {
    return this.#packed ? this.#packed.count : this.#docs.size;
  }

  get(path: string): TreeDoc | undefined {
    return this.docs.get(path);
  }

  all(): IterableIterator<TreeDoc> {
    return this.docs.values();
  }

  /** [path, claw_id] of each note that has one (without building the notes of a packed seed). */
  *ids(): Generator<[string, string]> {
    const packed = this.#packed;
    if (!packed) {
      for (const d of this.#docs.values()) {
        const id = clawIdOf(d);
        if (id) yield [d.path, id];
      }
      return;
    }
    // `known` is walked forward to each listed index: only the notes with a claw_id cost a slice.
    let k = 0; // where note `index`'s pair starts in `known`
    let index = 0;
    for (const [i, id] of packedIds(packed.ids)) {
      for (; index < i; index++) k = packed.known.indexOf('\0', packed.known.indexOf('\0', k) + 1) + 1;
      yield [field(packed.known, k)[0], id];
    }
  }

  /** The note whose frontmatter `claw_id` is `id`. */
  findById(id: string): TreeDoc | undefined {
    for (const d of this.docs.values()) if (clawIdOf(d) === id) return d;
    return undefined;
  }

  /** Milliseconds since the last completed refresh (Infinity before the first). */
  staleness(): number {
    return this.lastRefreshAt === 0 ? Infinity : Date.now() - this.lastRefreshAt;
  }

  onChange(fn: TreeListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Rescans the tree. Concurrent calls coalesce: a call made while a scan runs waits for one more
   * scan that starts after it, so its result reflects the disk as of (at least) the call.
   */
  async refresh(): Promise<TreeChanges> {
    if (!this.running) return this.startScan();
    this.queued ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.startScan();
      });
    return this.queued;
  }

  private startScan(): Promise<TreeChanges> {
    const p: Promise<TreeChanges> = this.scan().finally(() => {
      if (this.running === p) this.running = undefined;
    });
    this.running = p;
    return p;
  }

  /**
   * Seeds the tree with notes known from a persisted index, packed: they become StoredDocs only when
   * something needs them one by one (get, all, a scan that found a change). Before the first scan only.
   */
  seedPacked(notes: PackedNotes, walk?: Promise<WalkResult>): void {
    if (this.#docs.size > 0 || this.#packed) throw new Error('ContextTree.seedPacked: the tree is already seeded');
    if (notes.count > 0) this.#packed = notes;
    // The walk of this root with `notes.known`, omitUnchanged and the default cap, started early:
    // the first native scan takes its result instead of walking again.
    if (walk && this.maxFileBytes === DEFAULT_MAX_FILE_BYTES) this.#prewalk = walk;
  }

  /** The packed seed, while it is still packed (a save writes it back as it is). */
  packedSeed(): PackedNotes | undefined {
    return this.#packed;
  }

  private unpack(packed: PackedNotes): void {
    this.#packed = undefined;
    const ids = new Map(packedIds(packed.ids));
    let k = 0;
    let z = 0;
    for (let i = 0; i < packed.count; i++) {
      const [path, afterPath] = field(packed.known, k);
      const [stamp, afterStamp] = field(packed.known, afterPath);
      const [size, afterSize] = field(packed.sizes, z);
      k = afterStamp;
      z = afterSize;
      this.#docs.set(path, new StoredDoc(this.root, path, stamp, Number(size), ids.get(i)));
    }
  }

  private async scan(): Promise<TreeChanges> {
    const t0 = performance.now();
    const readsBefore = this.reads;
    const changes: TreeChanges = { added: [], updated: [], removed: [] };
    const early = this.#prewalk; // the first scan's only
    this.#prewalk = undefined;
    const walk = this.walker === 'ts' ? undefined : await loadNativeWalk();
    if (this.walker === 'native' && !walk)
      throw new ClawError(
        MemoryErrorCode.NATIVE_WALK_UNAVAILABLE,
        'expected the native tree walk, found no addon with walkTree',
        {
          hint: 'Build the addon (`npm run build:native`) or open the tree with walker "auto" or "ts".',
        },
      );
    let bytesRead: number;
    if (walk) {
      bytesRead = await this.walkNative(walk, changes, early);
    } else {
      const seen = new Set<string>();
      bytesRead = await this.walk(this.root, '', seen, changes);
      for (const path of [...this.docs.keys()]) {
        if (!seen.has(path)) {
          this.docs.delete(path);
          changes.removed.push(path);
        }
      }
    }
    this.lastRefreshAt = Date.now();
    const read = this.reads - readsBefore;
    this.lastScan = {
      walker: walk ? 'native' : 'ts',
      files: this.size,
      read,
      reused: this.size - read,
      bytesRead,
      ms: performance.now() - t0,
    };
    if (changes.added.length + changes.updated.length + changes.removed.length > 0) {
      for (const fn of this.listeners) fn(changes);
    }
    return changes;
  }

  /**
   * The native walk: one call lists, stats and reads (only new or changed files) in parallel. Notes
   * found at their stamp are not listed back (`omitUnchanged`: one flag byte each), so re-opening an
   * unchanged tree of 100,000 notes builds no per-note object.
   */
  private async walkNative(
    walk: WalkFn,
    changes: TreeChanges,
    early: Promise<WalkResult> | undefined,
  ): Promise<number> {
    // A packed seed goes to the walk as it is; the notes are built only when something changed.
    const seeded = this.#packed;
    let known = seeded?.known;
    if (!seeded && this.#docs.size > 0) {
      const pairs: string[] = [];
      for (const d of this.#docs.values()) pairs.push(d.path, d.stamp);
      known = `${pairs.join('\0')}\0`;
    }
    const fresh = () =>
      walk(this.root, {
        maxFileBytes: this.maxFileBytes,
        ...(known ? { known } : {}),
        omitUnchanged: true,
      });
    // A walk started early against this very seed answers for it (a failed one is walked again).
    const r = early && seeded && known === seeded.known ? await early.catch(fresh) : await fresh();
    if (seeded && this.#packed === seeded && r.files.length === 0 && r.unchanged?.indexOf(0) === -1) return r.bytesRead; // every seeded note is where it was: nothing to build
    // The known pairs were in the map's order (a packed seed unpacks in its own order).
    const paths = [...this.docs.keys()];
    const listed = new Set<string>();
    for (const f of r.files) {
      if (f.tooLarge) {
        this.tooLarge(f.path, f.size);
        continue;
      }
      listed.add(f.path);
      if (f.text === undefined) continue; // an addon without omitUnchanged: stamp unchanged, kept
      this.reads++;
      this.record(f.path, f.text, f.size, f.stamp, changes);
    }
    // A known note neither found unchanged nor listed is gone (a changed one was listed and read).
    const unchanged = r.unchanged;
    paths.forEach((path, i) => {
      if (unchanged?.[i] === 1 || listed.has(path)) return;
      this.docs.delete(path);
      changes.removed.push(path);
    });
    return r.bytesRead;
  }

  private tooLarge(path: string, size: number): void {
    this.log.warn({ path, size, max: this.maxFileBytes }, 'context tree note skipped: too large');
  }

  private async walk(dir: string, rel: string, seen: Set<string>, changes: TreeChanges): Promise<number> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && rel === '') return 0; // no tree yet: empty
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0; // vanished mid-scan
      throw e;
    }
    let bytes = 0;
    for (const ent of entries) {
      if (ent.name.startsWith('.')) continue;
      const childRel = rel ? `${rel}/${ent.name}` : ent.name;
      const abs = join(dir, ent.name);
      if (ent.isDirectory()) {
        bytes += await this.walk(abs, childRel, seen, changes);
      } else if (ent.isFile() && ent.name.toLowerCase().endsWith('.md')) {
        bytes += await this.visit(abs, childRel, seen, changes);
      }
    }
    return bytes;
  }

  private async visit(abs: string, rel: string, seen: Set<string>, changes: TreeChanges): Promise<number> {
    let st;
    try {
      st = await stat(abs, { bigint: true });
    } catch {
      return 0; // vanished mid-scan: treated as removed
    }
    if (st.size > BigInt(this.maxFileBytes)) {
      this.tooLarge(rel, Number(st.size));
      return 0;
    }
    const stamp = `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}`;
    const prev = this.docs.get(rel);
    seen.add(rel);
    if (prev && prev.stamp === stamp) return 0;
    let text: string;
    try {
      text = await readFile(abs, 'utf8');
    } catch {
      seen.delete(rel);
      return 0;
    }
    this.reads++;
    this.record(rel, text, Number(st.size), stamp, changes);
    return Buffer.byteLength(text);
  }

  /** A note read at `stamp`: parsed, kept, and reported as added or (content changed) updated. */
  private record(rel: string, text: string, size: number, stamp: string, changes: TreeChanges): void {
    const prev = this.docs.get(rel);
    // Only the frontmatter is parsed here (claw_id, the warning): title, tags, headings and body
    // are the recall engine's to parse; `note` parses in TypeScript only when someone asks.
    const note = noteHeader(text);
    if (note.frontmatterError)
      this.log.warn(
        { path: rel, error: note.frontmatterError },
        'context tree note has invalid frontmatter; read its title, tags and claw_id leniently',
      );
    const doc = new StoredDoc(this.root, rel, stamp, size, note.id, text);
    this.docs.set(rel, doc);
    if (!prev) changes.added.push(doc);
    else {
      // Compare with the old text when it is still in memory; a released or restored note whose
      // stamp changed is re-indexed (its old text is gone).
      const old = prev instanceof StoredDoc ? prev.peekText() : prev.text;
      if (old === undefined || old !== text) changes.updated.push(doc);
    }
  }

  /**
   * Starts watching: a debounced refresh on any fs event under the root, and a poll every `pollMs`
   * (default 5 s; 0 disables it unless recursive watching is unavailable, then it is 1 s).
   */
  watch(opts: { debounceMs?: number; pollMs?: number } = {}): void {
    if (this.watcher || this.poller) return;
    const debounceMs = opts.debounceMs ?? 50;
    const trigger = (): void => {
      if (this.debounce) clearTimeout(this.debounce);
      this.debounce = setTimeout(() => {
        this.debounce = undefined;
        void this.refresh().catch((e: unknown) => this.log.warn({ err: e }, 'context tree rescan failed'));
      }, debounceMs);
      this.debounce.unref();
    };
    let pollMs = opts.pollMs ?? 5000;
    try {
      this.watcher = fsWatch(this.root, { recursive: true, persistent: false }, trigger);
      this.watcher.on('error', (e) => {
        this.log.warn({ err: e }, 'context tree watcher failed; polling instead');
        this.watcher?.close();
        this.watcher = undefined;
        this.startPoll(1000, trigger);
      });
    } catch (e) {
      this.log.warn({ err: e }, 'recursive fs.watch unavailable; polling the context tree');
      if (pollMs === 0) pollMs = 1000;
    }
    if (pollMs > 0) this.startPoll(pollMs, trigger);
  }

  private startPoll(ms: number, trigger: () => void): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = setInterval(trigger, ms);
    this.poller.unref();
  }

  /** Stops watching and waits for a running scan. */
  async close(): Promise<void> {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = undefined;
    await this.running?.catch(() => undefined);
  }
}
