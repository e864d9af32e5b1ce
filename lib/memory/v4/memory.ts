/**
 * SpaceMemory: the local memory over a ByteRover v4 space — `<space>/context-tree/**\/*.html` topics
 * indexed in-process by a RecallIndex (the native engine by default), ranked with the topics'
 * signal sidecars, answering with the element each hit came from, a confidence and a citation block.
 *
 * Reading: a topic file is `<topic path>.html` under the tree, not `index.html` (at any level), not a
 * derived artifact (`*.abstract|full|overview.html`), not under a hidden folder (ByteRover archives
 * migrated v3 files under `.brv/_migrations/`); `_manifest.json` and other files are ignored. A scan
 * compares each file's (size, mtime, ctime, inode) with the last one and re-reads only what changed.
 * With a watch (the tree and the signals folder), a query first updates just the files the watch
 * named (a topic or its sidecar); an event it cannot map to a file (a folder created or renamed, a
 * lost watch) makes that query rescan everything; and a full rescan still runs every `pollMs` as a
 * safety net against missed events, in the background (queries do not wait for it). Without a
 * watch, a query rescans first when the last scan is older than `pollMs`.
 *
 * Indexing: when the native engine parses `<bv-topic>` itself (the addon exports `parseTopic`), it gets
 * the raw file and answers per element (hits carry `elementId`/`elementType`); otherwise each topic is
 * given as fields (title; tags and keywords; summary and element texts as body) and the top element
 * of a hit is picked here: the element holding most of the query's terms. When the index takes
 * signals (`setSignals`), each topic's sidecar (decayed by the days since its `updatedat`, else since
 * the file's mtime) is passed
 * to it; without a sidecar a topic ranks by BM25F alone.
 */
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { ClawError } from '../../errors.js';
import { logger as rootLogger, type Logger } from '../../log/index.js';
import { estimateTokens, fitToBudget, trimExcerpt } from '../budget.js';
import { engineUnavailable, loadNativeRecall } from '../native-index.js';
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
}

interface Doc {
  path: string;
  stamp: string;
  sigStamp: string;
  parsed: ParsedTopic;
  title: string;
  signals: RuntimeSignals | undefined;
  /** The topic file's mtime (ms): the decay's clock when the topic has no readable `updatedat`. */
  mtimeMs: number;
  /** Words of the topic (title, summary, keywords, tags, elements), computed on its first hit. */
  words?: Set<string>;
  /** Words of each element, in `parsed.elements` order, computed on the first hit that needs them. */
  elementWords?: Set<string>[];
}

