/**
 * Nothing lost: 20,000 signed webhooks from a retrying sender (loopback, bounded in count and time)
 * while a bridge process is SIGKILLed mid-run and restarted. Every webhook that got a 2xx must be
 * processed, and none twice in effect: the handler applies each event's effect idempotently (keyed by
 * event id) to a ledger, so count(effects) == acked set, and totals.n == count(effects) proves no effect
 * was applied twice even when deliveries repeat after the crash. A sample of acked events is replayed
 * after the restart: all duplicates, no new effect.
 * - embedded SQLite store, one bridge;
 * - PostgreSQL state + Redis (BullMQ) queue, two bridges sharing them, one killed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresMissing, startPostgres, type PostgresServer } from '../../servers/postgres.js';
import { redisMissing, startRedis, type RedisServer } from '../../servers/redis.js';
import { makeEvents, readLedger, sendAll, startChild, waitFor, type BridgeChild, type Target } from './harness.js';
import { hangGuard } from '../../helpers/timeout.js';

const TOTAL = 20_000;
const KILL_AT = 8_000;
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const queue = { leaseMs: 2_000, pollMs: 50, concurrency: 32, maxAttempts: 50, retryBaseMs: 50, retryCapMs: 1_000 };

interface Instance {
  name: string;
  child: BridgeChild | undefined;
  restarts: number;
}

async function scenario(opts: { dir: string; instances: string[]; store: unknown; effectsDb: string }): Promise<void> {
  const config = { webhooks: { standardSecrets: [SECRET] }, queue, store: opts.store };
  const start = (name: string): Promise<BridgeChild> =>
    startChild({ instance: name, config, dataDir: opts.dir, effectsDb: opts.effectsDb });
  const insts: Instance[] = [];
  for (const name of opts.instances) insts.push({ name, child: await start(name), restarts: 0 });
  const victim = insts[0] as Instance;
  const events = makeEvents(TOTAL, SECRET);
  const targets: Target[] = insts.map((inst) => ({ url: () => inst.child?.url }));

  let killedAtAcks = -1;
  let restarted: Promise<void> | undefined;
  try {
    const report = await sendAll(events, targets, {
      concurrency: 64,
      deadlineMs: 150_000,
      onAck: (n) => {
        if (n < KILL_AT || killedAtAcks !== -1) return;
        killedAtAcks = n;
        const c = victim.child as BridgeChild;
        victim.child = undefined;
        restarted = c.kill('SIGKILL').then(async () => {
          victim.child = await start(victim.name);
          victim.restarts++;
        });
      },
    });
    await restarted;

    // Every webhook got a 2xx eventually, and the kill really happened mid-run.
    expect(report.acked.size).toBe(TOTAL);
    expect(killedAtAcks).toBeGreaterThanOrEqual(KILL_AT);
    expect(killedAtAcks).toBeLessThan(TOTAL);
    expect(victim.restarts).toBe(1);
    expect(report.failedAttempts).toBeGreaterThan(0); // requests did die with the process

    // Replays after the restart (to every instance): duplicates, never a new effect.
    const sample = events.filter((_, i) => i % 20 === 0);
    for (const [k, ev] of sample.entries()) {
      const inst = insts[k % insts.length] as Instance;
      const r = await request(`${inst.child!.url}/webhooks/byterover`, {
        method: 'POST',
        headers: ev.headers,
        body: ev.body,
      });
      expect(r.statusCode).toBe(200);
      expect(((await r.body.json()) as { code?: string }).code).toBe('WEBHOOK_DUPLICATE');
    }

    // Every acked webhook gets processed (bounded wait), then the queue is empty and nothing is dead.
    const done = await waitFor(() => readLedger(opts.effectsDb).effects.size >= TOTAL, hangGuard(240_000));
    const ledger = readLedger(opts.effectsDb);
    expect(done, `processed ${ledger.effects.size} of ${TOTAL}`).toBe(true);
    const expected = new Map(events.map((e) => [`wh:${e.webhookId}`, e.amount]));
    expect(ledger.effects.size).toBe(TOTAL);
    for (const [id, amount] of ledger.effects) expect(expected.get(id)).toBe(amount);
    for (const ev of events) expect(report.acked.has(ev.webhookId)).toBe(true);
    // None twice in effect, although deliveries may repeat after the crash.
    expect(ledger.totals.n).toBe(ledger.effects.size);
    expect(ledger.totals.sum).toBe(events.reduce((s, e) => s + e.amount, 0));
    expect(ledger.deliveries).toBeGreaterThanOrEqual(TOTAL);

    const emptied = await waitFor(async () => {
      const st = await Promise.all(
        insts.map(
          async (i) =>
            (await request(`${i.child!.url}/status`)).body.json() as Promise<{
              queue: { depth: number; dead: number };
            }>,
        ),
      );
      return st.every((s) => s.queue.depth === 0 && s.queue.dead === 0);
    }, hangGuard(120_000));
    expect(emptied).toBe(true);
    const dupAcks = [...report.acked.values()].filter((a) => a.duplicate).length;
    console.log(
      `nothing-lost (${opts.instances.length} instance(s)): killed at ${killedAtAcks} acks; ${report.failedAttempts} failed attempts retried; ` +
        `${dupAcks} retries answered duplicate (their first attempt was durable); ${ledger.deliveries - TOTAL} redeliveries absorbed by the idempotent handler`,
    );
  } finally {
    for (const i of insts) await i.child?.kill('SIGKILL');
  }
}

describe('nothing lost: embedded SQLite store, bridge SIGKILLed mid-run and restarted', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'claw-lost-sqlite-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(
    'every 2xx-acknowledged webhook is processed exactly once in effect',
    { timeout: hangGuard(300_000) },
    async () => {
      await scenario({
        dir,
        instances: ['solo'],
        store: { kind: 'sqlite', path: join(dir, 'bridge.db') },
        effectsDb: join(dir, 'effects.db'),
      });
    },
  );
});

const pgRedisSkip = postgresMissing() ?? redisMissing();
describe.skipIf(pgRedisSkip)(
  'nothing lost: PostgreSQL + Redis, two bridges, one SIGKILLed mid-run and restarted',
  () => {
    let dir: string;
    let pg: PostgresServer;
    let redis: RedisServer;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'claw-lost-pg-'));
      [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
    });
    afterAll(async () => {
      await Promise.all([pg?.close(), redis?.close()]);
      rmSync(dir, { recursive: true, force: true });
    });

    it(
      'every 2xx-acknowledged webhook is processed exactly once in effect',
      { timeout: hangGuard(300_000) },
      async () => {
        await scenario({
          dir,
          instances: ['a', 'b'],
          store: { kind: 'postgres', url: pg.url, schema: 'lost', redisUrl: redis.url },
          effectsDb: join(dir, 'effects.db'),
        });
      },
    );
  },
);
