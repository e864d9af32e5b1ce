/**
 * The RecallIndex contract (lib/memory/types.ts), run against every engine behind the seam: the
 * native binding must pass it as soon as lib/native.ts exports createRecallIndex().
 */
import { describe, expect, it } from 'vitest';
import type { RecallIndex } from '../../../lib/memory/types.js';
import { engines } from './helpers.js';

const all = await engines();

const note = (title: string, body: string, tags: string[] = []) =>
  `---\ntitle: ${title}\ntags: [${tags.join(', ')}]\n---\n\n# ${title}\n\n${body}\n`;

for (const engine of all) {
  describe.skipIf(engine.skip !== undefined)(
    `RecallIndex contract: ${engine.name}${engine.skip ? ` (${engine.skip})` : ''}`,
    () => {
      const make = (): RecallIndex => (engine.factory as () => RecallIndex)();

      it('add, query (≤ k, best first, path/title/score/excerpt), stats', () => {
        const ix = make();
        ix.add(
          'a/kafka.md',
          note('Kafka consumers', 'Offsets are committed after processing. Kafka partitions keep order.', [
            'messaging',
          ]),
        );
        ix.add('b/redis.md', note('Redis cache', 'Cache-aside with TTL jitter in Redis.'));
        ix.add('c/both.md', note('Queues and caches', 'Kafka feeds the Redis cache warmer.'));
        expect(ix.stats().documents).toBe(3);
        const hits = ix.query('kafka', 10);
        expect(hits.map((h) => h.path)).toContain('a/kafka.md');
        expect(hits.map((h) => h.path)).not.toContain('b/redis.md');
        expect(hits[0]).toMatchObject({ path: 'a/kafka.md', title: 'Kafka consumers' });
        for (const h of hits) {
          expect(h.score).toBeGreaterThan(0);
          expect(typeof h.excerpt).toBe('string');
        }
        for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);
        expect(ix.query('kafka redis', 1)).toHaveLength(1);
        expect(ix.query('', 5)).toEqual([]);
        expect(ix.query('   ', 5)).toEqual([]);
        ix.close?.();
      });

      it('add on an existing path replaces it; update on an absent path adds it; remove reports presence', () => {
        const ix = make();
        ix.add('n.md', note('Note', 'alpha'));
        ix.add('n.md', note('Note', 'bravo'));
        expect(ix.stats().documents).toBe(1);
        expect(ix.query('alpha', 5)).toEqual([]);
        expect(ix.query('bravo', 5).map((h) => h.path)).toEqual(['n.md']);
        ix.update('m.md', note('Other', 'charlie'));
        expect(ix.query('charlie', 5).map((h) => h.path)).toEqual(['m.md']);
        ix.update('m.md', note('Other', 'delta'));
        expect(ix.query('charlie', 5)).toEqual([]);
        expect(ix.remove('m.md')).toBe(true);
        expect(ix.remove('m.md')).toBe(false);
        expect(ix.query('delta', 5)).toEqual([]);
        expect(ix.stats().documents).toBe(1);
        ix.close?.();
      });

      it('accepts a parsed RecallDoc as well as raw markdown, and addBatch when offered', () => {
        const ix = make();
        ix.add('doc.md', { title: 'Parsed title', headings: ['Section'], body: 'echo foxtrot', tags: ['golf'] });
        expect(ix.query('foxtrot', 5)[0]).toMatchObject({ path: 'doc.md', title: 'Parsed title' });
        if (ix.addBatch) {
          ix.addBatch([
            { path: 'x.md', doc: note('X', 'hotel') },
            { path: 'y.md', doc: note('Y', 'india') },
            { path: 'x.md', doc: note('X', 'juliet') }, // a later duplicate wins
          ]);
          expect(ix.query('hotel', 5)).toEqual([]);
          expect(ix.query('juliet', 5).map((h) => h.path)).toEqual(['x.md']);
          expect(ix.stats().documents).toBe(3);
        }
        ix.close?.();
      });

      it('repeated updates of the same paths do not grow the document count', () => {
        const ix = make();
        for (let round = 0; round < 50; round++) {
          const word = round === 0 ? 'aardvark' : round === 49 ? 'xylophone' : `round${round}`;
          for (let i = 0; i < 10; i++) ix.update(`p${i}.md`, note(`P${i}`, `update ${word}`));
        }
        expect(ix.stats().documents).toBe(10);
        expect(ix.query('xylophone', 20)).toHaveLength(10);
        expect(ix.query('aardvark', 20)).toEqual([]);
        ix.close?.();
      });
    },
  );
}
