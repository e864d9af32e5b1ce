/**
 * The recall engine through Node-API (native/src/addon.cc, lib/native.ts createRecallIndex):
 * BM25F scores equal to the formula of claw/recall.h worked by hand on a tiny corpus, incremental
 * upsert/remove (idf follows N), the async batch (off the event loop, close while running),
 * excerpts, stats, bounded slots under repeated updates, argument
 * errors (TypeError/RangeError with the exact message), engine refusals as ClawError codes, and
 * lifetime: close() frees at once, dropped indexes are collected (child process with --expose-gc),
 * worker threads each get a working binding.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it, beforeAll } from 'vitest';
import { isClawError } from '../../lib/errors.js';
import type { RecallIndex } from '../../lib/memory/types.js';
import {
  binding,
  createRecallIndex,
  recallFieldsToMarkdown,
  recallLiveIndexes,
  type NativeRecallIndex,
  type RecallHit,
} from '../../lib/native.js';
import { missingTools } from '../helpers/tools.js';
import { ensureNativeBuilt, type Artifacts } from './helpers.js';
import { hangGuard } from '../helpers/timeout.js';

const skip = missingTools(['c++', 'make'], 'apt-get install -y build-essential python3');

/** The three-note corpus every hand computation below uses. Each title is one token no body
 *  shares; no headings; bodies without stop words or plurals, so the tokens are the words. */
const CORPUS: Array<[string, string]> = [
  ['a.md', '---\ntitle: Alpha\n---\nfox fox dog'], // body: 3 tokens
  ['b.md', '---\ntitle: Beta\n---\nfox cat cat cat cat'], // body: 5 tokens
  ['c.md', '---\ntitle: Gamma\n---\ndog cat'], // body: 2 tokens
];

/** claw/recall.h, "Ranking (BM25F)", for one term, with the default k1 = 1.2. */
const idf = (n: number, df: number): number => Math.log(1 + (n - df + 0.5) / (df + 0.5));
const norm = (tf: number, weight: number, b: number, len: number, avg: number): number => (weight * tf) / (1 - b + (b * len) / avg);
const sat = (tfw: number, k1 = 1.2): number => (tfw * (k1 + 1)) / (k1 + tfw);

function corpusIndex(opts: Parameters<typeof createRecallIndex>[0] = {}): NativeRecallIndex {
  const ix = createRecallIndex(opts);
  for (const [p, md] of CORPUS) ix.add(p, md);
  return ix;
}

/** The error `fn` throws (fails the test when it returns). */
function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

