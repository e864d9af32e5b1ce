/**
 * LocalMemory over each real engine behind the RecallIndex seam: minisearch (brv's library, as brv
 * configures it) always, and the native engine once lib/native.ts exports createRecallIndex.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { isClawError } from '../../../lib/errors.js';
import { estimateTokens } from '../../../lib/memory/budget.js';
import { LocalMemory } from '../../../lib/memory/local.js';
import { loadNativeRecall } from '../../../lib/memory/native-index.js';
import { FIXTURE_NOTES, engines, tempProject } from './helpers.js';
import { hangGuard } from '../../helpers/timeout.js';

const all = await engines();

for (const engine of all) {
  describe.skipIf(engine.skip !== undefined)(
    `LocalMemory over ${engine.name}${engine.skip ? ` (${engine.skip})` : ''}`,
    () => {
      const open = async (opts: Partial<Parameters<typeof LocalMemory.open>[0]> = {}) => {
        const p = await tempProject(true);
        const mem = await LocalMemory.open({ projectRoot: p.project, index: engine.factory, watch: false, ...opts });
        return { ...p, mem };
      };

      it('indexes the fixture tree and ranks the obvious note first', async () => {
        const { mem } = await open();
        const st = await mem.stats();
        expect(st).toMatchObject({ backend: 'local', documents: FIXTURE_NOTES, pending: 0 });
        expect(st.engine?.documents).toBe(FIXTURE_NOTES);
        const cases: Array<[string, string]> = [
          ['refresh token rotation', 'auth/jwt-session-tokens.md'],
          ['PgBouncer transaction pooling', 'database/connection-pooling.md'],
          ['dead-letter queue replay', 'messaging/retries-dead-letter.md'],
          ['content security policy nonce', 'security/content-security-policy.md'],
          ['blue-green bake rollback', 'deploy/blue-green.md'],
        ];
        for (const [q, path] of cases) {
          const hits = await mem.search(q, { k: 5 });
          expect(hits[0]?.path, q).toBe(path);
          expect(hits[0]?.title.length).toBeGreaterThan(0);
          for (let i = 1; i < hits.length; i++) expect((hits[i - 1]?.score ?? 0) >= (hits[i]?.score ?? 0)).toBe(true);
        }
        expect(await mem.search('', { k: 5 })).toEqual([]);
        await mem.close();
      });

      it('recall fits the token budget and keeps the search order', async () => {
        const { mem } = await open();
        const hits = await mem.search('database index postgres', { k: 8 });
        for (const budget of [0, 30, 80, 200, 5000]) {
          const r = await mem.recall('database index postgres', { k: 8, tokenBudget: budget });
          expect(estimateTokens(r.text)).toBeLessThanOrEqual(budget);
          expect(r.hits.map((h) => h.path)).toEqual(hits.slice(0, r.hits.length).map((h) => h.path));
        }
        await mem.close();
      });

      it('curate makes a note searchable at once and queues it', async () => {
        const { mem } = await open();
        const r = await mem.curate({
          title: 'Zanzibar authorization',
          content: 'We model permissions as Zanzibar-style relation tuples.',
          tags: ['authz'],
        });
        const hits = await mem.search('zanzibar relation tuples', { k: 3 });
        expect(hits[0]?.path).toBe(r.path);
        expect((await mem.stats()).pending).toBe(1);
        await mem.close();
      });

      it('without watching, a query rescans a stale tree (edits, additions, deletions)', async () => {
        const { mem, tree } = await open({ maxStalenessMs: 0 });
        await writeFile(join(tree, 'http', 'timeouts.md'), '# Timeouts everywhere\nquokka deadline propagation');
        await writeFile(join(tree, 'fresh.md'), '# Fresh\nwombat');
        await rm(join(tree, 'api', 'pagination.md'));
        expect((await mem.search('quokka', { k: 3 }))[0]?.path).toBe('http/timeouts.md');
        expect((await mem.search('wombat', { k: 3 }))[0]?.path).toBe('fresh.md');
        expect((await mem.search('cursor pagination next_cursor', { k: 10 })).map((h) => h.path)).not.toContain(
          'api/pagination.md',
        );
        expect((await mem.stats()).engine?.documents).toBe(FIXTURE_NOTES);
        await mem.close();
      });

      it('watching keeps the index current without explicit refreshes', async () => {
        const { mem, tree } = await open({ watch: { debounceMs: 20, pollMs: 500 } });
        await writeFile(join(tree, 'watched.md'), '# Watched\naxolotl regeneration');
        await vi.waitFor(async () => expect((await mem.search('axolotl', { k: 1 }))[0]?.path).toBe('watched.md'), {
          timeout: hangGuard(60_000),
          interval: 25,
        });
        await rm(join(tree, 'watched.md'));
        await vi.waitFor(async () => expect(await mem.search('axolotl', { k: 1 })).toEqual([]), {
          timeout: hangGuard(60_000),
          interval: 25,
        });
        await mem.close();
        const err = await mem.search('x').catch((e: unknown) => e);
        expect(isClawError(err, 'MEMORY_CLOSED')).toBe(true);
      });
    },
  );
}

describe('engine selection', () => {
  it('without an explicit index LocalMemory uses the native engine, or says why it cannot', async () => {
    const native = await loadNativeRecall();
    const p = await tempProject(true);
    if (native.factory) {
      const mem = await LocalMemory.open({ projectRoot: p.project, watch: false });
      expect((await mem.stats()).engine?.documents).toBe(FIXTURE_NOTES);
      await mem.close();
    } else {
      const err = await LocalMemory.open({ projectRoot: p.project, watch: false }).catch((e: unknown) => e);
      expect(isClawError(err, 'MEMORY_ENGINE_UNAVAILABLE')).toBe(true);
      expect((err as Error).message).toContain(native.reason as string);
    }
  });
});
