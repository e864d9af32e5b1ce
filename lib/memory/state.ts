/**
 * Where lib/memory keeps its own files, and the sync state.
 *
 * `<project>/.brv/claw-byterover/` (outside the context tree, so never indexed or pushed):
 * - `outbox/<id>.json`   notes curated here and not yet confirmed pushed (lib/memory/outbox.ts);
 * - `sync-state.json`    the last CoGit commit this tree was synced with and, per path, the sha256 of
 *                        the content last synced (pulled or pushed). Pull uses it to tell "unchanged
 *                        here since the last sync" (safe to overwrite/delete) from "changed here" (kept).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { ClawError } from '../errors.js';
import { writeFileAtomic } from './fsx.js';
import { MemoryErrorCode } from './errors.js';

export { defaultStateDir } from './paths.js';

/** Built on first use, so a process that finds no sync state never loads zod (issue 15). */
const buildStateSchema = (zod: typeof z) =>
  zod.object({
    v: zod.literal(1),
    branch: zod.string(),
    /** Head commit after the last successful pull or push ('' before any). */
    commitSha: zod.string(),
    /** path → sha256 of the content last synced with ByteRover. */
    manifest: zod.record(zod.string(), zod.string()),
    pulledAt: zod.string().optional(),
    pushedAt: zod.string().optional(),
  });
type StateSchema = ReturnType<typeof buildStateSchema>;
export type SyncState = z.infer<StateSchema>;
let stateSchema: Promise<StateSchema> | undefined;
/** The sync state's schema (zod, loaded on first use). */
export function syncStateSchema(): Promise<StateSchema> {
  return (stateSchema ??= import('../zod.js').then((m) => buildStateSchema(m.z)));
}

export function emptyState(branch = 'main'): SyncState {
  return { v: 1, branch, commitSha: '', manifest: {} };
}

export async function loadSyncState(stateDir: string, branch = 'main'): Promise<SyncState> {
  const file = join(stateDir, 'sync-state.json');
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyState(branch);
    throw e;
  }
  const parsed = (await syncStateSchema()).safeParse(
    (() => {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        return undefined;
      }
    })(),
  );
  if (!parsed.success) {
    throw new ClawError(
      MemoryErrorCode.STATE_CORRUPT,
      `expected ${file} to hold lib/memory's sync state (JSON, v1), found something else`,
      {
        hint: 'Move the file aside and run `claw-byterover pull` to rebuild it (local notes are kept).',
        details: { file },
      },
    );
  }
  return parsed.data;
}

export async function saveSyncState(stateDir: string, state: SyncState): Promise<void> {
  await writeFileAtomic(
    join(stateDir, 'sync-state.json'),
    `${JSON.stringify((await syncStateSchema()).parse(state), null, 1)}\n`,
  );
}
