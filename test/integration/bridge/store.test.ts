/**
 * One contract, every backend: the bridge store interface (lib/bridge/store/types.ts) behaves the same
 * on SQLite, on real PostgreSQL, and with the queue on real Redis (BullMQ) beside PostgreSQL state.
 * Queue: durable dedupe on enqueue, leases, stale tokens, retries, dead letters, redrive, two instances
 * claiming and enqueueing at once. State: dedupe protocol, idempotency records (Stripe semantics),
 * outbox, key/value compare-and-set, lease locks, pruning.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore, type BridgeStore, type Lease, type QueueEvent } from '../../../lib/bridge/store/index.js';
import { allBackends, postgresBackend } from './backends.js';

const ev = (id: string, n = 0, receivedAt = Date.now()): QueueEvent => ({
  id,
  type: 'memory.updated',
  payload: JSON.stringify({ n }),
  receivedAt,
});
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Claims until `count` leases came back or `rounds` polls found nothing more. */
async function claimUntil(store: BridgeStore, count: number, rounds = 100): Promise<Lease[]> {
  const out: Lease[] = [];
  for (let i = 0; i < rounds && out.length < count; i++) {
    const got = await store.queue.claim(count - out.length);
    out.push(...got);
    if (got.length === 0) await sleep(50);
  }
  return out;
}

