/**
 * SpaceMemory over an addon whose walkTree predates `omitUnchanged` and the packed `known` string
 * (a stale local build): unchanged files come back listed without their text instead of flagged,
 * and the space still reads only what changed and answers as a fresh build.
 */
import { appendFile, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { logger } from '../../../../lib/log/index.js';
import type { WalkFn, WalkOptions } from '../../../../lib/memory/native-walk.js';
import { SpaceMemory } from '../../../../lib/memory/v4/memory.js';
import { nativeRecallForTests } from '../../../helpers/native-recall.js';
import { answersOf, makeSpace, NOW, put, rng, signalsJson, topicHtml, type Space } from './persist-helpers.js';

const calls = vi.hoisted(() => ({ n: 0 }));
vi.mock('../../../../lib/memory/native-walk.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../../lib/memory/native-walk.js')>();
  return {
    ...real,
    loadNativeWalk: async (): Promise<WalkFn | undefined> => {
      const walk = await real.loadNativeWalk();
      if (!walk) return undefined;
      return (root: string, opts: WalkOptions = {}) => {
        calls.n++;
        const { omitUnchanged: _omit, known, ...rest } = opts;
        let k: { paths: string[]; stamps: string[] } | undefined;
        if (typeof known === 'string') {
          const parts = known.split('\0').slice(0, -1);
          k = { paths: parts.filter((_, i) => i % 2 === 0), stamps: parts.filter((_, i) => i % 2 === 1) };
        } else k = known;
        return walk(root, { ...rest, ...(k ? { known: k } : {}) });
      };
    },
  };
});

const native = await nativeRecallForTests();
const quiet = logger.child({}, { level: 'error' });
let dir = '';
let space: Space;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'claw-v4-compat-'));
  space = await makeSpace(join(dir, 'space'), 30, 21, '1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!native.factory)('SpaceMemory over a walkTree without omitUnchanged', () => {
  it('reads only what changed and answers as a fresh build', async () => {
    const state = join(dir, 'state');
    const open = (persist = true) =>
      SpaceMemory.open({ space, stateDir: state, persist, watch: false, now: () => NOW, logger: quiet });
    await (await open()).close();
    const warm = await open();
    expect(warm.lastScan).toMatchObject({ walker: 'native', read: 0, signalsRead: 0 });
    await warm.close();
    const r = rng(8);
    await appendFile(join(space.treeRoot, 'd0', 't4.html'), ' ');
    await unlink(join(space.treeRoot, 'd1', 't5.html'));
    await put(join(space.treeRoot, 'd9', 'new.html'), topicHtml('d9/new', r, 'quokka'));
    await writeFile(join(space.signalsDir, 'd0', 't0.html.json'), signalsJson(r));
    await unlink(join(space.signalsDir, 'd3', 't3.html.json'));
    await put(join(space.signalsDir, 'd2', 't2.html.json'), signalsJson(r));
    const mem = await open();
    expect(mem.persist?.loaded).toBe(true);
    expect(mem.lastScan).toMatchObject({ read: 2, signalsRead: 2 });
    const fresh = await open(false);
    expect(await answersOf(mem)).toEqual(await answersOf(fresh));
    await mem.close();
    await fresh.close();
    expect(calls.n).toBeGreaterThanOrEqual(8); // every scan went through the old-style walk
  });
});
