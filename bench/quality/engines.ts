/**
 * The retrieval engines bench/quality scores, each built from the same documents in one run:
 * - claw (md): the native engine (lib/native.ts) with each document as a markdown note `<doc_id>.md`;
 * - claw (v4): the same engine with each document as a ByteRover v4 topic `<doc_id>.html` (a
 *   free-form note becomes one topic holding its text, one `<p>` per line, as ByteRover's migrator
 *   converts free-form v3 notes);
 * - FTS5: SQLite FTS5 through better-sqlite3, ranked by bm25(), the query's words OR-ed (an AND of
 *   every word of a natural-language question finds almost nothing), with the default unicode61
 *   tokenizer and with the porter stemmer;
 * - minisearch as `brv` 3.14 configures it (bench/recall/minisearch-index.ts).
 */
import Database from 'better-sqlite3';
import { createRecallIndex } from '../../lib/native.js';
import { MiniSearchIndex } from '../recall/minisearch-index.js';
import { LIMIT } from './metrics.js';

export interface Doc {
  doc_id: string;
  content: string;
  source?: string;
}

export interface Engine {
  name: string;
  /** Doc ids, best first, at most LIMIT. */
  search(query: string): string[];
  close(): void;
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A free-form note as one v4 topic (path = doc id, snake_case-safe). */
export function docToTopic(d: Doc): string {
  const body = d.content
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => `<p>${escapeHtml(l)}</p>`)
    .join('\n');
  return `<bv-topic path="${escapeHtml(d.doc_id)}" title="${escapeHtml(d.doc_id)}">\n${body}\n</bv-topic>`;
}

export function clawEngine(docs: Doc[], flavour: 'md' | 'v4'): Engine {
  const idx = createRecallIndex({ excerptChars: 0 });
  const ext = flavour === 'md' ? '.md' : '.html';
  idx.addBatch(docs.map((d) => ({ path: d.doc_id + ext, doc: flavour === 'md' ? d.content : docToTopic(d) })));
  return {
    name: `claw (${flavour})`,
    search: (q) => idx.query(q, LIMIT, { excerptChars: 0 }).map((h) => h.path.slice(0, -ext.length)),
    close: () => idx.close(),
  };
}

const WORD = /[\p{L}\p{N}]+/gu;

export function fts5Engine(docs: Doc[], tokenizer: 'unicode61' | 'porter unicode61'): Engine {
  const db = new Database(':memory:');
  db.exec(`CREATE VIRTUAL TABLE docs USING fts5(doc_id UNINDEXED, content, tokenize = '${tokenizer}')`);
  const insert = db.prepare('INSERT INTO docs (doc_id, content) VALUES (?, ?)');
  db.transaction(() => {
    for (const d of docs) insert.run(d.doc_id, d.content);
  })();
  const search = db.prepare(`SELECT doc_id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ${LIMIT}`);
  return {
    name: tokenizer === 'unicode61' ? 'FTS5 bm25' : 'FTS5 bm25 porter',
    search: (q) => {
      const words = [...new Set(q.match(WORD) ?? [])];
      if (words.length === 0) return [];
      const match = words.map((w) => `"${w.replace(/"/g, '""')}"`).join(' OR ');
      return (search.all(match) as Array<{ doc_id: string }>).map((r) => r.doc_id);
    },
    close: () => db.close(),
  };
}

export function minisearchEngine(docs: Doc[]): Engine {
  const idx = new MiniSearchIndex();
  for (const d of docs) idx.add(d.doc_id, { title: d.doc_id, headings: [], body: d.content, tags: [] });
  return {
    name: 'minisearch (brv 3.14)',
    search: (q) => idx.query(q, LIMIT).map((h) => h.path),
    close: () => idx.close(),
  };
}