for (const backend of allBackends()) {
  describe.skipIf(backend.skip)(`bridge store contract: ${backend.name}`, () => {
    const opened: BridgeStore[] = [];
    const open = async (policy?: Parameters<typeof backend.open>[0]) => {
      const r = await backend.open(policy);
      opened.push(r.store);
      return {
        store: r.store,
        peer: async () => {
          const p = await r.openPeer();
          opened.push(p);
          return p;
        },
      };
    };
    beforeAll(() => backend.start());
    afterAll(async () => {
      for (const s of opened) await s.close();
      await backend.stop();
    });

    it('enqueue: new ids are enqueued once, repeats (across and within batches) are duplicates', async () => {
      const { store } = await open();
      expect(await store.queue.enqueue([ev('a'), ev('b')])).toEqual(['enqueued', 'enqueued']);
      expect(await store.queue.enqueue([ev('a'), ev('c'), ev('c')])).toEqual(['duplicate', 'enqueued', 'duplicate']);
      expect(await store.queue.stats()).toMatchObject({ depth: 3, inFlight: 0, dead: 0 });
    });

    it('claim leases jobs oldest first with payload and attempt 1; leased jobs are invisible; ack removes them', async () => {
      const { store } = await open({ leaseMs: 60_000 });
      await store.queue.enqueue([ev('one', 1)]);
      await store.queue.enqueue([ev('two', 2)]);
      const [first] = await store.queue.claim(1);
      expect(first).toMatchObject({ id: 'one', type: 'memory.updated', payload: '{"n":1}', attempt: 1 });
      const rest = await store.queue.claim(10);
      expect(rest.map((l) => l.id)).toEqual(['two']);
      expect(await store.queue.claim(10)).toEqual([]);
      expect(await store.queue.stats()).toMatchObject({ depth: 2, inFlight: 2 });
      expect(await store.queue.ack([first!, ...rest])).toBe(2);
      expect(await store.queue.stats()).toMatchObject({ depth: 0, inFlight: 0, oldestAgeMs: 0 });
      // The dedupe record outlives the job: a late repeat is still a duplicate.
      expect(await store.queue.enqueue([ev('one', 1)])).toEqual(['duplicate']);
    });

    it('an expired lease makes the job claimable again; the old token can no longer ack or fail it', async () => {
      const { store } = await open({ leaseMs: 300 });
      await store.queue.enqueue([ev('x')]);
      const [l1] = await store.queue.claim(1);
      expect(l1?.attempt).toBe(1);
      await sleep(450);
      const [l2] = await claimUntil(store, 1);
      expect(l2).toMatchObject({ id: 'x', attempt: 2 });
      expect(l2!.token).not.toBe(l1!.token);
      expect(await store.queue.ack([l1!])).toBe(0);
      expect(await store.queue.fail(l1!, 'late')).toBe('stale');
      expect(await store.queue.extend(l2!)).toBe(true);
      expect(await store.queue.ack([l2!])).toBe(1);
    });

    it('fail schedules a jittered retry, then dead-letters after maxAttempts; redrive brings it back', async () => {
      const { store } = await open({ maxAttempts: 2, retryBaseMs: 1, retryCapMs: 1, leaseMs: 60_000 });
      await store.queue.enqueue([ev('p', 7)]);
      const [a1] = await store.queue.claim(1);
      expect(await store.queue.fail(a1!, 'boom 1')).toBe('retry');
      const [a2] = await claimUntil(store, 1);
      expect(a2).toMatchObject({ id: 'p', attempt: 2 });
      expect(await store.queue.fail(a2!, 'boom 2')).toBe('dead');
      expect(await store.queue.claim(5)).toEqual([]);
      expect(await store.queue.stats()).toMatchObject({ depth: 0, dead: 1 });
      const dead = await store.queue.deadLetters();
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({ id: 'p', payload: '{"n":7}', attempts: 2, lastError: 'boom 2' });
      expect(await store.queue.redrive(['p', 'unknown'])).toBe(1);
      const [a3] = await claimUntil(store, 1);
      expect(a3).toMatchObject({ id: 'p', attempt: 1 });
      expect(await store.queue.ack([a3!])).toBe(1);
      expect(await store.queue.stats()).toMatchObject({ depth: 0, dead: 0 });
    });

    it('a job whose last allowed delivery lost its lease (handler crashed) goes to the dead letters', async () => {
      const { store } = await open({ maxAttempts: 1, leaseMs: 200 });
      await store.queue.enqueue([ev('crash')]);
      expect(await store.queue.claim(1)).toHaveLength(1);
      await sleep(350);
      let dead = 0;
      for (let i = 0; i < 60 && dead === 0; i++) {
        expect(await store.queue.claim(1)).toEqual([]);
        dead = (await store.queue.stats()).dead;
        if (dead === 0) await sleep(100);
      }
      expect(dead).toBe(1);
      expect((await store.queue.deadLetters())[0]?.id).toBe('crash');
    });

    it('two instances claiming at once never get the same job, and together get them all', async () => {
      const { store, peer } = await open({ leaseMs: 60_000 });
      const other = await peer();
      const ids = Array.from({ length: 200 }, (_, i) => `j${i}`);
      for (let i = 0; i < ids.length; i += 50) await store.queue.enqueue(ids.slice(i, i + 50).map((id) => ev(id)));
      const drain = async (s: BridgeStore): Promise<string[]> => {
        const got: string[] = [];
        for (let empty = 0; empty < 3;) {
          const ls = await s.queue.claim(7);
          if (ls.length === 0) {
            empty++;
            await sleep(20);
          } else got.push(...ls.map((l) => l.id));
        }
        return got;
      };
      const [a, b] = await Promise.all([drain(store), drain(other)]);
      const all = [...a, ...b];
      expect(new Set(all).size).toBe(all.length);
      expect([...all].sort()).toEqual([...ids].sort());
      expect((await store.queue.stats()).inFlight).toBe(200);
    });

    it('two instances enqueueing the same ids at once: each id is enqueued exactly once', async () => {
      const { store, peer } = await open();
      const other = await peer();
      const ids = Array.from({ length: 100 }, (_, i) => `dup${i}`);
      const [r1, r2] = await Promise.all([
        store.queue.enqueue(ids.map((id) => ev(id))),
        other.queue.enqueue([...ids].reverse().map((id) => ev(id))),
      ]);
      const enqueued = new Map<string, number>();
      ids.forEach((id, i) => {
        if (r1![i] === 'enqueued') enqueued.set(id, (enqueued.get(id) ?? 0) + 1);
        if (r2![ids.length - 1 - i] === 'enqueued') enqueued.set(id, (enqueued.get(id) ?? 0) + 1);
      });
      expect(enqueued.size).toBe(100);
      expect([...enqueued.values()].every((n) => n === 1)).toBe(true);
      expect((await store.queue.stats()).depth).toBe(100);
    });

    it('dedupe records: reserve → pending until marked → enqueued', async () => {
      const { store } = await open();
      const at = (...ids: string[]) => ids.map((id) => ({ id, seenAt: Date.now() }));
      expect(await store.state.dedupe.reserve(at('r1', 'r2'))).toEqual(['new', 'new']);
      expect(await store.state.dedupe.reserve(at('r1', 'r3'))).toEqual(['pending', 'new']);
      await store.state.dedupe.markEnqueued(['r1']);
      expect(await store.state.dedupe.reserve(at('r1', 'r2'))).toEqual(['enqueued', 'pending']);
    });

    it('idempotency records: acquire, in progress, mismatch, replay of the saved response, release, lock expiry', async () => {
      const { store } = await open();
      const idem = store.state.idempotency;
      const t = Date.now();
      expect(await idem.begin('k1', 'h1', t, 10_000)).toEqual({ state: 'acquired' });
      expect(await idem.begin('k1', 'h1', t + 1, 10_000)).toEqual({ state: 'in_progress' });
      expect(await idem.begin('k1', 'other', t + 1, 10_000)).toEqual({ state: 'mismatch' });
      await idem.complete('k1', { status: 500, body: '{"ok":false}', headers: { 'x-request-id': 'r' } }, t + 2);
      expect(await idem.begin('k1', 'h1', t + 3, 10_000)).toEqual({
        state: 'replay',
        response: { status: 500, body: '{"ok":false}', headers: { 'x-request-id': 'r' } },
      });
      expect(await idem.begin('k2', 'h2', t, 60_000)).toEqual({ state: 'acquired' });
      await idem.release('k2');
      expect(await idem.begin('k2', 'h2', t, 60_000)).toEqual({ state: 'acquired' });
      // Lock expiry runs on real time (PostgreSQL decides it on the database clock): a short lock runs out.
      expect(await idem.begin('k3', 'h3', Date.now(), 150)).toEqual({ state: 'acquired' });
      await sleep(300);
      expect(await idem.begin('k3', 'h3', Date.now(), 60_000)).toEqual({ state: 'acquired' }); // holder's lock expired
      expect(await idem.begin('k3', 'h3', Date.now(), 60_000)).toEqual({ state: 'in_progress' });
    });

    it('key/value blobs: bytes round-trip; compare-and-set refuses stale versions', async () => {
      const { store } = await open();
      const kv = store.state.kv;
      const blob = Buffer.from([0, 1, 2, 255, 254, 0, 10]);
      expect(await kv.get('tok')).toBeUndefined();
      expect(await kv.set('tok', blob, 1, 0)).toEqual({ ok: true, version: 1 });
      expect(await kv.set('tok', Buffer.from('x'), 2, 0)).toEqual({ ok: false, version: 1 });
      const got = await kv.get('tok');
      expect(got?.value.equals(blob)).toBe(true);
      expect(got?.version).toBe(1);
      expect(await kv.set('tok', Buffer.from('v2'), 3, 1)).toEqual({ ok: true, version: 2 });
      expect(await kv.set('tok', Buffer.from('v3'), 4, 1)).toEqual({ ok: false, version: 2 });
      expect(await kv.set('tok', Buffer.from('v3'), 5)).toEqual({ ok: true, version: 3 });
      expect((await kv.get('tok'))?.value.toString()).toBe('v3');
      await kv.delete('tok');
      expect(await kv.get('tok')).toBeUndefined();
    });

    it('lease locks: one holder at a time, re-entrant for the holder, free after expiry or release', async () => {
      const { store } = await open();
      const locks = store.state.locks;
      // Real time throughout: PostgreSQL decides expiry on the database clock, not on the `now` passed.
      expect(await locks.acquire('refresh', 'A', 150, Date.now())).toBe(true);
      expect(await locks.acquire('refresh', 'B', 60_000, Date.now())).toBe(false);
      expect(await locks.acquire('refresh', 'A', 60_000, Date.now())).toBe(true); // re-entrant: extended
      await sleep(300);
      expect(await locks.acquire('refresh', 'B', 60_000, Date.now())).toBe(false); // the extension holds
      expect(await locks.acquire('refresh', 'A', 150, Date.now())).toBe(true);
      await sleep(300);
      expect(await locks.acquire('refresh', 'B', 60_000, Date.now())).toBe(true); // A's lease ran out
      await locks.release('refresh', 'A');
      expect(await locks.acquire('refresh', 'A', 60_000, Date.now())).toBe(false);
      await locks.release('refresh', 'B');
      expect(await locks.acquire('refresh', 'A', 60_000, Date.now())).toBe(true);
    });

    it('prune deletes old dedupe and finished idempotency records; a pruned id can be enqueued again', async () => {
      const { store } = await open({ leaseMs: 60_000 });
      await store.queue.enqueue([ev('old', 0, 1_000), ev('new', 0, 100_000)]);
      const ls = await claimUntil(store, 2);
      await store.queue.ack(ls);
      await store.state.idempotency.begin('ik', 'h', 1_000, 10);
      await store.state.idempotency.complete('ik', { status: 200, body: '{}' }, 1_001);
      const r = await store.state.prune({ dedupeBefore: 50_000, idempotencyBefore: 50_000 });
      expect(r).toEqual({ dedupe: 1, idempotency: 1 });
      expect(await store.queue.enqueue([ev('old'), ev('new')])).toEqual(['enqueued', 'duplicate']);
    });
  });
}