describe.skipIf(skip)('recall engine through Node-API', () => {
  let a: Artifacts;
  beforeAll(async () => {
    a = await ensureNativeBuilt();
  });

  describe('ranking: BM25F worked by hand', () => {
    it('one body term: idf from N and df, length normalization from avglen', () => {
      const ix = corpusIndex();
      // N = 3, df(fox) = 2; avglen(body) = (3 + 5 + 2) / 3.
      const avg = 10 / 3;
      const expected = [
        { path: 'a.md', score: idf(3, 2) * sat(norm(2, 1, 0.75, 3, avg)) },
        { path: 'b.md', score: idf(3, 2) * sat(norm(1, 1, 0.75, 5, avg)) },
      ];
      const hits = ix.query('fox', 10);
      expect(hits.map((h) => h.path)).toEqual(['a.md', 'b.md']);
      hits.forEach((h, i) => expect(h.score).toBeCloseTo(expected[i]!.score, 12));
      expect(hits[0]!.score).toBeCloseTo(0.664956903112938, 12); // the same number, written out
      ix.close();
    });

    it('a title term is weighted 3 and normalized by the title length', () => {
      const ix = corpusIndex();
      const [hit, ...rest] = ix.query('alpha', 10);
      expect(rest).toEqual([]);
      expect(hit).toMatchObject({ path: 'a.md', title: 'Alpha' });
      // Every title is one token, so len = avglen and the normalization is 1.
      expect(hit!.score).toBeCloseTo(idf(3, 1) * sat(norm(1, 3, 0.75, 1, 1)), 12);
      ix.close();
    });

    it('a query sums its distinct terms; stop words and repeats add nothing', () => {
      const ix = corpusIndex();
      const avg = 10 / 3;
      const dog = (tf: number, len: number) => idf(3, 2) * sat(norm(tf, 1, 0.75, len, avg));
      const cat = (tf: number, len: number) => idf(3, 2) * sat(norm(tf, 1, 0.75, len, avg));
      const hits = ix.query('the dog and the cat cat', 10);
      const byPath = Object.fromEntries(hits.map((h) => [h.path, h.score]));
      expect(byPath['a.md']).toBeCloseTo(dog(1, 3), 12);
      expect(byPath['b.md']).toBeCloseTo(cat(4, 5), 12);
      expect(byPath['c.md']).toBeCloseTo(dog(1, 2) + cat(1, 2), 12);
      expect(hits.map((h) => h.path)).toEqual(['c.md', 'b.md', 'a.md']);
      expect(ix.query('the and of', 10)).toEqual([]);
      expect(ix.query('', 10)).toEqual([]);
      ix.close();
    });

    it('headings count with weight 2 in their own field', () => {
      const ix = createRecallIndex();
      ix.add('h.md', '---\ntitle: One\n---\n## Wolf\nwolf');
      ix.add('p.md', '---\ntitle: Two\n---\n## Habitat\nwolf');
      // df(wolf) = 2 of N = 2; headings: len 1 each (avg 1); body: len 1 each (avg 1).
      const body = norm(1, 1, 0.75, 1, 1);
      const heading = norm(1, 2, 0.75, 1, 1);
      const hits = ix.query('wolf', 5);
      expect(hits.map((h) => h.path)).toEqual(['h.md', 'p.md']);
      expect(hits[0]!.score).toBeCloseTo(idf(2, 2) * sat(body + heading), 12);
      expect(hits[1]!.score).toBeCloseTo(idf(2, 2) * sat(body), 12);
      ix.close();
    });

    it('options reach the engine: k1, field weights, b, stop words, plural folding', () => {
      const ix = corpusIndex({ k1: 2, bodyB: 0, titleWeight: 0 });
      // bodyB = 0: no length normalization; k1 = 2.
      expect(ix.query('fox', 1)[0]!.score).toBeCloseTo(idf(3, 2) * sat(2, 2), 12);
      // A zero title weight: the title term still exists, but scores nothing, so nothing is found.
      expect(ix.query('alpha', 5)).toEqual([]);
      ix.close();

      const keep = createRecallIndex({ stopWords: false, pluralFolding: false });
      keep.add('s.md', '# Notes\nthe notes');
      expect(keep.query('the', 5).map((h) => h.path)).toEqual(['s.md']);
      expect(keep.query('note', 5)).toEqual([]);
      keep.close();
      const fold = createRecallIndex();
      fold.add('s.md', '# Notes\nthe notes');
      expect(fold.query('the', 5)).toEqual([]);
      expect(fold.query('note', 5).map((h) => h.path)).toEqual(['s.md']);
      fold.close();
    });

    it('k caps the hits; ties are broken by path', () => {
      const ix = createRecallIndex();
      for (const p of ['z.md', 'm.md', 'b.md']) ix.add(p, '# Same\nidentical words here');
      expect(ix.query('identical', 10).map((h) => h.path)).toEqual(['b.md', 'm.md', 'z.md']);
      expect(ix.query('identical', 2).map((h) => h.path)).toEqual(['b.md', 'm.md']);
      expect(ix.query('identical', 0)).toEqual([]);
      expect(ix.query('identical', 1e9)).toHaveLength(3); // capped at 10,000
      ix.close();
    });
  });

  describe('incremental updates', () => {
    it('upsert replaces by path, remove deletes, and idf follows N and df', () => {
      const ix = corpusIndex();
      expect(ix.upsert('a.md', '---\ntitle: Alpha\n---\nowl owl dog')).toBe(true);
      expect(ix.query('fox', 5).map((h) => h.path)).toEqual(['b.md']);
      expect(ix.query('owl', 5).map((h) => h.path)).toEqual(['a.md']);
      // fox: N = 3, df = 1 now; bodies still 3 + 5 + 2 tokens.
      expect(ix.query('fox', 5)[0]!.score).toBeCloseTo(idf(3, 1) * sat(norm(1, 1, 0.75, 5, 10 / 3)), 12);

      expect(ix.remove('c.md')).toBe(true);
      expect(ix.remove('c.md')).toBe(false);
      expect(ix.contains('c.md')).toBe(false);
      expect(ix.contains('b.md')).toBe(true);
      // N = 2: bodies 3 + 5, df(dog) = 1.
      expect(ix.query('dog', 5)).toEqual([
        expect.objectContaining({ path: 'a.md', score: expect.closeTo(idf(2, 1) * sat(norm(1, 1, 0.75, 3, 4)), 12) as number }),
      ]);
      expect(ix.upsert('new.md', '# New\nfox')).toBe(false);
      expect(ix.stats()).toMatchObject({ documents: 3, generation: 6 });
      ix.close();
    });

    it('update on an absent path adds; add on a present one replaces (the RecallIndex seam)', () => {
      const seam: RecallIndex = createRecallIndex();
      seam.update('x.md', '# X\nbadger');
      seam.add('x.md', '# X\nmarten');
      expect(seam.query('badger', 5)).toEqual([]);
      expect(seam.query('marten', 5).map((h) => h.path)).toEqual(['x.md']);
      expect(seam.stats().documents).toBe(1);
      seam.close?.();
    });

    it('addBatch: a later duplicate wins, fields and bytes are accepted, bad input changes nothing', () => {
      const ix = createRecallIndex({ batchThreads: 2 });
      ix.addBatch([
        { path: 'one.md', doc: '# One\nheron' },
        { path: 'two.md', doc: new TextEncoder().encode('# Two\nègret') },
        { path: 'one.md', doc: '# One again\nstork' },
        { path: 'three.md', doc: { title: 'Three "quoted", title', headings: [], body: 'ibis', tags: ['wading, birds', 'x'] } },
      ]);
      expect(ix.stats().documents).toBe(3);
      expect(ix.query('heron', 5)).toEqual([]);
      expect(ix.query('stork', 5).map((h) => [h.path, h.title])).toEqual([['one.md', 'One again']]);
      expect(ix.query('egret', 5).map((h) => h.excerpt)).toEqual(['ègret']);
      const three = ix.query('ibis', 5)[0];
      expect(three?.title).toBe('Three "quoted", title');
      expect(ix.query('wading', 5).map((h) => h.path)).toEqual(['three.md']); // tags score as title

      const before = ix.stats();
      const err = thrown(() => ix.addBatch([{ path: 'ok.md', doc: '# ok\nkestrel' }, { path: '', doc: '# bad' }]));
      expect(err).toBeInstanceOf(TypeError);
      expect(err.message).toBe('expected docs[1].path to be a non-empty path, got an empty string');
      expect(ix.stats()).toEqual(before);
      expect(ix.query('kestrel', 5)).toEqual([]);
      ix.close();
    });

    it('repeated updates of the same notes keep slots and memory bounded', () => {
      const ix = createRecallIndex();
      const round = (r: number) =>
        ix.addBatch(Array.from({ length: 50 }, (_, i) => ({ path: `n${i}.md`, doc: `# Note ${i}\nround${r} term${i} common text ${'filler '.repeat(i)}` })));
      round(0);
      round(1);
      const early = ix.stats();
      for (let r = 2; r < 40; r++) round(r);
      const late = ix.stats();
      expect(late.documents).toBe(50);
      expect(late.docSlots).toBe(50);
      expect(late.termSlots).toBe(early.termSlots); // each round's "roundN" term replaces the last
      expect(late.terms).toBe(early.terms);
      expect(late.postings).toBe(early.postings);
      expect(late.memoryBytes).toBeLessThan(early.memoryBytes * 1.5);
      expect(ix.query('round39', 100)).toHaveLength(50);
      expect(ix.query('round38', 100)).toEqual([]);
      ix.close();
    });
  });

  describe('addBatchAsync (parsed and indexed on a libuv worker)', () => {
    it('indexes the batch; the caller may change its array at once; queries answer meanwhile', async () => {
      const ix = createRecallIndex();
      ix.add('first.md', '# First\nshared');
      const docs = Array.from({ length: 500 }, (_, i) => ({ path: `n${i}.md`, doc: `# Note ${i}\nshared word${i}` }));
      const pending = ix.addBatchAsync(docs);
      // Copied before the call returned: what the caller does now changes nothing.
      docs[0]!.doc = '# Changed\nnothing';
      docs.length = 0;
      // The index answers while the batch runs (from whichever state the engine is in).
      expect(ix.query('shared', 1)).toHaveLength(1);
      await pending;
      expect(ix.stats().documents).toBe(501);
      expect(ix.query('word0', 1)[0]?.title).toBe('Note 0');
      ix.close();
    });

    it('bad input rejects before anything changes; engine refusals reject with ClawError codes', async () => {
      const ix = createRecallIndex({ maxDocumentBytes: 32 });
      const bad = await ix.addBatchAsync([{ path: 'ok.md', doc: '# ok' }, { path: '', doc: '# x' }]).catch((e: unknown) => e as Error);
      expect(bad).toBeInstanceOf(TypeError);
      expect((bad as Error).message).toBe('expected docs[1].path to be a non-empty path, got an empty string');
      const big = await ix.addBatchAsync([{ path: 'ok.md', doc: '# ok' }, { path: 'big.md', doc: 'x'.repeat(33) }]).catch((e: unknown) => e as Error);
      expect(isClawError(big, 'RECALL_DOCUMENT_TOO_LARGE')).toBe(true);
      expect((big as Error).message).toBe("docs[1] (big.md, 33 bytes) is larger than the index's maxDocumentBytes; nothing was applied");
      expect(ix.stats().documents).toBe(0);
      ix.close();
    });

    it('close() while a batch runs: calls throw at once, the native index is freed when the batch ends', async () => {
      const before = recallLiveIndexes();
      const ix = createRecallIndex();
      const pending = ix.addBatchAsync([{ path: 'z.md', doc: '# z\nzebra' }]);
      ix.close();
      expect(ix.closed).toBe(true);
      expect(isClawError(thrown(() => ix.query('zebra')), 'RECALL_CLOSED')).toBe(true);
      // The batch's completion runs on this thread, so it cannot have happened yet.
      expect(recallLiveIndexes()).toBe(before + 1);
      await pending;
      expect(recallLiveIndexes()).toBe(before);
    });
  });

  describe('excerpts', () => {
    const words = Array.from({ length: 120 }, (_, i) => `word${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`);
    words[60] = 'needle';
    const long = `# Long\n\n${words.join(' ')}`;

    it('a window around the best match, at most excerptChars code points, "…" where cut', () => {
      const ix = createRecallIndex({ excerptChars: 40 });
      ix.add('long.md', long);
      const [hit] = ix.query('needle', 1);
      expect(hit!.excerpt).toContain('needle');
      expect(hit!.excerpt.startsWith('…') && hit!.excerpt.endsWith('…')).toBe(true);
      expect([...hit!.excerpt].length).toBeLessThanOrEqual(40);
      const wide = ix.query('needle', 1, { excerptChars: 80 })[0]!.excerpt;
      expect([...wide].length).toBeLessThanOrEqual(80);
      expect(wide.length).toBeGreaterThan(hit!.excerpt.length);
      expect(ix.query('needle', 1, { excerptChars: 0 })[0]!.excerpt).toBe('');
      // No body match (a title hit): the start of the body.
      expect(ix.query('long', 1)[0]!.excerpt.startsWith('wordaa wordba')).toBe(true);
      ix.close();
    });

    it('markup is stripped and accents kept in the excerpt, folded for matching', () => {
      const ix = createRecallIndex();
      ix.add('cafe.md', '# Menu\n\nThe **Café** serves [crème brûlée](http://example.invalid/x) daily.');
      const hits = ix.query('CAFE creme brulee', 3);
      expect(hits).toEqual([{ path: 'cafe.md', title: 'Menu', score: expect.any(Number) as number, excerpt: 'The Café serves crème brûlée daily.' }]);
      ix.close();
    });
  });

  describe('stats', () => {
    it('counts documents, terms, postings and average field lengths', () => {
      const ix = corpusIndex();
      const s = ix.stats();
      // terms: alpha beta gamma fox dog cat; postings: 3 per note.
      expect(s).toMatchObject({ documents: 3, terms: 6, postings: 9, generation: 3, docSlots: 3, termSlots: 6, avgTitleTokens: 1, avgHeadingsTokens: 0 });
      expect(s.avgBodyTokens).toBeCloseTo(10 / 3, 12);
      expect(s.memoryBytes).toBeGreaterThan(0);
      ix.close();
    });
  });

  describe('argument errors', () => {
    const ix = (): NativeRecallIndex => createRecallIndex();
    const cases: Array<[string, (i: NativeRecallIndex) => unknown, ErrorConstructor, string, string]> = [
      ['query text not a string', (i) => i.query(5 as unknown as string), TypeError, 'ERR_INVALID_ARG_TYPE', 'expected `text` to be a string, got the number 5'],
      ['negative k', (i) => i.query('x', -1), RangeError, 'ERR_OUT_OF_RANGE', 'expected `k` to be an integer 0..10000, got the number -1'],
      ['fractional k', (i) => i.query('x', 1.5), RangeError, 'ERR_OUT_OF_RANGE', 'expected `k` to be an integer 0..10000, got the number 1.5'],
      ['k not a number', (i) => i.query('x', '3' as unknown as number), TypeError, 'ERR_INVALID_ARG_TYPE', 'expected `k` to be an integer, got a string'],
      ['empty path', (i) => i.upsert('', '# x'), TypeError, 'ERR_INVALID_ARG_VALUE', 'expected `path` to be a non-empty path, got an empty string'],
      ['path with NUL', (i) => i.upsert('a\0b', '# x'), TypeError, 'ERR_INVALID_ARG_VALUE', 'expected `path` to contain no NUL character'],
      ['path too long', (i) => i.upsert('p'.repeat(4097), '# x'), TypeError, 'ERR_INVALID_ARG_VALUE', 'expected `path` to be at most 4096 UTF-8 bytes, got 4097'],
      ['path not a string', (i) => i.remove(7 as unknown as string), TypeError, 'ERR_INVALID_ARG_TYPE', 'expected `path` to be a string, got the number 7'],
      ['markdown of the wrong type', (i) => i.upsert('a.md', 42 as unknown as string), TypeError, 'ERR_INVALID_ARG_TYPE', 'expected `markdown` to be a markdown string or a Uint8Array of UTF-8, got the number 42'],
      ['batch not an array', (i) => i.addBatch('x' as unknown as []), TypeError, 'ERR_INVALID_ARG_TYPE', 'expected `docs` to be an array of { path, doc }, got a string'],
      ['batch entry not an object', (i) => i.addBatch([null as unknown as { path: string; doc: string }]), TypeError, 'ERR_INVALID_ARG_TYPE', 'expected docs[0] to be an object { path, doc }, got null'],
      ['batch entry without doc', (i) => i.addBatch([{ path: 'a.md' } as unknown as { path: string; doc: string }]), TypeError, 'ERR_INVALID_ARG_TYPE', 'expected docs[0].doc to be a markdown string or a Uint8Array of UTF-8, got undefined'],
    ];
    for (const [name, call, type, code, message] of cases) {
      it(`${name}: ${type.name} ${code}`, () => {
        const i = ix();
        const err = thrown(() => call(i));
        expect(err).toBeInstanceOf(type);
        expect(err.code).toBe(code);
        expect(err.message).toBe(message);
        i.close();
      });
    }

    it('bad options: RangeError/TypeError naming the option', () => {
      const e1 = thrown(() => createRecallIndex({ k1: -1 }));
      expect(e1).toBeInstanceOf(RangeError);
      expect(e1.message).toBe('expected option `k1` to be a finite number >= 0, got -1');
      const e2 = thrown(() => createRecallIndex({ bodyB: 2 }));
      expect(e2.message).toBe('expected option `bodyB` to be a number in [0, 1], got 2');
      const e3 = thrown(() => createRecallIndex({ stopWords: 'no' as unknown as boolean }));
      expect(e3).toBeInstanceOf(TypeError);
      expect(e3.message).toBe('expected option `stopWords` to be a boolean, got a string');
      expect(thrown(() => createRecallIndex({ excerptChars: -1 }))).toBeInstanceOf(RangeError);
    });

    it('the raw class: `new` required, methods refuse foreign receivers', () => {
      const Ctor = binding().RecallIndex!;
      const e = thrown(() => (Ctor as unknown as () => unknown)());
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toBe('RecallIndex must be called with `new`');
      const raw = new Ctor();
      expect(thrown(() => raw.query.call({} as typeof raw, 'x'))).toBeInstanceOf(TypeError);
      raw.close();
    });

    it('engine refusals are ClawErrors with stable codes, and the index is unchanged', () => {
      const i = createRecallIndex({ maxDocumentBytes: 64 });
      i.add('small.md', '# small\nlynx');
      const big = thrown(() => i.add('big.md', `# big\n${'x'.repeat(100)}`));
      expect(isClawError(big, 'RECALL_DOCUMENT_TOO_LARGE')).toBe(true);
      expect(big.message).toBe("the document at big.md (106 bytes) is larger than the index's maxDocumentBytes");
      const batch = thrown(() => i.addBatch([{ path: 'ok.md', doc: '# ok\nlynx' }, { path: 'big.md', doc: 'y'.repeat(65) }]));
      expect(isClawError(batch, 'RECALL_DOCUMENT_TOO_LARGE')).toBe(true);
      expect(batch.message).toBe("docs[1] (big.md, 65 bytes) is larger than the index's maxDocumentBytes; nothing was applied");
      expect(i.stats().documents).toBe(1);
      i.close();
    });
  });

  describe('lifetime', () => {
    it('close() frees the native index at once; every later call throws RECALL_CLOSED', () => {
      const before = recallLiveIndexes();
      const i = corpusIndex();
      expect(recallLiveIndexes()).toBe(before + 1);
      i.close();
      expect(recallLiveIndexes()).toBe(before);
      expect(i.closed).toBe(true);
      i.close(); // idempotent
      for (const call of [() => i.query('fox'), () => i.add('a.md', 'x'), () => i.remove('a.md'), () => i.stats(), () => i.addBatch([])]) {
        const err = thrown(call);
        expect(isClawError(err, 'RECALL_CLOSED')).toBe(true);
      }
      expect(thrown(() => i.query('fox')).message).toBe('expected an open RecallIndex, found it closed (query after close()): create a new index');
    });

    it('dropped indexes are collected and their native memory freed (no growth over many rounds)', () => {
      // A child process with --expose-gc: 15 rounds of 20 indexes of 300 notes each, dropped.
      const script = `
        const b = require(${JSON.stringify(a.node)});
        const sleep = () => new Promise((r) => setImmediate(r));
        const note = (i) => '# Note ' + i + '\\n' + Array.from({ length: 300 }, (_, j) => 'w' + ((i * 7 + j) % 997)).join(' ');
        const round = () => {
          for (let n = 0; n < 20; n++) {
            const ix = new b.RecallIndex();
            ix.upsertBatch(Array.from({ length: 300 }, (_, i) => ({ path: 'n' + i + '.md', doc: note(i) })));
            if (ix.query('w5', 3).length !== 3) throw new Error('query failed');
          }
        };
        (async () => {
          const rss = [];
          for (let r = 0; r < 15; r++) {
            round();
            for (let k = 0; k < 50 && b.recallLiveIndexes() > 0; k++) { gc(); await sleep(); }
            rss.push(process.memoryUsage().rss);
          }
          console.log(JSON.stringify({ live: b.recallLiveIndexes(), rss }));
        })();`;
      const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: hangGuard(240_000) });
      expect(r.status, r.stderr).toBe(0);
      const { live, rss } = JSON.parse(r.stdout) as { live: number; rss: number[] };
      expect(live).toBe(0);
      // Each round builds 20 indexes of ~1.5 MB (stats().memoryBytes): a leak would add ~30 MB a round.
      const mb = (n: number) => n / 2 ** 20;
      expect(mb(rss[14]! - rss[4]!), `RSS per round: ${rss.map((x) => mb(x).toFixed(0)).join(' ')} MiB`).toBeLessThan(40);
    }, hangGuard(300_000));

    it('works in worker threads (per-environment data), each with its own indexes', async () => {
      const { Worker } = await import('node:worker_threads');
      const code = `
        const { parentPort, workerData } = require('node:worker_threads');
        const b = require(workerData.node);
        const ix = new b.RecallIndex();
        ix.upsert('w.md', '# Worker ' + workerData.n + '\\nthread local search');
        parentPort.postMessage(ix.query('thread', 1));`;
      const run = (n: number) =>
        new Promise<RecallHit[]>((resolve, reject) => {
          const w = new Worker(code, { eval: true, workerData: { node: a.node, n } });
          w.once('message', resolve);
          w.once('error', reject);
        });
      const [one, two] = await Promise.all([run(1), run(2)]);
      expect(one?.[0]?.title).toBe('Worker 1');
      expect(two?.[0]?.title).toBe('Worker 2');
    });
  });

  it('recallFieldsToMarkdown round-trips titles and tags the engine parses back', () => {
    const md = recallFieldsToMarkdown({ title: 'A "b" \\ c\nd', headings: ['H'], body: '## H\ntext', tags: ['x, y', 'z'] });
    expect(md).toBe('---\ntitle: "A \\"b\\" \\\\ c d"\ntags: ["x, y", "z"]\n---\n## H\ntext');
    const ix = createRecallIndex();
    ix.add('f.md', md);
    expect(ix.query('text', 1)[0]?.title).toBe('A "b" \\ c d');
    ix.close();
  });
});