const DERIVED = /\.(abstract|full|overview)\.html$/i;

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
  private nativeHtml = false;
  private lastScan = 0;
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

  private constructor(o: SpaceMemoryOptions, index: RecallIndex) {
    this.o = o;
    this.space = o.space;
    this.treeRoot = o.space.treeRoot;
    this.signalsDir = o.space.signalsDir;
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
    const m = new SpaceMemory(o, factory());
    // an engine that takes signals is the native v4 engine: it parses `<bv-topic>` files itself (and
    // skips an `.html` path that is not a topic, so it must get the raw file, not fields)
    m.nativeHtml =
      typeof (m.index as SignalsIndex).setSignals === 'function' && (await loadNativeParse()) !== undefined;
    try {
      await m.refresh();
      if (o.watch !== false) m.startWatch();
    } catch (e) {
      await m.close();
      throw e;
    }
    return m;
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

  /** Re-reads the named topics (and their sidecars) only. */
  private async update(paths: string[]): Promise<void> {
    const seen = new Set<string>();
    const added: { path: string; doc: RecallDoc | string }[] = [];
    await Promise.all(paths.map((rel) => this.visit(join(this.treeRoot, ...rel.split('/')), rel, seen, added)));
    if (added.length > 1 && this.index.addBatch) this.index.addBatch(added);
    else for (const a of added) this.index.add(a.path, a.doc);
    for (const p of paths)
      if (!seen.has(p) && this.docs.has(p)) {
        this.docs.delete(p);
        this.index.remove(p);
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
    this.pendingAll = false;
    this.pending.clear();
    const seen = new Set<string>();
    const added: { path: string; doc: RecallDoc | string }[] = [];
    await this.walk(this.treeRoot, '', seen, added);
    if (added.length > 1 && this.index.addBatch) this.index.addBatch(added);
    else for (const a of added) this.index.add(a.path, a.doc);
    for (const p of [...this.docs.keys()])
      if (!seen.has(p) && !(await stat(join(this.treeRoot, ...p.split('/'))).catch(() => undefined))) {
        // (checked again: a targeted update may have added it after the walk passed its folder)
        this.docs.delete(p);
        this.index.remove(p);
      }
    // the index holds signals decayed as of when they were set: re-decay them all once the clock has
    // moved an hour, so a long-running memory ranks by today's signals, not those of its first scan
    const now = (this.o.now ?? (() => new Date()))().getTime();
    if (this.index.setSignals && Math.abs(now - this.signalsAt) >= 3_600_000) {
      for (const d of this.docs.values())
        if (d.signals && d.parsed.isTopic) {
          const s = this.decay(d.signals, d.parsed, d.mtimeMs);
          this.index.setSignals(d.path, { importance: s.importance, recency: s.recency, maturity: s.maturity });
        }
      this.signalsAt = now;
    }
    this.lastScan = Date.now();
  }

  private async walk(
    dir: string,
    rel: string,
    seen: Set<string>,
    added: { path: string; doc: RecallDoc | string }[],
  ): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw e;
    }
    const files: string[] = [];
    for (const ent of entries) {
      if (ent.name.startsWith('.')) continue;
      const childRel = rel ? `${rel}/${ent.name}` : ent.name;
      if (ent.isDirectory()) await this.walk(join(dir, ent.name), childRel, seen, added);
      else if (ent.isFile() && isTopicPath(childRel)) files.push(ent.name);
    }
    // a folder's files are checked concurrently (two stats each: the topic and its sidecar)
    for (let i = 0; i < files.length; i += 64)
      await Promise.all(
        files.slice(i, i + 64).map((name) => this.visit(join(dir, name), rel ? `${rel}/${name}` : name, seen, added)),
      );
  }

  private async visit(
    abs: string,
    rel: string,
    seen: Set<string>,
    added: { path: string; doc: RecallDoc | string }[],
  ): Promise<void> {
    let st;
    try {
      st = await stat(abs, { bigint: true });
    } catch {
      return;
    }
    if (st.size > BigInt(this.o.maxFileBytes ?? 4 * 1024 * 1024)) {
      this.log.warn({ path: rel, size: Number(st.size) }, 'v4 topic skipped: too large');
      return;
    }
    const stamp = `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}`;
    const sigPath = signalFile(this.signalsDir, rel);
    const sst = await stat(sigPath, { bigint: true }).catch(() => undefined);
    const sigStamp = sst ? `${sst.size}:${sst.mtimeNs}:${sst.ino}` : '';
    const prev = this.docs.get(rel);
    seen.add(rel);
    if (prev && prev.stamp === stamp && prev.sigStamp === sigStamp) return;
    let parsed = prev?.parsed;
    let text: string | undefined;
    if (!prev || prev.stamp !== stamp) {
      try {
        text = await readFile(abs, 'utf8');
      } catch {
        seen.delete(rel);
        return;
      }
      parsed = readTopicHtml(text);
      if (!parsed.isTopic) {
        if (!prev || prev.stamp !== stamp)
          this.log.warn({ path: rel, reason: parsed.warnings[0]?.reason }, 'v4 file is not a <bv-topic>; skipped');
        this.docs.set(rel, { path: rel, stamp, sigStamp, parsed, title: rel, signals: undefined, mtimeMs: 0 });
        this.index.remove(rel);
        return;
      }
      if (parsed.warnings.length > 0)
        // once per content: an unchanged file is not parsed again
        this.log.warn(
          {
            path: rel,
            warnings: parsed.warnings.slice(0, 5).map((w) => ({ code: w.code, reason: w.reason, offset: w.offset })),
            count: parsed.warnings.length,
          },
          'v4 topic is malformed; indexed what could be read',
        );
    }
    let signals: RuntimeSignals | undefined;
    if (sst) {
      const raw = await readFile(sigPath, 'utf8').catch(() => undefined);
      signals = raw === undefined ? undefined : parseSignals(raw);
    }
    const title = parsed!.attrs.title || rel.replace(/\.html$/i, '');
    const mtimeMs = Number(st.mtimeNs / 1_000_000n);
    this.docs.set(rel, { path: rel, stamp, sigStamp, parsed: parsed!, title, signals, mtimeMs });
    if (text !== undefined) added.push({ path: rel, doc: this.nativeHtml ? text : toDoc(rel, parsed!) });
    if (this.index.setSignals) {
      const s = signals ? this.decay(signals, parsed!, mtimeMs) : null;
      this.index.setSignals(rel, s ? { importance: s.importance, recency: s.recency, maturity: s.maturity } : null);
    }
  }

  /**
   * The signals as of now: decayed by the days since the topic's `updatedat` (its content's own time,
   * which a sync does not reset), else — no readable `updatedat` — since the file's mtime, the clock
   * ByteRover's own search always uses.
   */
  private decay(s: RuntimeSignals, p: ParsedTopic, mtimeMs: number): RuntimeSignals {
    const stamped = Date.parse(p.attrs.updatedat ?? '');
    const updated = Number.isFinite(stamped) ? stamped : mtimeMs;
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
      if (this.pendingAll || Date.now() - this.lastScan > (this.o.pollMs ?? 1000)) await this.refresh();
      return;
    }
    if (this.pendingAll) return this.refresh();
    if (this.pending.size > 0) {
      const paths = [...this.pending];
      this.pending.clear();
      await this.update(paths);
    }
    if (Date.now() - this.lastScan > (this.o.pollMs ?? 60_000) && !this.scanning)
      void this.refresh().catch((e: unknown) => this.log.warn({ err: e }, 'v4 background rescan failed'));
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
        d.words ??= wordSet(
          [d.title, d.parsed.attrs.summary ?? '', d.parsed.attrs.keywords ?? '', d.parsed.attrs.tags ?? '']
            .concat(d.parsed.elements.map((e) => e.text))
            .join(' '),
        );
        topicWords = d.words;
        let el: ParsedTopic['elements'][number] | undefined;
        if (elementId) el = d.parsed.elements.find((e) => e.id === elementId);
        else {
          const ew = (d.elementWords ??= d.parsed.elements.map((e) => wordSet(e.text)));
          let best = 0;
          d.parsed.elements.forEach((e, i) => {
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
      const sig = d?.signals ? this.decay(d.signals, d.parsed, d.mtimeMs) : defaultSignals();
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

  async stats(): Promise<MemoryStats & { space?: Partial<SpaceResolution>; withSignals: number }> {
    let withSignals = 0;
    for (const d of this.docs.values()) if (d.signals) withSignals++;
    return {
      backend: 'local',
      treeRoot: this.treeRoot,
      documents: [...this.docs.values()].filter((d) => d.parsed.isTopic).length,
      engine: this.index.stats(),
      withSignals,
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
    this.index.close?.();
  }
}
