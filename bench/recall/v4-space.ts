/**
 * A seeded ByteRover v4 space for the v4 rows of the recall benchmark (bench/recall-v4.ts).
 *
 * Each topic starts as a v3 note in the anchored-section layout `brv curate` 3.x writes
 * (frontmatter title/summary/tags/keywords/createdAt/updatedAt; `## Reason`; `## Raw Concept` with
 * **Task:**, **Changes:** items, **Files:** items, **Flow:**, **Author:**; `## Narrative` with
 * `### Structure`, `### Dependencies`, `### Highlights`, `### Examples`; `## Facts` items
 * `- **subject**: text [category]`), drawn from the recall benchmark's Zipf vocabulary
 * (bench/recall/generate.ts). `convertV3Note` then maps it to a `<bv-topic>` the way ByteRover's
 * migrator does (shared/reference/byterover-v4.md, "v3 → v4 migration"): frontmatter → topic
 * attributes plus type="topic"; Reason → bv-reason; Task/Changes/Files/Flow/Author → bv-task,
 * bv-changes (<li>), bv-files (<li>), bv-flow, bv-author; Structure/Dependencies/Highlights/Examples
 * → bv-structure, bv-dependencies, bv-highlights, bv-examples; each fact → <bv-fact subject
 * category>. Element ids are `bve-` + 8 of [a-z0-9], topic ids `tpc_` + 32 hex, as ByteRover stamps.
 *
 * `writeSpace` lays the space out as ByteRover does: `<data>/projects/<space_id>/context-tree/`
 * with the topics, `_manifest.json`, `index.html` (a <bv-index>), archived v3 notes under
 * `.brv/_migrations/`, and signal sidecars under `<data>/projects/<space_id>/state/signals/` for a
 * share of the topics.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { STOP_WORDS } from './minisearch-index.js';
import { rng, type Vocabulary } from './generate.js';

const CATEGORIES = ['personal', 'project', 'preference', 'convention', 'team', 'environment', 'other'];
const DOMAINS = ['auth', 'payments', 'infra', 'search', 'billing', 'mobile', 'data', 'ops', 'api', 'ui'];

interface Pick {
  word(): string;
  text(min: number, max: number): string;
  int(n: number): number;
}

function picker(v: Vocabulary, seed: number): Pick {
  const r = rng(seed);
  const rank = (lo: number, hi: number): number => {
    // Zipf over [lo, hi) by inverse transform on the harmonic weights (approximate, cheap).
    const u = r();
    return Math.min(hi - 1, lo + Math.floor(Math.exp(u * Math.log(hi - lo + 1))) - 1);
  };
  const word = (): string => {
    let w: string;
    do w = v.words[rank(20, Math.min(v.words.length, 20_000))]!;
    while (STOP_WORDS.has(w));
    return w;
  };
  const any = (): string => v.words[rank(0, v.words.length)]!;
  const text = (min: number, max: number): string => {
    const n = min + Math.floor(r() * (max - min + 1));
    return Array.from({ length: n }, any).join(' ');
  };
  return { word, text, int: (n) => Math.floor(r() * n) };
}

/** One v3 note in the anchored-section layout. */
export function generateV3Note(i: number, v: Vocabulary, seed: number): { path: string; text: string } {
  const p = picker(v, seed + i * 7919);
  const domain = DOMAINS[p.int(DOMAINS.length)]!;
  const slug = [p.word(), p.word(), String(i)].join('_');
  const title = [p.word(), p.word(), p.word()].join(' ');
  const day = String(1 + p.int(28)).padStart(2, '0');
  const lines = [
    '---',
    `title: ${title}`,
    `summary: ${p.text(8, 14)}`,
    `tags: [${domain}, ${p.word()}]`,
    `keywords: [${p.word()}, ${p.word()}, ${p.word()}]`,
    `createdAt: 2026-03-${day}T10:00:00.000Z`,
    `updatedAt: 2026-05-${day}T10:00:00.000Z`,
    '---',
    '',
    '## Reason',
    p.text(12, 24) + '.',
    '',
    '## Raw Concept',
    `**Task:** ${p.text(8, 16)}`,
    '**Changes:**',
    ...Array.from({ length: 2 + p.int(3) }, () => `- ${p.text(5, 10)}`),
    '**Files:**',
    ...Array.from({ length: 1 + p.int(3) }, () => `- src/${p.word()}/${p.word()}.ts`),
    `**Flow:** ${p.text(6, 12)} -> ${p.text(4, 8)}`,
    `**Author:** ${p.word()} team`,
    '',
    '## Narrative',
    '### Structure',
    p.text(20, 40) + '.',
    '### Dependencies',
    p.text(8, 16) + '.',
    '### Highlights',
    p.text(15, 30) + '.',
    '### Examples',
    p.text(10, 20) + '.',
    '',
    '## Facts',
    ...Array.from(
      { length: 1 + p.int(3) },
      () => `- **${p.word()}_${p.word()}**: ${p.text(6, 12)} [${CATEGORIES[p.int(CATEGORIES.length)]}]`,
    ),
    '',
  ];
  return { path: `${domain}/${slug}`, text: lines.join('\n') };
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function stampId(seed: number, n: number, alphabet: string): string {
  const r = rng(seed);
  return Array.from({ length: n }, () => alphabet[Math.floor(r() * alphabet.length)]).join('');
}

/** A v3 anchored note → a v4 topic (the migration mapping above). `path` is the topic path. */
export function convertV3Note(path: string, text: string, seed: number): string {
  const fm: Record<string, string> = {};
  const [, yaml = '', body = ''] = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text) ?? [];
  for (const line of yaml.split('\n')) {
    const m = /^(\w+):\s*(.*)$/.exec(line);
    if (m) fm[m[1]!] = m[2]!.replace(/^\[(.*)\]$/, '$1').replace(/,\s*/g, ',');
  }
  let eid = 0;
  const el = (tag: string, inner: string, attrs = ''): string =>
    `  <${tag} id="bve-${stampId(seed * 31 + eid++, 8, 'abcdefghijklmnopqrstuvwxyz0123456789')}"${attrs}>${inner}</${tag}>`;
  const out: string[] = [];
  const list = (items: string[]): string => `<ul>${items.map((i) => `<li>${esc(i)}</li>`).join('')}</ul>`;
  let section = '';
  let sub = '';
  let pendingList: { tag: string; items: string[] } | undefined;
  const flush = (): void => {
    if (pendingList) out.push(el(pendingList.tag, list(pendingList.items)));
    pendingList = undefined;
  };
  const narrative: Record<string, string> = {
    Structure: 'bv-structure',
    Dependencies: 'bv-dependencies',
    Highlights: 'bv-highlights',
    Examples: 'bv-examples',
  };
  for (const line of body.split('\n')) {
    if (line.startsWith('## ')) {
      flush();
      section = line.slice(3).trim();
      sub = '';
      continue;
    }
    if (line.startsWith('### ')) {
      flush();
      sub = line.slice(4).trim();
      continue;
    }
    if (line.trim() === '') continue;
    if (section === 'Reason') out.push(el('bv-reason', `<p>${esc(line)}</p>`));
    else if (section === 'Raw Concept') {
      const m = /^\*\*(\w+):\*\*\s*(.*)$/.exec(line);
      if (m) {
        flush();
        const [, key, rest = ''] = m;
        if (key === 'Changes' || key === 'Files') pendingList = { tag: `bv-${key.toLowerCase()}`, items: [] };
        else if (key === 'Task') out.push(el('bv-task', esc(rest)));
        else if (key === 'Flow') out.push(el('bv-flow', esc(rest)));
        else if (key === 'Author') out.push(el('bv-author', esc(rest)));
      } else if (line.startsWith('- ') && pendingList) pendingList.items.push(line.slice(2));
    } else if (section === 'Narrative' && narrative[sub]) out.push(el(narrative[sub]!, `<p>${esc(line)}</p>`));
    else if (section === 'Facts') {
      const m = /^- \*\*([^*]+)\*\*:\s*(.*?)\s*\[(\w+)\]$/.exec(line);
      if (m) out.push(el('bv-fact', esc(m[2]!), ` subject="${esc(m[1]!)}" category="${m[3]}"`));
    }
  }
  flush();
  const attrs = [
    `path="${esc(path)}"`,
    `title="${esc(fm.title ?? path)}"`,
    fm.summary ? `summary="${esc(fm.summary)}"` : '',
    fm.keywords ? `keywords="${esc(fm.keywords)}"` : '',
    fm.tags ? `tags="${esc(fm.tags)}"` : '',
    'type="topic"',
    fm.createdAt ? `createdat="${fm.createdAt}"` : '',
    fm.updatedAt ? `updatedat="${fm.updatedAt}"` : '',
    `id="tpc_${stampId(seed, 32, '0123456789abcdef')}"`,
  ].filter(Boolean);
  return `<bv-topic ${attrs.join(' ')}>\n${out.join('\n')}\n</bv-topic>`;
}

