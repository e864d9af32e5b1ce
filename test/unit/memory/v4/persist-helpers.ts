/**
 * Seeded v4 spaces for the cold-start tests (space-walk, space-persist and its child): topics with
 * element ids over a small vocabulary (so queries hit many topics and rank them), signal sidecars
 * for some, a fixed clock, and one function turning answers into comparable lines (path, element,
 * score, confidence, compound).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { rng } from '../../../../bench/recall/generate.js';
import type { SpaceMemory } from '../../../../lib/memory/v4/memory.js';

/** Deterministic PRNG (mulberry32): bench/recall's, as the other seeded tests use. */
export { rng };

export const NOW = new Date('2026-12-01T00:00:00.000Z');
export const QUERIES = [
  'cache invalidation',
  'deploy rollback',
  'token refresh retry',
  'database migration',
  'zebra quokka',
  'backoff',
];
const WORDS = [
  'cache',
  'invalidation',
  'deploy',
  'rollback',
  'token',
  'refresh',
  'retry',
  'backoff',
  'database',
  'migration',
  'queue',
  'latency',
  'schema',
  'index',
  'shard',
  'replica',
];

const id8 = (r: () => number): string =>
  Array.from({ length: 8 }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(r() * 36)]).join('');
const words = (r: () => number, n: number): string =>
  Array.from({ length: n }, () => WORDS[Math.floor(r() * WORDS.length)]).join(' ');

/** A `<bv-topic>` at `path` (no `.html`) with a fact, a rule and highlights, drawn from `r`. */
export function topicHtml(path: string, r: () => number, extra = ''): string {
  const day = 1 + Math.floor(r() * 28);
  return (
    `<bv-topic path="${path}" title="Topic ${path.replace(/\//g, ' ')}" summary="${words(r, 4)}" ` +
    `keywords="${words(r, 2).replace(' ', ',')}" updatedat="2026-11-${String(day).padStart(2, '0')}T00:00:00.000Z">` +
    `<bv-fact subject="${words(r, 1)}" category="project" id="bve-${id8(r)}"><p>${words(r, 6)}</p></bv-fact>` +
    `<bv-rule severity="must" id="bve-${id8(r)}">${words(r, 5)} ${extra}</bv-rule>` +
    `<bv-highlights id="bve-${id8(r)}"><ul><li>${words(r, 3)}</li><li>${words(r, 3)}</li></ul></bv-highlights>` +
    `</bv-topic>`
  );
}

export function signalsJson(r: () => number): string {
  const maturity = (['draft', 'validated', 'core'] as const)[Math.floor(r() * 3)];
  const s = { accessCount: 0, importance: Math.round(r() * 100), maturity, recency: 1, updateCount: 1 };
  return `${JSON.stringify(s, null, '\t')}\n`;
}

export interface Space {
  treeRoot: string;
  signalsDir: string;
  spaceId: string;
}

/** `<dir>/context-tree` with `n` topics in folders, sidecars for every third, plus ByteRover's non-topic files. */
export async function makeSpace(dir: string, n: number, seed: number, spaceId: string): Promise<Space> {
  const r = rng(seed);
  const treeRoot = join(dir, 'context-tree');
  const signalsDir = join(dir, 'state', 'signals');
  await mkdir(treeRoot, { recursive: true });
  for (let i = 0; i < n; i++) {
    const rel = `d${i % 4}/t${i}`;
    await put(join(treeRoot, `${rel}.html`), topicHtml(rel, r));
    if (i % 3 === 0) await put(join(signalsDir, `${rel}.html.json`), signalsJson(r));
  }
  await put(join(treeRoot, 'index.html'), '<bv-index project="x"></bv-index>');
  await put(join(treeRoot, 'd0', 'index.html'), '<bv-index project="x"></bv-index>');
  await put(join(treeRoot, 'd1', 't1.overview.html'), topicHtml('d1/t1', r, 'derived zebra'));
  await put(join(treeRoot, '_manifest.json'), '{"version":1}');
  await put(join(treeRoot, '.brv', '_migrations', 'old.html'), topicHtml('old', r, 'zebra archived'));
  return { treeRoot, signalsDir, spaceId };
}

export async function put(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
}

/** Answers as comparable lines: path, element, score, confidence, compound. */
export async function answersOf(mem: SpaceMemory, queries = QUERIES): Promise<string[][]> {
  const out: string[][] = [];
  for (const q of queries)
    out.push(
      (await mem.search(q, { k: 10 })).map(
        (h) =>
          `${h.path} ${h.elementType ?? '-'}#${h.elementId ?? '-'} ${h.score.toFixed(9)} ${h.confidence} ${h.compound.toFixed(9)} ${h.title}`,
      ),
    );
  return out;
}
