/**
 * Validation of a topic against ByteRover's vocabulary (skill 4.x `vocabulary.md`), before it is
 * recorded. Input: the raw HTML and its parsed tree (html.ts `ParsedTopic`, the native parser's
 * shape), plus the topic path the caller asked for. Output: EVERY violation at once, each with a
 * stable code, what was expected and found, and the next step.
 *
 * Codes (docs/readme/v4.md lists them): BV_NOT_HTML_ONLY, BV_CODE_FENCE, BV_DOCUMENT_WRAPPER,
 * BV_ROOT_MISSING, BV_ROOT_MULTIPLE, BV_ROOT_NOT_SOLE, BV_MALFORMED_HTML, BV_REQUIRED_ATTRIBUTE,
 * BV_PATH_MISMATCH, BV_PATH_NOT_SNAKE_CASE, BV_PATH_RESERVED, BV_PATH_ESCAPE, BV_SYSTEM_ATTRIBUTE,
 * BV_UNKNOWN_ELEMENT, BV_ELEMENT_NOT_ALLOWED, BV_NESTED_ELEMENT, BV_ATTRIBUTE_NOT_ALLOWED,
 * BV_ATTRIBUTE_CASE, BV_ATTRIBUTE_QUOTING, BV_ATTRIBUTE_VALUE, BV_FACT_CATEGORY, BV_DISCLOSURE,
 * BV_RELATED_FORMAT.
 *
 * `disclosure` is fail-closed: ByteRover treats an absent or misspelled `disclosure` as restricted
 * (only `public` survives a redacted share), so a value other than `public`/`restricted` is refused
 * rather than silently becoming restricted.
 */
import type { HtmlAttr, ParsedTopic } from './html.js';
import { ELEMENT_NAMES } from './html.js';

export interface Violation {
  code: string;
  message: string;
  hint: string;
  /** Byte offset in the HTML, when the violation has a place. */
  offset?: number;
  /** The element concerned (`bv-fact`, `p`, …). */
  element?: string;
}

const ENUMS = {
  ruleSeverity: ['must', 'should', 'info'],
  bugSeverity: ['low', 'medium', 'high', 'critical'],
  diagramType: ['mermaid', 'plantuml', 'ascii', 'dot', 'graphviz', 'other'],
  factCategory: ['personal', 'project', 'preference', 'convention', 'team', 'environment', 'other'],
  disclosure: ['public', 'restricted'],
  visibility: ['public', 'restricted'],
  topicType: ['topic', 'summary', 'context'],
} as const;

/** Attributes each element may carry (`*` = required). `id` is the element id ByteRover stamps. */
export const ELEMENT_ATTRIBUTES: Record<string, Record<string, { required?: true; values?: readonly string[] }>> = {
  'bv-topic': {
    path: { required: true },
    title: { required: true },
    summary: {},
    keywords: {},
    tags: {},
    related: {},
    visibility: { values: ENUMS.visibility },
    type: { values: ENUMS.topicType },
  },
  'bv-reason': {},
  'bv-task': { id: {} },
  'bv-changes': { id: {} },
  'bv-files': {},
  'bv-flow': { id: {} },
  'bv-timestamp': {},
  'bv-author': {},
  'bv-pattern': { id: {}, description: {}, flags: {} },
  'bv-structure': { id: {} },
  'bv-dependencies': {},
  'bv-highlights': { id: {} },
  'bv-rule': { id: {}, severity: { values: ENUMS.ruleSeverity } },
  'bv-examples': { id: {} },
  'bv-diagram': { id: {}, title: {}, type: { values: ENUMS.diagramType } },
  'bv-fact': {
    id: {},
    subject: { required: true },
    category: { required: true, values: ENUMS.factCategory },
    value: {},
    disclosure: { values: ENUMS.disclosure },
  },
  'bv-decision': { id: {} },
  'bv-bug': { id: {}, severity: { values: ENUMS.bugSeverity } },
  'bv-fix': { id: {} },
};

/** Root attributes the writer stamps or tracks in the signal sidecar: authors never set them. */
export const SYSTEM_ATTRIBUTES = [
  'id',
  'createdat',
  'updatedat',
  'importance',
  'maturity',
  'recency',
  'createdby',
  'updatedby',
  'sig',
  'kid',
];

/**
 * Markup allowed inside elements: ByteRover's safe-HTML list (the elements its redaction keeps),
 * with the attributes each may carry. Anything else (script, style, iframe, form, html, body, …) is
 * refused.
 */
