/**
 * SpaceMemory: the local memory over a ByteRover v4 space — `<space>/context-tree/**\/*.html` topics
 * indexed in-process by a RecallIndex (the native engine by default), ranked with the topics'
 * signal sidecars, answering with the element each hit came from, a confidence and a citation block.
 *
 * Reading: a topic file is `<topic path>.html` under the tree, not `index.html` (at any level), not a
 * derived artifact (`*.abstract|full|overview.html`), not under a hidden folder (ByteRover archives
 * migrated v3 files under `.brv/_migrations/`); `_manifest.json` and other files are ignored
 * (`isTopicPath`, the one place of these rules). A scan compares each file's (size, mtime, ctime,
 * inode) and its sidecar's with the last ones and re-reads only what changed. The scan is the native
 * walk when the addon has it (native/src/recall/walk.h: the tree's `.html` files and the signals
 * folder's `.json` sidecars listed, stat'ed and — only the new or changed ones — read in parallel off
 * the event loop; dot entries skipped, symlinks never followed, files over `maxFileBytes` left out),
 * else the TypeScript walk below, with the same rules (test/unit/memory/v4/space-walk.test.ts).
 *
 * Persisted index (lib/memory/v4/persist.ts: where, and what the manifest holds): an open loads it
 * when valid, so the first scan reads only the topics and sidecars whose stamps changed since it was
 * written; it is saved after the open when anything changed, and on close after later changes.
 * With a watch (the tree and the signals folder), a query first updates just the files the watch
 * named (a topic or its sidecar); an event it cannot map to a file (a folder created or renamed, a
 * lost watch) makes that query rescan everything; and a full rescan still runs every `pollMs` as a
 * safety net against missed events, in the background (queries do not wait for it). Without a
 * watch, a query rescans first when the last scan is older than `pollMs`.
 *
 * Indexing: when the native engine parses `<bv-topic>` itself (the addon exports `parseTopic`), it gets
 * the raw file and answers per element (hits carry `elementId`/`elementType`); this module then reads
 * only the root tag's attributes (`rootOf`: title, updatedat), takes the parser's warnings from the
 * index (a file that is not a topic, a malformed one: logged once per content), and parses a topic's
 * elements in TypeScript on its first hit only (for the confidence's word coverage). Otherwise each
 * topic is parsed here and given as fields (title; tags and keywords; summary and element texts as
 * body) and the top element of a hit is picked here: the element holding most of the query's terms.
 * The open's first build runs off the event loop (addBatchAsync) when the engine has it. When the
 * index takes signals (`setSignals`), each topic's sidecar (decayed by the days since its
 * `updatedat`, else since the file's mtime) is passed to it; without a sidecar a topic ranks by
 * BM25F alone.
 */
import { readFileSync, watch as fsWatch, type FSWatcher } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { ClawError } from '../../errors.js';
import { logger as rootLogger, type Logger } from '../../log/index.js';
import { estimateTokens, fitToBudget, trimExcerpt } from '../budget.js';
import { engineUnavailable, loadNativeRecall } from '../native-index.js';
import { loadNativeWalk, type WalkedFile, type WalkFn } from '../native-walk.js';
import { fileFacts, isPersistable, type PersistInfo } from '../persist.js';
import type {
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
} from '../types.js';
import { citationBlock, compoundScore, confidenceOf, coverage, queryTerms, wordSet, type Confidence } from './cite.js';
import { loadNativeParse, readTopicHtml, type ParsedTopic } from './html.js';
import { recordTopic, type RecordInput, type RecordOptions, type RecordResult } from './record.js';
import { decayed, defaultSignals, parseSignals, signalFile, type RuntimeSignals } from './signals.js';
import type { SpaceResolution } from './space.js';
import {
  loadSpaceIndex,
  saveSpaceIndex,
  spaceIndexFile,
  spaceStateDir,
  type SpaceIdentity,
  type StoredTopic,
} from './persist.js';
import { MemoryErrorCode } from '../errors.js';

/** A v4 hit: a RecallHit plus the element it came from and a confidence. */
export interface SpaceHit extends RecallHit {
  elementId?: string | undefined;
  elementType?: string | undefined;
  confidence: Confidence;
  /** The compound score behind `confidence` (0–1.15). */
  compound: number;
}

export interface SpaceRecallResult extends RecallResult {
  hits: SpaceHit[];
  /** `📚 From ByteRover:` block of the cited hits ('' when none is confident enough). */
  citation: string;
  cited: number;
}

/** Signals the index takes (the native engine's `setSignals`, coord/recall-native.md). */
type SignalsIndex = RecallIndex & {
  setSignals?(path: string, s: { importance?: number; recency?: number; maturity?: string } | null): void;
};

export interface SpaceMemoryOptions {
  space: Pick<SpaceResolution, 'treeRoot' | 'signalsDir'> & Partial<SpaceResolution>;
  index?: RecallIndexFactory;
  /** Watch the tree for changes (default true). */
  watch?: boolean;
  /**
   * Without a watch, a query rescans first when the last scan is older than this (default 1000 ms);
   * with one, the background safety rescan's period (default 60000 ms).
   */
  pollMs?: number;
  defaultK?: number;
  /** Minimum confidence for a hit to be cited (default medium). */
  citeMin?: Confidence;
  maxFileBytes?: number;
  now?: () => Date;
  logger?: Logger;
  /**
   * Persist the index (lib/memory/v4/persist.ts) and load it on the next open (default true; needs an
   * index with saveFile/loadFile, as the native engine has).
   */
  persist?: boolean;
  /** The persisted index's folder (default `spaceStateDir(space)`: claw-byterover's data dir). */
  stateDir?: string;
  /** `native` (the addon's parallel walk; fails without it), `ts`, or `auto` (default: native when there). */
  walker?: 'auto' | 'native' | 'ts';
  /** Progress of `open` (a CLI shows it on a TTY when opening takes long), as LocalMemoryOptions.onProgress. */
  onProgress?: (phase: string, current?: number, total?: number) => void;
}

