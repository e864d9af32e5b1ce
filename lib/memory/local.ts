/**
 * The local backend: the context tree on disk, indexed in-process by a RecallIndex (the native engine
 * by default), with curate → outbox and sync through lib/byterover.
 *
 * Freshness: every change the tree reports (watch events, polls, explicit `refresh()`) is applied to
 * the index incrementally (add/update/remove by path). With `watch` on (default) the tree is rescanned
 * on fs events (debounced) and at least every `pollMs` (5 s), so the index is never staler than that
 * even if events are lost; with `watch` off, a query first rescans when the last scan is older than
 * `maxStalenessMs` (default 1 s).
 */
import { join, resolve } from 'node:path';
import { ClawError } from '../errors.js';
import { logger as rootLogger, type Logger } from '../log/index.js';
import { fitToBudget } from './budget.js';
import { recoverOrphans } from './orphans.js';
import type { StepHooks } from './hooks.js';
import { engineUnavailable, loadNativeRecall } from './native-index.js';
import { Outbox } from './outbox.js';
import { defaultStateDir, loadSyncState } from './state.js';
import { MemorySync, type CoGitClient } from './sync.js';
import {
  fileFacts,
  INDEX_FILE,
  isPersistable,
  loadPersisted,
  savePersisted,
  type PackedNotes,
  type PersistInfo,
} from './persist.js';
import { dropPrefetch, takePrefetch } from './prefetch.js';
import { ContextTree, defaultTreeRoot, StoredDoc, type TreeChanges, type TreeDoc } from './tree.js';
import type {
  CurateOptions,
  CurateResult,
  MemoryBackend,
  MemoryStats,
  Note,
  RecallDoc,
  RecallHit,
  RecallIndex,
  RecallIndexFactory,
  RecallOptions,
  RecallResult,
  SearchOptions,
} from './types.js';
import { MemoryErrorCode } from './errors.js';

type AddBatchAsync = (docs: ReadonlyArray<{ path: string; doc: string }>) => Promise<void>;

/** Changes of at least this many characters are indexed off the event loop (addBatchAsync). */
const OFF_LOOP_BYTES = 64 * 1024;

export interface LocalMemoryOptions {
  projectRoot: string;
  /** Default `<projectRoot>/.brv/context-tree`. */
  treeRoot?: string;
  /** Default `<projectRoot>/.brv/claw-byterover`. */
  stateDir?: string;
  /** The engine (default: the native one from lib/native.ts). */
  index?: RecallIndexFactory;
  /** Watch the tree (default true). */
  watch?: boolean | { debounceMs?: number; pollMs?: number };
  /**
   * Progress of `open` (a CLI shows it on a TTY when opening takes long): the phase, and a count
   * with its total when there is one (e.g. `indexing notes`, 2,000 of 10,000).
   */
  onProgress?: (phase: string, current?: number, total?: number) => void;
  /**
   * Persist the index in the state directory and load it on the next open (default true; needs the
   * native engine or an index with saveFile/loadFile). See lib/memory/persist.ts.
   */
  persist?: boolean;
  /** Without watching: rescan before a query when the last scan is older than this (default 1000 ms). */
  maxStalenessMs?: number;
  /** Default k for search/recall (10). */
  defaultK?: number;
  hooks?: StepHooks;
  logger?: Logger;
  now?: () => Date;
  /**
   * Called after every search/recall with its latency (telemetry; default none). `recall` covers the
   * search plus fitting the hits to the token budget. An observer that throws is ignored.
   */
  onRecall?: (e: RecallEvent) => void;
}

/** One search or recall, as seen by `onRecall`. */
export interface RecallEvent {
  op: 'search' | 'recall';
  ok: boolean;
  /** Hits returned (0 on failure). */
  hits: number;
  durationMs: number;
}

export function toRecallDoc(doc: TreeDoc): RecallDoc {
  return { title: doc.note.title, headings: doc.note.headings, body: doc.note.body, tags: doc.note.tags };
}

