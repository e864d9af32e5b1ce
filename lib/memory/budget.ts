/**
 * Token budgets for recall.
 *
 * Estimate: `estimateTokens(s) = ceil(s.length / 4)` (UTF-16 code units / 4, the usual rule of thumb
 * for English prose with BPE tokenizers; it over-counts CJK/emoji-heavy text's characters, never
 * under-counts its length). A budget of B tokens is therefore a budget of 4·B characters for the whole
 * rendered block, so `estimateTokens(result.text) <= B` holds exactly, not approximately.
 *
 * Hits are taken best-first. A hit that does not fit whole has its excerpt trimmed (at a word boundary,
 * with `…`) to what is left, if at least `minExcerptChars` remain for it; otherwise it and every lower
 * hit are dropped. Order is never changed.
 */
import type { RecallHit, RecallResult } from './types.js';

export const CHARS_PER_TOKEN = 4;

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

export interface BudgetOptions {
  /** Tokens the rendered text may use (undefined: no limit). */
  tokenBudget?: number;
  /** Cap of one excerpt before budgeting (default 800 chars). */
  maxExcerptChars?: number;
  /** A trimmed excerpt shorter than this is not worth showing (default 40 chars). */
  minExcerptChars?: number;
}

/** How one hit is rendered in the prompt block. */
export function renderHit(hit: Pick<RecallHit, 'title' | 'path' | 'excerpt'>): string {
  return `### ${hit.title}\n(${hit.path})\n${hit.excerpt}\n`;
}

const SEPARATOR = '\n';

/** Cuts `text` to at most `max` chars, preferring a word boundary, ending with `…` when cut. */
export function trimExcerpt(text: string, max: number): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  if (clean.length <= max) return clean;
  if (max <= 1) return max === 1 ? '…' : '';
  const cut = clean.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  const body = space >= Math.floor((max - 1) * 0.6) ? cut.slice(0, space) : cut;
  return `${body.trimEnd()}…`;
}

export function fitToBudget(hits: readonly RecallHit[], opts: BudgetOptions = {}): RecallResult {
  const maxExcerpt = opts.maxExcerptChars ?? 800;
  const minExcerpt = opts.minExcerptChars ?? 40;
  const limit = opts.tokenBudget === undefined ? Infinity : Math.max(0, Math.floor(opts.tokenBudget)) * CHARS_PER_TOKEN;
  const out: RecallHit[] = [];
  let text = '';
  for (const hit of hits) {
    const excerpt = trimExcerpt(hit.excerpt, maxExcerpt);
    const sep = out.length === 0 ? '' : SEPARATOR;
    const full = sep + renderHit({ ...hit, excerpt });
    if (text.length + full.length <= limit) {
      out.push({ ...hit, excerpt });
      text += full;
      continue;
    }
    // Does a shortened excerpt fit?
    const frame = sep + renderHit({ ...hit, excerpt: '' });
    const room = limit - text.length - frame.length;
    if (room >= minExcerpt) {
      const short = trimExcerpt(excerpt, room);
      out.push({ ...hit, excerpt: short });
      text += sep + renderHit({ ...hit, excerpt: short });
    }
    break;
  }
  const trimmed = out.filter((h, i) => h.excerpt !== hits[i]?.excerpt.replace(/\s+/g, ' ').trim()).length;
  return { hits: out, text, tokens: estimateTokens(text), dropped: hits.length - out.length, trimmed };
}
