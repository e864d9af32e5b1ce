/**
 * The durable outbox: notes curated locally and not yet confirmed pushed to ByteRover.
 *
 * Layout: one JSON file per entry, `<stateDir>/outbox/<id>.json`, written with writeFileAtomic
 * (temp file, fsync, rename, fsync dir) and removed with unlinkDurable. A file-per-entry directory
 * (rather than an append-only JSONL log) makes each state change one atomic rename, needs no
 * compaction, and a torn write can only leave a stray `.tmp` file, which is ignored.
 *
 * Entry ids are stable: `noteId()` derives them from the note (title, content, tags, path), so curating
 * the same note twice yields the same id, and the id travels inside the note's frontmatter (`claw_id`)
 * to ByteRover. That is what lets push recognise, after a crash, a commit that landed but whose
 * outbox entry was never cleared.
 *
 * States: `pending` (never sent) → `inflight` (written just before the commit request; the commit may
 * or may not have landed) → removed (the commit is confirmed and recorded in the sync state).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { logger as rootLogger, type Logger } from '../log/index.js';
import { sha256, unlinkDurable, writeFileAtomic } from './fsx.js';

export const OutboxEntrySchema = z.object({
  v: z.literal(1),
  id: z.string().regex(/^[a-z0-9-]{8,64}$/),
  /** Tree-relative path of the note file. */
  path: z.string(),
  title: z.string(),
  tags: z.array(z.string()),
  /** The complete file text as curated (frontmatter included). */
  content: z.string(),
  createdAt: z.string(),
  state: z.enum(['pending', 'inflight']),
  attempts: z.number().int().nonnegative(),
  /** The CoGit sha the last attempt was based on (diagnostics). */
  lastBaseSha: z.string().optional(),
});
export type OutboxEntry = z.infer<typeof OutboxEntrySchema>;

/** The stable id of a note: 24 hex chars of sha256 over its identity fields. */
export function noteId(note: {
  title: string;
  content: string;
  tags: readonly string[];
  path?: string | undefined;
}): string {
  return sha256(JSON.stringify(['claw-note/1', note.title, note.content, [...note.tags], note.path ?? null])).slice(
    0,
    24,
  );
}

export class Outbox {
  readonly dir: string;
  private readonly log: Logger;

  constructor(stateDir: string, logger?: Logger) {
    this.dir = join(stateDir, 'outbox');
    this.log = (logger ?? rootLogger).child({ component: 'memory.outbox' });
  }

  private file(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  async get(id: string): Promise<OutboxEntry | undefined> {
    let raw: string;
    try {
      raw = await readFile(this.file(id), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    return this.parse(raw, id);
  }

  private parse(raw: string, name: string): OutboxEntry | undefined {
    try {
      return OutboxEntrySchema.parse(JSON.parse(raw));
    } catch (e) {
      this.log.error({ entry: name, err: e }, 'outbox entry unreadable; left in place');
      return undefined;
    }
  }

  /** All entries, oldest first (by createdAt, then id). Unreadable entries are logged and skipped. */
  async list(): Promise<OutboxEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: OutboxEntry[] = [];
    for (const name of names) {
      if (!name.endsWith('.json') || name.startsWith('.')) continue;
      const raw = await readFile(join(this.dir, name), 'utf8').catch(() => undefined);
      if (raw === undefined) continue;
      const e = this.parse(raw, name);
      if (e) out.push(e);
    }
    return out.sort((a, b) =>
      a.createdAt === b.createdAt ? a.id.localeCompare(b.id) : a.createdAt.localeCompare(b.createdAt),
    );
  }

  /** Writes (creates or replaces) an entry durably. */
  async put(entry: OutboxEntry): Promise<void> {
    await writeFileAtomic(this.file(entry.id), `${JSON.stringify(OutboxEntrySchema.parse(entry))}\n`);
  }

  /** Removes an entry durably (absent is fine). */
  async remove(id: string): Promise<void> {
    await unlinkDurable(this.file(id));
  }

  async size(): Promise<number> {
    return (await this.list()).length;
  }
}
