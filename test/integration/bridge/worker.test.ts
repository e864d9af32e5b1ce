/**
 * The queue worker over a real store (SQLite on disk): at-least-once processing through the handler
 * registry, retries with attempts counted, dead letters, handler timeouts, lease extension for slow
 * handlers, graceful stop, and the ByteRover memory handler's coalesced pulls end to end through a
 * real webhook.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createBridge,
  HandlerRegistry,
  wireMemoryEvents,
  parseBridgeConfig,
  QueueWorker,
  SqliteStore,
  type QueueEvent,
  type QueuePolicy,
  type WebhookEvent,
} from '../../../lib/bridge/index.js';
import { createLogger } from '../../../lib/log/index.js';

const silent = createLogger({ level: 'silent' });
let dir: string;
const open: Array<{ close(): Promise<void> }> = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'claw-worker-'));
});
afterAll(async () => {
  for (const o of open.reverse()) await o.close();
  rmSync(dir, { recursive: true, force: true });
});

async function store(policy: Partial<QueuePolicy> = {}): Promise<SqliteStore> {
  const s = await SqliteStore.open({ path: join(dir, `${randomBytes(4).toString('hex')}.db`), policy });
  open.push(s);
  return s;
}
const ev = (id: string, type = 'test.thing', data: unknown = {}): QueueEvent => ({
  id,
  type,
  payload: JSON.stringify({ type, data }),
  receivedAt: Date.now(),
});
async function until(check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('QueueWorker', () => {
  it('runs each job through its type handler once; unknown types are acknowledged by the fallback', async () => {
    const s = await store();
    const seen: string[] = [];
    const unknown: string[] = [];
    const reg = new HandlerRegistry()
      .on('test.thing', (e) => void seen.push(e.id))
      .otherwise((e) => void unknown.push(`${e.type}:${e.id}`));
    await s.enqueue([...Array.from({ length: 50 }, (_, i) => ev(`t${i}`)), ev('u1', 'vendor.new-type')]);
    const w = new QueueWorker({
      queue: s,
      handle: reg.dispatcher(silent),
      concurrency: 8,
      pollMs: 20,
      logger: silent,
    }).start();
    await until(() => seen.length + unknown.length === 51 && w.stats.processed === 51);
    await w.stop();
    expect(new Set(seen).size).toBe(50);
    expect(unknown).toEqual(['vendor.new-type:u1']);
    expect(await s.stats()).toMatchObject({ depth: 0, dead: 0 });
  });

  it('a failing handler is retried with increasing attempts until it succeeds', async () => {
    const s = await store({ retryBaseMs: 5, retryCapMs: 20 });
    const attempts: number[] = [];
    const reg = new HandlerRegistry().on('test.thing', (e: WebhookEvent) => {
      attempts.push(e.attempt);
      if (e.attempt < 3) throw new Error(`transient ${e.attempt}`);
    });
    await s.enqueue([ev('flaky')]);
    const w = new QueueWorker({ queue: s, handle: reg.dispatcher(silent), pollMs: 10, logger: silent }).start();
    await until(() => w.stats.processed === 1);
    await w.stop();
    expect(attempts).toEqual([1, 2, 3]);
    expect(w.stats).toMatchObject({ retried: 2, deadLettered: 0 });
  });

  it('a job that keeps failing lands in the dead-letter list with its last error; others go on', async () => {
    const s = await store({ maxAttempts: 3, retryBaseMs: 1, retryCapMs: 5 });
    const reg = new HandlerRegistry().on('test.thing', (e) => {
      if (e.id === 'poison') throw new Error(`cannot handle (attempt ${e.attempt})`);
    });
    await s.enqueue([ev('poison'), ev('fine')]);
    const w = new QueueWorker({ queue: s, handle: reg.dispatcher(silent), pollMs: 10, logger: silent }).start();
    await until(() => w.stats.deadLettered === 1 && w.stats.processed === 1);
    await w.stop();
    const dead = await s.deadLetters();
    expect(dead.map((d) => [d.id, d.attempts, d.lastError])).toEqual([['poison', 3, 'cannot handle (attempt 3)']]);
    expect(await s.stats()).toMatchObject({ depth: 0, dead: 1 });
  });

  it('a handler that exceeds the timeout fails the delivery (and sees its signal aborted)', async () => {
    const s = await store({ maxAttempts: 1 });
    let aborted = false;
    const handle = async (_l: unknown, signal: AbortSignal): Promise<void> => {
      await new Promise<void>((r) => signal.addEventListener('abort', () => r()));
      aborted = signal.aborted;
    };
    await s.enqueue([ev('slow')]);
    const w = new QueueWorker({ queue: s, handle, handlerTimeoutMs: 100, pollMs: 10, logger: silent }).start();
    await until(() => w.stats.deadLettered === 1);
    await w.stop();
    expect(aborted).toBe(true);
    expect((await s.deadLetters())[0]?.lastError).toMatch(/timed out|timeout/i);
  });

  it('extends the lease of a handler slower than the lease: no other worker gets the job meanwhile', async () => {
    const s = await store({ leaseMs: 1_000 });
    const other = await SqliteStore.open({ path: s.path, policy: { leaseMs: 1_000 } });
    open.push(other);
    let running = true;
    const stolen: string[] = [];
    await s.enqueue([ev('long')]);
    const w = new QueueWorker({
      queue: s,
      handle: async () => {
        while (running) {
          stolen.push(...(await other.claim(5)).map((l) => l.id));
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      pollMs: 10,
      logger: silent,
    }).start();
    await until(() => w.stats.inFlight === 1);
    await new Promise((r) => setTimeout(r, 2_500)); // 2.5 leases
    running = false;
    await until(() => w.stats.processed === 1);
    await w.stop();
    expect(stolen).toEqual([]);
    expect(w.stats.stale).toBe(0);
  });

  it('stop() waits for running handlers and flushes their acks', async () => {
    const s = await store();
    let gate!: () => void;
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const reg = new HandlerRegistry().on('test.thing', async () => {
      started();
      await new Promise<void>((g) => (gate = g));
    });
    await s.enqueue([ev('g')]);
    const worker = new QueueWorker({ queue: s, handle: reg.dispatcher(silent), pollMs: 10, logger: silent }).start();
    await running;
    const stopped = worker.stop();
    gate();
    await stopped;
    expect(worker.stats.processed).toBe(1);
    expect(await s.stats()).toMatchObject({ depth: 0 });
  });
});

describe('the memory-event wiring (wireMemoryEvents, as composeBridge uses it): events trigger coalesced pulls', () => {
  it('a burst of memory.updated webhooks is acknowledged and causes fewer pulls than events', async () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const d = mkdtempSync(join(dir, 'bridge-'));
    let pulls = 0;
    const reasons: string[] = [];
    const bridge = await createBridge({
      config: parseBridgeConfig({
        webhooks: { standardSecrets: [secret] },
        queue: { pollMs: 20 },
        store: { kind: 'sqlite', path: join(d, 'b.db') },
      }),
      dataDir: d,
      logger: silent,
      handlers: wireMemoryEvents(new HandlerRegistry(), {
        description: 'on (test)',
        logger: silent,
        pullMemory: async (reason) => {
          pulls++;
          reasons.push(reason.type);
          await new Promise((r) => setTimeout(r, 200));
        },
      }),
    });
    open.push(bridge);
    const url = `${(await bridge.listen(0)).url}/webhooks/byterover`;
    const N = 10;
    for (let i = 0; i < N; i++) {
      const id = `msg_pull_${i}`;
      const body = JSON.stringify({ type: i % 2 ? 'memory.updated' : 'memory.created', data: { i } });
      const ts = new Date();
      const r = await request(url, {
        method: 'POST',
        body,
        headers: {
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(ts.getTime() / 1000)),
          'webhook-signature': new Webhook(secret).sign(id, ts, body),
        },
      });
      expect(r.statusCode).toBe(200);
      await r.body.dump();
    }
    await until(async () => (await bridge.status()).worker?.processed === N);
    expect(pulls).toBeGreaterThanOrEqual(1);
    expect(pulls).toBeLessThan(N);
    expect(reasons.every((t) => t.startsWith('memory.'))).toBe(true);
    const st = await bridge.status();
    expect(st.queue).toMatchObject({ kind: 'sqlite', depth: 0, dead: 0 });
    expect(st.webhooks.WEBHOOK_ACCEPTED).toBe(N);
  });
});
