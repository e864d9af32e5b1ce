/**
 * Crash recovery of curate (lib/memory/curate.ts): a note file written with its `claw_id` whose outbox
 * entry was never written is re-enqueued. Kept apart from curate so that LocalMemory.open, which runs
 * it on every open, does not load curate's hygiene and path modules (issue 15: load only what is used).
 */
import type { CurateContext } from './curate.js';
import type { OutboxEntry } from './outbox.js';
import type { TreeDoc } from './tree.js';

export function entryFor(doc: TreeDoc, id: string, createdAt: string): OutboxEntry {
  return {
    v: 1,
    id,
    path: doc.path,
    title: doc.note.title,
    tags: doc.note.tags,
    content: doc.text,
    createdAt,
    state: 'pending',
    attempts: 0,
  };
}

/**
 * Re-enqueues notes written by curate (they carry `claw_id`) that have no outbox entry and are not
 * synced: what a crash between writing the file and writing its entry leaves. Returns the ids added.
 */
export async function recoverOrphans(
  ctx: Pick<CurateContext, 'tree' | 'outbox' | 'loadState' | 'now'>,
): Promise<string[]> {
  await ctx.tree.refresh();
  const state = await ctx.loadState();
  const queued = new Set((await ctx.outbox.list()).map((e) => e.id));
  const added: string[] = [];
  // ids(): restored notes know their claw_id without being read (or, while packed, built)
  for (const [path, id] of [...ctx.tree.ids()]) {
    if (queued.has(id) || state.manifest[path] !== undefined || !/^[a-z0-9-]{8,64}$/.test(id)) continue;
    const doc = ctx.tree.get(path);
    if (!doc) continue;
    await ctx.outbox.put(entryFor(doc, id, (ctx.now?.() ?? new Date()).toISOString()));
    queued.add(id);
    added.push(id);
  }
  return added;
}
