/**
 * Markdown → RecallDoc: optional YAML frontmatter (title, tags, claw_id), ATX headings, body.
 * Pure functions, no I/O.
 */
import { createRequire } from 'node:module';
import type { RecallDoc } from './types.js';

/**
 * The YAML library (~70 files) is required on first use: most notes' frontmatter takes the fast
 * path below, and a search answered from the persisted index parses no note at all (issue 15).
 * Spelled `require('yaml')` so scripts/openclaw-package.mjs still sees the dependency.
 */
const require = createRequire(import.meta.url);
let yamlLib: typeof import('yaml') | undefined;
function yaml(): typeof import('yaml') {
  return (yamlLib ??= require('yaml') as typeof import('yaml'));
}
const parseYaml = (src: string): unknown => yaml().parse(src);
const stringifyYaml = (value: unknown, options: { lineWidth: number }): string => yaml().stringify(value, options);

export interface ParsedNote extends RecallDoc {
  /** Parsed frontmatter mapping ({} when absent or invalid). */
  frontmatter: Record<string, unknown>;
  /** `claw_id` from the frontmatter: the stable id curate() gives each note. */
  id: string | undefined;
  /**
   * Set when a frontmatter block was present but not a valid YAML mapping: a list or scalar is
   * ignored; invalid YAML is read leniently (lenientFrontmatter) for title, tags and claw_id.
   */
  frontmatterError: string | undefined;
}

const FENCE_OPEN = /^---[ \t]*$/;
const FENCE_CLOSE = /^(?:---|\.\.\.)[ \t]*$/;

/**
 * Splits `---\n<yaml>\n---\n<body>`. The opening fence must be the very first line (a UTF-8 BOM is
 * ignored); the closing fence is `---` or `...` on its own line. Without both fences there is no
 * frontmatter and the whole text is the body.
 */
export function splitFrontmatter(text: string): { yaml: string | undefined; body: string } {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = src.split(/\r?\n/);
  if (lines.length < 2 || !FENCE_OPEN.test(lines[0] ?? '')) return { yaml: undefined, body: src };
  for (let i = 1; i < lines.length; i++) {
    if (FENCE_CLOSE.test(lines[i] ?? '')) {
      return { yaml: lines.slice(1, i).join('\n'), body: lines.slice(i + 1).join('\n') };
    }
  }
  return { yaml: undefined, body: src };
}

/** The line without trailing spaces and tabs (a loop, not a regexp: `[ \t]*$` backtracks). */
function trimEndBlank(line: string): string {
  let end = line.length;
  while (end > 0 && (line.charCodeAt(end - 1) === 0x20 || line.charCodeAt(end - 1) === 0x09)) end--;
  return line.slice(0, end);
}

// No regexp here may backtrack over a run of the line: a lazy `(.*?)` before `[ \t]*$` cost
// O(n²) (and O(n³) with a stray \r) on a line of spaces, ~90 s for one hostile note (issue 13).
const ATX_OPEN = /^ {0,3}(#{1,6})(?=[ \t]|$)/;

/** An ATX heading: level and text (closing `#`s removed), or undefined. Linear in the line. */
function atxHeading(line: string): { level: number; text: string } | undefined {
  const t = trimEndBlank(line);
  const m = ATX_OPEN.exec(t);
  if (!m) return undefined;
  let rest = t.slice(m[0].length);
  let end = rest.length; // optional closing sequence: ` ###`
  while (end > 0 && rest.charCodeAt(end - 1) === 0x23) end--;
  if (end === 0) rest = '';
  else if (end < rest.length && (rest[end - 1] === ' ' || rest[end - 1] === '\t')) rest = rest.slice(0, end);
  return { level: (m[1] ?? '#').length, text: rest.trim() };
}

const CODE_FENCE = /^ {0,3}(`{3,}|~{3,})/;

/** ATX headings (levels 1–6) outside fenced code blocks, in order. Setext headings are not read. */
export function extractHeadings(body: string): Array<{ level: number; text: string }> {
  const out: Array<{ level: number; text: string }> = [];
  let fence: string | undefined;
  for (const line of body.split(/\r?\n/)) {
    const f = CODE_FENCE.exec(line);
    if (f) {
      const marker = f[1] ?? '';
      if (fence === undefined) fence = marker;
      else if (marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    const h = atxHeading(line);
    if (h?.text) out.push(h);
  }
  return out;
}

// Matched against a line without trailing blanks and without line terminators: `(.*)` then always
// reaches the end, so nothing backtracks.
const SIMPLE_KEY = /^([A-Za-z_][\w-]*):(?:[ \t]+(.*))?$/;
const LINE_TERMINATOR = /[\r\u2028\u2029]/;
const SPECIAL =
  /^(?:true|false|yes|no|on|off|null|~|[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?|0x[\da-f]+|0o[0-7]+|[-+]?\.inf|\.nan)$/i;

function plainScalar(v: string): boolean {
  return v !== '' && !/^[-?:,[\]{}#&*!|>'"%@`]/.test(v) && !/: |\s#/.test(v) && !SPECIAL.test(v);
}

/**
 * The common frontmatter shape (`key: plain text` and `key: [plain, items]` lines) without a YAML
 * parser: parsing YAML costs ~0.3 ms per note, which dominates reading a 10,000-note tree. Anything
 * else (quotes, block lists, numbers, booleans, nulls, comments, multi-line values) returns undefined
 * and goes to the real YAML parser, so results are identical to it.
 */
