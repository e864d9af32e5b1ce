/**
 * doctor's memory check on a project bound to a ByteRover v4 space: which space, found how, its tree
 * and index; a broken marker or a deleted space fails with its code; a configured tree stays v3.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkMemory } from '../../../lib/doctor/checks/memory.js';
import { nativeRecallForTests } from '../../helpers/native-recall.js';
import { fixture, v4Home } from '../memory/v4/helpers.js';

const native = await nativeRecallForTests();
const ev = (o: { evidence: { label: string; value: string }[] }, label: string) =>
  o.evidence.find((e) => e.label === label)?.value;

describe.skipIf(!native.factory)('doctor memory check with ByteRover v4 spaces', () => {
  it('reports the bound space, how it was found and its topics; fails on a broken binding', async () => {
    const h = await v4Home();
    const id = await h.addSpace('Eng', { 'auth/jwt_design.html': await fixture('jwt_design.html') });
    const proj = join(h.work, 'proj');
    const marker = await h.marker(proj, { space_id: id, space_name: 'Eng' });
    const base = {
      projectRoot: proj,
      treeRoot: join(proj, '.brv', 'context-tree'),
      stateDir: join(proj, '.brv', 'claw-byterover'),
      dataDir: h.data,
    };
    const r = await checkMemory(base);
    expect(r.status).toBe('pass');
    expect(r.summary).toBe('1 topics indexed from v4 space Eng');
    expect(ev(r, 'memory')).toBe(`ByteRover v4 space "Eng" (${id})`);
    expect(ev(r, 'found')).toContain(marker);
    expect(ev(r, 'space tree')).toBe(join(h.data, 'projects', id, 'context-tree'));

    const v3 = await checkMemory({ ...base, treeConfigured: true });
    expect(v3.code).toBe('MEMORY_TREE_MISSING');
    expect(ev(v3, 'memory')).toBe('v3 context tree');

    await h.marker(proj, '{"space_id": "nope", "space_name": "x"}');
    const bad = await checkMemory(base);
    expect(bad).toMatchObject({ status: 'fail', code: 'BRV_SPACE_MARKER_INVALID' });
    await h.marker(proj, { space_id: id, space_name: 'Eng' });
    await h.deleteSpace(id, true);
    expect(await checkMemory(base)).toMatchObject({ status: 'fail', code: 'BRV_SPACE_HARD_DELETED' });
  });
});
