import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isClawError } from '../../../lib/errors.js';
import { chooseNotePath, normalizeRelative, resolveInTree, slugify } from '../../../lib/memory/paths.js';
import { tempProject } from './helpers.js';

async function escapeCode(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    if (isClawError(e)) return e.code;
    throw e;
  }
}

describe('path safety', () => {
  it('normalizes harmless relative paths', () => {
    expect(normalizeRelative('a/./b//c.md')).toBe('a/b/c.md');
    expect(normalizeRelative('note.md')).toBe('note.md');
  });

  it.each([
    ['../outside.md', '`..`'],
    ['a/../../outside.md', '`..`'],
    ['a/..', '`..`'],
    ['/etc/passwd', 'absolute'],
    ['C:/Windows/x.md', 'absolute'],
    ['a\\..\\b.md', 'backslash'],
    ['a\0b.md', 'NUL'],
    ['', 'empty'],
    ['./', 'names the tree itself'],
  ])('refuses %j with MEMORY_PATH_ESCAPE (%s)', async (p, why) => {
    const { tree } = await tempProject();
    await mkdir(tree, { recursive: true });
    const err = await resolveInTree(tree, p).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isClawError(err, 'MEMORY_PATH_ESCAPE')).toBe(true);
    expect((err as Error).message).toContain(why);
    expect((err as { hint?: string }).hint).toBeTruthy();
  });

  it('refuses a path through a directory symlink that leaves the tree, and a symlinked file', async () => {
    const { project, tree } = await tempProject();
    const outside = join(project, 'outside');
    await mkdir(outside, { recursive: true });
    await mkdir(tree, { recursive: true });
    await symlink(outside, join(tree, 'linked'));
    expect(await escapeCode(resolveInTree(tree, 'linked/new.md'))).toBe('MEMORY_PATH_ESCAPE');
    expect(await escapeCode(resolveInTree(tree, 'linked/deeper/new.md'))).toBe('MEMORY_PATH_ESCAPE');
    await writeFile(join(outside, 'secret.md'), 'x');
    await symlink(join(outside, 'secret.md'), join(tree, 'file-link.md'));
    expect(await escapeCode(resolveInTree(tree, 'file-link.md'))).toBe('MEMORY_PATH_ESCAPE');
    // A symlink that stays inside the tree is fine for folders.
    await mkdir(join(tree, 'real'), { recursive: true });
    await symlink(join(tree, 'real'), join(tree, 'alias'));
    expect(await escapeCode(resolveInTree(tree, 'alias/ok.md'))).toBeUndefined();
  });

  it('resolves inside a tree whose own path goes through a symlink', async () => {
    const { project } = await tempProject();
    const real = join(project, 'real-tree');
    await mkdir(real, { recursive: true });
    await symlink(real, join(project, 'tree-link'));
    const r = await resolveInTree(join(project, 'tree-link'), 'x/y.md');
    expect(r.rel).toBe('x/y.md');
  });
});

describe('file names', () => {
  it('slugifies: accents folded, lower case, punctuation to dashes, capped at a dash, never empty or reserved', () => {
    expect(slugify('Café Déjà-Vu: JWT & OAuth!')).toBe('cafe-deja-vu-jwt-oauth');
    expect(slugify('   ')).toBe('note');
    expect(slugify('日本語')).toBe('note');
    expect(slugify('CON')).toBe('con-note');
    const long = slugify('word '.repeat(40));
    expect(long.length).toBeLessThanOrEqual(64);
    expect(long).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(slugify('x'.repeat(200)).length).toBe(64);
  });

  it('suffixes collisions -2, -3 … and keeps folders of a desired path (slugified)', async () => {
    const { tree } = await tempProject();
    await mkdir(join(tree, 'auth'), { recursive: true });
    expect((await chooseNotePath(tree, { title: 'JWT Notes' })).rel).toBe('jwt-notes.md');
    await writeFile(join(tree, 'jwt-notes.md'), 'x');
    expect((await chooseNotePath(tree, { title: 'JWT Notes' })).rel).toBe('jwt-notes-2.md');
    await writeFile(join(tree, 'jwt-notes-2.md'), 'x');
    expect((await chooseNotePath(tree, { title: 'JWT Notes' }, (p) => p === 'jwt-notes-3.md')).rel).toBe(
      'jwt-notes-4.md',
    );
    expect((await chooseNotePath(tree, { title: 'ignored', desired: 'Auth Stuff/Token Rotation.md' })).rel).toBe(
      'auth-stuff/token-rotation.md',
    );
    expect(await escapeCode(chooseNotePath(tree, { title: 't', desired: '../x.md' }))).toBe('MEMORY_PATH_ESCAPE');
  });
});
