/**
 * The parsed shape of a `<bv-topic>` file, and a TypeScript reader producing it.
 *
 * `ParsedTopic` is the shape of the native addon's `parseTopic(html)` (native/src/recall/html.h,
 * contract in coord/recall-native.md): the root's attributes, the bv-* elements in document order
 * with their attributes and text, and warnings with stable codes. The record validator
 * (validate.ts) takes a `ParsedTopic` as input, so one parser serves indexing and validation:
 * `parseTopic` below uses the native function when the loaded addon has it, and this module's
 * reader otherwise. The reader adds what validation needs beyond the native shape (`markup`: the
 * non-bv tags with their raw attribute spelling); fields it alone fills are optional.
 *
 * The reader is one left-to-right pass, linear in the input, and never throws: malformed input
 * becomes warnings (HTML_ROOT, HTML_CONTENT_AFTER_ROOT, HTML_UNCLOSED_ELEMENT, HTML_MISMATCHED_END_TAG,
 * HTML_UNTERMINATED_TAG, HTML_UNTERMINATED_COMMENT, HTML_UNKNOWN_ELEMENT, HTML_NESTED_ELEMENT,
 * HTML_BAD_ATTRIBUTE, HTML_DUPLICATE_ATTRIBUTE, HTML_NOT_A_TOPIC — the native codes).
 */

export const ELEMENT_NAMES = [
  'bv-topic',
  'bv-reason',
  'bv-task',
  'bv-changes',
  'bv-files',
  'bv-flow',
  'bv-timestamp',
  'bv-author',
  'bv-pattern',
  'bv-structure',
  'bv-dependencies',
  'bv-highlights',
  'bv-rule',
  'bv-examples',
  'bv-diagram',
  'bv-fact',
  'bv-decision',
  'bv-bug',
  'bv-fix',
] as const;
export type ElementName = (typeof ELEMENT_NAMES)[number];
const ELEMENT_SET = new Set<string>(ELEMENT_NAMES);

export interface HtmlAttr {
  /** Lowercased. */
  name: string;
  /** Entities decoded. */
  value: string;
  /** As written (TS reader only). */
  rawName?: string;
  /** `"`, `'`, or `` (unquoted / no value) (TS reader only). */
  quote?: string;
}

export interface TopicElement {
  /** `bv-fact`, … (`bv-topic` for text directly inside the root). */
  type: string;
  /** The `id` attribute (`""` when absent). */
  id: string;
  attrs: Record<string, string>;
  attrList: HtmlAttr[];
  /** Text content, markup removed, whitespace collapsed. */
  text: string;
  /** Byte offset of the start tag. */
  offset: number;
}

export interface HtmlWarning {
  code: string;
  reason: string;
  offset: number;
}

export interface ParsedTopic {
  isTopic: boolean;
  /** `<bv-topic>` attributes (first wins). */
  attrs: Record<string, string>;
  attrList: HtmlAttr[];
  /** Raw attribute spelling of the root (TS reader only). */
  rootRaw?: HtmlAttr[];
  elements: TopicElement[];
  warnings: HtmlWarning[];
  /** Non-bv start tags inside and outside the root, lowercased, with their attributes (TS reader only). */
  markup?: { tag: string; offset: number; attrList: HtmlAttr[] }[];
}

const NAMED: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
  copy: '©',
  reg: '®',
  hellip: '…',
  mdash: '—',
  ndash: '–',
  rarr: '→',
  larr: '←',
  le: '≤',
  ge: '≥',
  times: '×',
};

/** Decodes character references (the XML five, a few named ones, numeric); unknown ones stay literal. */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});/g, (m, ref: string) => {
    if (ref.startsWith('#')) {
      const cp = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!Number.isFinite(cp) || cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return '\ufffd';
      return String.fromCodePoint(cp);
    }
    return NAMED[ref] ?? m;
  });
}

const BLOCK = new Set([
  'p',
  'li',
  'br',
  'div',
  'ul',
  'ol',
  'pre',
  'tr',
  'td',
  'th',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'blockquote',
  'hr',
  'dt',
  'dd',
]);
const VOID = new Set(['br', 'hr', 'img', 'wbr', 'col', 'input', 'meta', 'link', 'area', 'base', 'source']);
const RAW_TEXT = new Set(['script', 'style', 'textarea', 'title']);

