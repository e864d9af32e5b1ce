/**
 * Tools for tests that run the bridge as real child processes (fixtures/bridge-child.ts): start and
 * SIGKILL them, drive signed webhook load at them like a retrying sender, read the effect ledger.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Pool } from 'undici';
import { standardKey, standardSignature } from '../../../lib/bridge/index.js';

const CHILD = fileURLToPath(new URL('./fixtures/bridge-child.ts', import.meta.url));

export interface ChildOptions {
  instance: string;
  config: unknown;
  dataDir: string;
  effectsDb: string;
}

export interface BridgeChild {
  readonly url: string;
  readonly process: ChildProcess;
  readonly stderr: () => string;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export async function startChild(opts: ChildOptions): Promise<BridgeChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: { ...process.env, BRIDGE_CHILD: JSON.stringify(opts) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString('utf8')).slice(-20_000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const t = setTimeout(
      () => reject(new Error(`bridge child ${opts.instance} did not start in 60 s: ${err}`)),
      60_000,
    );
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const m = /LISTENING (\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1] as string);
      }
    });
    child.once('exit', (code, sig) => {
      clearTimeout(t);
      reject(new Error(`bridge child ${opts.instance} exited (${code ?? sig}) before listening: ${err}`));
    });
  });
  return {
    url,
    process: child,
    stderr: () => err,
    kill: (signal) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}

export interface SignedEvent {
  webhookId: string;
  amount: number;
  body: string;
  headers: Record<string, string>;
}

/** `count` distinct `test.credit` events signed with a Standard Webhooks secret (timestamps: now). */
export function makeEvents(count: number, secret: string, prefix = randomBytes(4).toString('hex')): SignedEvent[] {
  const key = standardKey(secret);
  const ts = String(Math.floor(Date.now() / 1000));
  return Array.from({ length: count }, (_, i) => {
    const webhookId = `msg_${prefix}_${i}`;
    const amount = 1 + ((i * 7919) % 1000);
    const body = JSON.stringify({ type: 'test.credit', timestamp: new Date().toISOString(), data: { amount, i } });
    const sig = standardSignature(key, webhookId, ts, Buffer.from(body)).toString('base64');
    return {
      webhookId,
      amount,
      body,
      headers: {
        'content-type': 'application/json',
        'webhook-id': webhookId,
        'webhook-timestamp': ts,
        'webhook-signature': `v1,${sig}`,
      },
    };
  });
}

export interface Target {
  /** Current URL of an instance, undefined while it is down. */
  url(): string | undefined;
}

export interface SendReport {
  /** Event ids answered 2xx, with whether the answer was a duplicate. */
  acked: Map<string, { duplicate: boolean; at: number }>;
  /** Failed attempts (connection errors while an instance was down, 5xx). */
  failedAttempts: number;
}

/**
 * Sends every event until it gets a 2xx, `concurrency` at a time, like a sender that retries: a
 * failed attempt (connection error, 5xx) is retried after a short pause on the next target that is up.
 * `onAck` sees the running count (to trigger the kill). Bounded by `deadlineMs`.
 */
export async function sendAll(
  events: readonly SignedEvent[],
  targets: readonly Target[],
  opts: { concurrency: number; deadlineMs: number; onAck?: (n: number) => void },
): Promise<SendReport> {
  const acked = new Map<string, { duplicate: boolean; at: number }>();
  const pools = new Map<string, Pool>();
  const pool = (url: string): Pool => {
    let p = pools.get(url);
    if (!p) pools.set(url, (p = new Pool(url, { connections: Math.ceil(opts.concurrency / targets.length) + 4 })));
    return p;
  };
  const deadline = Date.now() + opts.deadlineMs;
  let failedAttempts = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= events.length) return;
      const ev = events[i] as SignedEvent;
      let t = i % targets.length;
      for (;;) {
        if (Date.now() > deadline)
          throw new Error(`load did not finish within ${opts.deadlineMs} ms (${acked.size} acked)`);
        const url = (targets[t] as Target).url();
        if (url) {
          try {
            const r = await pool(url).request({
              path: '/webhooks/byterover',
              method: 'POST',
              headers: ev.headers,
              body: ev.body,
              headersTimeout: 20_000,
              bodyTimeout: 20_000,
            });
            const text = await r.body.text();
            if (r.statusCode === 200) {
              const j = JSON.parse(text) as { code?: string };
              acked.set(ev.webhookId, { duplicate: j.code === 'WEBHOOK_DUPLICATE', at: Date.now() });
              opts.onAck?.(acked.size);
              break;
            }
            if (r.statusCode < 500) throw new Error(`event ${ev.webhookId} refused with ${r.statusCode}: ${text}`);
          } catch (e) {
            if ((e as Error).message.includes('refused with')) throw e;
          }
        }
        failedAttempts++;
        t = (t + 1) % targets.length;
        await new Promise((r) => setTimeout(r, 25));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
  } finally {
    await Promise.all([...pools.values()].map((p) => p.destroy()));
  }
  return { acked, failedAttempts };
}

export interface Ledger {
  effects: Map<string, number>;
  deliveries: number;
  totals: { n: number; sum: number };
}

export function readLedger(path: string): Ledger {
  const db = new Database(path, { fileMustExist: true });
  db.pragma('busy_timeout = 10000');
  try {
    const effects = new Map(
      (db.prepare('SELECT event_id, amount FROM effects').all() as Array<{ event_id: string; amount: number }>).map(
        (r) => [r.event_id, r.amount],
      ),
    );
    const deliveries = (db.prepare('SELECT count(*) AS n FROM deliveries').get() as { n: number }).n;
    const totals = db.prepare('SELECT n, sum FROM totals WHERE id = 1').get() as { n: number; sum: number };
    return { effects, deliveries, totals };
  } finally {
    db.close();
  }
}

/** Polls `check` every 200 ms until it returns true or `ms` pass. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return check();
}
