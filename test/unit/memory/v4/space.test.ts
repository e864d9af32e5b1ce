/**
 * Space resolution as ByteRover resolves it: data dir rules, `.brvspace` marker (walking up), the
 * bindings registry (longest ancestor match, removed bindings ignored), the default space, deleted
 * spaces refused, bad markers refused with their code.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClawError } from '../../../../lib/errors.js';
import { boundSpace, dataDir, resolveSpace } from '../../../../lib/memory/v4/space.js';
import { v4Home } from './helpers.js';

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ClawError) return e.code;
    throw e;
  }
  return 'resolved';
}

describe('dataDir', () => {
  const home = '/home/u';
  it('follows BRV_DATA_DIR, then the platform rules with BRV_DATA_DIRNAME or brv', () => {
    expect(dataDir({ env: { BRV_DATA_DIR: '/x/y', XDG_DATA_HOME: '/xdg' }, platform: 'linux', home })).toBe('/x/y');
    expect(dataDir({ env: {}, platform: 'linux', home })).toBe('/home/u/.local/share/brv');
    expect(dataDir({ env: { XDG_DATA_HOME: '/xdg' }, platform: 'linux', home })).toBe('/xdg/brv');
    expect(dataDir({ env: { XDG_DATA_HOME: 'rel/xdg' }, platform: 'linux', home })).toBe('/home/u/.local/share/brv');
    expect(dataDir({ env: { BRV_DATA_DIRNAME: 'brv-dev' }, platform: 'linux', home })).toBe(
      '/home/u/.local/share/brv-dev',
    );
    expect(dataDir({ env: {}, platform: 'darwin', home })).toBe('/home/u/Library/Application Support/brv');
    expect(dataDir({ env: { XDG_DATA_HOME: '/xdg' }, platform: 'darwin', home })).toBe(
      '/home/u/Library/Application Support/brv',
    );
    expect(dataDir({ env: { LOCALAPPDATA: '/c/AppData/Local' }, platform: 'win32', home })).toBe(
      join('/c/AppData/Local', 'brv'),
    );
    expect(dataDir({ env: {}, platform: 'win32', home })).toBe(join(home, 'AppData', 'Local', 'brv'));
  });
});

describe('resolveSpace', () => {
  it('a marker in an ancestor wins over a registry binding and names its source', async () => {
    const h = await v4Home();
    const a = await h.addSpace('Alpha');
    const b = await h.addSpace('Beta');
    const proj = join(h.work, 'proj');
    const deep = join(proj, 'src', 'deep');
    await mkdir(deep, { recursive: true });
    const marker = await h.marker(proj, { space_id: a, space_name: 'Alpha (marker name)' });
    await h.bind(deep, b);
    const r = await resolveSpace(deep, { dataDir: h.data });
    expect(r).toMatchObject({ spaceId: a, source: 'marker', markerPath: marker, spaceName: 'Alpha', treeExists: true });
    expect(r.treeRoot).toBe(join(h.data, 'projects', a, 'context-tree'));
    expect(r.signalsDir).toBe(join(h.data, 'projects', a, 'state', 'signals'));
    expect(r.how).toContain(marker);
  });

  it('the registry binds by longest ancestor; removed bindings and sibling prefixes do not count', async () => {
    const h = await v4Home();
    const outer = await h.addSpace('Outer');
    const inner = await h.addSpace('Inner');
    const gone = await h.addSpace('Gone');
    const proj = join(h.work, 'proj');
    await h.bind(proj, outer);
    await h.bind(join(proj, 'pkg'), inner);
    await h.bind(join(proj, 'pkg', 'a'), gone, true);
    await h.bind(join(proj, 'pk'), gone); // a sibling prefix of proj/pkg, not an ancestor
    const r = await resolveSpace(join(proj, 'pkg', 'a', 'b'), { dataDir: h.data });
    expect(r).toMatchObject({
      spaceId: inner,
      source: 'registry',
      bindingFolder: join(proj, 'pkg'),
      spaceName: 'Inner',
    });
    expect((await resolveSpace(join(proj, 'other'), { dataDir: h.data })).spaceId).toBe(outer);
  });

  it('falls back to the default space, else BRV_SPACE_NO_DEFAULT', async () => {
    const h = await v4Home();
    expect(await code(resolveSpace(h.work, { dataDir: h.data }))).toBe('BRV_SPACE_NO_DEFAULT');
    const d = await h.addSpace('Default');
    await h.setDefault(d);
    const r = await resolveSpace(h.work, { dataDir: h.data });
    expect(r).toMatchObject({ spaceId: d, source: 'default' });
    expect(await boundSpace(h.work, { dataDir: h.data })).toBeUndefined(); // a default does not bind a folder
  });

  it('refuses soft- and hard-deleted spaces with their own codes, wherever they were found', async () => {
    const h = await v4Home();
    const soft = await h.addSpace('Soft');
    const hard = await h.addSpace('Hard');
    await h.deleteSpace(soft, false);
    await h.deleteSpace(hard, true);
    const p1 = join(h.work, 'p1');
    const p2 = join(h.work, 'p2');
    await h.marker(p1, { space_id: soft, space_name: 'Soft' });
    await h.bind(p2, hard);
    expect(await code(resolveSpace(p1, { dataDir: h.data }))).toBe('BRV_SPACE_DELETED');
    expect(await code(resolveSpace(p2, { dataDir: h.data }))).toBe('BRV_SPACE_HARD_DELETED');
    expect(await code(boundSpace(p1, { dataDir: h.data }))).toBe('BRV_SPACE_DELETED');
    expect(await code(resolveSpace(h.work, { dataDir: h.data, space: hard }))).toBe('BRV_SPACE_HARD_DELETED');
    // a deleted default space does not break an unbound folder's fallback to v3
    await h.setDefault(soft);
    expect(await boundSpace(join(h.work, 'free'), { dataDir: h.data })).toBeUndefined();
    expect(await code(resolveSpace(join(h.work, 'free'), { dataDir: h.data }))).toBe('BRV_SPACE_DELETED');
  });

  it('refuses a bad marker (invalid JSON, a missing field, a non-UUID id) instead of skipping it', async () => {
    const h = await v4Home();
    const ok = await h.addSpace('Ok');
    const proj = join(h.work, 'proj');
    await h.bind(proj, ok); // a binding exists: a broken marker must still be an error
    const bad: unknown[] = [
      '{"space_id": ',
      { space_name: 'x' },
      { space_id: ok },
      { space_id: 'not-a-uuid', space_name: 'x' },
      { space_id: ok.toUpperCase(), space_name: 'x' },
      [ok],
    ];
    for (const content of bad) {
      const p = await h.marker(proj, content);
      let err: unknown;
      await resolveSpace(join(proj, 'x'), { dataDir: h.data }).catch((e: unknown) => (err = e));
      expect(err, JSON.stringify(content)).toBeInstanceOf(ClawError);
      expect((err as ClawError).code).toBe('BRV_SPACE_MARKER_INVALID');
      expect((err as ClawError).message).toContain(p);
      expect((err as ClawError).hint).toContain('space_id');
    }
  });

  it('--space takes an id, a display name or `default`; an unknown name is BRV_SPACE_NOT_FOUND', async () => {
    const h = await v4Home();
    const a = await h.addSpace('Team Notes');
    const d = await h.addSpace('Fallback');
    await h.setDefault(d);
    expect((await resolveSpace(h.work, { dataDir: h.data, space: a })).spaceId).toBe(a);
    expect(await resolveSpace(h.work, { dataDir: h.data, space: 'Team Notes' })).toMatchObject({
      spaceId: a,
      source: 'flag',
    });
    expect((await resolveSpace(h.work, { dataDir: h.data, space: 'default' })).spaceId).toBe(d);
    expect(await code(resolveSpace(h.work, { dataDir: h.data, space: 'Nope' }))).toBe('BRV_SPACE_NOT_FOUND');
  });

  it('a registry that does not parse counts as empty, with a warning (as ByteRover treats it)', async () => {
    const h = await v4Home();
    await mkdir(h.data, { recursive: true });
    await writeFile(join(h.data, 'bindings.json'), '{nope');
    expect(await code(resolveSpace(h.work, { dataDir: h.data }))).toBe('BRV_SPACE_NO_DEFAULT');
    const id = await h.addSpace('M');
    await h.marker(h.work, { space_id: id, space_name: 'M' });
    const r = await resolveSpace(h.work, { dataDir: h.data });
    expect(r.warnings[0]).toMatch(/could not parse/);
  });
});
