/**
 * Pull is total (issue 13), against the ByteRover stand-in through the real client: a snapshot file
 * over 3.2 MB is decoded (the base64 check was a backtracking regexp that overflowed the stack), and
 * every entry this tree cannot hold — a 300-byte name, x.md beside x.md/y.md, a directory where the
 * snapshot has a file, one path spelled twice — is reported in `failed` with its path and a stable
 * code, while the rest of the snapshot is applied and the sync state written. Before, the first such
 * entry threw a raw system error (ENAMETOOLONG, ENOTDIR, EISDIR) half-way, with nothing after it
 * applied and no state written.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Outbox } from '../../../lib/memory/outbox.js';
import { defaultStateDir, loadSyncState } from '../../../lib/memory/state.js';
import { MemorySync, PullProblemCode } from '../../../lib/memory/sync.js';
import { ContextTree } from '../../../lib/memory/tree.js';
import { rig } from '../byterover/harness.js';
import { tempProject } from './helpers.js';

async function setup() {
  const r = await rig({});
  const team = r.standin.addTeam();
  const space = r.standin.addSpace(team.id);
  const p = await tempProject();
  const ct = new ContextTree({ projectRoot: p.project });
  const stateDir = defaultStateDir(p.project);
  const sync = new MemorySync({
    tree: ct,
    outbox: new Outbox(stateDir),
    stateDir,
    client: r.client,
    teamId: team.id,
    spaceId: space.id,
  });
  const commitRemote = (files: Record<string, string | Buffer | null>) =>
    r.standin.commitFiles(team.id, space.id, 'main', files);
  const local = (path: string) => readFile(join(p.tree, path)).catch(() => undefined);
  return { ...r, ...p, sync, stateDir, commitRemote, local };
}

describe('pull is total', () => {
  it('applies a 5 MB note (base64 checked without a backtracking regexp)', async () => {
    const s = await setup();
    try {
      const big = `# Big\n\n${'lorem ipsum dolor sit amet '.repeat(200_000)}`; // ~5.4 MB
      await s.commitRemote({ '/big.md': big, '/small.md': '# Small\n' });
      const r = await s.sync.pull();
      expect(r.failed).toEqual([]);
      expect(r.added.sort()).toEqual(['big.md', 'small.md']);
      expect((await s.local('big.md'))?.length).toBe(Buffer.byteLength(big));
    } finally {
      // the rig's servers are closed by its own afterEach
    }
  });

  it('reports each entry the tree cannot hold, with its path and a stable code, and applies the rest', async () => {
    const s = await setup();
    try {
      const long = `${'n'.repeat(300)}.md`;
      // A directory where the snapshot has a file.
      await mkdir(join(s.tree, 'taken.md', 'inner'), { recursive: true });
      await s.commitRemote({
        '/a.md': '# A\n',
        [`/${long}`]: '# Long\n',
        '/x.md': '# X\n',
        '/x.md/y.md': '# Y under a file\n',
        '/taken.md': '# Taken\n',
        '/z.md': '# Z\n',
      });
      const r = await s.sync.pull();
      const byPath = Object.fromEntries(r.failed.map((f) => [f.path, f]));
      expect(byPath[long]?.code).toBe(PullProblemCode.NAME_TOO_LONG);
      expect(byPath['x.md/y.md']?.code).toBe(PullProblemCode.PATH_CONFLICT);
      expect(byPath['taken.md']?.code).toBe(PullProblemCode.PATH_CONFLICT);
      expect(byPath['taken.md']?.cause).toBe('EISDIR');
      expect(r.failed).toHaveLength(3);
      for (const f of r.failed) {
        expect(f.message).toMatch(/^expected /);
        expect(f.message).not.toContain(s.tree); // no absolute paths, no raw "EISDIR: illegal operation" text
        expect(f.message).not.toMatch(/illegal operation|name too long, open/);
      }
      // Everything else applied, before and after the failing entries.
      expect(r.added.sort()).toEqual(['a.md', 'x.md', 'z.md']);
      expect((await s.local('z.md'))?.toString()).toBe('# Z\n');
      // And the sync state was written: the next pull is a no-op apart from the same three reports.
      const state = await loadSyncState(s.stateDir);
      expect(state.commitSha).toBe(r.commitSha);
      expect(Object.keys(state.manifest).sort()).toEqual(['a.md', 'x.md', 'z.md']);
      const again = await s.sync.pull();
      expect(again.added).toEqual([]);
      expect(again.failed.map((f) => f.code).sort()).toEqual(r.failed.map((f) => f.code).sort());
    } finally {
      // the rig's servers are closed by its own afterEach
    }
  });
});

describe('one remote path spelled twice', () => {
  it('applies the first spelling and reports the later one as MEMORY_PULL_DUPLICATE_PATH (not changed-locally)', async () => {
    const s = await setup();
    await s.commitRemote({ '/notes/a.md': '# First\n', '/notes//a.md': '# Second\n', '/notes/./b.md': '# B\n' });
    const r = await s.sync.pull();
    expect(r.added.sort()).toEqual(['notes/a.md', 'notes/b.md']);
    expect(r.kept).toEqual([]);
    expect(r.failed.map((f) => [f.path, f.code])).toEqual([['notes//a.md', 'MEMORY_PULL_DUPLICATE_PATH']]);
    expect((await s.local('notes/a.md'))?.toString()).toBe('# First\n');
  });
});

describe('isBase64 (the snapshot decoder check, one loop)', () => {
  it('accepts canonical padded base64 of any size and refuses the rest', async () => {
    const { isBase64 } = await import('../../../lib/byterover/snapshot.js');
    for (const ok of ['', 'QQ==', 'QUI=', 'QUJD', Buffer.alloc(10_000_000, 7).toString('base64')])
      expect(isBase64(ok)).toBe(true);
    for (const bad of ['Q', 'QQ=', 'Q===', '====', 'QQ=A', 'QU-D', 'QUJ\u00e9', 'QU D'])
      expect(isBase64(bad), bad).toBe(false);
  });
});
