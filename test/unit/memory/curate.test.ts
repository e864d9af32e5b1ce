import { spawnSync } from 'node:child_process';
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isClawError } from '../../../lib/errors.js';
import { curateNote, recoverOrphans } from '../../../lib/memory/curate.js';
import type { StepPoint } from '../../../lib/memory/hooks.js';
import { parseNote } from '../../../lib/memory/markdown.js';
import { Outbox, noteId } from '../../../lib/memory/outbox.js';
import { defaultStateDir, loadSyncState, saveSyncState } from '../../../lib/memory/state.js';
import { sha256 } from '../../../lib/memory/fsx.js';
import { ContextTree } from '../../../lib/memory/tree.js';
import { tempProject } from './helpers.js';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

async function setup(withFixture = false) {
  const p = await tempProject(withFixture);
  const ct = new ContextTree({ projectRoot: p.project });
  const stateDir = defaultStateDir(p.project);
  const outbox = new Outbox(stateDir);
  const ctx = (hooks?: { at(point: StepPoint): void }) => ({
    tree: ct,
    outbox,
    loadState: () => loadSyncState(stateDir),
    now: () => new Date('2025-06-01T12:00:00.000Z'),
    ...(hooks ? { hooks } : {}),
  });
  return { ...p, ct, outbox, stateDir, ctx };
}

