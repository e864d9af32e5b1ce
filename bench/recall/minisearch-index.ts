/**
 * A RecallIndex over minisearch 7, configured the way `brv` 3.14 configures it in its
 * search-knowledge-service (fields title/content/path, boost title 3 and path 1.5, fuzzy 0.2, prefix
 * search, English stop words dropped from the query, AND first then OR when AND finds nothing).
 *
 * It is the benchmark's in-process baseline, and a second real engine behind the RecallIndex seam
 * (the memory tests run LocalMemory's plumbing over it as well as over the native engine).
 */
import MiniSearch from 'minisearch';
import { parseNote } from '../../lib/memory/markdown.js';
import type { RecallDoc, RecallHit, RecallIndex, RecallIndexStats } from '../../lib/memory/types.js';

/** The English stop words brv's `stopword` dependency removes that matter for these queries. */
export const STOP_WORDS = new Set(
  (
    'a about above after again against all am an and any are as at be because been before being below between both but by ' +
    'can did do does doing down during each few for from further had has have having he her here hers him his how i if in ' +
    'into is it its itself just me more most my no nor not now of off on once only or other our ours out over own same she ' +
    'should so some such than that the their theirs them then there these they this those through to too under until up ' +
    'very was we were what when where which while who whom why will with you your yours'
  ).split(' '),
);

interface Stored {
  id: string;
  path: string;
  title: string;
  content: string;
}

function excerptFor(body: string, terms: string[], width = 240): string {
  const text = body.replace(/\s+/g, ' ').trim();
  const lower = text.toLowerCase();
  let at = -1;
  for (const t of terms) {
    const i = lower.indexOf(t.toLowerCase());
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  if (at < 0) return text.slice(0, width);
  const start = Math.max(0, at - Math.floor(width / 3));
  return text.slice(start, start + width);
}

export class MiniSearchIndex implements RecallIndex {
  private ms = new MiniSearch<Stored>({
    fields: ['title', 'content', 'path'],
    idField: 'id',
    storeFields: ['title', 'path'],
    searchOptions: { boost: { path: 1.5, title: 3 }, fuzzy: 0.2, prefix: true },
  });
  private readonly bodies = new Map<string, string>();
  private closed = false;

  private doc(path: string, doc: RecallDoc | string): Stored {
    const d = typeof doc === 'string' ? parseNote(doc, path) : doc;
    return { id: path, path, title: d.title, content: [d.body, d.tags.join(' ')].join('\n') };
  }

  private live(): void {
    if (this.closed) throw new Error('MiniSearchIndex is closed');
  }

  add(path: string, doc: RecallDoc | string): void {
    this.live();
    const stored = this.doc(path, doc);
    if (this.ms.has(path)) this.ms.replace(stored);
    else this.ms.add(stored);
    this.bodies.set(path, stored.content);
  }

  update(path: string, doc: RecallDoc | string): void {
    this.add(path, doc);
  }

  remove(path: string): boolean {
    this.live();
    if (!this.ms.has(path)) return false;
    this.ms.discard(path);
    this.bodies.delete(path);
    return true;
  }

  query(text: string, k: number): RecallHit[] {
    this.live();
    const words = text.toLowerCase().split(/\s+/).filter(Boolean);
    const kept = words.filter((w) => !STOP_WORDS.has(w));
    const q = (kept.length > 0 ? kept : words).join(' ');
    if (!q) return [];
    let raw = kept.length >= 2 ? this.ms.search(q, { combineWith: 'AND' }) : [];
    if (raw.length === 0) raw = this.ms.search(q, { combineWith: 'OR' });
    return raw.slice(0, k).map((r) => ({
      path: r.id as string,
      title: (r.title as string | undefined) ?? (r.id as string),
      score: r.score,
      excerpt: excerptFor(this.bodies.get(r.id as string) ?? '', r.terms),
    }));
  }

  stats(): RecallIndexStats {
    return { documents: this.ms.documentCount, terms: this.ms.termCount };
  }

  close(): void {
    this.closed = true;
    this.ms = new MiniSearch<Stored>({ fields: ['title'] });
    this.bodies.clear();
  }
}
