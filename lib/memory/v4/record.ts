/**
 * Recording a topic into a v4 space, the way ByteRover's writer does, with stricter guarantees:
 *
 * 1. Input: a full `<bv-topic>` HTML, or fields (`title`, `summary`, `keywords`, `tags`, `related`,
 *    `body`) from which `<bv-topic path title …><bv-highlights>body</bv-highlights></bv-topic>` is built.
 * 2. Validation against the vocabulary (validate.ts): every violation at once, as one
 *    BV_TOPIC_INVALID error whose `details.violations` lists them (code, message, hint).
 * 3. Write, under a per-topic lock file (`.<name>.html.lock` beside the topic; a lock whose process
 *    is gone is taken over):
 *    - a new topic is created with link(2) from a fsynced temp file, so a topic that appeared
 *      meanwhile (another writer, ByteRover's own) is never clobbered (BV_TOPIC_CONFLICT);
 *    - an existing topic is replaced only with `overwrite`; the content it was based on is compared
 *      again right before the rename, and a change in between is BV_TOPIC_CONFLICT; an overwrite that
 *      would leave fewer elements of a kind than before is refused (BV_OVERWRITE_DROPS_ELEMENTS)
 *      unless `allowDrop`;
 *    - a crash at any point leaves the old topic or the new one, never a torn file (temp + rename).
 * 4. Stamps, as ByteRover does: `createdat` (kept from the previous version), `updatedat` (now),
 *    `id` (kept, else `tpc_` + 32 hex), `createdby`/`updatedby` (the agent, when given), and an element
 *    id `bve-` + 8 of [a-z0-9] on each indexed element (fact, decision, flow, rule, bug, fix, pattern,
 *    task, changes, highlights, structure, examples, diagram) lacking a valid one.
 * 5. The signal sidecar: defaults for a new topic (importance 50), ByteRover's update rule otherwise.
 *
 * ByteRover's `_manifest.json` and `index.html` are not rebuilt: its search reads the topic files
 * directly, and its next own write rebuilds them.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ClawError } from '../../errors.js';
import { fsyncDir } from '../fsx.js';
import { resolveInTree } from '../paths.js';
import { parseTopic, readTopicHtml, type ParsedTopic } from './html.js';
import { recordSignals, type RuntimeSignals } from './signals.js';
import { canonicalTopicPath, checkTopicPath, validateTopic, type Violation } from './validate.js';
import { TopicErrorCode } from './errors.js';

export interface RecordFields {
  title?: string;
  summary?: string;
  keywords?: string;
  tags?: string;
  related?: string;
  body?: string;
}

export type RecordInput = { html: string } | RecordFields;

export type RecordPoint = 'record:locked' | 'record:temp-written';

export interface RecordOptions {
  overwrite?: boolean;
  /** With `overwrite`: accept a new version with fewer elements of some kind. */
  allowDrop?: boolean;
  /** Stamped as createdby/updatedby (ByteRover's agent slug, e.g. `openclaw`). */
  agent?: string;
  now?: () => Date;
  /** Lock wait before BV_TOPIC_LOCKED (default 10 s). */
  lockTimeoutMs?: number;
  /** Tests only: called at each point (throw to simulate a crash there). */
  hooks?: { at?(point: RecordPoint, info: { path: string; tmp?: string }): void | Promise<void> };
  makeTopicId?: () => string;
  makeElementId?: () => string;
}

export interface RecordResult {
  /** Topic path (`domain/topic`). */
  path: string;
  /** Tree-relative file (`domain/topic.html`). */
  file: string;
  created: boolean;
  id: string;
  /** The HTML written (stamped). */
  html: string;
  signals: RuntimeSignals;
  /** Non-fatal notes (a related reference with no topic yet, …). */
  warnings: string[];
  /** With allowDrop: the element kinds the overwrite dropped. */
  dropped: { type: string; before: number; after: number }[];
}

export interface SpaceTree {
  treeRoot: string;
  signalsDir: string;
}