/** The persisted index in `stats()` (as `index --stats` shows it for a v3 tree). */
export interface SpacePersistStats {
  path: string;
  loaded: boolean;
  notLoaded?: string;
  bytes?: number;
  writtenAt?: string;
  /** Topics kept / read by the last full scan, and sidecars it read. */
  reused?: number;
  reread?: number;
  signalsRead?: number;
}

/** What the last completed full scan did (`index --stats`, progress, tests). */
export interface SpaceScanInfo {
  walker: 'native' | 'ts';
  /** `.html` topic files of the space after the scan (non-topic `<bv-…>` files included). */
  files: number;
  /** Topic files read (new or changed stamp). */
  read: number;
  /** Topic files whose stamp was unchanged: kept, not read. */
  reused: number;
  /** Signal sidecars read (new or changed stamp). */
  signalsRead: number;
  bytesRead: number;
  ms: number;
}

interface Doc extends StoredTopic {
  /** The parse, when read in this process; a topic restored from the persisted index is parsed on its first hit. */
  parsed: ParsedTopic | undefined;
  /** Words of the topic (title, summary, keywords, tags, elements), computed on its first hit. */
  words?: Set<string>;
  /** Words of each element, in `parsed.elements` order, computed on the first hit that needs them. */
  elementWords?: Set<string>[];
}

const DERIVED = /\.(abstract|full|overview)\.html$/i;
const EMPTY_TOPIC: ParsedTopic = { isTopic: true, attrs: {}, attrList: [], elements: [], warnings: [] };

const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f';

/**
 * The root `<bv-topic …>` start tag's attributes (title, updatedat, …: the reader's own parse of that
 * tag alone), without parsing the whole topic; undefined when the file does not start — after
 * whitespace and comments — with a plain `<bv-topic` tag (then the caller parses it all).
 */
export function rootOf(text: string): ParsedTopic | undefined {
  let i = 0;
  for (;;) {
    while (i < text.length && isSpace(text[i])) i++;
    if (!text.startsWith('<!--', i)) break;
    const end = text.indexOf('-->', i + 4);
    if (end < 0) return undefined;
    i = end + 3;
  }
  if (!text.startsWith('<bv-topic', i) || !(text[i + 9] === '>' || isSpace(text[i + 9]))) return undefined;
  // the tag ends at the first '>' outside a quoted attribute value (a quote opens a value after '=')
  let quote = '';
  let afterEq = false;
  let j = i + 9;
  for (; j < text.length; j++) {
    const c = text[j]!;
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '>') break;
    else if ((c === '"' || c === "'") && afterEq) quote = c;
    if (!isSpace(c)) afterEq = !quote && c === '=';
  }
  if (j >= text.length) return undefined;
  const head = readTopicHtml(`${text.slice(i, j + 1)}</bv-topic>`);
  return head.isTopic && head.warnings.length === 0 ? head : undefined;
}

/** `size:mtimeNs:ctimeNs:ino` → mtime in ms. */
function mtimeOf(stamp: string): number {
  const ns = stamp.split(':')[1];
  return ns ? Number(BigInt(ns) / 1_000_000n) : 0;
}

/** Is this tree-relative path a topic file (see the module comment)? */
export function isTopicPath(rel: string): boolean {
  if (!rel.toLowerCase().endsWith('.html')) return false;
  const parts = rel.split('/');
  if (parts[parts.length - 1]!.toLowerCase() === 'index.html') return false;
  if (DERIVED.test(rel)) return false;
  return !parts.some((p) => p.startsWith('.'));
}

