/**
 * `index --stats` on a folder bound to a v4 space shows the space's persisted index as it does a v3
 * tree's: where, size, age, whether this open loaded it, and topics reused / re-read.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../../../lib/cli/index.js';
import { nativeRecallForTests } from '../../../helpers/native-recall.js';
import { memoryIo } from '../../cli/memory-io.js';
import { v4Home } from './helpers.js';
import { makeSpace } from './persist-helpers.js';

const native = await nativeRecallForTests();

describe.skipIf(!native.factory)('index --stats on a v4 space', () => {
  it('shows the persisted index: built on the first open, loaded with every topic reused on the next', async () => {
    const h = await v4Home();
    const id = await h.addSpace('Stats');
    await makeSpace(join(h.data, 'projects', id), 12, 3, id);
    const proj = join(h.work, 'proj');
    await h.marker(proj, { space_id: id, space_name: 'Stats' });
    const cli = async (...args: string[]) => {
      const io = memoryIo({ env: { BRV_DATA_DIR: h.data, CLAW_BYTEROVER_LOG_LEVEL: 'error' }, cwd: proj });
      const code = await run(args, io);
      return { code, out: io.out() };
    };
    let r = await cli('index', '--stats', '--json');
    expect(r.code).toBe(0);
    const first = JSON.parse(r.out) as { documents: number; persisted: Record<string, unknown> };
    expect(first.documents).toBe(12);
    expect(first.persisted).toMatchObject({
      loaded: false,
      notLoaded: 'RECALL_PERSIST_MISSING',
      reused: 0,
      reread: 12,
    });
    expect(String(first.persisted.path)).toContain(join(process.env.CLAW_BYTEROVER_DATA_DIR!, 'spaces', `${id}-`));
    expect(first.persisted.bytes).toBeGreaterThan(0);
    r = await cli('index', '--stats');
    expect(r.out).toMatch(/this open\s+loaded the persisted index/);
    expect(r.out).toMatch(/files reused \/ re-read\s+12 \/ 0/);
    expect(r.out).toMatch(/persisted index\s+\S+recall-index\.clawrix/);
  });
});
