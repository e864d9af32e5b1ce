/**
 * Seeded synthetic context trees for the recall benchmark.
 *
 * Vocabulary: the words of the fixture context tree (test/fixtures/context-tree, real software-
 * engineering prose), ranked by their frequency there, followed by a long tail of pronounceable
 * pseudo-words and code identifiers (the rare terms real notes are full of). Words are drawn from a
 * Zipf distribution over that ranking (exponent 1.0), so a few function words are very common and
 * most terms are rare, as in natural text.
 *
 * Each note: frontmatter (title, tags), an H1, 200–800 words of sentences grouped in paragraphs with
 * `##` section headings, in one of 40 topic folders. Queries: 1–3 content words drawn from the same
 * distribution restricted to mid-frequency ranks (what a user asks about), fixed by the seed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STOP_WORDS } from './minisearch-index.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'context-tree');

/** mulberry32: a small, fast, seedable PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fixtureWords(): string[] {
  const counts = new Map<string, number>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.md')) {
        for (const w of readFileSync(p, 'utf8')
          .toLowerCase()
          .match(/[a-z][a-z0-9]+/g) ?? [])
          counts.set(w, (counts.get(w) ?? 0) + 1);
      }
    }
  };
  walk(FIXTURE);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([w]) => w);
}

const ONSETS = [
  'b',
  'c',
  'd',
  'f',
  'g',
  'k',
  'l',
  'm',
  'n',
  'p',
  'r',
  's',
  't',
  'v',
  'z',
  'br',
  'cl',
  'dr',
  'gr',
  'pl',
  'st',
  'tr',
  'sh',
  'ch',
  'qu',
];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'io', 'ou'];
const CODAS = ['', '', 'n', 'r', 's', 't', 'x', 'l', 'm', 'nd', 'st', 'ck'];
const SUFFIXES = ['Service', 'Store', 'Client', 'Handler', 'Queue', 'Cache', 'Index', 'Worker', 'Config', 'Router'];

export interface Vocabulary {
  words: string[];
  /** Cumulative Zipf weights, for sampling a rank. */
  cdf: Float64Array;
}

export function vocabulary(seed: number, tail = 40_000): Vocabulary {
  const r = rng(seed ^ 0x5eed);
  const seen = new Set<string>();
  const words: string[] = [];
  for (const w of fixtureWords()) {
    if (!seen.has(w)) {
      seen.add(w);
      words.push(w);
    }
  }
  const total = words.length + tail;
  while (words.length < total) {
    const syl = 2 + Math.floor(r() * 2);
    let w = '';
    for (let i = 0; i < syl; i++)
      w +=
        ONSETS[Math.floor(r() * ONSETS.length)]! +
        VOWELS[Math.floor(r() * VOWELS.length)]! +
        CODAS[Math.floor(r() * CODAS.length)]!;
    if (r() < 0.08) w += SUFFIXES[Math.floor(r() * SUFFIXES.length)]!;
    if (!seen.has(w)) {
      seen.add(w);
      words.push(w);
    }
  }
  const cdf = new Float64Array(words.length);
  let sum = 0;
  for (let i = 0; i < words.length; i++) cdf[i] = sum += 1 / (i + 1);
  for (let i = 0; i < words.length; i++) cdf[i]! /= sum;
  return { words, cdf };
}

function sampleRank(v: Vocabulary, r: () => number, lo = 0, hi = v.words.length): number {
  const a = lo === 0 ? 0 : v.cdf[lo - 1]!;
  const b = v.cdf[hi - 1]!;
  const x = a + r() * (b - a);
  let l = lo;
  let h = hi - 1;
  while (l < h) {
    const m = (l + h) >> 1;
    if (v.cdf[m]! < x) l = m + 1;
    else h = m;
  }
  return l;
}

const TOPICS = [
  'auth',
  'database',
  'caching',
  'messaging',
  'http',
  'testing',
  'deploy',
  'observability',
  'frontend',
  'security',
  'architecture',
  'performance',
  'api',
  'tooling',
  'infra',
  'search',
  'native',
  'typescript',
  'realtime',
  'mobile',
  'billing',
  'analytics',
  'storage',
  'networking',
  'ml',
  'data-pipeline',
  'onboarding',
  'incidents',
  'compliance',
  'docs',
  'payments',
  'notifications',
  'scheduler',
  'gateway',
  'cli',
  'sdk',
  'plugins',
  'config',
  'migrations',
  'decisions',
];

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

export interface GeneratedDoc {
  path: string;
  text: string;
}

export function generateDocs(count: number, seed: number, v: Vocabulary): GeneratedDoc[] {
  const r = rng(seed);
  const content = (): string => {
    let w: string;
    do w = v.words[sampleRank(v, r, 20, Math.min(v.words.length, 20_000))]!;
    while (STOP_WORDS.has(w));
    return w;
  };
  const docs: GeneratedDoc[] = [];
  for (let i = 0; i < count; i++) {
    const topic = TOPICS[Math.floor(r() * TOPICS.length)]!;
    const titleWords = Array.from({ length: 3 + Math.floor(r() * 4) }, content);
    const title = cap(titleWords.join(' '));
    const tags = [topic, content(), content()];
    const target = 200 + Math.floor(r() * 601);
    const lines: string[] = ['---', `title: ${title}`, `tags: [${tags.join(', ')}]`, '---', '', `# ${title}`, ''];
    let n = 0;
    let para = 0;
    while (n < target) {
      if (para % 2 === 0) {
        const h = Array.from({ length: 2 + Math.floor(r() * 3) }, content);
        lines.push(`## ${cap(h.join(' '))}`, '');
        n += h.length;
      }
      const sentences: string[] = [];
      for (let s = 0, k = 3 + Math.floor(r() * 4); s < k && n < target; s++) {
        const len = Math.min(8 + Math.floor(r() * 13), target - n);
        const ws = Array.from({ length: Math.max(1, len) }, () => v.words[sampleRank(v, r)]!);
        n += ws.length;
        sentences.push(`${cap(ws.join(' '))}.`);
      }
      lines.push(sentences.join(' '), '');
      para++;
    }
    docs.push({ path: `${topic}/${titleWords.slice(0, 3).join('-')}-${i}.md`, text: lines.join('\n') });
  }
  return docs;
}

/** `count` queries of 1–3 content words from mid-frequency ranks. */
export function generateQueries(count: number, seed: number, v: Vocabulary): string[] {
  const r = rng(seed ^ 0xc0ffee);
  const out: string[] = [];
  while (out.length < count) {
    const len = 1 + Math.floor(r() * 3);
    const ws: string[] = [];
    while (ws.length < len) {
      const w = v.words[sampleRank(v, r, 30, Math.min(v.words.length, 8000))]!;
      if (!STOP_WORDS.has(w) && !ws.includes(w)) ws.push(w);
    }
    out.push(ws.join(' '));
  }
  return out;
}

/** Writes the docs under `<projectRoot>/.brv/context-tree/`. */
export async function writeTree(projectRoot: string, docs: GeneratedDoc[]): Promise<number> {
  const root = join(projectRoot, '.brv', 'context-tree');
  const dirs = new Set(docs.map((d) => dirname(join(root, d.path))));
  for (const d of dirs) await mkdir(d, { recursive: true });
  let bytes = 0;
  for (const d of docs) {
    await writeFile(join(root, d.path), d.text);
    bytes += Buffer.byteLength(d.text);
  }
  return bytes;
}