/**
 * Several bridge instances share PostgreSQL; their clocks may disagree. Lease and idempotency lock
 * expiry must be decided on the database clock: an instance whose clock runs 10 minutes ahead must not
 * take a live lease (the OAuth refresh lease: two refreshes of a rotating refresh token revoke the
 * grant) nor re-run a request whose idempotency key is locked; one running behind must not hold a
 * lock past its ttl. Two store objects on one schema, as two bridge processes.
 */
{
  const pgb = postgresBackend();
  const SKEW = 10 * 60_000;
  describe.skipIf(pgb.skip)(
    'PostgreSQL locks decide expiry on the database clock, not on skewed instance clocks',
    () => {
      let a: BridgeStore;
      let b: BridgeStore;
      beforeAll(async () => {
        await pgb.start();
        const r = await pgb.open();
        a = r.store;
        b = await r.openPeer();
      });
      afterAll(async () => {
        await a?.close();
        await b?.close();
        await pgb.stop();
      });

      it('lease locks: a clock 10 min ahead cannot take a live lease, a clock 10 min behind cannot keep one past its ttl, expiry works', async () => {
        const la = a.state.locks;
        const lb = b.state.locks;
        expect(await la.acquire('oauth-refresh:p1', 'A', 60_000, Date.now())).toBe(true);
        expect(await lb.acquire('oauth-refresh:p1', 'B', 60_000, Date.now() + SKEW)).toBe(false);
        expect(await lb.acquire('oauth-refresh:p1', 'B', 60_000, Date.now() - SKEW)).toBe(false);

        // The holder's clock runs behind: its lease still lasts ttl on the database clock, not 10 min less.
        expect(await la.acquire('oauth-refresh:p2', 'A', 60_000, Date.now() - SKEW)).toBe(true);
        expect(await lb.acquire('oauth-refresh:p2', 'B', 60_000, Date.now())).toBe(false);

        // Expiry still works, whatever the taker's clock says.
        expect(await la.acquire('oauth-refresh:p3', 'A', 150, Date.now() + SKEW)).toBe(true);
        await sleep(300);
        expect(await lb.acquire('oauth-refresh:p3', 'B', 60_000, Date.now() - SKEW)).toBe(true);
        expect(await la.acquire('oauth-refresh:p3', 'A', 60_000, Date.now() + SKEW)).toBe(false);
      });

      it('idempotency locks: a clock 10 min ahead gets in_progress for a running request, not a second run; an expired lock is taken over', async () => {
        const ia = a.state.idempotency;
        const ib = b.state.idempotency;
        expect(await ia.begin('skill-1', 'h', Date.now(), 60_000)).toEqual({ state: 'acquired' });
        expect(await ib.begin('skill-1', 'h', Date.now() + SKEW, 60_000)).toEqual({ state: 'in_progress' });

        expect(await ia.begin('skill-2', 'h', Date.now() - SKEW, 60_000)).toEqual({ state: 'acquired' });
        expect(await ib.begin('skill-2', 'h', Date.now(), 60_000)).toEqual({ state: 'in_progress' });

        expect(await ia.begin('skill-3', 'h', Date.now() + SKEW, 150)).toEqual({ state: 'acquired' });
        await sleep(300);
        expect(await ib.begin('skill-3', 'h', Date.now() - SKEW, 60_000)).toEqual({ state: 'acquired' });
        expect(await ia.begin('skill-3', 'h', Date.now() + SKEW, 60_000)).toEqual({ state: 'in_progress' });

        // A completed record is replayed to both; prune (on the database clock) keeps the live lock.
        await ib.complete('skill-3', { status: 200, body: '{}' }, Date.now() - SKEW);
        expect(await ia.begin('skill-3', 'h', Date.now() + SKEW, 60_000)).toEqual({
          state: 'replay',
          response: { status: 200, body: '{}' },
        });
        await a.state.prune({ dedupeBefore: 0, idempotencyBefore: Date.now() + 2 * SKEW });
        expect(await ib.begin('skill-1', 'h', Date.now(), 60_000)).toEqual({ state: 'in_progress' });
        expect(await ib.begin('skill-3', 'h', Date.now(), 60_000)).toEqual({ state: 'acquired' }); // pruned: completed
      });
    },
  );
}

