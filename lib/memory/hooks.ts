/**
 * Named points between the durable steps of curate, push and pull. Tests (and only tests) pass a hook
 * that throws or kills the process at one of them, to prove each step is crash-safe.
 */
export type StepPoint =
  | 'curate:file-written' // note file on disk, no outbox entry yet
  | 'curate:outbox-written' // outbox entry on disk
  | 'push:inflight-marked' // entries marked inflight, commit not sent
  | 'push:committed' // CoGit accepted the commit, nothing recorded here yet
  | 'push:state-written' // sync state records the commit, outbox entries not yet removed
  | 'pull:files-applied'; // tree updated from the snapshot, sync state not yet written

export interface StepHooks {
  at?(point: StepPoint, info: Record<string, unknown>): void | Promise<void>;
}

export async function step(
  hooks: StepHooks | undefined,
  point: StepPoint,
  info: Record<string, unknown> = {},
): Promise<void> {
  if (hooks?.at) await hooks.at(point, info);
}
