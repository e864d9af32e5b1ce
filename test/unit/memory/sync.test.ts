/**
 * Sync against the ByteRover stand-in (test/standin/byterover.ts) through the real lib/byterover
 * client and lib/http transport: pull applies adds/changes/deletes and never clobbers unpushed or
 * locally changed notes; push sends the outbox once, survives stale SHAs, and every crash point.
 */
import { spawn } from 'node:child_process';
import { readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isClawError } from '../../../lib/errors.js';
import { curateNote } from '../../../lib/memory/curate.js';
import type { StepHooks, StepPoint } from '../../../lib/memory/hooks.js';
import { Outbox } from '../../../lib/memory/outbox.js';
import { defaultStateDir, loadSyncState } from '../../../lib/memory/state.js';
import { MemorySync } from '../../../lib/memory/sync.js';
import { ContextTree } from '../../../lib/memory/tree.js';
import { DEFAULT_SESSION_KEY } from '../../standin/byterover.js';
import { rig } from '../byterover/harness.js';
import { tempProject } from './helpers.js';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

async function setup(rigOptions: Parameters<typeof rig>[0] = {}) {
  const r = await rig(rigOptions);
  const team = r.standin.addTeam();
  const space = r.standin.addSpace(team.id);
  const p = await tempProject();
  const ct = new ContextTree({ projectRoot: p.project });
  const stateDir = defaultStateDir(p.project);
  const outbox = new Outbox(stateDir);
  const sync = (hooks?: StepHooks) =>
    new MemorySync({
      tree: ct,
      outbox,
      stateDir,
      client: r.client,
      teamId: team.id,
      spaceId: space.id,
      ...(hooks ? { hooks } : {}),
    });
  const curate = (title: string, content: string, path?: string) =>
    curateNote(
      { tree: ct, outbox, loadState: () => loadSyncState(stateDir) },
      { title, content, ...(path ? { path } : {}) },
    );
  const remote = () => r.standin.files(team.id, space.id);
  const remoteText = (path: string) => remote().get(`/${path}`)?.toString('utf8');
  const commitRemote = (files: Record<string, string | null>) =>
    r.standin.commitFiles(team.id, space.id, 'main', files);
  const local = (path: string) => readFile(join(p.tree, path), 'utf8').catch(() => undefined);
  const ours = (id: string) => r.standin.history(team.id, space.id).filter((c) => c.message.includes(id));
  const copiesOnRemote = (id: string) =>
    [...remote().values()].filter((b) => b.toString('utf8').includes(`claw_id: ${id}`)).length;
  return {
    ...r,
    team,
    space,
    ...p,
    ct,
    stateDir,
    outbox,
    sync,
    curate,
    remote,
    remoteText,
    commitRemote,
    local,
    ours,
    copiesOnRemote,
  };
}

const throwAt = (point: StepPoint): StepHooks => ({
  at(p) {
    if (p === point) throw new Error(`injected crash at ${p}`);
  },
});