export interface Space {
  dataDir: string;
  spaceId: string;
  tree: string;
  topics: number;
  bytes: number;
  sidecars: number;
}

/** Writes a space of `count` converted topics (and the non-topic files ByteRover keeps beside). */
export async function writeSpace(
  dataDir: string,
  count: number,
  v: Vocabulary,
  seed: number,
  signalShare = 0.3,
): Promise<Space> {
  const spaceId = '3f2b8c1e-9d4a-4e6b-8a7c-1b2d3e4f5a6b';
  const tree = join(dataDir, 'projects', spaceId, 'context-tree');
  const signals = join(dataDir, 'projects', spaceId, 'state', 'signals');
  const r = rng(seed ^ 0x5eed);
  let bytes = 0;
  let sidecars = 0;
  const index: string[] = [];
  const made = new Set<string>();
  const mk = async (d: string): Promise<void> => {
    if (!made.has(d)) {
      await mkdir(d, { recursive: true });
      made.add(d);
    }
  };
  for (let i = 0; i < count; i++) {
    const note = generateV3Note(i, v, seed);
    const html = convertV3Note(note.path, note.text, seed + i);
    const file = join(tree, `${note.path}.html`);
    await mk(dirname(file));
    await writeFile(file, html);
    bytes += Buffer.byteLength(html);
    index.push(`<li><a href="${note.path}.html">${note.path}</a></li>`);
    if (i % 100 === 0) {
      // The archived v3 original, as the migrator leaves it (not a topic).
      const archived = join(tree, '.brv', '_migrations', `${note.path}.md`);
      await mk(dirname(archived));
      await writeFile(archived, note.text);
    }
    if (r() < signalShare) {
      const sidecar = join(signals, `${note.path}.html.json`);
      await mk(dirname(sidecar));
      const maturity = ['draft', 'validated', 'core'][Math.floor(r() * 3)];
      await writeFile(
        sidecar,
        JSON.stringify({
          accessCount: Math.floor(r() * 20),
          importance: Math.round(r() * 100),
          maturity,
          recency: Number(r().toFixed(3)),
          updateCount: Math.floor(r() * 5),
        }),
      );
      sidecars++;
    }
  }
  await writeFile(join(tree, '_manifest.json'), JSON.stringify({ version: 1, lanes: [] }));
  await writeFile(join(tree, 'index.html'), `<bv-index>\n${index.join('\n')}\n</bv-index>`);
  return { dataDir, spaceId, tree, topics: count, bytes, sidecars };
}
