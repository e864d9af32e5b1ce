/**
 * Building blocks of the bridge queue: group commit (Batcher), coalesced single-flight, the jittered
 * retry schedule, and the bridge config schema.
 */
import { describe, expect, it } from 'vitest';
import { coalesce } from '../../../lib/bridge/coalesce.js';
import { parseBridgeConfig } from '../../../lib/bridge/config.js';
import { Batcher } from '../../../lib/bridge/queue/batcher.js';
import { exhausted, retryDelayMs } from '../../../lib/bridge/queue/retry.js';
import { isClawError } from '../../../lib/errors.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('Batcher (group commit)', () => {
  it('concurrent submits in one loop turn become one flush; each caller gets its own result', async () => {
    const flushes: number[][] = [];
    const b = new Batcher<number, number>(async (xs) => {
      flushes.push(xs);
      return xs.map((x) => x * 10);
    });
    const rs = await Promise.all([1, 2, 3, 4].map((x) => b.submit(x)));
    expect(rs).toEqual([10, 20, 30, 40]);
    expect(flushes).toEqual([[1, 2, 3, 4]]);
    expect(b.stats).toEqual({ batches: 1, items: 4, largestBatch: 4 });
  });

  it('splits at maxBatch, and items arriving during a flush (maxInFlight 1) form the next batch', async () => {
    const flushes: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const b = new Batcher<number, number>(
      async (xs) => {
        flushes.push(xs);
        if (flushes.length === 1) await gate;
        return xs;
      },
      { maxBatch: 3, maxInFlight: 1 },
    );
    const first = [1, 2, 3].map((x) => b.submit(x)); // full batch: flushed at once
    await tick();
    const later = [4, 5].map((x) => b.submit(x));
    await tick();
    expect(flushes).toEqual([[1, 2, 3]]); // 4 and 5 wait for the flush in flight
    release();
    await Promise.all([...first, ...later]);
    expect(flushes).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it('a failed flush rejects that batch only; a wrong result count rejects the batch', async () => {
    let n = 0;
    const b = new Batcher<string, string>(async (xs) => {
      n++;
      if (n === 1) throw new Error('disk full');
      if (n === 2) return [];
      return xs;
    });
    await expect(Promise.all([b.submit('a'), b.submit('b')])).rejects.toThrow('disk full');
    await expect(b.submit('c')).rejects.toThrow('returned 0 results for 1 items');
    await expect(b.submit('d')).resolves.toBe('d');
  });

  it('drain resolves once everything queued and in flight is done', async () => {
    const done: number[] = [];
    const b = new Batcher<number, void>(
      async (xs) => {
        await new Promise((r) => setTimeout(r, 20));
        done.push(...xs);
        return xs.map(() => undefined);
      },
      { maxDelayMs: 50 },
    );
    void b.submit(1);
    void b.submit(2);
    await b.drain();
    expect(done).toEqual([1, 2]);
    expect(b.pending).toBe(0);
  });
});

describe('coalesce (single flight with one follower)', () => {
  it('a burst of calls costs at most two runs, and every call is covered by a run that started after it', async () => {
    const starts: number[] = [];
    let clock = 0;
    const gates: Array<() => void> = [];
    const run = coalesce(async () => {
      starts.push(clock);
      await new Promise<void>((r) => gates.push(r));
    });
    const calls: Array<{ at: number; p: Promise<void> }> = [];
    for (let i = 0; i < 5; i++) calls.push({ at: ++clock, p: run() }); // during run 1
    expect(starts).toEqual([1]);
    gates.shift()!();
    await calls[0]!.p;
    await tick();
    expect(starts).toEqual([1, 5]); // one follower for calls 2..5
    gates.shift()!();
    await Promise.all(calls.map((c) => c.p));
    expect(starts).toHaveLength(2);
    for (const c of calls) expect(starts.some((s) => s >= c.at)).toBe(true);
  });

  it('a failed run rejects its callers; the next call starts a fresh run', async () => {
    let n = 0;
    const run = coalesce(async () => {
      n++;
      if (n === 1) throw new Error('pull failed');
    });
    await expect(run()).rejects.toThrow('pull failed');
    await expect(run()).resolves.toBeUndefined();
    expect(n).toBe(2);
  });
});

describe('retry schedule (full jitter)', () => {
  const policy = { retryBaseMs: 100, retryCapMs: 1_000, maxAttempts: 3 };
  it('is uniform in [0, min(cap, base·2^(attempt-1))]', () => {
    expect(retryDelayMs(1, policy, () => 0)).toBe(0);
    expect(retryDelayMs(1, policy, () => 0.999)).toBe(99);
    expect(retryDelayMs(3, policy, () => 0.5)).toBe(200);
    expect(retryDelayMs(10, policy, () => 0.999)).toBe(999);
    expect(retryDelayMs(10_000, policy, () => 0.5)).toBe(500);
  });
  it('spreads retries: many draws are not all equal', () => {
    const draws = new Set(Array.from({ length: 50 }, () => retryDelayMs(4, policy)));
    expect(draws.size).toBeGreaterThan(10);
  });
  it('exhausted after maxAttempts deliveries', () => {
    expect(exhausted(2, policy)).toBe(false);
    expect(exhausted(3, policy)).toBe(true);
  });
});

describe('bridge config', () => {
  it('defaults: loopback, embedded SQLite with fsync, 300 s tolerance, 1 MiB bodies, a day of dedupe', () => {
    const c = parseBridgeConfig({});
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 8787,
      store: { kind: 'sqlite', durability: 'full' },
      webhooks: {
        path: '/webhooks/byterover',
        toleranceSeconds: 300,
        maxBodyBytes: 1_048_576,
        dedupeRetentionSeconds: 86_400,
      },
      queue: { maxAttempts: 8, leaseMs: 30_000 },
    });
  });

  it('refuses a malformed whsec secret and a dedupe retention inside the tolerance, naming the key but not the value', () => {
    const secret = 'whsec_short';
    try {
      parseBridgeConfig({
        webhooks: { standardSecrets: [secret], toleranceSeconds: 600, dedupeRetentionSeconds: 300 },
      });
      expect.unreachable();
    } catch (e) {
      expect(isClawError(e, 'CONFIG_INVALID')).toBe(true);
      const msg = (e as Error).message;
      expect(msg).toContain('bridge.webhooks.standardSecrets.0');
      expect(msg).not.toContain(secret);
    }
    expect(() => parseBridgeConfig({ webhooks: { toleranceSeconds: 600, dedupeRetentionSeconds: 300 } })).toThrow(
      /dedupeRetentionSeconds must exceed/,
    );
  });

  it('postgres store: schema must be an identifier; redisUrl is optional', () => {
    expect(parseBridgeConfig({ store: { kind: 'postgres', url: 'postgres://h/db' } }).store).toMatchObject({
      kind: 'postgres',
      schema: 'claw_bridge',
    });
    expect(() => parseBridgeConfig({ store: { kind: 'postgres', url: 'postgres://h/db', schema: 'x; drop' } })).toThrow(
      /bridge.store.schema/,
    );
  });
});