describe('pull', () => {
  it('applies additions, changes and deletions, and records the commit and manifest', async () => {
    const s = await setup();
    const c1 = s.commitRemote({ '/auth/jwt.md': '# JWT\nv1', '/db/pool.md': '# Pool\nv1', '/gone.md': '# Gone' });
    const r1 = await s.sync().pull();
    expect(r1).toMatchObject({ commitSha: c1, updated: [], deleted: [], kept: [] });
    expect(r1.added.sort()).toEqual(['auth/jwt.md', 'db/pool.md', 'gone.md']);
    expect(await s.local('auth/jwt.md')).toBe('# JWT\nv1');
    expect(s.ct.get('db/pool.md')?.note.title).toBe('Pool'); // tree refreshed
    expect((await loadSyncState(s.stateDir)).commitSha).toBe(c1);

    const c2 = s.commitRemote({ '/auth/jwt.md': '# JWT\nv2', '/gone.md': null, '/new/cache.md': '# Cache' });
    const r2 = await s.sync().pull();
    expect(r2).toMatchObject({
      commitSha: c2,
      added: ['new/cache.md'],
      updated: ['auth/jwt.md'],
      deleted: ['gone.md'],
      kept: [],
    });
    expect(await s.local('auth/jwt.md')).toBe('# JWT\nv2');
    expect(await s.local('gone.md')).toBeUndefined();
    expect(s.ct.get('gone.md')).toBeUndefined();
    const again = await s.sync().pull(); // nothing changed remotely: nothing to do
    expect(again).toMatchObject({ added: [], updated: [], deleted: [], kept: [] });
  });

  it('never overwrites or deletes a note waiting in the outbox, nor a synced note changed here', async () => {
    const s = await setup();
    s.commitRemote({
      '/shared.md': '# Shared\nremote v1',
      '/edited-here.md': '# E\nv1',
      '/deleted-remotely.md': '# D\nv1',
    });
    await s.sync().pull();
    // Local: an unpushed note at a path another client will also write; a synced note edited here.
    const mine = await s.curate('Collide', 'my unpushed text', 'collide.md');
    await writeFile(join(s.tree, 'edited-here.md'), '# E\nlocal edit');
    await writeFile(join(s.tree, 'deleted-remotely.md'), '# D\nlocal edit');
    s.commitRemote({
      '/collide.md': '# Theirs',
      '/edited-here.md': '# E\nremote v2',
      '/deleted-remotely.md': null,
      '/shared.md': '# Shared\nremote v2',
    });
    const r = await s.sync().pull();
    expect(r.updated).toEqual(['shared.md']);
    expect(r.kept).toEqual(
      expect.arrayContaining([
        { path: 'collide.md', reason: 'unpushed' },
        { path: 'edited-here.md', reason: 'changed-locally' },
        { path: 'deleted-remotely.md', reason: 'changed-locally' },
      ]),
    );
    expect(await s.local('collide.md')).toContain('my unpushed text');
    expect(await s.local('edited-here.md')).toBe('# E\nlocal edit');
    expect(await s.local('deleted-remotely.md')).toBe('# D\nlocal edit');
    expect((await s.outbox.get(mine.id))?.state).toBe('pending');
    // Once pushed, the local note is what ByteRover has.
    await s.sync().push();
    expect(s.remoteText('collide.md')).toContain('my unpushed text');
  });

  it('keeps local files it never synced, and refuses snapshot paths that escape the tree', async () => {
    const s = await setup();
    await mkdir(s.tree, { recursive: true });
    await writeFile(join(s.tree, 'local-only.md'), '# Mine');
    s.commitRemote({ '/../escape.md': '# evil', '/ok.md': '# ok' });
    const r = await s.sync().pull();
    expect(r.added).toEqual(['ok.md']);
    expect(r.kept).toEqual([{ path: '../escape.md', reason: 'unsafe-path' }]);
    expect(await readdir(join(s.project, '.brv'))).not.toContain('escape.md');
    expect(await s.local('local-only.md')).toBe('# Mine');
  });

  it('a crash after applying files but before saving state loses nothing: the next pull converges', async () => {
    const s = await setup();
    s.commitRemote({ '/a.md': '# A', '/b.md': '# B' });
    await s.sync().pull();
    const head = s.commitRemote({ '/a.md': '# A2', '/b.md': null, '/c.md': '# C' });
    await expect(s.sync(throwAt('pull:files-applied')).pull()).rejects.toThrow(/injected/);
    const r = await s.sync().pull();
    expect(r.commitSha).toBe(head);
    expect([await s.local('a.md'), await s.local('b.md'), await s.local('c.md')]).toEqual(['# A2', undefined, '# C']);
    expect(Object.keys((await loadSyncState(s.stateDir)).manifest).sort()).toEqual(['a.md', 'c.md']);
  });
});

