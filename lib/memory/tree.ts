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
 */
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { logger as rootLogger, type Logger } from '../log/index.js';
import { parseNote, type ParsedNote } from './markdown.js';

export interface TreeDoc {
  /** Tree-relative, `/`-separated. */
  path: string;
  note: ParsedNote;
  /** Raw file text. */
  text: string;
  size: number;
  /** Fingerprint of the stat data the note was read with. */
  stamp: string;
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
  logger?: Logger;
}

export function defaultTreeRoot(projectRoot: string): string {
  return join(resolve(projectRoot), '.brv', 'context-tree');
}

export class ContextTree {
  readonly projectRoot: string;
  readonly root: string;
  private readonly maxFileBytes: number;
  private readonly log: Logger;
  private readonly docs = new Map<string, TreeDoc>();
  private readonly listeners = new Set<TreeListener>();
  private running: Promise<TreeChanges> | undefined;
  private queued: Promise<TreeChanges> | undefined;
  private watcher: FSWatcher | undefined;
  private poller: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private lastRefreshAt = 0;

  constructor(opts: ContextTreeOptions) {
    this.projectRoot = resolve(opts.projectRoot);
    this.root = opts.treeRoot ? resolve(opts.treeRoot) : defaultTreeRoot(this.projectRoot);
    this.maxFileBytes = opts.maxFileBytes ?? 4 * 1024 * 1024;
    this.log = (opts.logger ?? rootLogger).child({ component: 'memory.tree' });
  }

  /** Creates the tree folder when missing. */
  async ensure(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }

  get size(): number {
    return this.docs.size;
  }

  get(path: string): TreeDoc | undefined {
    return this.docs.get(path);
  }

  all(): IterableIterator<TreeDoc> {
    return this.docs.values();
  }

  /** The note whose frontmatter `claw_id` is `id`. */
  findById(id: string): TreeDoc | undefined {
    for (const d of this.docs.values()) if (d.note.id === id) return d;
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

  private async scan(): Promise<TreeChanges> {
    const seen = new Set<string>();
    const changes: TreeChanges = { added: [], updated: [], removed: [] };
    await this.walk(this.root, '', seen, changes);
    for (const path of [...this.docs.keys()]) {
      if (!seen.has(path)) {
        this.docs.delete(path);
        changes.removed.push(path);
      }
    }
    this.lastRefreshAt = Date.now();
    if (changes.added.length + changes.updated.length + changes.removed.length > 0) {
      for (const fn of this.listeners) fn(changes);
    }
    return changes;
  }

  private async walk(dir: string, rel: string, seen: Set<string>, changes: TreeChanges): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && rel === '') return; // no tree yet: empty
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // vanished mid-scan
      throw e;
    }
    for (const ent of entries) {
      if (ent.name.startsWith('.')) continue;
      const childRel = rel ? `${rel}/${ent.name}` : ent.name;
      const abs = join(dir, ent.name);
      if (ent.isDirectory()) {
        await this.walk(abs, childRel, seen, changes);
      } else if (ent.isFile() && ent.name.toLowerCase().endsWith('.md')) {
        await this.visit(abs, childRel, seen, changes);
      }
    }
  }

  private async visit(abs: string, rel: string, seen: Set<string>, changes: TreeChanges): Promise<void> {
    let st;
    try {
      st = await stat(abs, { bigint: true });
    } catch {
      return; // vanished mid-scan: treated as removed
    }
    if (st.size > BigInt(this.maxFileBytes)) {
      this.log.warn(
        { path: rel, size: Number(st.size), max: this.maxFileBytes },
        'context tree note skipped: too large',
      );
      return;
    }
    const stamp = `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}`;
    const prev = this.docs.get(rel);
    seen.add(rel);
    if (prev && prev.stamp === stamp) return;
    let text: string;
    try {
      text = await readFile(abs, 'utf8');
    } catch {
      seen.delete(rel);
      return;
    }
    const note = parseNote(text, rel);
    if (note.frontmatterError)
      this.log.warn(
        { path: rel, error: note.frontmatterError },
        'context tree note has invalid frontmatter; ignored it',
      );
    const doc: TreeDoc = { path: rel, note, text, size: Number(st.size), stamp };
    this.docs.set(rel, doc);
    if (!prev) changes.added.push(doc);
    else if (prev.text !== text) changes.updated.push(doc);
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
