/**
 * bench/quality: brv-bench's metrics worked by hand (binary relevance, limit 10), the FTS5 baseline
 * (better-sqlite3) and both flavours of our engine on a corpus where the right answer is known, and
 * the v4 conversion of a free-form note.
 */
import { describe, expect, it } from 'vitest';
import { clawEngine, docToTopic, fts5Engine, minisearchEngine } from '../../../bench/quality/engines.js';
import { mean, scoreQuery } from '../../../bench/quality/metrics.js';
import { parseTopic } from '../../../lib/native.js';

describe('brv-bench metrics', () => {
  it('match the formulas of brv_bench/metrics on a worked example', () => {
    // Expected {a, b}; results: x, a, y, b (relevant at ranks 2 and 4).
    const s = scoreQuery(['x', 'a', 'y', 'b'], ['a', 'b']);
    expect(s.p5).toBeCloseTo(2 / 4, 12); // denominator min(5, 4 results returned)
    expect(s.p10).toBeCloseTo(2 / 4, 12);
    expect(s.r5).toBe(1);
    expect(s.mrr).toBeCloseTo(1 / 2, 12);
    const dcg = 1 / Math.log2(3) + 1 / Math.log2(5);
    const idcg = 1 / Math.log2(2) + 1 / Math.log2(3);
    expect(s.ndcg10).toBeCloseTo(dcg / idcg, 12);
    expect(s.ndcg5).toBeCloseTo(dcg / idcg, 12);
    // Nothing returned: zeros (P's denominator is at least 1); nothing expected: recall 1.
    expect(scoreQuery([], ['a'])).toEqual({ p5: 0, p10: 0, r5: 0, r10: 0, ndcg5: 0, ndcg10: 0, mrr: 0 });
    expect(scoreQuery(['a'], []).r10).toBe(1);
    // Only the top 5 count for @5.
    const late = scoreQuery(['1', '2', '3', '4', '5', 'a'], ['a']);
    expect(late.r5).toBe(0);
    expect(late.r10).toBe(1);
    expect(late.mrr).toBeCloseTo(1 / 6, 12);
    expect(mean([s, late]).mrr).toBeCloseTo((1 / 2 + 1 / 6) / 2, 12);
  });
});

describe('bench/quality engines', () => {
  const corpus = [
    { doc_id: 'conv-1_s1', content: 'Caroline: I went to the LGBTQ support group yesterday.\nMelanie: That is great!' },
    { doc_id: 'conv-1_s2', content: 'Melanie: I painted a sunrise over the lake last week.' },
    { doc_id: 'conv-1_s3', content: 'Caroline: My grandmother gave me a necklace from Sweden.' },
  ];

  it('every engine finds the session that holds the answer', () => {
    const engines = [
      clawEngine(corpus, 'md'),
      clawEngine(corpus, 'v4'),
      fts5Engine(corpus, 'unicode61'),
      fts5Engine(corpus, 'porter unicode61'),
      minisearchEngine(corpus),
    ];
    for (const e of engines) {
      expect(e.search('When did Caroline go to the LGBTQ support group?')[0], e.name).toBe('conv-1_s1');
      expect(e.search('Where is the necklace from?')[0], e.name).toBe('conv-1_s3');
      expect(e.search('"quoted" OR AND NOT *'), e.name).toEqual(expect.any(Array)); // FTS5 syntax is escaped
      e.close();
    }
  });

  it('converts a free-form note into one well-formed v4 topic holding its text', () => {
    const html = docToTopic({ doc_id: 'conv-1_s1', content: 'A <b> & "c"\n\nsecond line' });
    const t = parseTopic(html);
    expect(t.isTopic).toBe(true);
    expect(t.warnings).toEqual([]);
    expect(t.attrs).toMatchObject({ path: 'conv-1_s1', title: 'conv-1_s1' });
    expect(t.elements).toHaveLength(1);
    expect(t.elements[0]?.text).toBe('A <b> & "c" second line');
  });
});