function isNameChar(c: number): boolean {
  // [A-Za-z0-9-_:.]
  return (
    (c >= 97 && c <= 122) ||
    (c >= 65 && c <= 90) ||
    (c >= 48 && c <= 57) ||
    c === 45 ||
    c === 95 ||
    c === 58 ||
    c === 46
  );
}
function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12;
}

interface Open {
  tag: string;
  el: TopicElement | undefined;
  parts: string[] | undefined;
}

/** The TypeScript reader (see the module comment). */
export function readTopicHtml(html: string): ParsedTopic {
  const out: ParsedTopic = { isTopic: false, attrs: {}, attrList: [], elements: [], warnings: [], markup: [] };
  const warn = (code: string, reason: string, offset: number): void => {
    if (out.warnings.length < 64) out.warnings.push({ code, reason, offset });
  };
  const stack: Open[] = [];
  let rootOpen = false;
  let rootClosed = false;
  let rootText: string[] | undefined;
  let rootOffset = 0;
  const n = html.length;
  let i = 0;

  const currentParts = (): string[] | undefined => {
    for (let k = stack.length - 1; k >= 0; k--) if (stack[k]!.parts) return stack[k]!.parts;
    return undefined;
  };
  const text = (s: string, at: number): void => {
    if (s === '') return;
    if (!rootOpen) {
      if (s.trim() !== '')
        warn(
          rootClosed ? 'HTML_CONTENT_AFTER_ROOT' : 'HTML_ROOT',
          rootClosed
            ? `expected nothing after </bv-topic>, found text ${JSON.stringify(s.trim().slice(0, 40))}`
            : `expected <bv-topic> first, found text ${JSON.stringify(s.trim().slice(0, 40))}`,
          at,
        );
      return;
    }
    const parts = currentParts();
    if (parts) parts.push(decodeEntities(s));
  };

  while (i < n) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      text(html.slice(i), i);
      break;
    }
    if (lt > i) text(html.slice(i, lt), i);
    i = lt;
    if (html.startsWith('<!--', i)) {
      const end = html.indexOf('-->', i + 4);
      if (end < 0) {
        warn('HTML_UNTERMINATED_COMMENT', 'expected --> to close a comment, found the end of the file', i);
        break;
      }
      i = end + 3;
      continue;
    }
    const c1 = html.charCodeAt(i + 1);
    if (c1 === 33 /* ! */ || c1 === 63 /* ? */) {
      const end = html.indexOf('>', i);
      const tag = c1 === 33 ? '!' + (/^<!([a-zA-Z]*)/.exec(html.slice(i, i + 20))?.[1] ?? '').toLowerCase() : '?';
      out.markup!.push({ tag, offset: i, attrList: [] });
      if (!rootOpen)
        warn(
          rootClosed ? 'HTML_CONTENT_AFTER_ROOT' : 'HTML_ROOT',
          `expected <bv-topic> as the only root, found <${tag}`,
          i,
        );
      if (end < 0) {
        warn('HTML_UNTERMINATED_TAG', `expected > to close <${tag}, found the end of the file`, i);
        break;
      }
      i = end + 1;
      continue;
    }
    const closing = c1 === 47; /* / */
    let j = i + (closing ? 2 : 1);
    const nameStart = j;
    while (j < n && isNameChar(html.charCodeAt(j))) j++;
    if (j === nameStart) {
      // a lone '<': text
      text('<', i);
      i++;
      continue;
    }
    const tag = html.slice(nameStart, j).toLowerCase();
    // attributes
    const attrList: HtmlAttr[] = [];
    let selfClose = false;
    let terminated = false;
    while (j < n) {
      const c = html.charCodeAt(j);
      if (isSpace(c)) {
        j++;
        continue;
      }
      if (c === 62 /* > */) {
        terminated = true;
        j++;
        break;
      }
      if (c === 47 /* / */ && html.charCodeAt(j + 1) === 62) {
        selfClose = true;
        terminated = true;
        j += 2;
        break;
      }
      if (c === 60 /* < */) break; // a new tag began: unterminated
      const an = j;
      while (j < n && !isSpace(html.charCodeAt(j)) && !'=>/<"\''.includes(html[j]!)) j++;
      if (j === an) {
        warn('HTML_BAD_ATTRIBUTE', `expected an attribute name in <${tag}>, found ${JSON.stringify(html[j])}`, j);
        j++;
        continue;
      }
      const rawName = html.slice(an, j);
      while (j < n && isSpace(html.charCodeAt(j))) j++;
      let value = '';
      let quote = '';
      if (html[j] === '=') {
        j++;
        while (j < n && isSpace(html.charCodeAt(j))) j++;
        const q = html[j];
        if (q === '"' || q === "'") {
          const end = html.indexOf(q, j + 1);
          if (end < 0) {
            warn('HTML_UNTERMINATED_TAG', `expected ${q} to close the value of ${rawName} in <${tag}>`, j);
            j = n;
            break;
          }
          value = html.slice(j + 1, end);
          quote = q;
          j = end + 1;
        } else {
          const vs = j;
          while (j < n && !isSpace(html.charCodeAt(j)) && html[j] !== '>') j++;
          value = html.slice(vs, j);
          warn(
            'HTML_BAD_ATTRIBUTE',
            `expected a quoted value for ${rawName} in <${tag}>, found ${JSON.stringify(value)}`,
            vs,
          );
        }
      }
      const name = rawName.toLowerCase();
      if (attrList.some((a) => a.name === name)) {
        warn(
          'HTML_DUPLICATE_ATTRIBUTE',
          `expected one ${name} attribute in <${tag}>, found another (the first wins)`,
          an,
        );
        continue;
      }
      attrList.push({ name, value: decodeEntities(value), rawName, quote });
    }
    if (!terminated) {
      warn(
        'HTML_UNTERMINATED_TAG',
        `expected > to close <${closing ? '/' : ''}${tag}, found ${j >= n ? 'the end of the file' : '<'}`,
        i,
      );
      i = j;
      if (j >= n) break;
      continue;
    }
    const tagAt = i;
    i = j;
    const isBv = tag.startsWith('bv-');
    if (closing) {
      let k = stack.length - 1;
      while (k >= 0 && stack[k]!.tag !== tag) k--;
      if (k < 0) {
        warn('HTML_MISMATCHED_END_TAG', `expected an open <${tag}> for </${tag}>, found none`, tagAt);
        continue;
      }
      if (k !== stack.length - 1)
        warn(
          'HTML_MISMATCHED_END_TAG',
          `expected </${stack[stack.length - 1]!.tag}> before </${tag}>, found </${tag}>`,
          tagAt,
        );
      while (stack.length > k) {
        const o = stack.pop()!;
        if (o.el && o.parts) o.el.text = o.parts.join('').replace(/\s+/g, ' ').trim();
      }
      if (tag === 'bv-topic' && stack.length === 0 && rootOpen) {
        rootOpen = false;
        rootClosed = true;
      }
      if (BLOCK.has(tag) || isBv) currentParts()?.push(' ');
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrList) attrs[a.name] = a.value;
    if (tag === 'bv-topic') {
      if (out.isTopic) {
        warn('HTML_ROOT', 'expected exactly one <bv-topic>, found another', tagAt);
        stack.push({ tag, el: undefined, parts: undefined });
        continue;
      }
      if (rootClosed || stack.length > 0)
        warn('HTML_ROOT', `expected <bv-topic> as the root, found it inside <${stack[0]?.tag ?? '?'}>`, tagAt);
      out.isTopic = true;
      out.attrs = attrs;
      out.attrList = attrList.map(({ name, value }) => ({ name, value }));
      out.rootRaw = attrList;
      rootOpen = true;
      rootOffset = tagAt;
      rootText = [];
      stack.push({ tag, el: undefined, parts: rootText });
      continue;
    }
    if (!rootOpen)
      warn(
        rootClosed ? 'HTML_CONTENT_AFTER_ROOT' : 'HTML_ROOT',
        `expected <bv-topic> as the only root, found <${tag}>`,
        tagAt,
      );
    if (isBv) {
      if (!ELEMENT_SET.has(tag)) warn('HTML_UNKNOWN_ELEMENT', `expected a vocabulary element, found <${tag}>`, tagAt);
      if (stack.some((s) => s.el))
        warn('HTML_NESTED_ELEMENT', `expected <${tag}> directly inside <bv-topic>, found it nested`, tagAt);
      const el: TopicElement = {
        type: tag,
        id: attrs.id ?? '',
        attrs,
        attrList,
        text: '',
        offset: tagAt,
      };
      if (rootOpen) out.elements.push(el);
      if (selfClose) continue;
      stack.push({ tag, el, parts: [] });
      continue;
    }
    out.markup!.push({ tag, offset: tagAt, attrList });
    if (BLOCK.has(tag)) currentParts()?.push(' ');
    if (selfClose || VOID.has(tag)) continue;
    if (RAW_TEXT.has(tag)) {
      const end = html.toLowerCase().indexOf(`</${tag}`, i);
      i = end < 0 ? n : end;
      if (end < 0) warn('HTML_UNCLOSED_ELEMENT', `expected </${tag}>, found the end of the file`, tagAt);
      continue;
    }
    stack.push({ tag, el: undefined, parts: undefined });
  }
  for (const o of stack) {
    warn('HTML_UNCLOSED_ELEMENT', `expected </${o.tag}>, found the end of the file`, n);
    if (o.el && o.parts) o.el.text = o.parts.join('').replace(/\s+/g, ' ').trim();
  }
  if (rootText) {
    const t = rootText.join('').replace(/\s+/g, ' ').trim();
    if (t) out.elements.unshift({ type: 'bv-topic', id: '', attrs: {}, attrList: [], text: t, offset: rootOffset });
  }
  if (!out.isTopic) warn('HTML_NOT_A_TOPIC', 'expected a <bv-topic> root, found none', 0);
  return out;
}

