/**
 * openMemory: the one opener. Where the memory is (dir / project), which engine answers, and "no
 * engine" as one MEMORY_ENGINE_UNAVAILABLE whose cause is the native loader's NATIVE_LOAD_FAILED
 * (with every path it tried) — checked in child processes whose addon cannot load.
 */
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MiniSearchIndex } from '../../../bench/recall/minisearch-index.js';
import { ENGINE_UNAVAILABLE_HINT } from '../../../lib/memory/native-index.js';
import { locateTree, openMemory, resolveMemoryLocation } from '../../../lib/memory/open.js';
import { FIXTURE_NOTES, tempProject } from './helpers.js';

const CHILD = fileURLToPath(new URL('./open-child.ts', import.meta.url));
const scratch = await mkdtemp(join(tmpdir(), 'claw-open-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

function child(project: string, engine: string, brv?: string): Record<string, string | undefined> {
  const noAddon = join(scratch, 'no-addon');
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, project, engine, ...(brv ? [brv] : [])], {
    encoding: 'utf8',
    env: { ...process.env, CLAW_BYTEROVER_PREBUILD: noAddon, PREBUILDS_ONLY: '1' },
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Record<string, string | undefined>;
}

describe('openMemory: where', () => {
  it('a project opens its standard tree; the result says how it was found', async () => {
    const p = await tempProject(true);
    const m = await openMemory({ projectRoot: p.project, index: () => new MiniSearchIndex(), watch: false });
    try {
      expect(m).toMatchObject({
        engine: 'injected',
        location: { projectRoot: p.project, treeRoot: p.tree, stateDir: p.state },
        source: { kind: 'context-tree', found: 'project' },
      });
      expect(m.local).toBe(m.backend);
      expect((await m.backend.stats()).documents).toBe(FIXTURE_NOTES);
    } finally {
      await m.backend.close();
    }
  });

  it('a dir opens that tree with its state beside it (as locateTree places it)', async () => {
    const p = await tempProject(true);
    const m = await openMemory({ dir: p.tree, index: () => new MiniSearchIndex(), watch: false });
    await m.backend.close();
    expect(m.location).toEqual({ projectRoot: p.project, treeRoot: p.tree, stateDir: p.state });
    expect(m.source.found).toBe('dir');
    expect(resolveMemoryLocation({ dir: '/p/notes' }).location).toEqual(locateTree('/p/notes'));
    expect(() => resolveMemoryLocation({})).toThrow(/expected projectRoot or dir/);
  });

  it('engine brv opens ByteRover’s CLI backend without touching the native engine', async () => {
    const p = await tempProject();
    const m = await openMemory({ projectRoot: p.project, engine: 'brv' });
    expect(m).toMatchObject({ engine: 'brv', local: undefined, chosen: 'engine brv requested' });
    expect(m.backend.kind).toBe('brv');
    await m.backend.close();
  });
});

describe('openMemory: no native engine', () => {
  it('engine native: MEMORY_ENGINE_UNAVAILABLE with the one hint; the cause is NATIVE_LOAD_FAILED listing the paths tried', async () => {
    const p = await tempProject(true);
    const r = child(p.project, 'native');
    expect(r.code).toBe('MEMORY_ENGINE_UNAVAILABLE');
    expect(r.message).toMatch(
      /^expected the native recall engine, found none: the native addon did not load \(NATIVE_LOAD_FAILED\)/,
    );
    expect(r.hint).toBe(ENGINE_UNAVAILABLE_HINT);
    expect(r.causeCode).toBe('NATIVE_LOAD_FAILED');
    expect(r.causeMessage).toContain('tried:');
    expect(r.causeMessage).toContain(join(scratch, 'no-addon'));
  });

  it('engine auto with brv on PATH: opens brv and keeps the loader error', async () => {
    const p = await tempProject(true);
    const brv = join(scratch, 'bin', 'brv');
    await mkdir(join(scratch, 'bin'), { recursive: true });
    await writeFile(brv, '#!/bin/sh\nexit 1\n');
    await chmod(brv, 0o755);
    const r = child(p.project, 'auto', brv);
    expect(r.opened).toBe('brv');
    expect(r.chosen).toContain('the native engine did not load');
    expect(r.fallbackReason).toContain('NATIVE_LOAD_FAILED');
    expect(r.causeCode).toBe('NATIVE_LOAD_FAILED');
  });

  it('engine auto without brv: one error naming both, the same hint, the loader error as cause', async () => {
    const p = await tempProject(true);
    const r = child(p.project, 'auto', join(scratch, 'nowhere', 'brv'));
    expect(r.code).toBe('MEMORY_ENGINE_UNAVAILABLE');
    expect(r.message).toMatch(
      /^expected a recall engine, found none: the native engine did not load \(.*\) and `.*brv` is not on PATH$/s,
    );
    expect(r.hint).toBe(ENGINE_UNAVAILABLE_HINT);
    expect(r.causeCode).toBe('NATIVE_LOAD_FAILED');
  });
});