describe('SQLite durability: durable calls wait for a WAL flush, and concurrent ones share flushes', () => {
  const backend = allBackends()[0]!;
  beforeAll(() => backend.start());
  afterAll(() => backend.stop());

  it("durability 'full': 200 concurrent enqueues and key/value writes are covered by fewer flushes; queue bookkeeping flushes nothing", async () => {
    const { store } = await backend.open({ leaseMs: 60_000 });
    const sqlite = store as SqliteStore;
    const before = await sqlite.walFlushes();
    const writes = Array.from({ length: 200 }, (_, i) =>
      i % 2 ? store.queue.enqueue([ev(`d${i}`)]) : store.state.kv.set(`k${i}`, Buffer.from('v'), 1),
    );
    await Promise.all(writes);
    const used = (await sqlite.walFlushes()) - before;
    expect(used).toBeGreaterThanOrEqual(1);
    expect(used).toBeLessThan(200);
    const mid = await sqlite.walFlushes();
    const leases = await store.queue.claim(100);
    await store.queue.ack(leases);
    await store.queue.stats();
    expect(await sqlite.walFlushes()).toBe(mid);
    await store.close();
  });

  it('prune works through more rows than one chunk', async () => {
    const { store } = await backend.open();
    const n = 4_500;
    for (let i = 0; i < n; i += 500)
      await store.queue.enqueue(Array.from({ length: 500 }, (_, k) => ev(`old${i + k}`, 0, 1_000)));
    const r = await store.state.prune({ dedupeBefore: 2_000, idempotencyBefore: 0 });
    expect(r.dedupe).toBe(n);
    expect(await store.queue.enqueue([ev('old7')])).toEqual(['enqueued']);
    await store.close();
  });

  it("durability 'normal' never flushes", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'claw-normal-'));
    const store = await SqliteStore.open({ path: join(dir, 'n.db'), durability: 'normal' });
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.enqueue([ev(`n${i}`)])));
    expect(await store.walFlushes()).toBe(0);
    expect((await store.stats()).depth).toBe(20);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
