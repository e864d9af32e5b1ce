/**
 * Near-duplicate and same-subject detection for curate: a write that says nothing new is answered
 * with the note that already says it; a write about a subject the tree already has a note on
 * supersedes that note visibly (or merges into a new note, on request).
 *
 * - subject: the note's title, normalized (case, punctuation, markdown markers and whitespace folded);
 * - content: the body, normalized the same way, without the `Supersedes …` line curate adds.
 * A new note is a **duplicate** of an existing one when its normalized content equals the existing
 * content, or when both have the same subject and the new content is contained in the existing one.
 * It **supersedes** an existing note when the subjects are equal and the content is not contained
 * (a changed fact). Subjects shorter than 3 characters never match (too generic to mean "the same
 * thing"), nor does the fallback title `Note`.
 */

export interface ExistingNote {
  path: string;
  title: string;
  body: string;
}

export type Similarity =
  | { kind: 'duplicate'; path: string; reason: 'same-content' | 'contained' }
  | { kind: 'same-subject'; path: string; body: string };

/** The marker line curate adds to a note that supersedes another. */
export const SUPERSEDES_PREFIX = '> Supersedes ';

export function supersedesLine(path: string): string {
  return `${SUPERSEDES_PREFIX}\`${path}\` (same subject; this note is the current one).`;
}

export function normalizeSubject(title: string): string {
  return title
    .toLowerCase()
    .replace(/[`*_~#>[\]()"'\u201C\u201D\u2018\u2019.,;:!?|-]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function normalizeContent(body: string): string {
  return body
    .split(/\r?\n/)
    .filter((l) => !l.startsWith(SUPERSEDES_PREFIX))
    .join('\n')
    .toLowerCase()
    .replace(/^\s*#+\s*/gm, '')
    .replace(/[`*_~>|]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The first existing note the new one duplicates, else the newest same-subject note, else undefined. */
export function findSimilar(
  existing: Iterable<ExistingNote>,
  note: { title: string; content: string },
): Similarity | undefined {
  const subject = normalizeSubject(note.title);
  const content = normalizeContent(note.content);
  if (!content) return undefined;
  const subjectCounts = subject.length >= 3 && subject !== 'note';
  let sameSubject: ExistingNote | undefined;
  for (const doc of existing) {
    const other = normalizeContent(doc.body);
    if (other === content) return { kind: 'duplicate', path: doc.path, reason: 'same-content' };
    if (!subjectCounts || normalizeSubject(doc.title) !== subject) continue;
    if (other.includes(content)) return { kind: 'duplicate', path: doc.path, reason: 'contained' };
    // Prefer the note that is itself the latest (not superseded by another same-subject note).
    if (!sameSubject || doc.body.includes(`${SUPERSEDES_PREFIX}\`${sameSubject.path}\``)) sameSubject = doc;
  }
  return sameSubject ? { kind: 'same-subject', path: sameSubject.path, body: sameSubject.body } : undefined;
}

/** The merged body: the existing note's lines, then the new note's lines it does not already hold. */
export function mergeBodies(existing: string, added: string): string {
  const keep = existing
    .split(/\r?\n/)
    .filter((l) => !l.startsWith(SUPERSEDES_PREFIX))
    .join('\n')
    .trim();
  const have = new Set(
    keep
      .split(/\r?\n/)
      .map((l) => normalizeContent(l))
      .filter(Boolean),
  );
  const extra = added
    .split(/\r?\n/)
    .filter((l) => {
      const n = normalizeContent(l);
      return n && !have.has(n);
    })
    .join('\n')
    .trim();
  return extra ? `${keep}\n\n${extra}` : keep;
}
