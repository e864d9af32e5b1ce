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
import type { z } from 'zod';
import { logger as rootLogger, type Logger } from '../log/index.js';
import { sha256, unlinkDurable, writeFileAtomic } from './fsx.js';

/** Built on first use, so a process that finds no outbox entry never loads zod (issue 15). */
const buildEntrySchema = (zod: typeof z) =>
  zod.object({
    v: zod.literal(1),
    id: zod.string().regex(/^[a-z0-9-]{8,64}$/),
    /** Tree-relative path of the note file. */
    path: zod.string(),
    title: zod.string(),
    tags: zod.array(zod.string()),
    /** The complete file text as curated (frontmatter included). */
    content: zod.string(),
    createdAt: zod.string(),
    state: zod.enum(['pending', 'inflight']),
    attempts: zod.number().int().nonnegative(),
    /** The CoGit sha the last attempt was based on (diagnostics). */
    lastBaseSha: zod.string().optional(),
  });
type EntrySchema = ReturnType<typeof buildEntrySchema>;
export type OutboxEntry = z.infer<EntrySchema>;
let entrySchema: Promise<EntrySchema> | undefined;
/** The outbox entry's schema (zod, loaded on first use). */
export function outboxEntrySchema(): Promise<EntrySchema> {
  return (entrySchema ??= import('../zod.js').then((m) => buildEntrySchema(m.z)));
}

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
    return this.parse(await outboxEntrySchema(), raw, id);
  }

  private parse(schema: EntrySchema, raw: string, name: string): OutboxEntry | undefined {
    try {
      return schema.parse(JSON.parse(raw));
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
      const e = this.parse(await outboxEntrySchema(), raw, name);
      if (e) out.push(e);
    }
    return out.sort((a, b) =>
      a.createdAt === b.createdAt ? a.id.localeCompare(b.id) : a.createdAt.localeCompare(b.createdAt),
    );
  }

  /** Writes (creates or replaces) an entry durably. */
  async put(entry: OutboxEntry): Promise<void> {
    await writeFileAtomic(this.file(entry.id), `${JSON.stringify((await outboxEntrySchema()).parse(entry))}\n`);
  }

  /** Removes an entry durably (absent is fine). */
  async remove(id: string): Promise<void> {
    await unlinkDurable(this.file(id));
  }

  async size(): Promise<number> {
    return (await this.list()).length;
  }
}
