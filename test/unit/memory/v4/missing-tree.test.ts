/**
 * A folder bound to a space whose context tree does not exist (a marker naming a space this machine
 * never synced, a deleted folder): ByteRover's own resolver refuses it ("No context tree found for
 * <cwd> (space_id …)") for queries and records alike. So must we: `record` creates no ghost space
 * under ByteRover's data dir, and a search that must not invent a memory (missingTree 'error', the
 * CLI's search/recall) says which tree it looked for instead of answering "no match".
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClawError } from '../../../../lib/errors.js';
import { nativeRecallForTests } from '../../../helpers/native-recall.js';
import { openMemory } from '../../../../lib/memory/open.js';
import { recordTopic } from '../../../../lib/memory/v4/record.js';
import { spacePaths } from '../../../../lib/memory/v4/space.js';
import { v4Home } from './helpers.js';

const native = await nativeRecallForTests();

async function refusal(p: Promise<unknown>): Promise<ClawError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ClawError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('a bound space with no context tree', () => {
  it('record refuses it and creates nothing under the data dir', async () => {
    const h = await v4Home();
    const ghost = randomUUID();
    const s = spacePaths(h.data, ghost);
    const e = await refusal(recordTopic(s, 'a/b', { title: 'T', body: 'hello' }));
    expect(e.code).toBe('BV_RECORD_NO_SPACE');
    expect(e.message).toContain(s.treeRoot);
    expect(e.hint).toContain('space bind');
    expect(existsSync(s.spaceDir)).toBe(false);
  });

  it.skipIf(!native.factory)('a search that must not invent a memory names the missing tree', async () => {
    const h = await v4Home();
    const ghost = randomUUID();
    const proj = join(h.work, 'proj');
    await h.marker(proj, { space_id: ghost, space_name: 'Ghost' });
    const e = await refusal(openMemory({ projectRoot: proj, dataDir: h.data, missingTree: 'error', watch: false }));
    expect(e.code).toBe('MEMORY_TREE_MISSING');
    expect(e.message).toContain(spacePaths(h.data, ghost).treeRoot);
    expect(e.message).toContain(join(proj, '.brvspace'));
    expect(existsSync(spacePaths(h.data, ghost).spaceDir)).toBe(false);
    // without 'error' (the default), the space opens empty, as before
    const m = await openMemory({ projectRoot: proj, dataDir: h.data, watch: false });
    try {
      expect(m.source.kind).toBe('v4-space');
      expect(await m.backend.search('anything')).toEqual([]);
    } finally {
      await m.backend.close?.();
    }
  });
});