export function fastFrontmatter(yaml: string): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const line of yaml.split('\n')) {
    if (line.trim() === '') continue;
    if (LINE_TERMINATOR.test(line)) return undefined;
    const m = SIMPLE_KEY.exec(trimEndBlank(line));
    if (!m) return undefined;
    const key = m[1] as string;
    const value = m[2] ?? '';
    if (key in out || value === '') return undefined;
    if (value.startsWith('[') && value.endsWith(']')) {
      const inner = value.slice(1, -1).trim();
      const items = inner === '' ? [] : inner.split(',').map((x) => x.trim());
      if (!items.every(plainScalar)) return undefined;
      out[key] = items;
    } else if (plainScalar(value)) {
      out[key] = value;
    } else {
      return undefined;
    }
  }
  return out;
}

// Matched against the line without trailing blanks; `[^]*` always reaches the end (no backtracking).
const LENIENT_KEY = /^(title|tags|claw_id):[ \t]+([^]*)$/;

/**
 * What a hand-edited frontmatter that is not valid YAML still says, read line by line: top-level
 * `title:`, `claw_id:` (the rest of the line, one pair of matching quotes removed: `title: Deploy:
 * blue/green` is the title "Deploy: blue/green", as ByteRover's own reader takes it) and `tags:`
 * (a closed `[a, b]` list or a comma-separated line). A value starting with YAML syntax that is not
 * closed on its line (`[`, `{`, `|`, `>`, `&`, `*`, `!`) is not guessed at.
 */
export function lenientFrontmatter(yaml: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const line of yaml.split('\n')) {
    const m = LENIENT_KEY.exec(trimEndBlank(line));
    if (!m) continue;
    const key = m[1] as string;
    let value = m[2] ?? '';
    if (key in out || value === '') continue;
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) {
      value = value.slice(1, -1);
    } else if (key === 'tags' && value.startsWith('[') && value.endsWith(']')) {
      out.tags = value.slice(1, -1).split(',');
      continue;
    } else if (/^[[{|>&*!]/.test(value)) {
      continue;
    }
    out[key] = value;
  }
  return out;
}

function asTags(v: unknown): string[] {
  if (Array.isArray(v))
    return v
      .filter((t) => typeof t === 'string' || typeof t === 'number')
      .map((t) => String(t).trim())
      .filter(Boolean);
  if (typeof v === 'string')
    return v
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
  return [];
}

function asText(v: unknown): string | undefined {
  if (typeof v === 'string' && v.trim()) return v.trim();
  if (typeof v === 'number') return String(v);
  return undefined;
}

/** The file name without folders and `.md`, used as the last-resort title. */
export function titleFromPath(path: string): string {
  const base = path.split('/').pop() ?? path;
  return base.replace(/\.md$/i, '');
}

/**
 * Only what a note's frontmatter says (claw_id, and whether it is invalid): what ContextTree needs
 * when it reads a note; the rest (title, tags, headings, body) is parsed by the recall engine and,
 * in TypeScript, by parseNote only when someone asks for it.
 */
export function noteHeader(text: string): { id: string | undefined; frontmatterError: string | undefined } {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (!/^---[ \t]*\r?\n/.test(src)) return { id: undefined, frontmatterError: undefined };
  const n = parseNote(src.slice(0, headerEnd(src)), '');
  return { id: n.id, frontmatterError: n.frontmatterError };
}

/** The offset just past a frontmatter's closing fence line (or the text's length). */
function headerEnd(src: string): number {
  let at = src.indexOf('\n') + 1;
  while (at > 0 && at < src.length) {
    const next = src.indexOf('\n', at);
    const line = src.slice(at, next === -1 ? src.length : next);
    if (FENCE_CLOSE.test(line.replace(/\r$/, ''))) return next === -1 ? src.length : next + 1;
    if (next === -1) break;
    at = next + 1;
  }
  return src.length;
}

export function parseNote(text: string, path = ''): ParsedNote {
  const { yaml, body } = splitFrontmatter(text);
  let frontmatter: Record<string, unknown> = {};
  let frontmatterError: string | undefined;
  if (yaml !== undefined && yaml.trim() !== '') {
    const fast = fastFrontmatter(yaml);
    if (fast) {
      frontmatter = fast;
    } else {
      try {
        const data: unknown = parseYaml(yaml);
        if (data && typeof data === 'object' && !Array.isArray(data)) frontmatter = data as Record<string, unknown>;
        else frontmatterError = `expected a YAML mapping, found ${Array.isArray(data) ? 'a list' : typeof data}`;
      } catch (e) {
        frontmatterError = e instanceof Error ? e.message.split('\n')[0] : String(e);
        // Hand-edited notes (an unquoted colon in a title is the common case): still read what the
        // lines say; the error stays as a warning.
        frontmatter = lenientFrontmatter(yaml);
      }
    }
  }
  const headings = extractHeadings(body);
  const h1 = headings.find((h) => h.level === 1) ?? headings[0];
  const title = asText(frontmatter.title) ?? h1?.text ?? titleFromPath(path);
  return {
    title,
    headings: headings.map((h) => h.text),
    body,
    tags: asTags(frontmatter.tags),
    frontmatter,
    id: asText(frontmatter.claw_id),
    frontmatterError,
  };
}

/** Renders a note file: frontmatter (title, tags, claw_id, created) then the body. */
export function renderNote(
  fields: { id: string; title: string; tags: string[]; created: string },
  content: string,
): string {
  const fm = stringifyYaml(
    { title: fields.title, tags: fields.tags, claw_id: fields.id, created: fields.created },
    { lineWidth: 0 },
  );
  const body = content.endsWith('\n') ? content : `${content}\n`;
  return `---\n${fm}---\n\n${body}`;
}
