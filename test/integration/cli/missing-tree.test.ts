/**
 * A folder without a context tree: `search`/`recall` fail with MEMORY_TREE_MISSING (exit 6), name
 * the paths they looked at and the next step, and create nothing (before: "No notes match", exit 0,
 * and `.brv/` directories left behind); `curate` there says on stderr that it started a new tree and
 * where (before: silently).
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliEnv, type CliEnv } from './harness.js';

let e: CliEnv;
beforeAll(async () => {
  e = await startCliEnv();
  await mkdir(e.project, { recursive: true });
});
afterAll(async () => e?.close());

describe('a missing context tree', () => {
  for (const cmd of ['search', 'recall'] as const) {
    it(`${cmd} exits 6 with MEMORY_TREE_MISSING, the paths looked at and the next step, creating nothing`, async () => {
      const before = readdirSync(e.project);
      const r = await e.cli([cmd, 'deploy rollback']);
      expect(r.code).toBe(6);
      expect(r.err).toContain('MEMORY_TREE_MISSING');
      expect(r.err).toContain(join(e.project, '.brv', 'context-tree'));
      expect(r.err).toContain('.brvspace');
      expect(r.err).toMatch(/--dir|pull|curate/);
      expect(readdirSync(e.project)).toEqual(before);
      expect(existsSync(join(e.project, '.brv'))).toBe(false);

      const j = await e.cli([cmd, 'deploy rollback', '--json']);
      expect(j.code).toBe(6);
      expect(j.json<{ error: { code: string } }>().error.code).toBe('MEMORY_TREE_MISSING');
    });
  }

  it('search --dir <missing> names that directory', async () => {
    const dir = join(e.project, 'nowhere', 'tree');
    const r = await e.cli(['search', 'x', '--dir', dir]);
    expect(r.code).toBe(6);
    expect(r.err).toContain(dir);
    expect(existsSync(join(e.project, 'nowhere'))).toBe(false);
  });

  it('curate into a folder with no tree says on stderr that it started one, and where', async () => {
    const r = await e.cli(['curate', 'Rollbacks are a blue/green DNS flip.', '--tag', 'deploy']);
    expect(r.code).toBe(0);
    const tree = join(e.project, '.brv', 'context-tree');
    expect(r.err).toContain(`started a new one at ${tree}`);
    expect(existsSync(tree)).toBe(true);
    // The second curate adds to it, quietly; search now finds the note.
    const again = await e.cli(['curate', 'Deploys freeze on Fridays.', '--tag', 'deploy']);
    expect(again.code).toBe(0);
    expect(again.err).not.toContain('started a new one');
    const s = await e.cli(['search', 'rollback']);
    expect(s.code).toBe(0);
    expect(s.out).toMatch(/\.md/);
  });
});

describe('rough inputs', () => {
  it('search --dir <a file>: MEMORY_TREE_NOT_DIRECTORY, exit 6 (before: a raw EEXIST "This is unexpected")', async () => {
    const file = join(e.project, 'a-note.md');
    writeFileSync(file, '# A note\n');
    const r = await e.cli(['search', 'x', '--dir', file]);
    expect(r.code).toBe(6);
    expect(r.err).toContain('MEMORY_TREE_NOT_DIRECTORY');
    expect(r.err).toContain(file);
    expect(r.err).not.toContain('EEXIST');
    expect(r.err).not.toContain('unexpected');
  });

  it('curate --file <empty file>: CLI_FILE_EMPTY naming the file (before: "expected note text or --file")', async () => {
    const file = join(e.project, 'empty.md');
    writeFileSync(file, '  \n');
    const r = await e.cli(['curate', '--file', file]);
    expect(r.code).toBe(6);
    expect(r.err).toContain('CLI_FILE_EMPTY');
    expect(r.err).toContain(`expected note text in ${file}, found an empty file`);
  });
});
