/**
 * search / recall / index --stats on a folder bound to a ByteRover v4 space (in-process CLI): the
 * space is used, hits name their element, recall ends with the citation list, index --stats says
 * which space and how it was found; --space picks another; --dir keeps the v3 tree.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../../lib/cli/index.js';
import { nativeRecallForTests } from '../../helpers/native-recall.js';
import { fixture, v4Home } from '../memory/v4/helpers.js';
import { memoryIo } from './memory-io.js';

const native = await nativeRecallForTests();

describe.skipIf(!native.factory)('CLI memory commands on a ByteRover v4 space', () => {
  it('uses the bound space; --space and --dir override', async () => {
    const h = await v4Home();
    const id = await h.addSpace('Eng', { 'auth/jwt_design.html': await fixture('jwt_design.html') });
    const other = await h.addSpace('Ops', {
      'ops/pager.html':
        '<bv-topic path="ops/pager" title="Pager"><bv-task>The pager rotates on Mondays.</bv-task></bv-topic>',
    });
    const proj = join(h.work, 'proj');
    const marker = await h.marker(proj, { space_id: id, space_name: 'Eng' });
    await mkdir(join(proj, '.brv', 'context-tree'), { recursive: true });
    await writeFile(join(proj, '.brv', 'context-tree', 'v3.md'), '# V3 note\nthe pager rotates in v3 too');
    const env = { BRV_DATA_DIR: h.data, CLAW_BYTEROVER_LOG_LEVEL: 'error' };
    const cli = async (...args: string[]) => {
      const io = memoryIo({ env, cwd: proj });
      const code = await run(args, io);
      return { code, out: io.out(), err: io.err() };
    };

    let r = await cli('search', 'clock', 'drift');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/auth\/jwt_design\.html\s+bug#b-clock-skew high/);
    r = await cli('recall', 'clock drift tokens');
    expect(r.out).toContain('📚 From ByteRover:');
    expect(r.out).toContain('- JWT authentication design (bug) — auth/jwt_design.html#b-clock-skew');
    r = await cli('index', '--stats', '--json');
    const stats = JSON.parse(r.out) as {
      documents: number;
      source: { kind: string; found: string; spaceId: string; how: string };
    };
    expect(stats.documents).toBe(1);
    expect(stats.source).toMatchObject({ kind: 'v4-space', found: 'marker', spaceId: id });
    expect(stats.source.how).toContain(marker);
    r = await cli('index', '--stats');
    expect(r.out).toMatch(/memory\s+ByteRover v4 space "Eng"/);

    r = await cli('config', 'show', '--json');
    const shown = JSON.parse(r.out) as { memory: { kind: string; found: string; treeRoot: string } };
    expect(shown.memory).toMatchObject({ kind: 'v4-space', treeRoot: join(h.data, 'projects', id, 'context-tree') });
    expect(shown.memory.found).toContain(marker);
    r = await cli('config', 'show');
    expect(r.out).toMatch(/memory: +ByteRover v4 space "Eng"/);

    r = await cli('search', 'pager', '--space', 'Ops', '--json');
    expect((JSON.parse(r.out) as { hits: { path: string }[] }).hits[0]?.path).toBe('ops/pager.html');
    expect(other).toBeTruthy();
    r = await cli('search', 'pager', '--dir', '.brv/context-tree', '--json');
    expect((JSON.parse(r.out) as { hits: { path: string }[] }).hits[0]?.path).toBe('v3.md');
  });
});
