/**
 * Large index changes run off the event loop (issue 13): a change set of 64 KiB or more goes to the
 * engine's addBatchAsync (parsed and indexed on the addon's worker threads) instead of the
 * synchronous add/update; later changes queue behind it, so the index ends where sequential
 * application ends, and a search waits for the work in flight.
 */
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalMemory } from '../../../lib/memory/index.js';
import { nativeRecallForTests } from '../../helpers/native-recall.js';
import type { RecallIndex } from '../../../lib/memory/types.js';
import { tempProject } from './helpers.js';

describe('indexing large changes off the event loop', async () => {
  const native = await nativeRecallForTests();
  it.skipIf(!native.factory)(
    'a large note goes through addBatchAsync; small ones after it keep their order',
    async () => {
      const calls = { async: 0, sync: 0 };
      const factory = (): RecallIndex => {
        const inner = native.factory!() as RecallIndex & { addBatchAsync: (d: unknown) => Promise<void> };
        const wrapper = {
          add: (path: string, d: string) => (calls.sync++, inner.add(path, d)),
          update: (path: string, d: string) => (calls.sync++, inner.update(path, d)),
          remove: (path: string) => inner.remove(path),
          query: (q: string, k: number) => inner.query(q, k),
          stats: () => inner.stats(),
          close: () => inner.close?.(),
          addBatchAsync: (d: ReadonlyArray<{ path: string; doc: string }>) => (calls.async++, inner.addBatchAsync(d)),
        };
        return wrapper as RecallIndex;
      };
      const p = await tempProject();
      const memory = await LocalMemory.open({ projectRoot: p.project, watch: false, index: factory, persist: false });
      try {
        const big = `# Zebra migration\n\n${'[a]( <b zebras graze '.repeat(10_000)}`; // ~200 KB, hostile
        await memory.curate({ title: 'Zebra migration', content: big, path: 'big.md' });
        expect(calls.async).toBe(1);
        // A small change right after: queued behind the large one, applied in order.
        await writeFile(join(p.tree, 'small.md'), '# Okapi\n\nokapi notes\n');
        await memory.refresh();
        await rm(join(p.tree, 'big.md'));
        await memory.refresh();
        expect((await memory.search('okapi')).map((h) => h.path)).toEqual(['small.md']);
        expect(await memory.search('zebras')).toEqual([]); // removed after it was added, not before
      } finally {
        await memory.close();
      }
    },
  );
});