function toDoc(path: string, p: ParsedTopic): RecallDoc {
  const split = (s: string | undefined): string[] =>
    (s ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  const body = [p.attrs.summary ?? '', ...p.elements.map((e) => e.text)].filter(Boolean).join('\n\n');
  return {
    title: p.attrs.title || path.replace(/\.html$/i, ''),
    headings: [],
    body,
    tags: [...split(p.attrs.tags), ...split(p.attrs.keywords)],
  };
}

export class SpaceMemory implements MemoryBackend {
  readonly kind = 'local' as const;
  readonly treeRoot: string;
  readonly signalsDir: string;
  readonly space: SpaceMemoryOptions['space'];
  private readonly index: SignalsIndex;
  private readonly o: SpaceMemoryOptions;
  private readonly log: Logger;
  private readonly docs = new Map<string, Doc>();
  /** `.html` files of the tree that are not topic paths (index.html, derived), at their stamps: never read again. */
  private readonly skipped = new Map<string, string>();
  private nativeHtml = false;
  private lastScanAt = 0;
  /** When (by `now()`) the signals given to the index were last decayed, for re-decaying as days pass. */
  private signalsAt = 0;
  /** Tree-relative topic paths a watch event named since the last update. */
  private readonly pending = new Set<string>();
  /** A watch event that names no single topic (or a lost watch): the next query rescans everything. */
  private pendingAll = false;
  private signalsWatcher: FSWatcher | undefined;
  private watcher: FSWatcher | undefined;
  private scanning: Promise<void> | undefined;
  private closed = false;
  /** Index or manifest changes not yet persisted. */
  private unsaved = 0;
  /** A scan failed midway (or the open did): what this process holds is not saved. */
  private broken = false;
  /** In `open`, before it returns (the first scan may index off the event loop). */
  private opening = false;
  /** Topic files read since construction by scans and updates (a topic is read again only when its stamp changed). */
  reads = 0;
  /** Signal sidecars read since construction. */
  signalReads = 0;
  /** Topic files read on a hit because they were restored from the persisted index unparsed (each once). */
  hitReads = 0;
  /** The last completed full scan. */
  lastScan: SpaceScanInfo | undefined;
  /** The persisted index of this space: what this open did with it (`index --stats`); undefined when off. */
  persist: PersistInfo | undefined;

  private constructor(o: SpaceMemoryOptions, index: RecallIndex) {
    this.o = o;
    this.space = o.space;
    this.treeRoot = resolve(o.space.treeRoot);
    this.signalsDir = resolve(o.space.signalsDir);
    this.index = index as SignalsIndex;
    this.log = (o.logger ?? rootLogger).child({ component: 'memory.v4' });
  }

  static async open(o: SpaceMemoryOptions): Promise<SpaceMemory> {
    let factory = o.index;
    if (!factory) {
      const native = await loadNativeRecall();
      if (!native.factory) throw engineUnavailable(native, 'the native recall engine');
      factory = native.factory;
    }
    let index = factory();
    // an engine that takes signals is the native v4 engine: it parses `<bv-topic>` files itself (and
    // skips an `.html` path that is not a topic, so it must get the raw file, not fields)
    const nativeHtml =
      typeof (index as SignalsIndex).setSignals === 'function' && (await loadNativeParse()) !== undefined;
    const progress = o.onProgress ?? (() => {});
    const log = (o.logger ?? rootLogger).child({ component: 'memory.v4' });
    // The persisted index (lib/memory/v4/persist.ts): loaded when valid, reconciled with the space by
    // the first scan (only changed topics and sidecars are read), saved again when anything changed.
    const who: SpaceIdentity = {
      root: resolve(o.space.treeRoot),
      signalsDir: resolve(o.space.signalsDir),
      spaceId: o.space.spaceId,
      html: nativeHtml,
    };
    let persist: PersistInfo | undefined;
    let restored: StoredTopic[] | undefined;
    let skipped: Map<string, string> | undefined;
    if (o.persist !== false && isPersistable(index)) {
      const file = spaceIndexFile(o.stateDir ?? spaceStateDir(o.space));
      const r = await loadSpaceIndex(index, file, who, log);
      if (r.topics) {
        restored = r.topics;
        skipped = r.skipped;
      } else if (r.dirty) {
        index.close?.();
        index = factory();
      }
      persist = {
        path: file,
        loaded: restored !== undefined,
        restored: restored?.length ?? 0,
        saves: 0,
        ...(r.topics ? {} : { notLoaded: r.reason }),
        ...fileFacts(file),
      };
    }
    const m = new SpaceMemory(o, index);
    m.nativeHtml = nativeHtml;
    m.persist = persist;
    try {
      if (restored) {
        for (const t of restored) m.docs.set(t.path, { ...t, parsed: undefined });
        for (const [p, st] of skipped ?? []) m.skipped.set(p, st);
        // the file holds no signals (coord/recall-native.md): the first scan sets them all (signalsAt = 0)
      }
      progress(restored ? `checking ${restored.length} topics against the space` : 'reading the space');
      m.opening = true;
      await m.refresh();
      m.opening = false;
      const scan = m.lastScan;
      if (scan && scan.read > 0 && !restored) {
        const rate = scan.ms > 0 ? Math.round((scan.read / scan.ms) * 1000) : undefined;
        progress(`indexed ${scan.read} topics${rate ? ` (${rate} files/s)` : ''}`);
      }
      if (persist && (restored ? m.unsaved > 0 : m.docs.size > 0)) {
        // (an empty space with no file yet: nothing worth a file)
        progress('saving the index');
        m.save();
      }
      if (o.watch !== false) m.startWatch();
    } catch (e) {
      m.broken = true;
      await m.close();
      throw e;
    }
    return m;
  }

  /** Persists the index now (atomically); false when it could not (logged) or persistence is off. */
  save(): boolean {
    if (!this.persist || this.broken || !isPersistable(this.index)) return false;
    const ok = saveSpaceIndex(
      this.index,
      this.persist.path,
      { root: this.treeRoot, signalsDir: this.signalsDir, spaceId: this.space.spaceId, html: this.nativeHtml },
      this.docs.values(),
      this.skipped,
      this.log,
    );
    if (ok) {
      this.unsaved = 0;
      this.persist.saves++;
      Object.assign(this.persist, fileFacts(this.persist.path));
    }
    return ok;
  }

  /** Maps a watch event's file name to a pending topic path (or to a full rescan). */
  private noted(name: string | Buffer | null, suffix: '' | '.json'): void {
    const rel = typeof name === 'string' ? name.split(sep).join('/') : undefined;
    if (rel === undefined) {
      this.pendingAll = true;
      return;
    }
    const base = rel.slice(rel.lastIndexOf('/') + 1);
    if (base.startsWith('.')) return; // our temp and lock files, hidden entries: never topics
    if (rel.toLowerCase().endsWith(`.html${suffix}`)) {
      const topic = suffix ? rel.slice(0, -suffix.length) : rel;
      if (isTopicPath(topic)) this.pending.add(topic);
      return;
    }
    if (!/\.[a-z0-9]+$/i.test(base)) this.pendingAll = true; // a folder (created, renamed, removed)
  }

  private startWatch(): void {
    const lost = (): void => {
      this.watcher?.close();
      this.signalsWatcher?.close();
      this.watcher = undefined;
      this.signalsWatcher = undefined;
      this.pendingAll = true;
    };
    try {
      this.watcher = fsWatch(this.treeRoot, { recursive: true, persistent: false }, (_e, name) => this.noted(name, ''));
      this.watcher.on('error', lost);
    } catch {
      this.watcher = undefined; // no tree yet or no recursive watch: the poll covers it
      return;
    }
    try {
      this.signalsWatcher = fsWatch(this.signalsDir, { recursive: true, persistent: false }, (_e, name) =>
        this.noted(name, '.json'),
      );
      this.signalsWatcher.on('error', lost);
    } catch {
      // no signals folder yet: sidecars are then picked up by the safety rescan (or with their topic)
      this.signalsWatcher = undefined;
    }
  }

  private async flush(added: { path: string; doc: RecallDoc | string }[]): Promise<void> {
    // The open's first build goes off the event loop when the engine can (parsed and indexed on a
    // worker: a progress line keeps ticking); nothing else touches the index before open returns.
    const asyncBatch = (this.index as { addBatchAsync?: (d: typeof added) => Promise<void> }).addBatchAsync;
    if (this.opening && added.length > 1 && typeof asyncBatch === 'function') {
      this.o.onProgress?.(`indexing ${added.length} topics`, 0, added.length);
      await asyncBatch.call(this.index, added);
    } else if (added.length > 1 && this.index.addBatch) this.index.addBatch(added);
    else for (const a of added) this.index.add(a.path, a.doc);
    if (added.length > 0 && this.nativeHtml) this.noteWarnings();
  }

  /**
   * The native parser's warnings on the files just indexed (once per file content, index.h
   * TakeWarnings): a file that is not a `<bv-topic>` after all is held as such (not a document, not
   * re-read while unchanged); a malformed topic is logged once with its path and reasons.
   */
  private noteWarnings(): void {
    const take = (
      this.index as { takeWarnings?: () => { path: string; code: string; reason: string; offset: number }[] }
    ).takeWarnings;
    if (typeof take !== 'function') return;
    const byPath = new Map<string, { code: string; reason: string; offset: number }[]>();
    for (const w of take.call(this.index)) {
      const list = byPath.get(w.path) ?? [];
      list.push({ code: w.code, reason: w.reason, offset: w.offset });
      byPath.set(w.path, list);
    }
    for (const [path, ws] of byPath) {
      const d = this.docs.get(path);
      if (ws.some((w) => w.code === 'HTML_NOT_A_TOPIC')) {
        this.log.warn({ path, reason: ws[0]?.reason }, 'v4 file is not a <bv-topic>; skipped');
        if (d) {
          this.docs.set(path, {
            ...d,
            isTopic: false,
            title: path,
            updatedat: undefined,
            mtimeMs: 0,
            signals: undefined,
          });
          this.index.setSignals?.(path, null);
        }
        continue;
      }
      this.log.warn(
        { path, warnings: ws.slice(0, 5), count: ws.length },
        'v4 topic is malformed; indexed what could be read',
      );
    }
  }

  /** Re-reads the named topics (and their sidecars) only. */
  private async update(paths: string[]): Promise<void> {
    const seen = new Set<string>();
    const added: { path: string; doc: RecallDoc | string }[] = [];
    await Promise.all(paths.map((rel) => this.visit(join(this.treeRoot, ...rel.split('/')), rel, seen, added)));
    await this.flush(added);
    for (const p of paths)
      if (!seen.has(p) && this.docs.has(p)) {
        this.docs.delete(p);
        this.index.remove(p);
        this.unsaved++;
      }
  }

  /** Rescans the tree and the sidecars now (concurrent calls share one scan). */
  async refresh(): Promise<void> {
    if (this.scanning) return this.scanning;
    this.scanning = this.scan().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  private async scan(): Promise<void> {
    try {
      await this.scanOnce();
    } catch (e) {
      // a scan that failed midway may hold topics the index was not given: never persist this state
      this.broken = true;
      throw e;
    }
  }

  private async scanOnce(): Promise<void> {
    const t0 = performance.now();
    const reads0 = this.reads;
    const sig0 = this.signalReads;
    this.pendingAll = false;
    this.pending.clear();
    const seen = new Set<string>();
    const added: { path: string; doc: RecallDoc | string }[] = [];
    const walker = this.o.walker ?? 'auto';
    const walk = walker === 'ts' ? undefined : await loadNativeWalk();
    if (walker === 'native' && !walk)
      throw new ClawError(
        MemoryErrorCode.NATIVE_WALK_UNAVAILABLE,
        'expected the native tree walk, found no addon with walkTree',
        {
          hint: 'Build the addon (`npm run build:native`) or open the space with walker "auto" or "ts".',
        },
      );
    const bytesRead = walk ? await this.walkNative(walk, seen, added) : await this.walk(this.treeRoot, '', seen, added);
    await this.flush(added);
    for (const p of [...this.docs.keys()])
      if (!seen.has(p) && !(await lstat(join(this.treeRoot, ...p.split('/'))).catch(() => undefined))) {
        // (checked again: a targeted update may have added it after the walk passed its folder)
        this.docs.delete(p);
        this.index.remove(p);
        this.unsaved++;
      }
    // the index holds signals decayed as of when they were set: re-decay them all once the clock has
    // moved an hour, so a long-running memory ranks by today's signals, not those of its first scan
    // (and, at the first scan, set those of the topics restored from the persisted index)
    const now = (this.o.now ?? (() => new Date()))().getTime();
    if (this.index.setSignals && Math.abs(now - this.signalsAt) >= 3_600_000) {
      for (const d of this.docs.values())
        if (d.signals && d.isTopic) {
          const s = this.decay(d.signals, d);
          this.index.setSignals(d.path, { importance: s.importance, recency: s.recency, maturity: s.maturity });
        }
      this.signalsAt = now;
    }
    this.lastScanAt = Date.now();
    const read = this.reads - reads0;
    this.lastScan = {
      walker: walk ? 'native' : 'ts',
      files: this.docs.size,
      read,
      reused: this.docs.size - read,
      signalsRead: this.signalReads - sig0,
      bytesRead,
      ms: performance.now() - t0,
    };
  }

  /**
   * The native walk: the tree's `.html` files and the signals folder's `.json` sidecars, each listed,
   * stat'ed and — when their stamp is not the one held — read, in parallel; then the topic rules.
   * Files found at the stamp held are not listed back (`omitUnchanged`: one flag byte each), so
   * re-opening an unchanged space of 10,000 topics builds no per-topic object.
   */
  private async walkNative(
    walk: WalkFn,
    seen: Set<string>,
    added: { path: string; doc: RecallDoc | string }[],
  ): Promise<number> {
    const max = this.o.maxFileBytes ?? 4 * 1024 * 1024;
    const held = [...this.docs.values()];
    const withSig = held.filter((d) => d.sigStamp !== '');
    const skippedHeld = [...this.skipped];
    const pack = (pairs: Iterable<[string, string]>): string | undefined => {
      const parts: string[] = [];
      for (const [p, s] of pairs) parts.push(p, s);
      return parts.length > 0 ? `${parts.join('\0')}\0` : undefined;
    };
    const tKnown = pack(
      (function* () {
        for (const d of held) yield [d.path, d.stamp] as [string, string];
        yield* skippedHeld;
      })(),
    );
    const sKnown = pack(withSig.map((d) => [`${d.path}.json`, d.sigStamp] as [string, string]));
    const [topics, sidecars] = await Promise.all([
      walk(this.treeRoot, {
        maxFileBytes: max,
        extensions: ['.html'],
        ...(tKnown ? { known: tKnown } : {}),
        omitUnchanged: true,
      }),
      walk(this.signalsDir, {
        maxFileBytes: max,
        extensions: ['.json'],
        ...(sKnown ? { known: sKnown } : {}),
        omitUnchanged: true,
      }),
    ]);
    // Where each topic path stands: found at the stamp held (not listed back, or — an addon without
    // omitUnchanged — listed without text), or listed (new, changed, too large). Unlisted and
    // unflagged: gone.
    const same = new Set<string>();
    topics.unchanged?.forEach((u, i) => {
      if (u === 1 && i < held.length) same.add(held[i]!.path);
    });
    const sigSame = new Set<string>();
    sidecars.unchanged?.forEach((u, i) => {
      if (u === 1) sigSame.add(withSig[i]!.path);
    });
    const sig = new Map<string, WalkedFile>();
    for (const f of sidecars.files)
      if (f.path.toLowerCase().endsWith('.html.json')) {
        const topic = f.path.slice(0, -5);
        const prev = this.docs.get(topic);
        if (f.text === undefined && !f.tooLarge && prev?.sigStamp === f.stamp) sigSame.add(topic);
        else sig.set(topic, f);
      }
    const skipped = new Map<string, string>();
    skippedHeld.forEach(([p, st], j) => {
      if (topics.unchanged?.[held.length + j] === 1) skipped.set(p, st);
    });
    const fallback: string[] = [];
    /** One topic path found in the tree at `stamp` (`text` when read). */
    const found = (path: string, stamp: string, text: string | undefined): void => {
      const sc = sig.get(path);
      const prev = this.docs.get(path);
      const sigStamp = sc ? sc.stamp : sigSame.has(path) ? prev!.sigStamp : '';
      seen.add(path);
      if (prev && prev.stamp === stamp && prev.sigStamp === sigStamp) return;
      let signals: RuntimeSignals | undefined;
      if (sc && !sc.tooLarge) {
        if (sc.text === undefined) {
          fallback.push(path); // changed after the walk captured the held stamps: read it alone
          return;
        }
        this.signalReads++;
        signals = parseSignals(sc.text);
      } else if (!sc && sigStamp !== '') signals = prev!.signals;
      if (text === undefined && prev?.stamp !== stamp) {
        fallback.push(path);
        return;
      }
      this.apply(path, stamp, text, sigStamp, signals, prev, added);
    };
    const listed = new Set<string>();
    for (const f of topics.files) {
      if (!isTopicPath(f.path)) {
        skipped.set(f.path, f.stamp);
        continue;
      }
      if (f.tooLarge) {
        this.log.warn({ path: f.path, size: f.size }, 'v4 topic skipped: too large');
        continue;
      }
      listed.add(f.path);
      found(f.path, f.stamp, f.text);
    }
    // topics found unchanged: only those whose sidecar was added, changed or removed need anything
    for (const d of held)
      if (same.has(d.path) && !listed.has(d.path)) {
        seen.add(d.path);
        if (sig.has(d.path) || (d.sigStamp !== '' && !sigSame.has(d.path))) found(d.path, d.stamp, undefined);
      }
    this.skipped.clear();
    for (const [p, st] of skipped) this.skipped.set(p, st);
    await Promise.all(fallback.map((rel) => this.visit(join(this.treeRoot, ...rel.split('/')), rel, seen, added)));
    return topics.bytesRead + sidecars.bytesRead;
  }

  private async walk(
    dir: string,
    rel: string,
    seen: Set<string>,
    added: { path: string; doc: RecallDoc | string }[],
  ): Promise<number> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return 0;
      throw e;
    }
    const files: string[] = [];
    let bytes = 0;
    for (const ent of entries) {
      if (ent.name.startsWith('.')) continue;
      const childRel = rel ? `${rel}/${ent.name}` : ent.name;
      if (ent.isDirectory()) bytes += await this.walk(join(dir, ent.name), childRel, seen, added);
      else if (ent.isFile() && isTopicPath(childRel)) files.push(ent.name);
    }
    // a folder's files are checked concurrently (two stats each: the topic and its sidecar)
    for (let i = 0; i < files.length; i += 64) {
      const n = await Promise.all(
        files.slice(i, i + 64).map((name) => this.visit(join(dir, name), rel ? `${rel}/${name}` : name, seen, added)),
      );
      for (const b of n) bytes += b;
    }
    return bytes;
  }

  /** The TypeScript visit of one topic path (the fallback walk, and watch-named updates); bytes read. */
  private async visit(
    abs: string,
    rel: string,
    seen: Set<string>,
    added: { path: string; doc: RecallDoc | string }[],
  ): Promise<number> {
    let st;
    try {
      st = await lstat(abs, { bigint: true });
    } catch {
      return 0;
    }
    if (!st.isFile()) return 0; // a symlink or a folder is never a topic (the native walk's rule)
    const max = this.o.maxFileBytes ?? 4 * 1024 * 1024;
    if (st.size > BigInt(max)) {
      this.log.warn({ path: rel, size: Number(st.size) }, 'v4 topic skipped: too large');
      return 0;
    }
    const stamp = `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}`;
    const sigPath = signalFile(this.signalsDir, rel);
    const sst = await lstat(sigPath, { bigint: true }).catch(() => undefined);
    const sigFile = sst?.isFile() ? sst : undefined;
    const sigStamp = sigFile ? `${sigFile.size}:${sigFile.mtimeNs}:${sigFile.ctimeNs}:${sigFile.ino}` : '';
    const prev = this.docs.get(rel);
    seen.add(rel);
    if (prev && prev.stamp === stamp && prev.sigStamp === sigStamp) return 0;
    let text: string | undefined;
    let bytes = 0;
    if (!prev || prev.stamp !== stamp) {
      try {
        text = await readFile(abs, 'utf8');
      } catch {
        seen.delete(rel);
        return 0;
      }
      bytes += Buffer.byteLength(text);
    }
    let signals: RuntimeSignals | undefined;
    if (sigFile && sigFile.size <= BigInt(max)) {
      if (prev && prev.sigStamp === sigStamp) signals = prev.signals;
      else {
        const raw = await readFile(sigPath, 'utf8').catch(() => undefined);
        if (raw !== undefined) {
          this.signalReads++;
          bytes += Buffer.byteLength(raw);
        }
        signals = raw === undefined ? undefined : parseSignals(raw);
      }
    }
    this.apply(rel, stamp, text, sigStamp, signals, prev, added);
    return bytes;
  }

  /** One topic at `stamp` (its text when read) with its sidecar's signals: kept, indexed, signals set. */
  private apply(
    rel: string,
    stamp: string,
    text: string | undefined,
    sigStamp: string,
    signals: RuntimeSignals | undefined,
    prev: Doc | undefined,
    added: { path: string; doc: RecallDoc | string }[],
  ): void {
    const mtimeMs = mtimeOf(stamp);
    this.unsaved++;
    if (text === undefined) {
      // the topic is unchanged, its sidecar is not
      const d: Doc = { ...prev!, sigStamp, signals };
      this.docs.set(rel, d);
      if (this.index.setSignals && d.isTopic) this.setSignalsOf(d);
      return;
    }
    this.reads++;
    // The native engine parses the topic itself (and reports its warnings, see noteWarnings): here
    // only the root tag's attributes are read, unless the file does not start with a plain root.
    const head = this.nativeHtml ? rootOf(text) : undefined;
    const parsed = head ?? readTopicHtml(text);
    if (!parsed.isTopic) {
      this.log.warn({ path: rel, reason: parsed.warnings[0]?.reason }, 'v4 file is not a <bv-topic>; skipped');
      this.docs.set(rel, {
        path: rel,
        stamp,
        sigStamp,
        isTopic: false,
        title: rel,
        updatedat: undefined,
        mtimeMs: 0,
        signals: undefined,
        parsed: undefined,
      });
      this.index.remove(rel);
      return;
    }
    if (parsed.warnings.length > 0 && !this.nativeHtml)
      // once per content: an unchanged file is not parsed again (the native engine's own: noteWarnings)
      this.log.warn(
        {
          path: rel,
          warnings: parsed.warnings.slice(0, 5).map((w) => ({ code: w.code, reason: w.reason, offset: w.offset })),
          count: parsed.warnings.length,
        },
        'v4 topic is malformed; indexed what could be read',
      );
    const d: Doc = {
      path: rel,
      stamp,
      sigStamp,
      isTopic: true,
      title: parsed.attrs.title || rel.replace(/\.html$/i, ''),
      updatedat: parsed.attrs.updatedat,
      mtimeMs,
      signals,
      parsed: head ? undefined : parsed,
    };
    this.docs.set(rel, d);
    added.push({ path: rel, doc: this.nativeHtml ? text : toDoc(rel, parsed) });
    if (this.index.setSignals) this.setSignalsOf(d);
  }

  private setSignalsOf(d: Doc): void {
    const s = d.signals ? this.decay(d.signals, d) : null;
    this.index.setSignals!(d.path, s ? { importance: s.importance, recency: s.recency, maturity: s.maturity } : null);
  }

  /** The parse of a topic (read from disk on the first hit of a topic restored from the persisted index). */
  private parsedOf(d: Doc): ParsedTopic {
    if (d.parsed) return d.parsed;
    let parsed = EMPTY_TOPIC;
    try {
      parsed = readTopicHtml(readFileSync(join(this.treeRoot, ...d.path.split('/')), 'utf8'));
      this.hitReads++;
    } catch {
      // vanished since the scan: the hit keeps the index's element and excerpt
    }
    d.parsed = parsed;
    return parsed;
  }

  /**
   * The signals as of now: decayed by the days since the topic's `updatedat` (its content's own time,
   * which a sync does not reset), else — no readable `updatedat` — since the file's mtime, the clock
   * ByteRover's own search always uses.
   */
  private decay(s: RuntimeSignals, d: Pick<Doc, 'updatedat' | 'mtimeMs'>): RuntimeSignals {
    const stamped = Date.parse(d.updatedat ?? '');
    const updated = Number.isFinite(stamped) ? stamped : d.mtimeMs;
    if (!(updated > 0)) return s;
    const now = (this.o.now ?? (() => new Date()))().getTime();
    return decayed(s, (now - updated) / 86_400_000);
  }

  private async fresh(): Promise<void> {
    if (this.closed)
      throw new ClawError(MemoryErrorCode.CLOSED, 'expected an open memory, found it closed', {
        hint: 'Open a new one with openMemory().',
      });
    if (!this.watcher) {
      if (this.pendingAll || Date.now() - this.lastScanAt > (this.o.pollMs ?? 1000)) await this.refresh();
      return;
    }
    if (this.pendingAll) return this.refresh();
    if (this.pending.size > 0) {
      const paths = [...this.pending];
      this.pending.clear();
      await this.update(paths);
    }
    if (Date.now() - this.lastScanAt > (this.o.pollMs ?? 60_000) && !this.scanning)
      void this.refresh()
        .then(() => {
          // a long-running memory (a gateway) persists once enough changed, not only on close: a
          // process that is killed then leaves the next open little to re-read
          if (!this.closed && this.unsaved >= Math.max(50, this.docs.size / 100)) this.save();
        })
        .catch((e: unknown) => this.log.warn({ err: e }, 'v4 background rescan failed'));
  }

  async search(query: string, opts: SearchOptions = {}): Promise<SpaceHit[]> {
    await this.fresh();
    if (opts.signal?.aborted)
      throw new ClawError(MemoryErrorCode.ABORTED, 'expected to search, found the call aborted', {
        hint: 'The caller cancelled it.',
      });
    const raw = this.index.query(query, Math.max(1, opts.k ?? this.o.defaultK ?? 10)) as (RecallHit & {
      elementId?: string;
      elementType?: string;
    })[];
    const terms = queryTerms(query);
    const best = raw[0]?.score ?? 0;
    return raw.map((h) => {
      const d = this.docs.get(h.path);
      let elementId = h.elementId || undefined;
      let elementType = h.elementType || undefined;
      let excerpt = h.excerpt;
      let topicWords: Set<string> | string = h.title;
      if (d) {
        const parsed = this.parsedOf(d);
        d.words ??= wordSet(
          [d.title, parsed.attrs.summary ?? '', parsed.attrs.keywords ?? '', parsed.attrs.tags ?? '']
            .concat(parsed.elements.map((e) => e.text))
            .join(' '),
        );
        topicWords = d.words;
        let el: ParsedTopic['elements'][number] | undefined;
        if (elementId) el = parsed.elements.find((e) => e.id === elementId);
        else {
          const ew = (d.elementWords ??= parsed.elements.map((e) => wordSet(e.text)));
          let best = 0;
          parsed.elements.forEach((e, i) => {
            if (e.type === 'bv-topic') return;
            const c = coverage(terms, ew[i]!);
            if (c > best) {
              best = c;
              el = e;
            }
          });
        }
        if (el) {
          elementId = el.id || undefined;
          elementType = el.type;
          if (!h.elementId) excerpt = trimExcerpt(el.text, 200);
        }
      }
      const bm25n = best > 0 ? (h.score / best) * coverage(terms, topicWords) : 0;
      const sig = d?.signals ? this.decay(d.signals, d) : defaultSignals();
      const compound = compoundScore(bm25n, sig);
      return {
        path: h.path,
        title: d?.title ?? h.title,
        score: h.score,
        excerpt,
        elementId,
        elementType,
        confidence: confidenceOf(compound),
        compound,
      };
    });
  }

  /**
   * The hits fitted to the token budget, rendered, followed by the citation block of the confident
   * ones — all within `tokenBudget` (the hits' share shrinks until the block fits too).
   */
  async recall(query: string, opts: RecallOptions & { citeMin?: Confidence } = {}): Promise<SpaceRecallResult> {
    const hits = await this.search(query, opts);
    const min = opts.citeMin ?? this.o.citeMin ?? 'medium';
    const total = opts.tokenBudget;
    let budget = total;
    for (;;) {
      const fit = fitToBudget(hits, budget === undefined ? {} : { tokenBudget: budget });
      const kept = fit.hits as SpaceHit[];
      const cite = citationBlock(kept, { min });
      const text = cite.text ? `${fit.text}\n${cite.text}\n` : fit.text;
      const tokens = estimateTokens(text);
      if (total === undefined || tokens <= total || budget === undefined || budget <= 0 || kept.length === 0) {
        if (total !== undefined && tokens > total) {
          // not even the smallest block fits with its citation: the hits alone
          const bare = fitToBudget(hits, { tokenBudget: total });
          return { ...bare, hits: bare.hits as SpaceHit[], citation: '', cited: 0 };
        }
        return {
          ...fit,
          hits: kept,
          text,
          tokens,
          citation: cite.text,
          cited: cite.cited,
          dropped: hits.length - kept.length,
        };
      }
      budget = Math.max(0, budget - (tokens - total));
    }
  }

  /** Records a topic into this space and indexes it (see record.ts). */
  async record(topicPath: string, input: RecordInput, opts: RecordOptions = {}): Promise<RecordResult> {
    if (this.closed)
      throw new ClawError(MemoryErrorCode.CLOSED, 'expected an open memory, found it closed', {
        hint: 'Open a new one with openMemory().',
      });
    const r = await recordTopic(this.space, topicPath, input, {
      ...(this.o.now ? { now: this.o.now } : {}),
      ...opts,
    });
    await this.update([r.file]); // that topic only: a full rescan costs seconds at 10,000 topics
    return r;
  }

  /**
   * A v3-style note becomes a topic: `notes/<snake_case title>` (or the note's own path made
   * snake_case), its text in `<bv-highlights>`, its tags as `tags`; a taken path gets `_2`, `_3`, ….
   */
  async curate(note: Note): Promise<CurateResult> {
    const title = (note.title ?? note.content.split('\n')[0] ?? 'note').trim().slice(0, 120) || 'note';
    const snake = (s: string): string =>
      s
        .normalize('NFKD')
        .replace(/[\u0300-\u036f]/g, '')
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '_')
        .replace(/^_+|_+$/g, '')
        .slice(0, 64) || 'note';
    const base = note.path
      ? note.path
          .replace(/\.(md|html)$/i, '')
          .split('/')
          .filter(Boolean)
          .map(snake)
          .join('/')
      : `notes/${snake(title)}`;
    for (let n = 1; n < 1000; n++) {
      const path = n === 1 ? base : `${base}_${n}`;
      try {
        const r = await this.record(path, {
          title,
          body: note.content,
          ...(note.tags?.length ? { tags: note.tags.join(',') } : {}),
        });
        return { id: r.id, path: r.file, status: 'written' };
      } catch (e) {
        if (e instanceof ClawError && (e.code === 'BV_TOPIC_EXISTS' || e.code === 'BV_TOPIC_CONFLICT')) continue;
        throw e;
      }
    }
    throw new ClawError(
      MemoryErrorCode.NAME_EXHAUSTED,
      `expected a free topic path for ${JSON.stringify(base)}, found 999 taken`,
      {
        hint: 'Give the note a more specific title or path.',
      },
    );
  }

  async stats(): Promise<
    MemoryStats & { space?: Partial<SpaceResolution>; withSignals: number; persisted?: SpacePersistStats }
  > {
    let withSignals = 0;
    for (const d of this.docs.values()) if (d.signals) withSignals++;
    const p = this.persist;
    const scan = this.lastScan;
    return {
      backend: 'local',
      treeRoot: this.treeRoot,
      documents: [...this.docs.values()].filter((d) => d.isTopic).length,
      engine: this.index.stats(),
      withSignals,
      ...(p
        ? {
            persisted: {
              path: p.path,
              loaded: p.loaded,
              ...(p.notLoaded ? { notLoaded: p.notLoaded } : {}),
              ...(p.bytes !== undefined ? { bytes: p.bytes } : {}),
              ...(p.writtenAt ? { writtenAt: p.writtenAt.toISOString() } : {}),
              ...(scan ? { reused: scan.reused, reread: scan.read, signalsRead: scan.signalsRead } : {}),
            },
          }
        : {}),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    this.signalsWatcher?.close();
    this.signalsWatcher = undefined;
    await this.scanning?.catch(() => undefined);
    if (this.unsaved > 0 && !this.broken) this.save(); // what changed while open is not re-read next time
    this.index.close?.();
  }
}