type NativeParse = (html: string) => ParsedTopic;
let nativeParse: NativeParse | null | undefined;

/** The native `parseTopic` when the loaded addon has it (undefined otherwise). Cached. */
export async function loadNativeParse(): Promise<NativeParse | undefined> {
  if (nativeParse === undefined) {
    try {
      const mod = (await import('../../native.js')) as { parseTopic?: unknown; binding?: () => unknown };
      let fn: unknown = mod.parseTopic;
      if (typeof fn !== 'function') {
        try {
          const addon = mod.binding?.() as { parseTopic?: unknown } | undefined;
          if (typeof addon?.parseTopic === 'function') fn = addon.parseTopic.bind(addon);
        } catch {
          fn = undefined;
        }
      }
      nativeParse = null;
      if (typeof fn === 'function') {
        // lib/native.ts exports parseTopic even when the loaded addon predates it (it throws then)
        const probe = (fn as NativeParse)('<bv-topic path="a" title="a"></bv-topic>');
        if (probe && probe.isTopic === true && Array.isArray(probe.elements)) nativeParse = fn as NativeParse;
      }
    } catch {
      nativeParse = null;
    }
  }
  return nativeParse ?? undefined;
}

/**
 * Parses a topic for validation: the native parser's tree when the addon has it, completed with
 * this reader's `markup` and raw attribute spelling (which the native shape does not carry); else
 * this reader alone. `parser` says which parsed the elements.
 */
export async function parseTopic(html: string): Promise<ParsedTopic & { parser: 'native' | 'ts' }> {
  const ts = readTopicHtml(html);
  const nat = await loadNativeParse();
  if (!nat) return { ...ts, parser: 'ts' };
  const p = nat(html);
  // the raw spelling of element attributes (case, quotes) comes from this reader when both saw the
  // same elements in the same order
  const same = p.elements.length === ts.elements.length && p.elements.every((e, i) => e.type === ts.elements[i]!.type);
  const elements = same
    ? p.elements.map((e, i) => ({
        ...e,
        attrList: ts.elements[i]!.attrList.length ? ts.elements[i]!.attrList : e.attrList,
      }))
    : p.elements;
  return { ...p, elements, rootRaw: ts.rootRaw ?? [], markup: ts.markup ?? [], parser: 'native' };
}