const mdFiles = async (dir: string): Promise<string[]> =>
  (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.md')).sort();

const throwAt = (point: StepPoint) => ({
  at(p: StepPoint): void {
    if (p === point) throw new Error(`injected crash at ${p}`);
  },
});

describe('curate', () => {
  it('writes a new note with frontmatter at a slugged path and a pending outbox entry holding the same text', async () => {
    const s = await setup();
    const r = await curateNote(s.ctx(), {
      title: 'Deploys: blue/green!',
      content: 'We bake for 5 minutes.',
      tags: ['deploy', ' deploy ', 'ops'],
    });
    expect(r).toMatchObject({ path: 'deploys-blue-green.md', status: 'written' });
    expect(r.id).toMatch(/^[0-9a-f]{24}$/);
    const text = await readFile(join(s.tree, r.path as string), 'utf8');
    const n = parseNote(text);
    expect(n).toMatchObject({ title: 'Deploys: blue/green!', tags: ['deploy', 'ops'], id: r.id });
    expect(n.body.trim()).toBe('We bake for 5 minutes.');
    const entry = await s.outbox.get(r.id);
    expect(entry).toMatchObject({ id: r.id, path: r.path, state: 'pending', attempts: 0, content: text });
  });

  it('derives the title from the first content line and suffixes name collisions', async () => {
    const s = await setup();
    const a = await curateNote(s.ctx(), { content: '## Rate limits\n100 req/min per user' });
    const b = await curateNote(s.ctx(), { content: 'Rate limits\nAnother note with the same title' });
    expect(a.path).toBe('rate-limits.md');
    expect(b.path).toBe('rate-limits-2.md');
    expect(parseNote(await readFile(join(s.tree, 'rate-limits.md'), 'utf8')).title).toBe('Rate limits');
  });

  it('is idempotent: the same note again writes nothing and returns the same id', async () => {
    const s = await setup();
    const note = { title: 'Cache TTL jitter', content: 'Add 10% jitter to TTLs.', tags: ['caching'] };
    const a = await curateNote(s.ctx(), note);
    const b = await curateNote(s.ctx(), note);
    expect(b).toEqual({ id: a.id, path: a.path, status: 'existing' });
    expect(await mdFiles(s.tree)).toEqual([a.path]);
    expect(await s.outbox.size()).toBe(1);
    expect(a.id).toBe(noteId({ title: note.title, content: note.content, tags: note.tags }));
  });

  it('honours a desired folder/file, refuses escaping paths (nothing written) and empty notes', async () => {
    const s = await setup();
    const r = await curateNote(s.ctx(), { content: 'x', path: 'Auth/Key Rotation' });
    expect(r.path).toBe('auth/key-rotation.md');
    for (const path of ['../escape.md', '/abs.md', 'a/../../b.md']) {
      const err = await curateNote(s.ctx(), { content: `y ${path}`, path }).catch((e: unknown) => e);
      expect(isClawError(err, 'MEMORY_PATH_ESCAPE')).toBe(true);
    }
    await mkdir(join(s.project, 'elsewhere'), { recursive: true });
    const { symlink } = await import('node:fs/promises');
    await symlink(join(s.project, 'elsewhere'), join(s.tree, 'out'));
    const viaLink = await curateNote(s.ctx(), { content: 'z', path: 'out/n.md' }).catch((e: unknown) => e);
    expect(isClawError(viaLink, 'MEMORY_PATH_ESCAPE')).toBe(true);
    expect(await readdir(join(s.project, 'elsewhere'))).toEqual([]);
    expect(await s.outbox.size()).toBe(1);
    const empty = await curateNote(s.ctx(), { content: '  \n ' }).catch((e: unknown) => e);
    expect(isClawError(empty, 'MEMORY_NOTE_EMPTY')).toBe(true);
  });

  it('never replaces an existing file, even one that appears between the name check and the write', async () => {
    const s = await setup();
    await s.ct.ensure();
    await writeFile(join(s.tree, 'race.md'), 'theirs');
    const r = await curateNote(s.ctx(), { title: 'Race', content: 'ours' });
    expect(r.path).toBe('race-2.md');
    expect(await readFile(join(s.tree, 'race.md'), 'utf8')).toBe('theirs');
  });
});

describe('curate crash safety', () => {
  it('crash after the file, before the outbox entry (throw): a retry repairs the entry without a second file', async () => {
    const s = await setup();
    const note = { title: 'Crash one', content: 'body', tags: [] };
    await expect(curateNote(s.ctx(throwAt('curate:file-written')), note)).rejects.toThrow(/injected crash/);
    expect(await mdFiles(s.tree)).toEqual(['crash-one.md']);
    expect(await s.outbox.size()).toBe(0);
    const again = await curateNote(s.ctx(), note);
    expect(again).toMatchObject({ path: 'crash-one.md', status: 'existing' });
    expect(await mdFiles(s.tree)).toEqual(['crash-one.md']);
    expect((await s.outbox.get(again.id))?.state).toBe('pending');
  });

  it('crash after the file, before the outbox entry (SIGKILL), no retry: recovery re-enqueues the orphan', async () => {
    const s = await setup();
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        CHILD,
        s.project,
        'curate',
        'curate:file-written',
        JSON.stringify({ title: 'Killed', content: 'kill me', tags: ['t'] }),
      ],
      { encoding: 'utf8' },
    );
    expect(r.signal).toBe('SIGKILL');
    expect(await mdFiles(s.tree)).toEqual(['killed.md']);
    expect(await s.outbox.size()).toBe(0);
    expect(await recoverOrphans(s.ctx())).toHaveLength(1);
    const [entry] = await s.outbox.list();
    expect(entry).toMatchObject({ path: 'killed.md', title: 'Killed', tags: ['t'], state: 'pending' });
    expect(await recoverOrphans(s.ctx())).toEqual([]); // idempotent
  });

  it('SIGKILL right after the outbox entry: file and entry are both durable and consistent', async () => {
    const s = await setup();
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        CHILD,
        s.project,
        'curate',
        'curate:outbox-written',
        JSON.stringify({ title: 'Durable', content: 'kept', tags: [] }),
      ],
      { encoding: 'utf8' },
    );
    expect(r.signal).toBe('SIGKILL');
    const [entry] = await s.outbox.list();
    expect(entry?.content).toBe(await readFile(join(s.tree, 'durable.md'), 'utf8'));
    expect(await readdir(join(s.stateDir, 'outbox'))).toEqual([`${entry?.id}.json`]); // no temp files left
  });

  it('recovery leaves notes that were synced alone, and an unreadable outbox entry is skipped, not fatal', async () => {
    const s = await setup(true);
    await mkdir(join(s.stateDir, 'outbox'), { recursive: true });
    await writeFile(join(s.stateDir, 'outbox', 'broken.json'), '{"v":1,');
    await writeFile(join(s.stateDir, 'outbox', '.x.json.123.tmp'), 'partial');
    expect(await recoverOrphans(s.ctx())).toEqual([]); // fixture notes carry no claw_id
    // A curated note that came from (or went to) ByteRover is in the manifest: not an orphan.
    const synced = '---\ntitle: From elsewhere\nclaw_id: aaaaaaaaaaaaaaaaaaaaaaaa\n---\nbody\n';
    await writeFile(join(s.tree, 'synced.md'), synced);
    await saveSyncState(s.stateDir, {
      v: 1,
      branch: 'main',
      commitSha: 'c1',
      manifest: { 'synced.md': sha256(synced) },
    });
    expect(await recoverOrphans(s.ctx())).toEqual([]);
    expect(await s.outbox.list()).toEqual([]);
  });
});
