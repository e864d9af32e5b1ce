/**
 * The persisted index served from a mapping (native/src/recall/persist.h, index.cc "persistence"):
 * LoadIndexFile maps the file and the index reads documents, term codes, element spans and
 * postings in place; a loaded document or term that changes gets its own copy (copy on write).
 * - a loaded index answers exactly like a fresh build (scores, excerpts, v4 element hits), and
 *   reports the file's bytes as mapped, not heap;
 * - upserts (of loaded documents, of new ones, in batches), removals and re-upserts of removed
 *   paths on a loaded index leave it answering exactly like a fresh build of the same final
 *   contents; saving that mixed (partly copied, partly mapped) index and loading it again still
 *   does, also after a second round of changes on the reloaded one;
 * - truncated, bit-flipped (header, manifest, document records, postings, bodies, dictionary),
 *   previous-format and other-options files are refused with their code, the index stays empty
 *   and nothing stays mapped;
 * - the mapping is released when the index is closed, and as soon as no document or term refers
 *   to it any more (every loaded document replaced): /proc/self/maps no longer lists the file.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rng } from '../../bench/recall/generate.js';
import { createRecallIndex, type NativeRecallIndex, type RecallIndexOptions } from '../../lib/native.js';
import { missingTools } from '../helpers/tools.js';
import { hangGuard } from '../helpers/timeout.js';
import { ensureNativeBuilt } from './helpers.js';

const skip = missingTools(['c++', 'make'], 'apt-get install -y build-essential python3');
const linux = process.platform === 'linux';


const WORDS = (
  'cache redis postgres deploy rollback token signed queue retry latency index search tree note sqlite ' +
  'mmap page fault checksum chunk posting term document title heading body element fact rule decision ' +
  'kernel thread lock writer reader copy write shared mapping file rename atomic fsync torn flipped'
).split(' ');

function note(r: () => number, i: number): string {
  const pick = (): string => WORDS[Math.floor(r() * WORDS.length)] as string;
  const words = Array.from({ length: 30 + Math.floor(r() * 60) }, pick).join(' ');
  return `---\ntitle: Note ${i} ${pick()}\ntags: [t${i % 7}, ${pick()}]\n---\n# Heading ${pick()}\n\n${words}\n\n## ${pick()} ${pick()}\n\n${pick()} ${pick()} ${i}\n`;
}

function topic(r: () => number, i: number): string {
  const pick = (): string => WORDS[Math.floor(r() * WORDS.length)] as string;
  const text = (n: number): string => Array.from({ length: n }, pick).join(' ');
  return (
    `<bv-topic path="t/${i}" title="Topic ${i} ${pick()}" keywords="${pick()},${pick()}">` +
    `<bv-fact id="bve-${String(i).padStart(8, '0')}" subject="${pick()}">${text(12)}</bv-fact>` +
    `<bv-decision id="bve-d${String(i).padStart(7, '0')}">${text(9)}</bv-decision>` +
    `<bv-rule severity="must">${text(6)}</bv-rule></bv-topic>`
  );
}

const QUERIES = [
  'cache redis',
  'postgres deploy rollback',
  'token signed',
  'mmap page fault',
  'checksum chunk posting',
  'heading',
  'fact decision rule',
  'writer reader lock',
  'rename atomic fsync',
  'note 17',
  'topic 3',
  'torn flipped file',
  'kernel thread',
];

/** Every query's hits (k 40, excerpts on). */
function answers(ix: NativeRecallIndex): unknown[] {
  return QUERIES.map((q) => ix.query(q, 40));
}

function build(contents: Map<string, string>, opts: RecallIndexOptions = {}): NativeRecallIndex {
  const ix = createRecallIndex(opts);
  for (const p of [...contents.keys()].sort()) ix.add(p, contents.get(p) as string);
  return ix;
}

