/**
 * A cancelled pull (the skill route's deadline aborts its signal) stops between snapshot entries:
 * the files already written are whole (atomic writes), nothing after the cancel is written, the sync
 * state is not recorded, and the next pull completes the same snapshot as if nothing had happened.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../../../lib/byterover/types.js';
import { Outbox } from '../../../lib/memory/outbox.js';
import { defaultStateDir, loadSyncState } from '../../../lib/memory/state.js';
import { MemorySync, type CoGitClient } from '../../../lib/memory/sync.js';
import { ContextTree } from '../../../lib/memory/tree.js';
import { rig } from '../byterover/harness.js';
import { tempProject } from './helpers.js';

describe('pull cancelled by its signal', () => {
  it('stops between entries, records no state, and the next pull finishes the snapshot', async () => {
    const r = await rig({});
    const team = r.standin.addTeam();
    const space = r.standin.addSpace(team.id);
    const names = ['a.md', 'b.md', 'c.md', 'd.md', 'e.md'];
    r.standin.commitFiles(team.id, space.id, 'main', Object.fromEntries(names.map((n) => [`/${n}`, `# ${n}\n`])));
    const p = await tempProject();
    const stateDir = defaultStateDir(p.project);
    const ac = new AbortController();
    const reason = new Error('deadline passed');
    let armed = true;
    // The snapshot as the client gives it, with a tripwire: the signal aborts when the apply loop
    // reaches the third entry (the first loop over the files only collects their paths).
    const client: CoGitClient = {
      pushCommit: (t, s, o) => r.client.pushCommit(t, s, o),
      async pullSnapshot(t, s, o) {
        const snap = await r.client.pullSnapshot(t, s, o);
        if (!armed) return snap;
        armed = false;
        let seen = 0;
        const files = snap.files;
        const tripwire = {
          [Symbol.iterator]: function* () {
            for (const f of files) {
              if (++seen === files.length + 3) ac.abort(reason);
              yield f;
            }
          },
        } as unknown as Snapshot['files'];
        return { ...snap, files: tripwire };
      },
    };
    const sync = new MemorySync({
      tree: new ContextTree({ projectRoot: p.project }),
      outbox: new Outbox(stateDir),
      stateDir,
      client,
      teamId: team.id,
      spaceId: space.id,
    });
    const local = (n: string) => readFile(join(p.tree, n), 'utf8').catch(() => undefined);

    await expect(sync.pull({ signal: ac.signal })).rejects.toBe(reason);
    expect(await Promise.all(names.map(local))).toEqual(['# a.md\n', '# b.md\n', undefined, undefined, undefined]);
    expect((await loadSyncState(stateDir, 'main')).commitSha).toBe('');

    const next = await sync.pull();
    expect(next.failed).toEqual([]);
    expect(next.added.sort()).toEqual(['c.md', 'd.md', 'e.md']);
    expect(await Promise.all(names.map(local))).toEqual(names.map((n) => `# ${n}\n`));
    const state = await loadSyncState(stateDir, 'main');
    expect(state.commitSha).toBe(next.commitSha);
    expect(Object.keys(state.manifest).sort()).toEqual(names);
  });
});
