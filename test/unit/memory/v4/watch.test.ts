/**
 * A watched SpaceMemory answers from its live index: a query updates only the files the watch named
 * (a topic ByteRover wrote, a sidecar ByteRover bumped, a topic recorded through the memory) and never
 * rescans the whole space on the query path — a full rescan of 10,000 topics costs seconds.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeRecallForTests } from '../../../helpers/native-recall.js';
import { SpaceMemory } from '../../../../lib/memory/v4/memory.js';
import { writeSignals } from '../../../../lib/memory/v4/signals.js';
import { resolveSpace } from '../../../../lib/memory/v4/space.js';
import { v4Home } from './helpers.js';
import { pollUntil } from '../../../helpers/timeout.js';

const native = await nativeRecallForTests();

/** Waits (on the watch's own bookkeeping, not a guessed delay) until it has noted `rel`. */
async function noted(mem: SpaceMemory, rel: string): Promise<void> {
  const pending = (mem as unknown as { pending: Set<string> }).pending;
  await pollUntil(() => pending.has(rel), { intervalMs: 5 });
  expect(pending.has(rel), `the watch noted ${rel}`).toBe(true);
}

const topic = (rel: string, word: string): string =>
  `<bv-topic path="${rel}" title="T ${rel}"><bv-task>${word} to do</bv-task></bv-topic>`;

describe.skipIf(!native.factory)('SpaceMemory with a watch', () => {
  it('updates just the named topics and sidecars on the query path, never a full rescan', async () => {
    const h = await v4Home();
    const id = await h.addSpace('Watch');
    const proj = join(h.work, 'proj');
    await h.marker(proj, { space_id: id, space_name: 'Watch' });
    const space = await resolveSpace(proj, { dataDir: h.data });
    await mkdir(join(space.treeRoot, 'a'), { recursive: true });
    for (let i = 0; i < 20; i++) await writeFile(join(space.treeRoot, 'a', `t${i}.html`), topic(`a/t${i}`, 'filler'));
    await writeSignals(space.signalsDir, 'a/t0.html', {
      accessCount: 0,
      importance: 50,
      maturity: 'draft',
      recency: 1,
      updateCount: 0,
    });
    const mem = await SpaceMemory.open({ space });
    const scans = { n: 0 };
    const m = mem as unknown as { scan: () => Promise<void> };
    const scan = m.scan.bind(mem);
    m.scan = () => {
      scans.n++;
      return scan();
    };
    try {
      // a topic written by another writer (ByteRover's own)
      await writeFile(join(space.treeRoot, 'a', 'new_one.html'), topic('a/new_one', 'gribbletoad'));
      await noted(mem, 'a/new_one.html');
      expect((await mem.search('gribbletoad'))[0]?.path).toBe('a/new_one.html');
      // its sidecar, written later (ByteRover bumps signals): the ranking follows
      const before = (await mem.search('gribbletoad'))[0]!;
      await writeSignals(space.signalsDir, 'a/new_one.html', {
        accessCount: 3,
        importance: 100,
        maturity: 'core',
        recency: 1,
        updateCount: 2,
      });
      await noted(mem, 'a/new_one.html');
      const after = (await mem.search('gribbletoad'))[0]!;
      expect(after.compound).toBeGreaterThan(before.compound);
      // recorded through the memory: found at once
      await mem.record('a/recorded', { title: 'Recorded', body: 'quillifax notes' });
      expect((await mem.search('quillifax'))[0]?.path).toBe('a/recorded.html');
      // and a removed topic goes
      await writeFile(join(space.treeRoot, 'a', 'new_one.html'), topic('a/new_one', 'renamed'));
      await noted(mem, 'a/new_one.html');
      expect(await mem.search('gribbletoad')).toEqual([]);
      expect(scans.n).toBe(0);
    } finally {
      await mem.close();
    }
  });
});