/** Whether this process maps `file` (its path as /proc/self/maps prints it). */
function mapped(file: string): boolean {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .some((l) => l.endsWith(` ${file}`) || l.endsWith(` ${file} (deleted)`));
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

/** Section offsets of a saved file (persist.h header, index.cc layout), to aim bit flips. */
interface Layout {
  meta: number;
  index: number;
  docs: number;
  terms: number;
  slots: number;
  posts: number;
  blob: number;
  nposts: number;
}

function layout(buf: Buffer): Layout {
  const pad8 = (n: number): number => (n + 7) & ~7;
  const metaLen = Number(buf.readBigUInt64LE(24));
  const index = 48 + pad8(metaLen);
  const u = (k: number): number => Number(buf.readBigUInt64LE(index + 8 * k));
  const [ndocs, nterms, nelems, nposts, nfreeDocs, nfreeTerms, nslots] = [0, 1, 2, 3, 5, 6, 7].map(u) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  let off = index + 128;
  const docs = off;
  off += 96 * ndocs;
  off = index + pad8(off - index + 20 * nelems);
  const terms = off;
  off += 32 * nterms;
  const slots = off;
  off += 8 * nslots;
  off = index + pad8(off - index + 4 * nfreeDocs);
  off = index + pad8(off - index + 4 * nfreeTerms);
  const posts = off;
  off += 8 * nposts;
  off = index + pad8(off - index + u(14)); // the documents' term codes
  off = index + pad8(off - index + u(15)); // their paths
  return { meta: 48, index, docs, terms, slots, posts, blob: off, nposts };
}

describe.skipIf(skip)('persisted index served from a mapping', () => {
  let dir = '';
  const contents = new Map<string, string>();

  beforeAll(async () => {
    await ensureNativeBuilt();
    dir = mkdtempSync(join(tmpdir(), 'claw-recall-mmap-'));
    const r = rng(20261207);
    for (let i = 0; i < 400; i++) contents.set(`n/${String(i).padStart(3, '0')}.md`, note(r, i));
    for (let i = 0; i < 30; i++) contents.set(`t/${i}.html`, topic(r, i));
  }, hangGuard(600_000));

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a loaded index answers like a fresh build and reports the file as mapped, not heap', () => {
    const built = build(contents);
    const file = join(dir, 'fresh.clawrix');
    built.saveFile(file, '{"manifest":1}');
    const loaded = createRecallIndex();
    expect(loaded.loadFile(file)).toBe('{"manifest":1}');
    const expected = answers(built);
    const hits = (expected as Array<Array<{ elementType?: string }>>).flat();
    expect(hits.some((h) => h.elementType === 'bv-fact') && hits.some((h) => h.elementType === 'bv-decision')).toBe(true);
    expect(answers(loaded)).toEqual(expected);
    const [b, l] = [built.stats(), loaded.stats()];
    for (const k of ['documents', 'terms', 'postings', 'avgTitleTokens', 'avgHeadingsTokens', 'avgBodyTokens'] as const)
      expect(l[k], k).toBe(b[k]);
    expect(b.mappedBytes).toBe(0);
    expect(l.mappedBytes).toBeGreaterThan(0);
    expect(l.mappedBytes).toBeLessThanOrEqual(readFileSync(file).length);
    // The texts and postings stay in the file: the loaded heap is a fraction of the built one.
    expect(l.memoryBytes).toBeLessThan(b.memoryBytes / 2);
    if (linux) expect(mapped(file)).toBe(true);
    built.close();
    loaded.close();
    if (linux) expect(mapped(file)).toBe(false);
  });

  it('changes on a loaded index (copy on write) answer like a fresh build of the final contents, saved and reloaded too', () => {
    const file = join(dir, 'cow.clawrix');
    const first = build(contents);
    first.saveFile(file, 'm1');
    first.close();
    const loaded = createRecallIndex();
    loaded.loadFile(file);
    const final = new Map(contents);
    const r = rng(7);
    const paths = [...contents.keys()];
    const pick = (): string => paths[Math.floor(r() * paths.length)] as string;
    // Loaded documents replaced, removed, removed then upserted again; new documents added.
    for (let i = 0; i < 60; i++) {
      const p = pick();
      const text = p.endsWith('.html') ? topic(r, 1000 + i) : note(r, 1000 + i);
      loaded.upsert(p, text);
      final.set(p, text);
    }
    for (let i = 0; i < 40; i++) {
      const p = pick();
      expect(loaded.remove(p)).toBe(final.delete(p));
    }
    for (let i = 0; i < 15; i++) {
      const p = pick();
      if (final.has(p)) continue;
      const text = note(r, 2000 + i);
      loaded.upsert(p, text);
      final.set(p, text);
    }
    const added = Array.from({ length: 50 }, (_, i) => ({ path: `new/${i}.md`, doc: note(r, 3000 + i) }));
    loaded.addBatch(added);
    for (const a of added) final.set(a.path, a.doc);
    // A batch mixing loaded documents and new ones.
    const mixed = [pick(), pick(), 'new/3.md', 'new/late.md'].map((p, i) => ({ path: p, doc: note(r, 4000 + i) }));
    loaded.addBatch(mixed);
    for (const a of mixed) final.set(a.path, a.doc);
    expect(loaded.stats().mappedBytes).toBeGreaterThan(0); // untouched documents still point into the file

    const fresh = build(final);
    const expected = answers(fresh);
    expect(answers(loaded)).toEqual(expected);
    expect(loaded.stats()).toMatchObject({
      documents: fresh.stats().documents,
      terms: fresh.stats().terms,
      postings: fresh.stats().postings,
    });

    // Save the mixed index (over the file it maps: rename, never in place) and load it again.
    loaded.saveFile(file, 'm2');
    const again = createRecallIndex();
    expect(again.loadFile(file)).toBe('m2');
    expect(answers(again)).toEqual(expected);
    expect(answers(loaded)).toEqual(expected); // the old mapping (of the replaced file) is intact

    // A second round on the reloaded index.
    for (let i = 0; i < 20; i++) {
      const p = [...final.keys()][Math.floor(r() * final.size)] as string;
      if (i % 2) {
        again.remove(p);
        final.delete(p);
      } else {
        const text = note(r, 5000 + i);
        again.upsert(p, text);
        final.set(p, text);
      }
    }
    const fresh2 = build(final);
    expect(answers(again)).toEqual(answers(fresh2));
    for (const ix of [loaded, fresh, again, fresh2]) ix.close();
  });

  it('truncated, flipped, previous-format and other-options files are refused; the index stays empty and unmapped', () => {
    const built = build(contents);
    const good = join(dir, 'good.clawrix');
    built.saveFile(good, '{"notes":430}');
    built.close();
    const bytes = readFileSync(good);
    const at = layout(bytes);
    expect(at.nposts).toBeGreaterThan(1000);
    const bad = join(dir, 'bad.clawrix');
    const refuse = (variant: Buffer, code: string, opts: RecallIndexOptions = {}): void => {
      writeFileSync(bad, variant);
      const ix = createRecallIndex(opts);
      expect(codeOf(() => ix.loadFile(bad))).toBe(code);
      expect(ix.stats()).toMatchObject({ documents: 0, docSlots: 0, mappedBytes: 0 });
      if (linux) expect(mapped(bad)).toBe(false);
      // Still usable: a good file loads into the same index afterwards.
      if (code !== 'RECALL_PERSIST_OPTIONS') {
        ix.loadFile(good);
        expect(ix.stats().documents).toBe(contents.size);
      }
      ix.close();
    };
    for (const cut of [0, 7, 47, 48, 60, at.docs + 3, at.posts + 8, bytes.length - 1])
      refuse(bytes.subarray(0, cut), 'RECALL_PERSIST_CORRUPT');
    refuse(Buffer.concat([bytes, Buffer.alloc(8)]), 'RECALL_PERSIST_CORRUPT');
    const flip = (pos: number, bit = 0): Buffer => {
      const b = Buffer.from(bytes);
      b[pos] = (b[pos] as number) ^ (1 << bit);
      return b;
    };
    const body = bytes.indexOf('fsync', at.blob);
    expect(body).toBeGreaterThan(at.blob);
    for (const [pos, bit] of [
      [0, 0], // magic
      [24, 3], // manifest length
      [40, 5], // checksum
      [at.meta + 2, 1], // manifest
      [at.index, 0], // document count
      [at.docs + 16, 2], // a document record: its path length
      [at.terms + 8, 0], // a term record: its first posting
      [at.slots + 4, 6], // a dictionary slot's hash
      [at.posts, 0], // the first posting's document
      [at.posts + 8 * Math.floor(at.nposts / 2) + 4, 0], // a posting's body frequency
      [body, 2], // a document body
      [bytes.length - 1, 7], // the last byte
    ] as const)
      refuse(flip(pos, bit), 'RECALL_PERSIST_CORRUPT');
    refuse(flip(8, 0), 'RECALL_PERSIST_VERSION'); // kPersistFormat 3 → 2 (the previous layout)
    refuse(flip(8, 1), 'RECALL_PERSIST_VERSION'); // → 1 (the format read by copy)
    refuse(flip(12, 2), 'RECALL_PERSIST_VERSION'); // the index layout
    refuse(bytes, 'RECALL_PERSIST_OPTIONS', { pluralFolding: false });
    refuse(flip(16, 0), 'RECALL_PERSIST_OPTIONS');
  });

  it.skipIf(!linux)('the mapping goes when the index is closed, or once every loaded document has been replaced', () => {
    const file = join(dir, 'release.clawrix');
    const small = new Map([...contents].slice(0, 40));
    const built = build(small);
    built.saveFile(file, '');
    built.close();
    const closing = createRecallIndex();
    closing.loadFile(file);
    expect(mapped(file)).toBe(true);
    closing.close();
    expect(mapped(file)).toBe(false);

    const replacing = createRecallIndex();
    replacing.loadFile(file);
    const r = rng(99);
    const paths = [...small.keys()];
    for (const p of paths.slice(0, -1)) replacing.upsert(p, note(r, 9000));
    expect(mapped(file)).toBe(true); // one loaded document (and terms of the file) left
    replacing.remove(paths.at(-1) as string);
    expect(replacing.stats().mappedBytes).toBe(0);
    expect(mapped(file)).toBe(false);
    expect(replacing.query('heading').length).toBeGreaterThan(0);
    replacing.close();
  });
});