const INDEXED = new Set([
  'bv-fact',
  'bv-decision',
  'bv-flow',
  'bv-rule',
  'bv-bug',
  'bv-fix',
  'bv-pattern',
  'bv-task',
  'bv-changes',
  'bv-highlights',
  'bv-structure',
  'bv-examples',
  'bv-diagram',
]);
const ELEMENT_ID = /^bve-[a-z0-9]{8}$/;
const TOPIC_ID = /^tpc_[0-9a-f]{32}$/;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function makeTopicId(): string {
  return `tpc_${randomUUID().replaceAll('-', '')}`;
}
export function makeElementId(): string {
  const b = randomBytes(8);
  let s = 'bve-';
  for (let i = 0; i < 8; i++) s += ALPHABET[b[i]! % ALPHABET.length];
  return s;
}

function escAttr(v: string): string {
  return v.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}
function escText(v: string): string {
  return v.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** The HTML the fields form records. */
export function buildTopicHtml(path: string, f: RecordFields): string {
  const attrs = [`path="${escAttr(canonicalTopicPath(path))}"`, `title="${escAttr(f.title ?? '')}"`];
  for (const k of ['summary', 'keywords', 'tags', 'related'] as const)
    if (f[k] !== undefined && f[k] !== '') attrs.push(`${k}="${escAttr(f[k])}"`);
  const body = (f.body ?? '').trim();
  return `<bv-topic ${attrs.join(' ')}>${body ? `<bv-highlights>${escText(body)}</bv-highlights>` : ''}</bv-topic>`;
}

/** End index (exclusive) of the start tag beginning at `at` (quotes respected), -1 when unterminated. */
function openTagEnd(html: string, at: number): number {
  let q: string | undefined;
  for (let i = at + 1; i < html.length; i++) {
    const c = html[i]!;
    if (q) {
      if (c === q) q = undefined;
    } else if (c === '"' || c === "'") q = c;
    else if (c === '>') return i + 1;
  }
  return -1;
}

/** Offset of the root `<bv-topic` start tag (comments skipped). */
function rootOffset(html: string): number {
  const lower = html.toLowerCase();
  let i = 0;
  while (i < html.length) {
    if (lower.startsWith('<!--', i)) {
      const e = lower.indexOf('-->', i + 4);
      if (e < 0) return -1;
      i = e + 3;
      continue;
    }
    if (lower.startsWith('<bv-topic', i) && /[\s/>]/.test(html[i + 9] ?? '')) return i;
    i++;
  }
  return -1;
}

/**
 * Stamps root attributes and element ids into `html` (validated: no system attributes on the root).
 * Edits the text in place, as ByteRover does, so the author's formatting is kept.
 */
export function stampTopic(
  html: string,
  parsed: ParsedTopic,
  root: Record<string, string>,
  makeId: () => string = makeElementId,
): string {
  const edits: { at: number; end: number; text: string }[] = [];
  for (const el of parsed.elements) {
    if (!INDEXED.has(el.type)) continue;
    if (el.id && ELEMENT_ID.test(el.id)) continue;
    const end = openTagEnd(html, el.offset);
    if (end < 0) continue;
    const tag = html.slice(el.offset, end);
    const replaced = /\sid\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+)/i.test(tag)
      ? tag.replace(/\sid\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+)/i, ` id="${makeId()}"`)
      : `${tag.slice(0, tag.endsWith('/>') ? -2 : -1).replace(/\s+$/, '')} id="${makeId()}"${tag.endsWith('/>') ? '/>' : '>'}`;
    edits.push({ at: el.offset, end, text: replaced });
  }
  const r = rootOffset(html);
  if (r >= 0) {
    const end = openTagEnd(html, r);
    if (end > 0) {
      const tag = html.slice(r, end);
      const add = Object.entries(root)
        .map(([k, v]) => ` ${k}="${escAttr(v)}"`)
        .join('');
      edits.push({ at: r, end, text: `${tag.slice(0, -1).replace(/\s+$/, '')}${add}>` });
    }
  }
  edits.sort((a, b) => b.at - a.at);
  let out = html;
  for (const e of edits) out = out.slice(0, e.at) + e.text + out.slice(e.end);
  return out;
}

function invalid(path: string, violations: Violation[]): ClawError {
  const list = violations.map((x) => `${x.code}: ${x.message}`).join('; ');
  return new ClawError(
    TopicErrorCode.TOPIC_INVALID,
    `expected a topic following ByteRover's vocabulary for ${JSON.stringify(path)}, found ${violations.length} violation${violations.length === 1 ? '' : 's'}: ${list}`,
    {
      hint: violations.map((x) => `${x.code}: ${x.hint}`).join(' | '),
      details: { path, violations },
    },
  );
}

