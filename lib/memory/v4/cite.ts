/**
 * Confidence and citations for v4 hits, in the spirit of ByteRover's `query` answer
 * (`{hits:[{…, confidence, topElementId, topElementType}], citation_block, should_cite}`).
 *
 * Confidence. ByteRover scores a hit as (0.6·bm25n + 0.2·importance/100 + 0.2·recency) × tier boost
 * (core 1.15, validated 1.0, draft 0.85) and calls ≥ 0.6 high, ≥ 0.4 medium, else low. We use the
 * same formula and cut-offs, with bm25n = (score / best score of the answer) × coverage, where
 * coverage is the share of the query's distinct terms found in the topic: a top hit that matched one
 * word of five is not "high" just because it ranked first. Signals are the topic's sidecar (decayed
 * by the days since its last update), ByteRover's defaults when it has none.
 *
 * Citation block. `📚 From ByteRover:` then one line per cited hit — `- <title> (<element kind>) —
 * <file>#<element id>` — and its snippet quoted on the next line; only hits at or above the cut
 * (default medium) are cited, so weak hits are never presented as sources.
 */
import type { RuntimeSignals } from './signals.js';

export type Confidence = 'high' | 'medium' | 'low';

export const TIER_BOOST = { core: 1.15, validated: 1, draft: 0.85 } as const;

export function compoundScore(bm25n: number, s: Pick<RuntimeSignals, 'importance' | 'recency' | 'maturity'>): number {
  return (0.6 * bm25n + 0.2 * (Math.min(s.importance, 100) / 100) + 0.2 * s.recency) * TIER_BOOST[s.maturity];
}

export function confidenceOf(compound: number): Confidence {
  return compound >= 0.6 ? 'high' : compound >= 0.4 ? 'medium' : 'low';
}

const RANK: Record<Confidence, number> = { low: 0, medium: 1, high: 2 };
export function atLeast(c: Confidence, min: Confidence): boolean {
  return RANK[c] >= RANK[min];
}

/** Lowercase word terms of a query (letters/digits, ≥ 2 chars), distinct. */
export function queryTerms(q: string): string[] {
  return [...new Set(q.toLowerCase().match(/[\p{L}\p{N}]{2,}/gu) ?? [])];
}

/** The distinct lowercase words of a text (letters/digits, ≥ 2 chars). */
export function wordSet(text: string): Set<string> {
  return new Set(text.toLowerCase().match(/[\p{L}\p{N}]{2,}/gu) ?? []);
}

/**
 * Share of `terms` present in `text` (or its `wordSet`): a term counts when the text has it, or its
 * singular/plural (`token`/`tokens`, `policy`/`policies`). 1 for no terms. O(terms), no scan.
 */
export function coverage(terms: readonly string[], text: string | Set<string>): number {
  if (terms.length === 0) return 1;
  const words = typeof text === 'string' ? wordSet(text) : text;
  let hit = 0;
  for (const t of terms) {
    if (
      words.has(t) ||
      words.has(`${t}s`) ||
      words.has(`${t}es`) ||
      (t.length > 3 && t.endsWith('s') && words.has(t.slice(0, -1))) ||
      (t.length > 4 && t.endsWith('es') && words.has(t.slice(0, -2))) ||
      (t.length > 4 && t.endsWith('ies') && words.has(`${t.slice(0, -3)}y`)) ||
      (t.length > 2 && t.endsWith('y') && words.has(`${t.slice(0, -1)}ies`))
    )
      hit++;
  }
  return hit / terms.length;
}

export interface CitableHit {
  title: string;
  path: string;
  excerpt: string;
  elementId?: string | undefined;
  elementType?: string | undefined;
  confidence?: Confidence | undefined;
}

/** `bv-decision` → `decision`; the topic itself → `topic`. */
export function elementKind(type: string | undefined): string {
  return !type || type === 'bv-topic' ? 'topic' : type.replace(/^bv-/, '');
}

/** The `📚 From ByteRover:` block for the hits at or above `min` ('' when none qualifies). */
export function citationBlock(
  hits: readonly CitableHit[],
  o: { min?: Confidence; maxSnippetChars?: number } = {},
): { text: string; cited: number } {
  const min = o.min ?? 'medium';
  const max = o.maxSnippetChars ?? 160;
  const lines: string[] = [];
  let cited = 0;
  for (const h of hits) {
    if (h.confidence !== undefined && !atLeast(h.confidence, min)) continue;
    cited++;
    const where = h.elementId ? `${h.path}#${h.elementId}` : h.path;
    lines.push(`- ${h.title} (${elementKind(h.elementType)}) — ${where}`);
    const snip = h.excerpt.replace(/\s+/g, ' ').trim();
    if (snip) lines.push(`  > ${snip.length > max ? `${snip.slice(0, max - 1).trimEnd()}…` : snip}`);
  }
  return cited === 0 ? { text: '', cited } : { text: `📚 From ByteRover:\n${lines.join('\n')}`, cited };
}
