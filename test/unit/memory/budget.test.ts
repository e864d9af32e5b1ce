import { describe, expect, it } from 'vitest';
import { CHARS_PER_TOKEN, estimateTokens, fitToBudget, renderHit, trimExcerpt } from '../../../lib/memory/budget.js';
import type { RecallHit } from '../../../lib/memory/types.js';

const words = (n: number, seed: number): string =>
  Array.from(
    { length: n },
    (_, i) => ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta'][(i * 7 + seed) % 7],
  ).join(' ');

const hits: RecallHit[] = Array.from({ length: 8 }, (_, i) => ({
  path: `topic-${i}/note-${i}.md`,
  title: `Note number ${i}`,
  score: 10 - i,
  excerpt: words(20 + i * 15, i),
}));

describe('token estimate', () => {
  it('is ceil(chars / 4)', () => {
    expect(CHARS_PER_TOKEN).toBe(4);
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('abc')).toBe(1);
    expect(estimateTokens('abcd')).toBe(1);
    expect(estimateTokens('abcde')).toBe(2);
  });
});

describe('fitToBudget', () => {
  it('without a budget returns every hit, in order, rendered', () => {
    const r = fitToBudget(hits);
    expect(r.hits.map((h) => h.path)).toEqual(hits.map((h) => h.path));
    expect(r.dropped).toBe(0);
    expect(r.text).toBe(hits.map((h) => renderHit(h)).join('\n'));
    expect(r.tokens).toBe(estimateTokens(r.text));
  });

  it('never exceeds any budget from 0 to 1,000 tokens, keeps score order, and only the last hit is trimmed', () => {
    for (let budget = 0; budget <= 1000; budget += 7) {
      const r = fitToBudget(hits, { tokenBudget: budget });
      expect(estimateTokens(r.text)).toBeLessThanOrEqual(budget);
      expect(r.tokens).toBe(estimateTokens(r.text));
      expect(r.hits.map((h) => h.path)).toEqual(hits.slice(0, r.hits.length).map((h) => h.path));
      expect(r.dropped).toBe(hits.length - r.hits.length);
      r.hits.slice(0, -1).forEach((h, i) => expect(h.excerpt).toBe(hits[i]?.excerpt));
      expect(r.text).toBe(r.hits.map((h) => renderHit(h)).join('\n'));
    }
  });

  it('trims the excerpt of the hit that does not fit whole, at a word boundary with an ellipsis', () => {
    const first = renderHit(hits[0] as RecallHit).length;
    const budget = Math.floor((first + 1 + renderHit({ ...(hits[1] as RecallHit), excerpt: '' }).length + 60) / 4);
    const r = fitToBudget(hits, { tokenBudget: budget });
    expect(r.hits).toHaveLength(2);
    const second = r.hits[1] as RecallHit;
    expect(second.excerpt.endsWith('…')).toBe(true);
    expect((hits[1] as RecallHit).excerpt.startsWith(second.excerpt.slice(0, -1))).toBe(true);
    expect(second.excerpt.slice(0, -1)).not.toMatch(/\s$/);
    expect(r.trimmed).toBe(1);
  });

  it('drops a hit when fewer than minExcerptChars would be left for it', () => {
    const onlyFirst = Math.ceil(renderHit(hits[0] as RecallHit).length / 4) + 5; // ~20 chars spare
    const r = fitToBudget(hits, { tokenBudget: onlyFirst });
    expect(r.hits).toHaveLength(1);
    expect(r.dropped).toBe(hits.length - 1);
    const zero = fitToBudget(hits, { tokenBudget: 0 });
    expect(zero).toMatchObject({ hits: [], text: '', tokens: 0, dropped: hits.length });
  });

  it('caps each excerpt at maxExcerptChars and collapses whitespace', () => {
    const long: RecallHit = {
      path: 'a.md',
      title: 'A',
      score: 1,
      excerpt: `line one\n\n   line two ${'x'.repeat(3000)}`,
    };
    const r = fitToBudget([long], { maxExcerptChars: 100 });
    expect(r.hits[0]?.excerpt.length).toBeLessThanOrEqual(100);
    expect(r.hits[0]?.excerpt.startsWith('line one line two')).toBe(true);
    expect(r.trimmed).toBe(1);
  });
});

describe('trimExcerpt', () => {
  it('returns short text unchanged and cuts long text to at most max chars', () => {
    expect(trimExcerpt('short text', 50)).toBe('short text');
    for (let max = 0; max < 60; max++) expect(trimExcerpt(words(30, 1), max).length).toBeLessThanOrEqual(max);
    expect(trimExcerpt('abcdefghijklmnopqrstuvwxyz', 10)).toBe('abcdefghi…');
  });
});
