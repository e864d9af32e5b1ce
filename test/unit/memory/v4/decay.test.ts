/**
 * Signal decay of a topic with no `updatedat` (hand-written, or from a writer that does not stamp):
 * ByteRover's search decays a topic's signals by the days since the topic FILE's mtime; SpaceMemory
 * decays by `updatedat` (the content's own time, which a sync does not reset) and must fall back to
 * the file's mtime when `updatedat` is missing or unreadable — never treat such a topic as fresh.
 */
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeRecallForTests } from '../../../helpers/native-recall.js';
import { compoundScore } from '../../../../lib/memory/v4/cite.js';
import { SpaceMemory } from '../../../../lib/memory/v4/memory.js';
import { decayed, writeSignals } from '../../../../lib/memory/v4/signals.js';
import { resolveSpace } from '../../../../lib/memory/v4/space.js';
import { v4Home } from './helpers.js';

const native = await nativeRecallForTests();

describe.skipIf(!native.factory)('SpaceMemory signal decay', () => {
  it('decays by the file mtime when the topic has no updatedat, by updatedat otherwise', async () => {
    const h = await v4Home();
    const id = await h.addSpace('Decay');
    const proj = join(h.work, 'proj');
    await h.marker(proj, { space_id: id, space_name: 'Decay' });
    const space = await resolveSpace(proj, { dataDir: h.data });
    const now = new Date('2026-12-01T00:00:00Z');
    const old = new Date(now.getTime() - 300 * 86_400_000);
    const sig = { accessCount: 0, importance: 100, recency: 1, maturity: 'core', updateCount: 0 } as const;
    const put = async (rel: string, attrs: string, word: string): Promise<void> => {
      const file = join(space.treeRoot, `${rel}.html`);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(
        file,
        `<bv-topic path="${rel}" title="T ${rel}"${attrs}><bv-fact subject="s" category="other">${word} here</bv-fact></bv-topic>`,
      );
      await utimes(file, old, old);
      await writeSignals(space.signalsDir, `${rel}.html`, sig);
    };
    await put('a/no_stamp', '', 'zorblax');
    await put('a/bad_stamp', ' updatedat="yesterday-ish"', 'quonzic');
    await put('a/stamped', ` updatedat="${new Date(now.getTime() - 10 * 86_400_000).toISOString()}"`, 'fremulo');
    const mem = await SpaceMemory.open({ space, watch: false, now: () => now });
    try {
      for (const [word, days] of [
        ['zorblax', 300],
        ['quonzic', 300],
        ['fremulo', 10],
      ] as const) {
        const [hit] = await mem.search(word);
        expect(hit, word).toBeDefined();
        expect(hit!.compound, word).toBeCloseTo(compoundScore(1, decayed(sig, days)), 3);
      }
    } finally {
      await mem.close();
    }
  });

  it('a long-running memory re-decays the signals it gave the index as days pass (ranking, not only confidence)', async () => {
    const h = await v4Home();
    const id = await h.addSpace('Clock');
    const proj = join(h.work, 'proj');
    await h.marker(proj, { space_id: id, space_name: 'Clock' });
    const space = await resolveSpace(proj, { dataDir: h.data });
    let now = new Date('2026-12-01T00:00:00Z');
    const sig = { accessCount: 0, importance: 100, recency: 1, maturity: 'core', updateCount: 0 } as const;
    const file = join(space.treeRoot, 'a', 'topic.html');
    await mkdir(dirname(file), { recursive: true });
    await writeFile(
      file,
      `<bv-topic path="a/topic" title="T" updatedat="${now.toISOString()}"><bv-fact subject="s" category="other">vexillum here</bv-fact></bv-topic>`,
    );
    await writeSignals(space.signalsDir, 'a/topic.html', sig);
    const mem = await SpaceMemory.open({ space, watch: false, pollMs: 0, now: () => now });
    try {
      const [fresh] = await mem.search('vexillum');
      expect(fresh!.score).toBeCloseTo(compoundScore(1, sig), 6);
      now = new Date(now.getTime() + 200 * 86_400_000);
      await mem.refresh();
      const [later] = await mem.search('vexillum');
      // the engine's score (what orders the hits) follows the clock, as the confidence does
      expect(later!.compound).toBeCloseTo(compoundScore(1, decayed(sig, 200)), 6);
      expect(later!.score).toBeCloseTo(later!.compound, 6);
    } finally {
      await mem.close();
    }
  });
});
