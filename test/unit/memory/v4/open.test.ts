/**
 * The one memory opener decides v3 or v4: a project bound to a v4 space (marker or registry) opens
 * the space; any other project its v3 tree, as before; `space` and `dir` override; a broken marker
 * or a deleted space is an error, not a silent fall back.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClawError } from '../../../../lib/errors.js';
import { nativeRecallForTests } from '../../../helpers/native-recall.js';
import { openMemory } from '../../../../lib/memory/open.js';
import { SpaceMemory } from '../../../../lib/memory/v4/memory.js';
import { fixture, v4Home } from './helpers.js';

const native = await nativeRecallForTests();

describe.skipIf(!native.factory)('openMemory with ByteRover v4 spaces', () => {
  it('opens the bound space for a marked project, the v3 tree otherwise; space and dir override', async () => {
    const h = await v4Home();
    const id = await h.addSpace('Eng', { 'auth/jwt_design.html': await fixture('jwt_design.html') });
    const other = await h.addSpace('Other');
    const bound = join(h.work, 'bound');
    const plain = join(h.work, 'plain');
    await h.marker(bound, { space_id: id, space_name: 'Eng' });
    await mkdir(join(plain, '.brv', 'context-tree'), { recursive: true });
    await writeFile(join(plain, '.brv', 'context-tree', 'n.md'), '# Plain note\nrotation of keys');

    const m = await openMemory({ projectRoot: join(bound, 'sub'), dataDir: h.data, watch: false });
    try {
      expect(m.source).toMatchObject({ kind: 'v4-space', found: 'marker', spaceId: id, spaceName: 'Eng' });
      expect(m.location.treeRoot).toBe(join(h.data, 'projects', id, 'context-tree'));
      expect(m.backend).toBeInstanceOf(SpaceMemory);
      expect((await m.backend.search('clock drift'))[0]?.path).toBe('auth/jwt_design.html');
    } finally {
      await m.backend.close();
    }
    const v3 = await openMemory({ projectRoot: plain, dataDir: h.data, watch: false });
    try {
      expect(v3.source).toEqual({ kind: 'context-tree', found: 'project' });
      expect((await v3.backend.search('rotation'))[0]?.path).toBe('n.md');
    } finally {
      await v3.backend.close();
    }
    const byDir = await openMemory({
      projectRoot: bound,
      dir: join(plain, '.brv', 'context-tree'),
      dataDir: h.data,
      watch: false,
    });
    expect(byDir.source).toEqual({ kind: 'context-tree', found: 'dir' });
    await byDir.backend.close();
    const byName = await openMemory({ projectRoot: plain, space: 'Other', dataDir: h.data, watch: false });
    expect(byName.source).toMatchObject({ kind: 'v4-space', found: 'flag', spaceId: other });
    await byName.backend.close();
    await expect(openMemory({ projectRoot: plain, space: 'Other', dir: 'x', dataDir: h.data })).rejects.toMatchObject({
      code: 'MEMORY_OPTIONS',
    });
    await expect(openMemory({ projectRoot: bound, engine: 'brv', dataDir: h.data })).rejects.toMatchObject({
      code: 'MEMORY_V4_ENGINE',
    });
  });

  it('a registry binding opens the space; a deleted or broken binding is an error', async () => {
    const h = await v4Home();
    const id = await h.addSpace('Reg');
    const gone = await h.addSpace('Gone');
    await h.bind(join(h.work, 'reg'), id);
    await h.bind(join(h.work, 'gone'), gone);
    await h.deleteSpace(gone, false);
    const m = await openMemory({ projectRoot: join(h.work, 'reg'), dataDir: h.data, watch: false });
    expect(m.source).toMatchObject({ kind: 'v4-space', found: 'registry', spaceId: id });
    await m.backend.close();
    const err = await openMemory({ projectRoot: join(h.work, 'gone'), dataDir: h.data }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClawError);
    expect((err as ClawError).code).toBe('BRV_SPACE_DELETED');
    await h.marker(join(h.work, 'broken'), '{"space_id": 1}');
    await expect(openMemory({ projectRoot: join(h.work, 'broken'), dataDir: h.data })).rejects.toMatchObject({
      code: 'BRV_SPACE_MARKER_INVALID',
    });
  });
});
