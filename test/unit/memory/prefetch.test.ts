/**
 * The open started early (lib/memory/prefetch.ts) and what it stands on: loadFileAsync (the load on
 * a libuv worker) and peekIndexMeta (the manifest read ahead of the load, unverified).
 * - LocalMemory.open adopts the prefetch of exactly its tree: nothing is read again, the answers
 *   are a fresh build's, and the native walk started early is the open's scan;
 * - an open of another tree, with another engine or without persistence drops it, and its index is
 *   freed; a file that does not load (corrupt) is not adopted: the open reports it as before;
 * - loadFileAsync answers as loadFile, rejects with its codes, refuses a second load meanwhile
 *   (RECALL_BUSY) and frees the index closed while loading; peekIndexMeta reads the manifest of a
 *   good file and refuses what is not one.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { logger } from '../../../lib/log/index.js';
import { LocalMemory } from '../../../lib/memory/local.js';
import { INDEX_FILE } from '../../../lib/memory/persist.js';
import { dropPrefetch, prefetchOpen } from '../../../lib/memory/prefetch.js';
import { createRecallIndex, peekIndexMeta, recallLiveIndexes } from '../../../lib/native.js';
import { nativeRecallForTests } from '../../helpers/native-recall.js';
import { pollUntil } from '../../helpers/timeout.js';
import { FIXTURE_NOTES, tempProject } from './helpers.js';

const quiet = logger.child({}, { level: 'error' });
const native = await nativeRecallForTests();
const QUERIES = ['cache invalidation', 'deploy rollback', 'token refresh', 'retry backoff', 'http'];

async function answers(mem: LocalMemory): Promise<string[][]> {
  const out: string[][] = [];
  for (const q of QUERIES) out.push((await mem.search(q, { k: 10 })).map((h) => `${h.path} ${h.score.toFixed(9)}`));
  return out;
}

/** A project whose index is persisted, and what a fresh build of it answers. */
async function persisted(): Promise<{ project: string; state: string; expected: string[][] }> {
  const { project, state } = await tempProject(true);
  await (await LocalMemory.open({ projectRoot: project, watch: false, logger: quiet })).close();
  const mem = await LocalMemory.open({ projectRoot: project, watch: false, persist: false, logger: quiet });
  const expected = await answers(mem);
  await mem.close();
  return { project, state, expected };
}

describe.skipIf(!native.factory)('an open started early', () => {
  beforeAll(() => dropPrefetch());

  it('LocalMemory.open adopts the prefetch of its tree: nothing read again, answers as a fresh build', async () => {
    const { project, expected } = await persisted();
    prefetchOpen(project);
    const mem = await LocalMemory.open({ projectRoot: project, watch: false, logger: quiet });
    expect(mem.persist).toMatchObject({ loaded: true, prefetched: true, restored: FIXTURE_NOTES });
    expect(mem.tree.reads).toBe(0);
    expect(mem.tree.lastScan).toMatchObject({ walker: 'native', read: 0, reused: FIXTURE_NOTES });
    expect(await answers(mem)).toEqual(expected);
    await mem.close();
    // Taken once: the next open loads by itself.
    const again = await LocalMemory.open({ projectRoot: project, watch: false, logger: quiet });
    expect(again.persist?.prefetched).toBeUndefined();
    expect(await answers(again)).toEqual(expected);
    await again.close();
  });

  it('an open of another tree, another engine or without persistence drops it and frees its index', async () => {
    const a = await persisted();
    const b = await persisted();
    const before = recallLiveIndexes();
    const opens: Array<[string, () => Promise<LocalMemory>]> = [
      ['another tree', () => LocalMemory.open({ projectRoot: b.project, watch: false, logger: quiet })],
      [
        'another engine',
        () =>
          LocalMemory.open({ projectRoot: a.project, index: () => createRecallIndex(), watch: false, logger: quiet }),
      ],
      [
        'no persistence',
        () => LocalMemory.open({ projectRoot: a.project, persist: false, watch: false, logger: quiet }),
      ],
    ];
    for (const [what, open] of opens) {
      prefetchOpen(a.project);
      const mem = await open();
      expect({ what, prefetched: mem.persist?.prefetched }).toEqual({ what, prefetched: undefined });
      expect(await answers(mem)).toEqual(what === 'another tree' ? b.expected : a.expected);
      await mem.close();
      // The dropped prefetch's index is closed once its load is done.
      expect(await pollUntil(() => recallLiveIndexes() === before)).toBe(true);
    }
  });

  it('a file that does not load is not adopted: the open reports it and rebuilds, as without a prefetch', async () => {
    const { project, state, expected } = await persisted();
    await writeFile(join(state, INDEX_FILE), 'CLAWRIX\n and then nothing a loader could serve');
    prefetchOpen(project);
    const mem = await LocalMemory.open({ projectRoot: project, watch: false, logger: quiet });
    expect(mem.persist).toMatchObject({ loaded: false, notLoaded: 'RECALL_PERSIST_CORRUPT', saves: 1 });
    expect(mem.persist?.prefetched).toBeUndefined();
    expect(mem.tree.reads).toBe(FIXTURE_NOTES);
    expect(await answers(mem)).toEqual(expected);
    await mem.close();
  });

  it('loadFileAsync answers as loadFile and rejects with its codes; peekIndexMeta reads the manifest only', async () => {
    const { state } = await persisted();
    const file = join(state, INDEX_FILE);
    const sync = createRecallIndex();
    const meta = sync.loadFile(file);
    const async = createRecallIndex();
    const loading = async.loadFileAsync(file);
    // One load at a time per index.
    await expect(async.loadFileAsync(file)).rejects.toMatchObject({ code: 'RECALL_BUSY' });
    expect(await loading).toBe(meta);
    expect(async.stats()).toMatchObject({ documents: sync.stats().documents, terms: sync.stats().terms });
    await expect(async.loadFileAsync(file)).rejects.toMatchObject({ code: 'RECALL_PERSIST_NOT_EMPTY' });
    expect(peekIndexMeta(file)).toBe(meta);
    // On one thread (the early open's way) it loads the same; a thread count out of range is refused.
    const single = createRecallIndex();
    expect(await single.loadFileAsync(file, { threads: 1 })).toBe(meta);
    expect(single.stats()).toMatchObject({ documents: sync.stats().documents, postings: sync.stats().postings });
    single.close();
    await expect(createRecallIndex().loadFileAsync(file, { threads: 65 })).rejects.toMatchObject({
      code: 'ERR_OUT_OF_RANGE',
    });
    const bad = join(state, 'bad.clawrix');
    await writeFile(bad, 'not an index at all, long enough to hold a header of 48 bytes....');
    for (const [path, code] of [
      [bad, 'RECALL_PERSIST_CORRUPT'],
      [join(state, 'none.clawrix'), 'RECALL_PERSIST_MISSING'],
    ] as const) {
      await expect(createRecallIndex().loadFileAsync(path)).rejects.toMatchObject({ code });
      expect(() => peekIndexMeta(path)).toThrow(expect.objectContaining({ code }) as Error);
    }
    // Closed while loading: the promise settles, then the native index is freed.
    const before = recallLiveIndexes();
    const closing = createRecallIndex();
    const pending = closing.loadFileAsync(file);
    closing.close();
    await pending.catch(() => undefined);
    expect(await pollUntil(() => recallLiveIndexes() === before)).toBe(true);
    sync.close();
    async.close();
  });
});
