/**
 * brv-bench's retrieval metrics (campfirein/brv-bench, brv_bench/metrics/*.py), binary relevance:
 *   P@k    = hits in the top k / max(min(k, results returned), 1)
 *   R@k    = hits in the top k / |expected|            (1 when nothing is expected)
 *   nDCG@k = Σ_{i<k} rel_i / log2(i + 2)  /  Σ_{i<min(|expected|, k)} 1 / log2(i + 2)
 *   MRR    = 1 / rank of the first relevant result among those returned (0 when none)
 * Each query returns at most `LIMIT` (10) results, as brv-bench runs them.
 */
export const LIMIT = 10;

export interface Scores {
  p5: number;
  p10: number;
  r5: number;
  r10: number;
  ndcg5: number;
  ndcg10: number;
  mrr: number;
}

export const METRIC_NAMES: Array<[keyof Scores, string]> = [
  ['p5', 'P@5'],
  ['p10', 'P@10'],
  ['r5', 'R@5'],
  ['r10', 'R@10'],
  ['ndcg5', 'nDCG@5'],
  ['ndcg10', 'nDCG@10'],
  ['mrr', 'MRR'],
];

function precision(results: string[], relevant: Set<string>, k: number): number {
  const top = results.slice(0, k);
  const hits = top.filter((r) => relevant.has(r)).length;
  return hits / Math.max(Math.min(k, top.length), 1);
}

function recall(results: string[], relevant: Set<string>, k: number): number {
  if (relevant.size === 0) return 1;
  return results.slice(0, k).filter((r) => relevant.has(r)).length / relevant.size;
}

function ndcg(results: string[], relevant: Set<string>, k: number): number {
  let dcg = 0;
  results.slice(0, k).forEach((r, i) => {
    if (relevant.has(r)) dcg += 1 / Math.log2(i + 2);
  });
  let idcg = 0;
  for (let i = 0; i < Math.min(relevant.size, k); i++) idcg += 1 / Math.log2(i + 2);
  return idcg > 0 ? dcg / idcg : 0;
}

function reciprocalRank(results: string[], relevant: Set<string>): number {
  const i = results.findIndex((r) => relevant.has(r));
  return i < 0 ? 0 : 1 / (i + 1);
}

/** The scores of one query: `results` are doc ids, best first (at most LIMIT). */
export function scoreQuery(results: string[], expected: string[]): Scores {
  const rel = new Set(expected);
  return {
    p5: precision(results, rel, 5),
    p10: precision(results, rel, 10),
    r5: recall(results, rel, 5),
    r10: recall(results, rel, 10),
    ndcg5: ndcg(results, rel, 5),
    ndcg10: ndcg(results, rel, 10),
    mrr: reciprocalRank(results, rel),
  };
}

export function mean(all: Scores[]): Scores {
  const out: Scores = { p5: 0, p10: 0, r5: 0, r10: 0, ndcg5: 0, ndcg10: 0, mrr: 0 };
  if (all.length === 0) return out;
  for (const s of all) for (const [k] of METRIC_NAMES) out[k] += s[k];
  for (const [k] of METRIC_NAMES) out[k] /= all.length;
  return out;
}