function countKinds(p: ParsedTopic): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of p.elements) if (e.type !== 'bv-topic') m.set(e.type, (m.get(e.type) ?? 0) + 1);
  return m;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function lock(path: string, timeoutMs: number): Promise<() => Promise<void>> {
  const lockPath = join(dirname(path), `.${basename(path)}.lock`);
  const token = `${process.pid} ${randomBytes(6).toString('hex')}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fh = await open(lockPath, 'wx', 0o600);
      await fh.writeFile(token);
      await fh.close();
      return async () => {
        const cur = await readFile(lockPath, 'utf8').catch(() => '');
        if (cur === token) await unlink(lockPath).catch(() => undefined);
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = await readFile(lockPath, 'utf8').catch(() => undefined);
    const pid = Number(holder?.split(' ')[0]);
    if (holder !== undefined && holder !== '' && Number.isInteger(pid) && pid > 0 && !alive(pid)) {
      // the holder died: take the lock over (only if it is still that holder's)
      const again = await readFile(lockPath, 'utf8').catch(() => undefined);
      if (again === holder) await unlink(lockPath).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline)
      throw new ClawError(
        TopicErrorCode.TOPIC_LOCKED,
        `expected to lock ${path}, found it held by ${holder ?? 'another writer'}`,
        {
          hint: `Another record of this topic is running; retry. If none is, remove ${lockPath}.`,
        },
      );
    await new Promise((r) => setTimeout(r, 5 + Math.random() * 10));
  }
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function readOrUndefined(p: string): Promise<string | undefined> {
  try {
    return await readFile(p, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function conflict(path: string, created: boolean): ClawError {
  return new ClawError(
    TopicErrorCode.TOPIC_CONFLICT,
    created
      ? `expected ${JSON.stringify(path)} to be free for a new topic, found a topic written there meanwhile`
      : `expected ${JSON.stringify(path)} unchanged since it was read, found it rewritten meanwhile`,
    {
      hint: 'Read the topic again, merge your content into it, and record with --overwrite.',
      details: { path },
    },
  );
}

/** Records a topic into a space tree (see the module comment). */
export async function recordTopic(
  space: SpaceTree,
  topicPath: string,
  input: RecordInput,
  o: RecordOptions = {},
): Promise<RecordResult> {
  const pathViol = checkTopicPath(topicPath);
  const escape = pathViol.find((x) => x.code === 'BV_PATH_ESCAPE');
  if (escape)
    throw new ClawError(TopicErrorCode.PATH_ESCAPE, escape.message, {
      hint: escape.hint,
      details: { path: topicPath },
    });
  const canon = canonicalTopicPath(topicPath);
  const hasHtml = 'html' in input && typeof input.html === 'string';
  const fieldKeys = ['title', 'summary', 'keywords', 'tags', 'related', 'body'].filter(
    (k) => (input as Record<string, unknown>)[k] !== undefined,
  );
  if (hasHtml && fieldKeys.length > 0)
    throw new ClawError(
      TopicErrorCode.RECORD_INPUT,
      `expected either html or fields (title, summary, keywords, tags, body), found both (html and ${fieldKeys.join(', ')})`,
      { hint: 'Put everything in the <bv-topic> HTML, or drop --html and give the fields.' },
    );
  const html = hasHtml ? (input as { html: string }).html : buildTopicHtml(canon, input as RecordFields);
  const parsed = await parseTopic(html);
  const violations = validateTopic(html, parsed, topicPath);
  if (violations.length > 0) throw invalid(canon, violations);

  // ByteRover records only into an existing space's tree (its resolveContextRoot refuses a missing
  // one): never create a ghost space under its data dir for a marker naming a space not on this machine
  if (!(await isDir(space.treeRoot)))
    throw new ClawError(
      TopicErrorCode.RECORD_NO_SPACE,
      `expected the space's context tree at ${space.treeRoot}, found no such directory; nothing was written`,
      {
        hint: 'ByteRover creates a space\'s tree when the space is created or synced: let its desktop app or daemon sync the space, or bind this folder to a space on this machine (ByteRover: `space bind "<name>"`).',
        details: { treeRoot: space.treeRoot },
      },
    );
  const file = `${canon}.html`;
  const { abs } = await resolveInTree(space.treeRoot, file).catch((e: unknown) => {
    throw e instanceof ClawError && e.code === 'MEMORY_PATH_ESCAPE'
      ? new ClawError(TopicErrorCode.PATH_ESCAPE, e.message, { hint: e.hint ?? '', details: { path: canon } })
      : e;
  });
  await mkdir(dirname(abs), { recursive: true });
  // the parent may have been a symlink created just now: check again once it exists
  await resolveInTree(space.treeRoot, file);

  const unlock = await lock(abs, o.lockTimeoutMs ?? 10_000);
  let tmp: string | undefined;
  try {
    await o.hooks?.at?.('record:locked', { path: canon });
    const before = await readOrUndefined(abs);
    if (before !== undefined && !o.overwrite)
      throw new ClawError(TopicErrorCode.TOPIC_EXISTS, `expected no topic at ${JSON.stringify(canon)}, found one`, {
        hint: 'Read it, merge your content into it (keep its elements), and record again with --overwrite.',
        details: { path: canon },
      });
    const old = before !== undefined ? readTopicHtml(before) : undefined;
    const dropped: RecordResult['dropped'] = [];
    if (old) {
      const a = countKinds(old);
      const b = countKinds(readTopicHtml(html));
      for (const [type, n] of a) if ((b.get(type) ?? 0) < n) dropped.push({ type, before: n, after: b.get(type) ?? 0 });
      if (dropped.length > 0 && !o.allowDrop)
        throw new ClawError(
          TopicErrorCode.OVERWRITE_DROPS_ELEMENTS,
          `expected the new version of ${JSON.stringify(canon)} to keep the existing elements, found fewer: ${dropped
            .map((d) => `${d.type} ${d.before}→${d.after}`)
            .join(', ')}`,
          {
            hint: 'Merge: keep the previous elements in the new HTML. To drop them on purpose, pass --allow-drop.',
            details: { path: canon, dropped },
          },
        );
    }
    const now = (o.now ?? (() => new Date()))().toISOString();
    const oldId = old?.attrs.id;
    const id = oldId && TOPIC_ID.test(oldId) ? oldId : (o.makeTopicId ?? makeTopicId)();
    const root: Record<string, string> = { createdat: old?.attrs.createdat ?? now };
    const createdBy = old?.attrs.createdby ?? o.agent;
    if (createdBy) root.createdby = createdBy;
    root.id = id;
    root.updatedat = now;
    if (o.agent) root.updatedby = o.agent;
    else if (old?.attrs.updatedby) root.updatedby = old.attrs.updatedby;
    const stamped = stampTopic(html, readTopicHtml(html), root, o.makeElementId ?? makeElementId);

    const dir = dirname(abs);
    tmp = join(dir, `.${basename(abs)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(stamped);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await o.hooks?.at?.('record:temp-written', { path: canon, tmp });
    if (before === undefined) {
      try {
        await link(tmp, abs);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw conflict(canon, true);
        throw e;
      }
    } else {
      const current = await readOrUndefined(abs);
      if (current !== before) throw conflict(canon, false);
      await rename(tmp, abs);
      tmp = undefined;
    }
    await fsyncDir(dir);
    const signals = await recordSignals(space.signalsDir, file, before === undefined);
    const warnings: string[] = [];
    for (const ref of (parsed.attrs.related ?? '')
      .split(',')
      .map((s) => s.trim().replace(/^@/, ''))
      .filter(Boolean)) {
      if (!ref.endsWith('.html')) continue;
      const target = join(space.treeRoot, ...ref.split('/'));
      if ((await readOrUndefined(target).catch(() => undefined)) === undefined)
        warnings.push(`related ref "${ref}" has no matching topic yet (broken or forward reference)`);
    }
    return { path: canon, file, created: before === undefined, id, html: stamped, signals, warnings, dropped };
  } finally {
    if (tmp) await unlink(tmp).catch(() => undefined);
    await unlock();
  }
}
