/**
 * curate(note): a new markdown file in the context tree plus a durable outbox entry.
 *
 * Steps (each durable before the next starts):
 * 1. id = noteId(title, content, tags, path) (or the caller's id). If the outbox already holds it, or a
 *    note with that `claw_id` is already in the tree, nothing new is written (`status: 'existing'`;
 *    a missing outbox entry for a never-synced file is recreated: that is the crash-after-step-2 case).
 * 2. The file is created exclusively (never replacing anything) at a fresh safe name; frontmatter
 *    carries title, tags, `claw_id` and `created`.
 * 3. The outbox entry `<id>.json` is written atomically.
 * A crash after 2 leaves a file with a `claw_id` and no entry: `recoverOrphans` (run by every push and
 * when LocalMemory opens) re-enqueues such files unless they are already synced.
 *
 * Hygiene (lib/memory/hygiene), before step 1, so every face (CLI, tools, agent link, after-turn
 * curation) gets it:
 * - secrets: `secrets: 'refuse'` (default) throws MEMORY_SECRET_DETECTED naming each finding's kind
 *   and position (never its value) and writes nothing; `'redact'` stores `[REDACTED:<kind>]` in place
 *   of each value and reports the kinds in `redacted`. Title and tags are checked too.
 * - duplicates: a note whose content an existing note already holds (same normalized content, or same
 *   subject and contained content) is answered `status: 'existing'` with that note's path and
 *   `duplicateOf`, nothing written; `duplicates: 'allow'` turns this off.
 * - same subject, new content: the new note is written with a visible `> Supersedes \`<path>\`` line
 *   and `supersedes: <path>` in the result; with `duplicates: 'merge'` its body is the old note's
 *   lines plus the new lines (one current note instead of two partial ones).
 */
import { ClawError } from '../errors.js';
import { createFileExclusive, sha256 } from './fsx.js';
import { checkSecrets, findSimilar, mergeBodies, supersedesLine, type SecretMode } from './hygiene/index.js';
import { step, type StepHooks } from './hooks.js';
import { renderNote } from './markdown.js';
import { noteId, type Outbox } from './outbox.js';
import { entryFor } from './orphans.js';
import { chooseNotePath } from './paths.js';
import type { SyncState } from './state.js';
import type { ContextTree, TreeDoc } from './tree.js';
import type { CurateResult, Note } from './types.js';
import { MemoryErrorCode } from './errors.js';

// Crash recovery lives in orphans.ts (light: LocalMemory.open runs it without loading curate).
export { entryFor, recoverOrphans } from './orphans.js';

export const MAX_NOTE_CHARS = 1_000_000;

export interface CurateContext {
  tree: ContextTree;
  outbox: Outbox;
  loadState(): Promise<SyncState>;
  hooks?: StepHooks;
  now?: () => Date;
}