describe('push', () => {
  it('sends the outbox as one commit with ids in the notes and message, then empties it', async () => {
    const s = await setup();
    const a = await s.curate('Alpha note', 'alpha body');
    const b = await s.curate('Beta note', 'beta body');
    const r = await s.sync().push();
    expect(r.pushed.sort()).toEqual([a.id, b.id].sort());
    expect(r.commits).toHaveLength(1);
    expect(r.commitSha).toBe(s.standin.head(s.team.id, s.space.id));
    expect(s.remoteText('alpha-note.md')).toBe(await s.local('alpha-note.md'));
    expect(s.copiesOnRemote(a.id)).toBe(1);
    expect(s.ours(a.id)).toHaveLength(1);
    expect(await s.outbox.size()).toBe(0);
    expect(await s.sync().push()).toMatchObject({ pushed: [], confirmed: [] });
    expect(await s.sync().pull()).toMatchObject({ added: [], updated: [], deleted: [], kept: [] }); // in sync
  });

  it('sends the file as edited since curate, and batches by batchSize', async () => {
    const s = await setup();
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await s.curate(`Batch ${i}`, `body ${i}`)).id);
    await writeFile(join(s.tree, 'batch-0.md'), `${await s.local('batch-0.md')}\nedited after curate\n`);
    const sync = new MemorySync({
      tree: s.ct,
      outbox: s.outbox,
      stateDir: s.stateDir,
      client: s.client,
      teamId: s.team.id,
      spaceId: s.space.id,
      batchSize: 2,
    });
    const r = await sync.push();
    expect(r.commits).toHaveLength(3);
    expect(s.remoteText('batch-0.md')).toContain('edited after curate');
    for (const id of ids) expect(s.copiesOnRemote(id)).toBe(1);
  });

  it('survives a stale SHA: another client committed since our last sync', async () => {
    const s = await setup();
    s.commitRemote({ '/base.md': '# Base' });
    await s.sync().pull();
    s.commitRemote({ '/other.md': '# Other client' }); // our recorded head is now stale
    const n = await s.curate('After stale', 'text');
    const r = await s.sync().push();
    expect(r.pushed).toEqual([n.id]);
    expect(s.remote().has('/other.md')).toBe(true); // their commit is kept
    expect(s.copiesOnRemote(n.id)).toBe(1);
    // And a commit racing in between the refetch and the retry (the stand-in moves the head once).
    s.standin.inject({ kind: 'concurrentCommit', endpoint: 'cogit.commits' });
    const m = await s.curate('Raced', 'text 2');
    expect((await s.sync().push()).pushed).toEqual([m.id]);
    expect(s.copiesOnRemote(m.id)).toBe(1);
  });

  it('a head that keeps moving fails with the client conflict; the note stays queued and goes out next time', async () => {
    const s = await setup();
    s.commitRemote({ '/base.md': '# Base' });
    await s.sync().pull();
    const n = await s.curate('Conflicted', 'text');
    s.standin.inject({ kind: 'concurrentCommit', endpoint: 'cogit.commits', times: 2 });
    const err = await s
      .sync()
      .push()
      .catch((e: unknown) => e);
    expect(isClawError(err, 'MEMORY_PUSH_FAILED')).toBe(true);
    expect((err as { details?: { code?: string } }).details?.code).toBe('BYTEROVER_CONFLICT');
    expect((await s.outbox.get(n.id))?.state).toBe('inflight');
    const r = await s.sync().push();
    expect(r).toMatchObject({ pushed: [n.id], confirmed: [] });
    expect(s.copiesOnRemote(n.id)).toBe(1);
  });

  it.each(['push:inflight-marked', 'push:committed', 'push:state-written'] as const)(
    'a crash at %s neither duplicates nor loses the note',
    async (point) => {
      const s = await setup();
      const n = await s.curate(`Crash ${point}`, 'survives');
      await expect(s.sync(throwAt(point)).push()).rejects.toThrow(/injected/);
      const r = await s.sync().push();
      if (point === 'push:inflight-marked') expect(r).toMatchObject({ pushed: [n.id], confirmed: [] });
      else expect(r).toMatchObject({ pushed: [], confirmed: [n.id] });
      expect(s.copiesOnRemote(n.id)).toBe(1);
      expect(s.ours(n.id)).toHaveLength(1);
      expect(await s.outbox.size()).toBe(0);
      expect((await loadSyncState(s.stateDir)).commitSha).toBe(s.standin.head(s.team.id, s.space.id));
    },
  );

  it('commit applied, answer lost once: the transport retries with the same idempotency key and gets the stored answer', async () => {
    const s = await setup();
    const n = await s.curate('Lost once', 'body');
    s.standin.inject({ kind: 'failAfterCommit', endpoint: 'cogit.commits' });
    expect(await s.sync().push()).toMatchObject({ pushed: [n.id], confirmed: [] });
    expect(s.standin.requestsTo('cogit.commits').some((q) => q.replayed)).toBe(true);
    expect(s.copiesOnRemote(n.id)).toBe(1);
    expect(s.ours(n.id)).toHaveLength(1);
  });

  it('commit applied, answer lost and no HTTP retry left: the next push finds the note on ByteRover and does not resend', async () => {
    const s = await setup({ http: { retry: { maxAttempts: 1 } } });
    const n = await s.curate('Lost answer', 'body');
    s.standin.inject({ kind: 'failAfterCommit', endpoint: 'cogit.commits' });
    const err = await s
      .sync()
      .push()
      .catch((e: unknown) => e);
    expect(isClawError(err, 'MEMORY_PUSH_FAILED')).toBe(true);
    expect(s.copiesOnRemote(n.id)).toBe(1); // it did land
    const r = await s.sync().push();
    expect(r).toMatchObject({ pushed: [], confirmed: [n.id] });
    expect(s.ours(n.id)).toHaveLength(1);
  });

  it('SIGKILL right after the commit landed: the next push (another process) does not resend', async () => {
    const s = await setup();
    const n = await s.curate('Killed mid push', 'body');
    const cfg = {
      config: s.standin.clientConfig(),
      sessionKey: DEFAULT_SESSION_KEY,
      teamId: s.team.id,
      spaceId: s.space.id,
    };
    // Async spawn: the stand-in answers from this process, so its event loop must keep running.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CHILD, s.project, 'push', 'push:committed', JSON.stringify(cfg)],
      { stdio: 'inherit' },
    );
    const signal = await new Promise((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    expect(signal).toBe('SIGKILL');
    expect(s.copiesOnRemote(n.id)).toBe(1);
    expect((await s.outbox.get(n.id))?.state).toBe('inflight');
    const r = await s.sync().push();
    expect(r).toMatchObject({ pushed: [], confirmed: [n.id] });
    expect(s.ours(n.id)).toHaveLength(1);
    expect(await s.outbox.size()).toBe(0);
  });

  it('a note deleted from the tree before push is still sent from the outbox copy (never lost)', async () => {
    const s = await setup();
    const n = await s.curate('Deleted locally', 'keep me');
    await rm(join(s.tree, 'deleted-locally.md'));
    await s.sync().push();
    expect(s.remoteText('deleted-locally.md')).toContain('keep me');
    expect(s.copiesOnRemote(n.id)).toBe(1);
  });
});