export class LocalMemory implements MemoryBackend {
  readonly kind = 'local' as const;
  readonly tree: ContextTree;
  readonly outbox: Outbox;
  readonly stateDir: string;
  private readonly index: RecallIndex;
  private readonly o: LocalMemoryOptions;
  private readonly log: Logger;
  private readonly watching: boolean;
  private closed = false;

  private constructor(opts: LocalMemoryOptions, index: RecallIndex) {
    this.o = opts;
    this.log = (opts.logger ?? rootLogger).child({ component: 'memory.local' });
    this.tree = new ContextTree({
      projectRoot: opts.projectRoot,
      ...(opts.treeRoot ? { treeRoot: opts.treeRoot } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    this.stateDir = opts.stateDir ?? defaultStateDir(opts.projectRoot);
    this.outbox = new Outbox(this.stateDir, opts.logger);
    this.index = index;
    this.watching = opts.watch !== false;
    this.tree.onChange((c) => this.apply(c));
  }

  /** Opens the tree, indexes it, re-enqueues crash orphans, and starts watching. */
  static async open(opts: LocalMemoryOptions): Promise<LocalMemory> {
    let factory = opts.index;
    if (!factory) {
      const native = await loadNativeRecall();
      if (!native.factory) throw engineUnavailable(native, 'the native recall engine');
      factory = native.factory;
    }
    // The persisted index (lib/memory/persist.ts): loaded when valid, reconciled with the tree by
    // the first scan (only changed files are read), saved again when anything changed.
    const stateDir = opts.stateDir ?? defaultStateDir(opts.projectRoot);
    const file = join(stateDir, INDEX_FILE);
    const treeRoot = opts.treeRoot ? resolve(opts.treeRoot) : defaultTreeRoot(resolve(opts.projectRoot));
    // A one-shot CLI query may have started this very open early (lib/memory/prefetch.ts).
    if (opts.persist === false) dropPrefetch();
    const early = opts.persist !== false ? await takePrefetch(file, treeRoot) : undefined;
    if (early && early.factory !== factory) early.index.close?.(); // another engine: not this open's
    const prefetched = early?.factory === factory ? early : undefined;
    let index = prefetched?.index ?? factory();
    let restored: PackedNotes | undefined = prefetched?.notes;
    let notLoaded: string | undefined;
    if (!prefetched && opts.persist !== false && isPersistable(index)) {
      const log = (opts.logger ?? rootLogger).child({ component: 'memory.local' });
      const r = await loadPersisted(index, file, treeRoot, log);
      restored = r.notes;
      if (!r.notes) {
        notLoaded = r.reason;
        if (r.dirty) {
          index.close?.();
          index = factory();
        }
      }
    }
    const mem = new LocalMemory(opts, index);
    mem.persist = {
      path: file,
      loaded: restored !== undefined,
      ...(prefetched ? { prefetched: true } : {}),
      restored: restored?.count ?? 0,
      saves: 0,
      ...(notLoaded ? { notLoaded } : {}),
      ...fileFacts(file),
    };
    const progress = opts.onProgress ?? (() => {});
    try {
      if (restored) mem.tree.seedPacked(restored, prefetched?.walk);
      await mem.tree.ensure();
      // The first build goes through addBatchAsync when the engine has it: parsed and indexed on a
      // worker, so the event loop (a progress line, other work) keeps running meanwhile.
      const asyncBatch = (index as { addBatchAsync?: AddBatchAsync }).addBatchAsync?.bind(index);
      if (asyncBatch) mem.stash = [];
      progress(restored ? `checking ${restored.count} notes against the tree` : 'reading the context tree');
      // recoverOrphans scans the tree first: the one scan of this open.
      await recoverOrphans({ tree: mem.tree, outbox: mem.outbox, loadState: () => loadSyncState(mem.stateDir) });
      const stash = mem.stash ?? [];
      mem.stash = undefined;
      if (asyncBatch && stash.length > 0) {
        const scan = mem.tree.lastScan;
        const rate = scan && scan.ms > 0 ? Math.round((scan.read / scan.ms) * 1000) : undefined;
        progress(`indexing ${stash.length} notes${rate ? ` (read at ${rate} files/s)` : ''}`);
        await asyncBatch(stash.map((d) => ({ path: d.path, doc: d.text })));
        for (const d of stash) if (d instanceof StoredDoc) d.release();
        mem.unsaved += stash.length;
      }
      if (!restored || mem.unsaved > 0) {
        progress('saving the index');
        mem.save();
      }
      if (mem.watching) mem.tree.watch(typeof opts.watch === 'object' ? opts.watch : {});
      mem.log.debug({ persist: mem.persist, scan: mem.tree.lastScan }, 'memory opened');
    } catch (e) {
      await mem.close();
      throw e;
    }
    return mem;
  }

  /** The persisted index of this tree: what this open did with it (`index --stats`). */
  persist: PersistInfo | undefined;
  /** Index changes not yet persisted. */
  private unsaved = 0;
  /** During open: notes added by the first scan, indexed together by addBatchAsync. */
  private stash: TreeDoc[] | undefined;

  /** Persists the index now (atomically); false when it could not (logged) or is not persistable. */
  save(): boolean {
    if (!this.persist || this.o.persist === false || !isPersistable(this.index)) return false;
    const ok = savePersisted(this.index, this.persist.path, this.tree, this.log);
    if (ok) {
      this.unsaved = 0;
      this.persist.saves++;
      Object.assign(this.persist, fileFacts(this.persist.path));
    }
    return ok;
  }

  /** Index work running off the event loop (addBatchAsync); queries and close wait for it. */
  private offLoop: Promise<void> = Promise.resolve();
  private offLoopRunning = 0;

  private apply(c: TreeChanges): void {
    if (this.stash && c.added.length > 0) {
      this.stash.push(...c.added);
      c = { ...c, added: [] };
    }
    // Large changes (a maximum-size curated note, a pulled space) are parsed and indexed on the
    // addon's worker threads, so the event loop (a bridge's /healthz, webhooks) keeps answering; a
    // later change waits behind them to keep the order (issue 13).
    const asyncBatch = (this.index as { addBatchAsync?: AddBatchAsync }).addBatchAsync?.bind(this.index);
    const upserts = [...c.added, ...c.updated];
    const bytes = upserts.reduce((n, d) => n + d.text.length, 0);
    if (asyncBatch && (bytes >= OFF_LOOP_BYTES || this.offLoopRunning > 0)) {
      const docs = upserts.map((d) => ({ path: d.path, doc: d.text }));
      const removed = c.removed;
      this.offLoopRunning++;
      this.offLoop = this.offLoop
        .then(async () => {
          if (docs.length > 0) await asyncBatch(docs);
          for (const p of removed) this.index.remove(p);
          this.unsaved += docs.length + removed.length;
          for (const d of upserts) if (d instanceof StoredDoc) d.release();
        })
        .catch((e: unknown) => this.log.error({ err: e }, 'indexing off the event loop failed'))
        .finally(() => this.offLoopRunning--);
      return;
    }
    if (c.added.length > 1 && this.index.addBatch)
      this.index.addBatch(c.added.map((d) => ({ path: d.path, doc: d.text })));
    else for (const d of c.added) this.index.add(d.path, d.text);
    for (const d of c.updated) this.index.update(d.path, d.text);
    for (const p of c.removed) this.index.remove(p);
    this.unsaved += c.added.length + c.updated.length + c.removed.length;
    // The index holds what it needs: the texts leave memory (read again from disk on demand).
    for (const d of c.added) if (d instanceof StoredDoc) d.release();
    for (const d of c.updated) if (d instanceof StoredDoc) d.release();
    this.log.debug({ added: c.added.length, updated: c.updated.length, removed: c.removed.length }, 'index updated');
  }

  /** Rescans the tree now and applies what changed to the index. */
  async refresh(): Promise<TreeChanges> {
    return this.tree.refresh();
  }

  private async fresh(): Promise<void> {
    if (this.closed)
      throw new ClawError(MemoryErrorCode.CLOSED, 'expected an open memory, found it closed', {
        hint: 'Open a new one with LocalMemory.open().',
      });
    if (!this.watching && this.tree.staleness() > (this.o.maxStalenessMs ?? 1000)) await this.tree.refresh();
  }

  async search(query: string, opts: SearchOptions = {}): Promise<RecallHit[]> {
    if (!this.o.onRecall) return this.query(query, opts);
    return this.timed(
      'search',
      () => this.query(query, opts),
      (h) => h.length,
    );
  }

  async recall(query: string, opts: RecallOptions = {}): Promise<RecallResult> {
    const run = async (): Promise<RecallResult> =>
      fitToBudget(
        await this.query(query, opts),
        opts.tokenBudget === undefined ? {} : { tokenBudget: opts.tokenBudget },
      );
    if (!this.o.onRecall) return run();
    return this.timed('recall', run, (r) => r.hits.length);
  }

  private async query(query: string, opts: SearchOptions): Promise<RecallHit[]> {
    await this.fresh();
    await this.offLoop;
    if (opts.signal?.aborted)
      throw new ClawError(MemoryErrorCode.ABORTED, 'expected to search, found the call aborted', {
        hint: 'The caller cancelled it.',
      });
    return this.index.query(query, Math.max(1, opts.k ?? this.o.defaultK ?? 10));
  }

  /** Runs `fn` and reports its latency to `onRecall` (an observer that throws is ignored). */
  private async timed<T>(op: RecallEvent['op'], fn: () => Promise<T>, hitsOf: (v: T) => number): Promise<T> {
    const t0 = performance.now();
    const report = (ok: boolean, hits: number): void => {
      try {
        this.o.onRecall?.({ op, ok, hits, durationMs: performance.now() - t0 });
      } catch {
        // telemetry never breaks a recall
      }
    };
    let v: T;
    try {
      v = await fn();
    } catch (e) {
      report(false, 0);
      throw e;
    }
    report(true, hitsOf(v));
    return v;
  }

  async curate(note: Note, opts: CurateOptions = {}): Promise<CurateResult> {
    if (this.closed)
      throw new ClawError(MemoryErrorCode.CLOSED, 'expected an open memory, found it closed', {
        hint: 'Open a new one with LocalMemory.open().',
      });
    // curate (with its hygiene and path rules) loads on the first curate, not on every open.
    const { curateNote } = await import('./curate.js');
    const res = await curateNote(
      {
        tree: this.tree,
        outbox: this.outbox,
        loadState: () => loadSyncState(this.stateDir),
        ...(this.o.hooks ? { hooks: this.o.hooks } : {}),
        ...(this.o.now ? { now: this.o.now } : {}),
      },
      note,
      {
        ...(opts.id === undefined ? {} : { id: opts.id }),
        ...(opts.secrets ? { secrets: opts.secrets } : {}),
        ...(opts.duplicates ? { duplicates: opts.duplicates } : {}),
      },
    );
    await this.tree.refresh();
    return res;
  }

  /** Sync with one ByteRover space through lib/byterover's client. */
  sync(
    client: CoGitClient,
    space: { teamId: string; spaceId: string; branch?: string; batchSize?: number },
  ): MemorySync {
    return new MemorySync({
      tree: this.tree,
      outbox: this.outbox,
      stateDir: this.stateDir,
      client,
      ...space,
      ...(this.o.hooks ? { hooks: this.o.hooks } : {}),
      ...(this.o.logger ? { logger: this.o.logger } : {}),
    });
  }

  async stats(): Promise<MemoryStats> {
    const state = await loadSyncState(this.stateDir);
    return {
      backend: 'local',
      treeRoot: this.tree.root,
      documents: this.tree.size,
      pending: await this.outbox.size(),
      engine: this.index.stats(),
      ...(state.commitSha ? { commitSha: state.commitSha } : {}),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tree.close();
    await this.offLoop;
    if (this.unsaved > 0) this.save(); // what changed while open (watching) is not rebuilt next time
    this.index.close?.();
  }
}