function deriveTitle(note: Note): string {
  const given = note.title?.trim();
  if (given) return given.slice(0, 200);
  const line =
    note.content
      .split(/\r?\n/)
      .map((l) => l.replace(/^\s*#+\s*/, '').trim())
      .find(Boolean) ?? '';
  return (line.length > 80 ? `${line.slice(0, 79)}…` : line) || 'Note';
}

function normalizeTags(tags: readonly unknown[] | undefined): string[] {
  const out: string[] = [];
  for (const t of tags ?? []) {
    if (typeof t !== 'string') continue;
    const v = t.trim();
    if (v && !out.includes(v)) out.push(v);
  }
  return out;
}

/** A file is synced when the state's manifest has it with exactly this content. */
function isSynced(state: SyncState, doc: TreeDoc): boolean {
  return state.manifest[doc.path] === sha256(doc.text);
}

export interface CurateHygiene {
  /** What to do with a secret in the note (default `refuse`). */
  secrets?: SecretMode;
  /** `detect` (default): answer duplicates with the existing path; `merge`: also merge same-subject notes; `allow`: write anyway. */
  duplicates?: 'detect' | 'merge' | 'allow';
}

export async function curateNote(
  ctx: CurateContext,
  input: Note,
  opts: { id?: string } & CurateHygiene = {},
): Promise<CurateResult> {
  let note = input;
  if (!note || typeof note.content !== 'string' || note.content.trim() === '') {
    throw new ClawError(MemoryErrorCode.NOTE_EMPTY, 'expected a note with non-empty content, found none', {
      hint: 'Pass the text to remember, e.g. `claw-byterover curate "Auth uses JWT with 24h expiry"`.',
    });
  }
  if (note.content.length > MAX_NOTE_CHARS) {
    throw new ClawError(
      MemoryErrorCode.NOTE_TOO_LARGE,
      `expected a note of at most ${MAX_NOTE_CHARS} characters, found ${note.content.length}`,
      {
        hint: 'Split it into several notes; each should hold one decision, pattern or fact.',
      },
    );
  }
  const secretMode = opts.secrets ?? 'refuse';
  const checked = checkSecrets(
    [note.title ?? '', ...(note.tags ?? []).filter((t) => typeof t === 'string'), note.content].join('\n\u0000\n'),
    secretMode,
  );
  const redacted = checked.redacted;
  if (redacted.length > 0) {
    const [t, ...rest] = checked.text.split('\n\u0000\n');
    const content = rest.pop() ?? '';
    note = { ...note, ...(note.title !== undefined ? { title: t } : {}), tags: rest, content };
  }
  const title = deriveTitle(note);
  const tags = normalizeTags(note.tags);
  const extra = redacted.length > 0 ? { redacted } : {};

  // The id derives from the note as given (after redaction), so a retried write finds its own note.
  const id = opts.id ?? noteId({ title, content: note.content, tags, path: note.path });
  const queued = await ctx.outbox.get(id);
  if (queued) return { id, path: queued.path, status: 'existing', ...extra };

  await ctx.tree.ensure();
  await ctx.tree.refresh();
  const already = ctx.tree.findById(id);
  if (already) {
    if (!isSynced(await ctx.loadState(), already)) {
      await ctx.outbox.put(entryFor(already, id, (ctx.now?.() ?? new Date()).toISOString()));
    }
    return { id, path: already.path, status: 'existing', ...extra };
  }

  let supersedes: string | undefined;
  if ((opts.duplicates ?? 'detect') !== 'allow') {
    const docs = [...ctx.tree.all()].map((d) => ({
      path: d.path,
      title: d.note.title,
      body: d.note.body,
      id: d.note.id,
    }));
    const similar = findSimilar(docs, { title, content: note.content });
    if (similar?.kind === 'duplicate') {
      const doc = docs.find((d) => d.path === similar.path);
      return {
        // A hand-written note has no claw_id: its id is derived as curate would have derived it.
        id: doc?.id ?? noteId({ title: doc?.title ?? title, content: doc?.body ?? '', tags: [], path: similar.path }),
        path: similar.path,
        status: 'existing',
        duplicateOf: similar.path,
        ...extra,
      };
    }
    if (similar?.kind === 'same-subject') {
      supersedes = similar.path;
      const body = opts.duplicates === 'merge' ? mergeBodies(similar.body, note.content) : note.content;
      note = { ...note, content: `${supersedesLine(similar.path)}\n\n${body}` };
    }
  }
  if (supersedes !== undefined) Object.assign(extra, { supersedes });

  const created = (ctx.now?.() ?? new Date()).toISOString();
  const text = renderNote({ id, title, tags, created }, note.content);
  let rel: string | undefined;
  const refused = new Set<string>();
  for (let i = 0; i < 100 && rel === undefined; i++) {
    const target = await chooseNotePath(
      ctx.tree.root,
      { title, ...(note.path !== undefined ? { desired: note.path } : {}) },
      (p) => refused.has(p),
    );
    if (await createFileExclusive(target.abs, text)) rel = target.rel;
    else refused.add(target.rel); // created by someone else between the check and the link: next name
  }
  if (rel === undefined) {
    throw new ClawError(
      MemoryErrorCode.NAME_EXHAUSTED,
      `expected to create a new file for "${title}", found every candidate name taken while writing`,
      {
        hint: 'Another process is writing the same names; try again.',
      },
    );
  }
  await step(ctx.hooks, 'curate:file-written', { id, path: rel });

  await ctx.outbox.put({
    v: 1,
    id,
    path: rel,
    title,
    tags,
    content: text,
    createdAt: created,
    state: 'pending',
    attempts: 0,
  });
  await step(ctx.hooks, 'curate:outbox-written', { id, path: rel });
  return { id, path: rel, status: 'written', ...extra };
}