export const MARKUP: Record<string, readonly string[]> = Object.fromEntries(
  (
    [
      ['h1'],
      ['h2'],
      ['h3'],
      ['h4'],
      ['h5'],
      ['h6'],
      ['p'],
      ['blockquote'],
      ['pre', 'class'],
      ['hr'],
      ['div'],
      ['section'],
      ['article'],
      ['aside'],
      ['header'],
      ['footer'],
      ['main'],
      ['figure'],
      ['figcaption'],
      ['details'],
      ['summary'],
      ['ul'],
      ['ol', 'start'],
      ['li'],
      ['dl'],
      ['dt'],
      ['dd'],
      ['table'],
      ['caption'],
      ['colgroup'],
      ['col', 'span'],
      ['thead'],
      ['tbody'],
      ['tfoot'],
      ['tr'],
      ['td', 'colspan', 'rowspan'],
      ['th', 'colspan', 'rowspan', 'scope'],
      ['span'],
      ['a', 'href', 'title'],
      ['em'],
      ['strong'],
      ['b'],
      ['i'],
      ['u'],
      ['s'],
      ['del'],
      ['ins'],
      ['mark'],
      ['small'],
      ['sub'],
      ['sup'],
      ['code', 'class'],
      ['kbd'],
      ['samp'],
      ['var'],
      ['abbr', 'title'],
      ['cite'],
      ['q'],
      ['time', 'datetime'],
      ['dfn'],
      ['br'],
      ['wbr'],
      ['img', 'src', 'alt', 'title'],
    ] as string[][]
  ).map(([tag, ...attrs]) => [tag!, attrs]),
);

const SEGMENT = /^[a-z0-9]+(?:_[a-z0-9]+)*$/;
const RESERVED_PATHS = new Set(['index']);
const ELEMENTS = new Set<string>(ELEMENT_NAMES);

/** `a/b.html` or `/a/b` → `a/b`, the form the `path` attribute and the sidecar keys use. */
export function canonicalTopicPath(p: string): string {
  return p
    .replace(/\.html$/i, '')
    .split('/')
    .filter((s) => s !== '')
    .join('/');
}

/** Shape checks of a topic path (no I/O); empty when fine. */
export function checkTopicPath(path: string, what = 'the topic path'): Violation[] {
  const v: Violation[] = [];
  if (typeof path !== 'string' || path.trim() === '') {
    v.push({
      code: 'BV_PATH_ESCAPE',
      message: `expected ${what} to be non-empty, found ${JSON.stringify(path)}`,
      hint: 'Give a path like `domain/topic` (snake_case segments).',
    });
    return v;
  }
  const bad = path.includes('\0')
    ? 'a NUL byte'
    : path.includes('\\')
      ? 'a backslash'
      : path.startsWith('/') || /^[A-Za-z]:/.test(path)
        ? 'an absolute path'
        : path.split('/').some((s) => s === '..' || s === '.')
          ? 'a `.` or `..` segment'
          : undefined;
  if (bad) {
    v.push({
      code: 'BV_PATH_ESCAPE',
      message: `expected ${what} inside the space's context tree, found ${JSON.stringify(path)} (${bad})`,
      hint: 'Give a tree-relative path like `domain/topic`, without `..`, a leading `/` or backslashes.',
    });
    return v;
  }
  const canon = canonicalTopicPath(path);
  if (canon === '') {
    v.push({
      code: 'BV_PATH_ESCAPE',
      message: `expected ${what} to name a topic, found ${JSON.stringify(path)}`,
      hint: 'Give a path like `domain/topic`.',
    });
    return v;
  }
  const badSegs = canon.split('/').filter((s) => !SEGMENT.test(s));
  if (badSegs.length > 0)
    v.push({
      code: 'BV_PATH_NOT_SNAKE_CASE',
      message: `expected snake_case segments ([a-z0-9] words joined by _) in ${what}, found ${badSegs.map((s) => JSON.stringify(s)).join(', ')}`,
      hint: `Use ${JSON.stringify(
        canon
          .split('/')
          .map((s) =>
            s
              .toLowerCase()
              .replace(/[^a-z0-9]+/g, '_')
              .replace(/^_+|_+$/g, ''),
          )
          .join('/'),
      )} (underscores between words, not hyphens or capitals).`,
    });
  if (RESERVED_PATHS.has(canon.toLowerCase()))
    v.push({
      code: 'BV_PATH_RESERVED',
      message: `expected a topic path, found the reserved ${JSON.stringify(canon)} (the tree's catalog, index.html)`,
      hint: 'Choose another topic path.',
    });
  return v;
}

