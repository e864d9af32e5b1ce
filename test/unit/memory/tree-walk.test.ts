/**
 * The native tree walk (native/src/recall/walk.h via lib/memory/native-walk.ts) and ContextTree's
 * TypeScript walk follow the same rules and give the same notes: dot entries skipped, symlinks
 * (to files and to folders) never followed, `.md` matched case-insensitively, files over the size
 * cap left out, malformed UTF-8 decoded alike; after edits both report the same changes; and a note
 * is read only when its stamp changed (never twice per open).
 */
import { appendFile, mkdir, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadNativeWalk } from '../../../lib/memory/native-walk.js';
import { ContextTree, type TreeChanges, type TreeDoc } from '../../../lib/memory/tree.js';
import { ensureNativeBuilt } from '../../native/helpers.js';

let dir: string;
let root: string;

beforeEach(async () => {
  await ensureNativeBuilt();
  dir = await mkdtemp(join(tmpdir(), 'claw-walk-'));
  root = join(dir, 'tree');
  const outside = join(dir, 'outside');
  await mkdir(join(root, 'a', 'b', 'c'), { recursive: true });
  await mkdir(join(root, '.hidden'), { recursive: true });
  await mkdir(outside, { recursive: true });
  await writeFile(join(root, 'top.md'), '---\ntitle: Top: with a colon\ntags: [x, y]\n---\n# H\nbody\n');
  await writeFile(join(root, 'a', 'one.md'), '# One\n\ntext about caching\n');
  await writeFile(join(root, 'a', 'b', 'UPPER.MD'), '# Upper\n');
  await writeFile(join(root, 'a', 'b', 'c', 'deep.md'), 'no heading, just text\n');
  await writeFile(join(root, 'a', 'b', 'c', 'ünïcödé.md'), '# Ünïcödé\n');
  await writeFile(join(root, 'a', 'bad-utf8.md'), Buffer.from([0x23, 0x20, 0xff, 0xfe, 0x41, 0x0a, 0xc3]));
  await writeFile(join(root, 'a', 'notes.txt'), 'not markdown');
  await writeFile(join(root, '.dot.md'), '# dot file');
  await writeFile(join(root, '.hidden', 'inside.md'), '# hidden');
  await writeFile(join(root, 'big.md'), 'x'.repeat(5000));
  await writeFile(join(outside, 'secret.md'), '# outside the tree');
  await symlink(join(outside, 'secret.md'), join(root, 'link-to-file.md'));
  await symlink(outside, join(root, 'link-to-dir'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function open(walker: 'native' | 'ts'): ContextTree {
  return new ContextTree({ projectRoot: dir, treeRoot: root, walker, maxFileBytes: 4096 });
}

function snapshot(
  t: ContextTree,
): Array<Omit<TreeDoc, 'note'> & { title: string; tags: string[]; headings: string[] }> {
  return [...t.all()]
    .map((d) => ({
      path: d.path,
      text: d.text,
      size: d.size,
      stamp: d.stamp,
      title: d.note.title,
      tags: d.note.tags,
      headings: d.note.headings,
    }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
}

const sorted = (c: TreeChanges) => ({
  added: c.added.map((d) => d.path).sort(),
  updated: c.updated.map((d) => d.path).sort(),
  removed: [...c.removed].sort(),
});

describe('native tree walk', () => {
  it('is available in this build', async () => {
    expect(await loadNativeWalk()).toBeTypeOf('function');
  });

  it('lists the same notes as the TypeScript walk, by the same rules', async () => {
    const native = open('native');
    const ts = open('ts');
    await native.refresh();
    await ts.refresh();
    expect(native.lastScan?.walker).toBe('native');
    expect(ts.lastScan?.walker).toBe('ts');
    const paths = snapshot(native).map((d) => d.path);
    expect(paths).toEqual(['a/b/UPPER.MD', 'a/b/c/deep.md', 'a/b/c/ünïcödé.md', 'a/bad-utf8.md', 'a/one.md', 'top.md']);
    expect(snapshot(native)).toEqual(snapshot(ts));
    expect(native.get('top.md')?.note.title).toBe('Top: with a colon');
  });

  it('after edits reports the same changes as the TypeScript walk and re-reads only changed files', async () => {
    const native = open('native');
    const ts = open('ts');
    await native.refresh();
    await ts.refresh();
    expect(native.reads).toBe(6);
    expect(ts.reads).toBe(6);
    // No change: nothing is read again.
    expect(sorted(await native.refresh())).toEqual({ added: [], updated: [], removed: [] });
    expect(native.reads).toBe(6);
    expect(native.lastScan).toMatchObject({ files: 6, read: 0, reused: 6 });

    await appendFile(join(root, 'a', 'one.md'), 'more text\n');
    await unlink(join(root, 'a', 'b', 'UPPER.MD'));
    await writeFile(join(root, 'a', 'b', 'new.md'), '# New\n');
    await writeFile(join(root, 'big.md'), 'small now\n');
    await writeFile(join(root, 'a', 'b', 'c', 'deep.md'), 'x'.repeat(5000)); // grew past the cap: left out
    const cn = await native.refresh();
    const ct = await ts.refresh();
    expect(sorted(cn)).toEqual(sorted(ct));
    expect(sorted(cn)).toEqual({
      added: ['a/b/new.md', 'big.md'],
      updated: ['a/one.md'],
      removed: ['a/b/UPPER.MD', 'a/b/c/deep.md'],
    });
    expect(native.reads).toBe(6 + 3); // one.md, new.md, big.md: each changed file once
    expect(snapshot(native)).toEqual(snapshot(ts));
  });

  it('known files: arrays and the packed string agree; omitUnchanged flags them instead of listing them', async () => {
    const walk = (await loadNativeWalk())!;
    const first = await walk(root, { maxFileBytes: 4096 });
    const files = first.files.filter((f) => !f.tooLarge);
    // One known file changed since, one gone, one unknown to the caller (new.md): only the
    // unchanged known ones are flagged, the rest listed as before.
    await appendFile(join(root, 'a', 'one.md'), 'changed\n');
    await unlink(join(root, 'top.md'));
    await writeFile(join(root, 'a', 'new.md'), '# New\n');
    const paths = files.map((f) => f.path);
    const stamps = files.map((f) => f.stamp);
    const packed = `${paths.flatMap((p, i) => [p, stamps[i]]).join('\0')}\0`;
    const byArrays = await walk(root, { maxFileBytes: 4096, known: { paths, stamps } });
    const byString = await walk(root, { maxFileBytes: 4096, known: packed });
    expect(byString.files).toEqual(byArrays.files);
    const omitted = await walk(root, { maxFileBytes: 4096, known: packed, omitUnchanged: true });
    const flagged = paths.filter((_, i) => omitted.unchanged?.[i] === 1);
    expect(flagged.sort()).toEqual(['a/b/UPPER.MD', 'a/b/c/deep.md', 'a/b/c/ünïcödé.md', 'a/bad-utf8.md']);
    expect(omitted.files.map((f) => [f.path, f.text !== undefined])).toEqual([
      ['a/new.md', true],
      ['a/one.md', true],
      ['big.md', false], // too large: listed, never read, never flagged
    ]);
    expect(omitted.unchanged).toHaveLength(paths.length);
    // A known stamp is compared as the four numbers it holds: anything that is not a stamp the walk
    // writes (a field missing or extra, a sign, an overflow) never matches, so the file is read.
    const deep = files.find((f) => f.path === 'a/b/c/deep.md')!;
    const [size, mtime, ctime, ino] = deep.stamp.split(':');
    for (const stamp of [
      `${size}:${mtime}:${ctime}`,
      `${deep.stamp}:0`,
      `+${deep.stamp}`,
      `${size}:${mtime}:${ctime}:${ino}x`,
      `18446744073709551616:${mtime}:${ctime}:${ino}`,
      '',
    ]) {
      const r = await walk(root, { maxFileBytes: 4096, known: `a/b/c/deep.md\0${stamp}\0`, omitUnchanged: true });
      expect({ stamp, unchanged: [...r.unchanged!] }).toEqual({ stamp, unchanged: [0] });
      expect(r.files.find((f) => f.path === 'a/b/c/deep.md')?.text).toBeDefined();
    }
    const same = await walk(root, { maxFileBytes: 4096, known: `a/b/c/deep.md\0${deep.stamp}\0`, omitUnchanged: true });
    expect([...same.unchanged!]).toEqual([1]);
    expect(same.files.some((f) => f.path === 'a/b/c/deep.md')).toBe(false);
    // Bad arguments throw at the call, as the binding's other argument checks do.
    expect(() => walk(root, { known: 'a.md\0' })).toThrow(/odd number of fields/);
  });

  it('an empty or missing tree is empty; a file as the root is an error', async () => {
    const missing = new ContextTree({ projectRoot: dir, treeRoot: join(dir, 'nope'), walker: 'native' });
    expect(sorted(await missing.refresh())).toEqual({ added: [], updated: [], removed: [] });
    const walk = await loadNativeWalk();
    await expect(walk!(join(root, 'top.md'))).rejects.toMatchObject({ code: 'TREE_WALK_FAILED' });
  });
});