function attrChecks(tag: string, list: HtmlAttr[], offset: number, v: Violation[]): void {
  for (const a of list) {
    if (a.rawName !== undefined && a.rawName !== a.name)
      v.push({
        code: 'BV_ATTRIBUTE_CASE',
        message: `expected lowercase attribute names on <${tag}>, found ${JSON.stringify(a.rawName)}`,
        hint: `Write ${a.name}="…".`,
        offset,
        element: tag,
      });
    if (a.quote !== undefined && a.quote !== '"')
      v.push({
        code: 'BV_ATTRIBUTE_QUOTING',
        message: `expected a double-quoted value for ${a.name} on <${tag}>, found ${a.quote === "'" ? 'single quotes' : 'no quotes'}`,
        hint: `Write ${a.name}="${a.value}".`,
        offset,
        element: tag,
      });
  }
}

/**
 * Every violation of `html` (parsed as `parsed`) against the vocabulary, for recording it at
 * `topicPath` (the caller's argument). Empty when the topic may be recorded.
 */
export function validateTopic(html: string, parsed: ParsedTopic, topicPath: string): Violation[] {
  const v: Violation[] = [...checkTopicPath(topicPath)];
  const trimmed = html.trim();
  if (/^```/.test(trimmed) || /```$/.test(trimmed))
    v.push({
      code: 'BV_CODE_FENCE',
      message: 'expected bare HTML, found a markdown code fence (```) around it',
      hint: 'Send the <bv-topic>…</bv-topic> HTML itself, without ``` or ```html.',
    });
  else if (!trimmed.startsWith('<') || !/<\/bv-topic\s*>$/i.test(trimmed))
    v.push({
      code: 'BV_NOT_HTML_ONLY',
      message: `expected the HTML to start with <bv-topic and end with </bv-topic>, found ${JSON.stringify(trimmed.slice(0, 20))}…${JSON.stringify(trimmed.slice(-20))}`,
      hint: 'Remove any text before <bv-topic> and after </bv-topic>.',
    });
  for (const m of parsed.markup ?? []) {
    if (m.tag === '!doctype' || m.tag === 'html' || m.tag === 'head' || m.tag === 'body')
      v.push({
        code: 'BV_DOCUMENT_WRAPPER',
        message: `expected no HTML document preamble, found <${m.tag === '!doctype' ? '!doctype' : m.tag}>`,
        hint: 'Drop <!doctype>, <html>, <head> and <body>: the topic is the <bv-topic> element alone.',
        offset: m.offset,
        element: m.tag,
      });
  }
  const roots = (parsed.warnings ?? []).filter((w) => w.code === 'HTML_ROOT' && /another/.test(w.reason));
  if (!parsed.isTopic) {
    v.push({
      code: 'BV_ROOT_MISSING',
      message: 'expected exactly one <bv-topic> root, found none',
      hint: 'Wrap the topic in <bv-topic path="…" title="…">…</bv-topic>.',
    });
    return v;
  }
  if (roots.length > 0)
    v.push({
      code: 'BV_ROOT_MULTIPLE',
      message: `expected exactly one <bv-topic>, found ${roots.length + 1}`,
      hint: 'Record one topic per call; split the others into their own paths.',
      offset: roots[0]!.offset,
    });
  const notSole = (parsed.warnings ?? []).filter(
    (w) => (w.code === 'HTML_ROOT' && !/another/.test(w.reason)) || w.code === 'HTML_CONTENT_AFTER_ROOT',
  );
  if (notSole.length > 0)
    v.push({
      code: 'BV_ROOT_NOT_SOLE',
      message: `expected <bv-topic> as the sole top-level element, found ${notSole[0]!.reason}`,
      hint: 'Remove the text or tags around <bv-topic>.',
      offset: notSole[0]!.offset,
    });
  const quotingSeen = [
    ...(parsed.rootRaw ?? []),
    ...(parsed.markup ?? []).flatMap((m) => m.attrList),
    ...parsed.elements.flatMap((e) => e.attrList),
  ].some((a) => a.quote !== undefined && a.quote !== '"');
  for (const w of parsed.warnings ?? []) {
    if (
      [
        'HTML_ROOT',
        'HTML_CONTENT_AFTER_ROOT',
        'HTML_NOT_A_TOPIC',
        'HTML_UNKNOWN_ELEMENT',
        'HTML_NESTED_ELEMENT',
      ].includes(w.code)
    )
      continue;
    // quoting is reported once, as BV_ATTRIBUTE_QUOTING from the raw spelling, not again as the
    // parser's HTML_BAD_ATTRIBUTE (the native parser counts single quotes as bad syntax)
    if (w.code === 'HTML_BAD_ATTRIBUTE' && quotingSeen) continue;
    v.push({
      code: 'BV_MALFORMED_HTML',
      message: `${w.reason} (${w.code})`,
      hint: 'Close every element, quote every attribute value, and give each attribute once.',
      offset: w.offset,
    });
  }

  // root attributes
  const rootList: HtmlAttr[] = parsed.rootRaw ?? parsed.attrList;
  attrChecks('bv-topic', rootList, 0, v);
  const allowedRoot = ELEMENT_ATTRIBUTES['bv-topic']!;
  for (const a of rootList) {
    if (SYSTEM_ATTRIBUTES.includes(a.name))
      v.push({
        code: 'BV_SYSTEM_ATTRIBUTE',
        message: `expected no system attribute on <bv-topic>, found ${a.rawName ?? a.name}="${a.value}"`,
        hint:
          a.name === 'importance' || a.name === 'maturity' || a.name === 'recency'
            ? `Remove ${a.name}: it is a runtime signal kept in the signal sidecar, never authored.`
            : `Remove ${a.name}: the writer stamps it on every write.`,
        element: 'bv-topic',
      });
    else if (!(a.name in allowedRoot))
      v.push({
        code: 'BV_ATTRIBUTE_NOT_ALLOWED',
        message: `expected attributes of <bv-topic> among ${Object.keys(allowedRoot).join(', ')}, found ${a.name}`,
        hint: `Remove ${a.name}; the vocabulary is closed.`,
        element: 'bv-topic',
      });
  }
  const attrs = parsed.attrs;
  for (const [name, spec] of Object.entries(allowedRoot)) {
    const val = attrs[name];
    if (spec.required && (val === undefined || val.trim() === ''))
      v.push({
        code: 'BV_REQUIRED_ATTRIBUTE',
        message: `expected a non-empty ${name} on <bv-topic>, found ${val === undefined ? 'none' : 'an empty value'}`,
        hint: name === 'path' ? `Add path="${canonicalTopicPath(topicPath)}".` : `Add ${name}="…".`,
        element: 'bv-topic',
      });
    else if (val !== undefined && spec.values && !spec.values.includes(val))
      v.push({
        code: 'BV_ATTRIBUTE_VALUE',
        message: `expected ${name} on <bv-topic> to be one of ${spec.values.join('|')}, found ${JSON.stringify(val)}`,
        hint: `Use one of ${spec.values.join(', ')}.`,
        element: 'bv-topic',
      });
  }
  const pathAttr = attrs.path;
  if (pathAttr !== undefined && pathAttr.trim() !== '') {
    const argCanon = canonicalTopicPath(topicPath);
    v.push(...checkTopicPath(pathAttr, 'the path attribute').filter((x) => x.code === 'BV_PATH_ESCAPE'));
    if (canonicalTopicPath(pathAttr) !== argCanon)
      v.push({
        code: 'BV_PATH_MISMATCH',
        message: `expected path="${argCanon}" (the topic path given), found path="${pathAttr}"`,
        hint: `Set path="${argCanon}" on <bv-topic>, or record at ${JSON.stringify(canonicalTopicPath(pathAttr))}.`,
        element: 'bv-topic',
      });
  }
  if (attrs.related !== undefined)
    for (const ref of attrs.related
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      if (!ref.startsWith('@'))
        v.push({
          code: 'BV_RELATED_FORMAT',
          message: `expected each related reference to start with @, found ${JSON.stringify(ref)}`,
          hint: `Write @${ref} (files end in .html: @domain/topic.html; folders stay bare: @domain).`,
          element: 'bv-topic',
        });
    }

  // elements
  for (const el of parsed.elements) {
    if (el.type === 'bv-topic') continue; // text directly inside the root
    if (!ELEMENTS.has(el.type)) {
      v.push({
        code: 'BV_UNKNOWN_ELEMENT',
        message: `expected one of the 19 vocabulary elements, found <${el.type}>`,
        hint: `Use the element that matches the knowledge (bv-fact, bv-decision, bv-rule, bv-bug/bv-fix, …); the vocabulary is closed.`,
        offset: el.offset,
        element: el.type,
      });
      continue;
    }
    const spec = ELEMENT_ATTRIBUTES[el.type]!;
    const list = el.attrList;
    attrChecks(el.type, list, el.offset, v);
    for (const a of list) {
      if (!(a.name in spec))
        v.push({
          code: 'BV_ATTRIBUTE_NOT_ALLOWED',
          message: `expected attributes of <${el.type}> among ${Object.keys(spec).join(', ') || '(none)'}, found ${a.name}`,
          hint: `Remove ${a.name}; the vocabulary is closed.`,
          offset: el.offset,
          element: el.type,
        });
    }
    for (const [name, s] of Object.entries(spec)) {
      const val = el.attrs[name];
      if (s.required && (val === undefined || val.trim() === ''))
        v.push({
          code: 'BV_REQUIRED_ATTRIBUTE',
          message: `expected a non-empty ${name} on <${el.type}>, found ${val === undefined ? 'none' : 'an empty value'}`,
          hint:
            el.type === 'bv-fact' && name === 'subject'
              ? 'Add subject="snake_case_key" (the fact\'s key concept).'
              : el.type === 'bv-fact' && name === 'category'
                ? `Add category="…", one of ${ENUMS.factCategory.join('|')}.`
                : `Add ${name}="…".`,
          offset: el.offset,
          element: el.type,
        });
      else if (val !== undefined && s.values && !s.values.includes(val)) {
        const code =
          el.type === 'bv-fact' && name === 'category'
            ? 'BV_FACT_CATEGORY'
            : el.type === 'bv-fact' && name === 'disclosure'
              ? 'BV_DISCLOSURE'
              : 'BV_ATTRIBUTE_VALUE';
        v.push({
          code,
          message:
            code === 'BV_DISCLOSURE'
              ? `expected disclosure="public" or "restricted" on <bv-fact>, found ${JSON.stringify(val)} (ByteRover would treat it as restricted)`
              : `expected ${name} on <${el.type}> to be one of ${s.values.join('|')}, found ${JSON.stringify(val)}`,
          hint:
            code === 'BV_DISCLOSURE'
              ? 'Write disclosure="public" only for a fact safe to share; otherwise omit it (facts default to restricted).'
              : `Use one of ${s.values.join(', ')}.`,
          offset: el.offset,
          element: el.type,
        });
      }
    }
  }
  for (const w of parsed.warnings ?? []) {
    if (w.code === 'HTML_UNKNOWN_ELEMENT' && !parsed.elements.some((e) => e.offset === w.offset))
      v.push({
        code: 'BV_UNKNOWN_ELEMENT',
        message: w.reason,
        hint: 'Use one of the 19 vocabulary elements; the vocabulary is closed.',
        offset: w.offset,
      });
    if (w.code === 'HTML_NESTED_ELEMENT')
      v.push({
        code: 'BV_NESTED_ELEMENT',
        message: w.reason,
        hint: 'Make each bv-* element a direct child of <bv-topic> (a <bv-fix> is a sibling of its <bv-bug>).',
        offset: w.offset,
      });
  }
  for (const m of parsed.markup ?? []) {
    if (m.tag.startsWith('!') || m.tag === '?' || m.tag === 'html' || m.tag === 'head' || m.tag === 'body') {
      if (m.tag.startsWith('!') && m.tag !== '!doctype')
        v.push({
          code: 'BV_ELEMENT_NOT_ALLOWED',
          message: `expected vocabulary elements and prose markup, found <${m.tag}`,
          hint: 'Remove it.',
          offset: m.offset,
        });
      continue;
    }
    const allowed = MARKUP[m.tag];
    if (!allowed) {
      v.push({
        code: 'BV_ELEMENT_NOT_ALLOWED',
        message: `expected bv-* elements and prose markup (p, ul/ol/li, strong, code, pre, …), found <${m.tag}>`,
        hint: `Remove <${m.tag}>; keep content inside the vocabulary's elements.`,
        offset: m.offset,
        element: m.tag,
      });
      continue;
    }
    attrChecks(m.tag, m.attrList, m.offset, v);
    for (const a of m.attrList)
      if (!allowed.includes(a.name))
        v.push({
          code: 'BV_ATTRIBUTE_NOT_ALLOWED',
          message: `expected attributes of <${m.tag}> among ${allowed.join(', ') || '(none)'}, found ${a.name}`,
          hint: `Remove ${a.name}.`,
          offset: m.offset,
          element: m.tag,
        });
  }
  return v;
}
