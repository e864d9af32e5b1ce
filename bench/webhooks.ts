/**
 * bench/webhooks: verified, durably enqueued webhooks per second and latency (p50/p99) through the
 * real bridge, beside a bare node:http server that reads the body and answers 200 (the ceiling), in
 * the same run, with the same load generator and the same requests.
 *
 *   node --import tsx bench/webhooks.ts [--seconds 4] [--rounds 3] [--connections 64] [--worker on|off]
 *                                        [--stores sqlite,pgredis] [--redis-fsync always|everysec]
 *
 * - Servers run in child processes (the ceiling is bench/client/server.ts); this process is the load
 *   generator (undici Pool, one request in flight per connection, a Standard Webhooks signature made
 *   per request over a ~1 KiB body, a fresh webhook-id each: every request is a new event).
 * - Rounds pair the ceiling and the bridge back to back, alternating which goes first; figures are
 *   medians over rounds, the ratio is the median of per-round ratios.
 * - Stores: the embedded SQLite store (durability `full`: WAL fdatasync before every 2xx, group commit), and
 *   PostgreSQL + Redis (BullMQ, AOF `appendfsync always`, or `everysec` with --redis-fsync) started here
 *   (skipped with a note when postgresql/redis-server are missing).
 * - Every ack durable: after the rounds the bench checks that the jobs the store holds or the worker
 *   finished equal the 2xx the generator received (the queue is read back through the bridge).
 * - With `--worker on` (default) the bridge's queue worker consumes the events as they come, as `serve`
 *   runs it; `--worker off` measures intake alone.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { standardKey, standardSignature } from '../lib/bridge/index.js';
import { postgresMissing, startPostgres } from '../test/servers/postgres.js';
import { redisMissing, startRedis } from '../test/servers/redis.js';
import { startBenchServer, type BenchServer } from './client.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}
const SECONDS = Number(arg('seconds', '4'));
const ROUNDS = Number(arg('rounds', '3'));
const CONNECTIONS = Number(arg('connections', '64'));
const WORKER = arg('worker', 'on') !== 'off';
const STORES = arg('stores', 'sqlite,pgredis').split(',');
const REDIS_FSYNC = arg('redis-fsync', 'always') === 'everysec' ? 'everysec' : 'always';
const WARMUP_MS = 1000;

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const KEY = standardKey(SECRET);
const FILLER = 'x'.repeat(900);
const RUN = randomBytes(4).toString('hex');
let seq = 0;

interface RoundResult {
  ok: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

/** Runs the generator for warm-up then `ms`; returns completions and latency percentiles (ms). */
async function load(origin: string, ms: number): Promise<RoundResult & { totalOk: number }> {
  const pool = new Pool(origin, { connections: CONNECTIONS, pipelining: 1, keepAliveTimeout: 60_000 });
  let totalOk = 0;
  const phase = async (duration: number, record: boolean): Promise<RoundResult> => {
    const lat: number[] = [];
    let ok = 0;
    let errors = 0;
    let stop = false;
    const timer = setTimeout(() => (stop = true), duration);
    const t0 = performance.now();
    const loop = async (): Promise<void> => {
      while (!stop) {
        const id = `msg_${RUN}_${++seq}`;
        const ts = String(Math.floor(Date.now() / 1000));
        const body = `{"type":"bench.event","timestamp":"${new Date().toISOString()}","data":{"n":${seq},"filler":"${FILLER}"}}`;
        const sig = standardSignature(KEY, id, ts, Buffer.from(body)).toString('base64');
        const s = performance.now();
        try {
          const r = await pool.request({
            path: '/webhooks/byterover',
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'webhook-id': id,
              'webhook-timestamp': ts,
              'webhook-signature': `v1,${sig}`,
            },
            body,
          });
          await r.body.dump();
          if (r.statusCode === 200) {
            ok++;
            totalOk++;
            if (record) lat.push(performance.now() - s);
          } else errors++;
        } catch {
          errors++;
        }
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, loop));
    clearTimeout(timer);
    const seconds = (performance.now() - t0) / 1000;
    const sorted = Float64Array.from(lat).sort();
    return { ok, errors, seconds, rps: ok / seconds, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
  };
  try {
    await phase(WARMUP_MS, false);
    const r = await phase(ms, true);
    return { ...r, totalOk };
  } finally {
    await pool.close();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

async function startBridgeServer(config: unknown, dataDir: string): Promise<BenchServer> {
  process.env.BRIDGE_BENCH = JSON.stringify({ config, dataDir, worker: WORKER });
  try {
    return await startBenchServer(fileURLToPath(new URL('./webhooks/bridge-server.ts', import.meta.url)));
  } finally {
    delete process.env.BRIDGE_BENCH;
  }
}

interface Status {
  queue: { depth: number; dead: number };
  worker?: { processed: number };
  webhooks: Record<string, number>;
  intake: { batches: number; items: number; largestBatch: number };
  flushes?: { count: number; meanMs: number; maxMs: number };
}

async function status(url: string): Promise<Status> {
  const pool = new Pool(url);
  try {
    const r = await pool.request({ path: '/status', method: 'GET' });
    return (await r.body.json()) as Status;
  } finally {
    await pool.close();
  }
}

/** fdatasync latency of the store's disk (32 KiB appends), p50/p99 ms: the floor under a durable ack. */
function diskFlushLatency(dir: string): { p50: number; p99: number } {
  const file = join(dir, 'fsync-probe.bin');
  const fd = openSync(file, 'w');
  const buf = Buffer.alloc(32 * 1024, 1);
  const t: number[] = [];
  try {
    for (let i = 0; i < 100; i++) {
      writeSync(fd, buf);
      const s = performance.now();
      fdatasyncSync(fd);
      t.push(performance.now() - s);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  const sorted = Float64Array.from(t).sort();
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
}

async function compare(label: string, config: unknown, dataDir: string): Promise<void> {
  const disk = diskFlushLatency(dataDir);
  const bare = await startBenchServer(fileURLToPath(new URL('./client/server.ts', import.meta.url)));
  const bridge = await startBridgeServer(config, dataDir);
  const b: RoundResult[] = [];
  const c: RoundResult[] = [];
  let bridgeOk = 0;
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const runBare = async (): Promise<void> => void b.push(await load(bare.url, SECONDS * 1000));
      const runBridge = async (): Promise<void> => {
        const x = await load(bridge.url, SECONDS * 1000);
        bridgeOk += x.totalOk;
        c.push(x);
      };
      if (r % 2 === 0) {
        await runBare();
        await runBridge();
      } else {
        await runBridge();
        await runBare();
      }
    }
    // Durability check: every 2xx is a job the store holds or the worker finished.
    let st = await status(bridge.url);
    const accounted = (s: Status): number => s.queue.depth + (s.worker?.processed ?? 0);
    for (let i = 0; i < 300 && WORKER && st.queue.depth > 0; i++) {
      await new Promise((res) => setTimeout(res, 200));
      st = await status(bridge.url);
    }
    const ratios = c.map((x, i) => x.rps / (b[i] as RoundResult).rps);
    const ratio = median(ratios);
    const p99 = median(c.map((x) => x.p99));
    console.log(
      `\n${label}: ${CONNECTIONS} connections, ${ROUNDS} paired rounds of ${SECONDS} s, worker ${WORKER ? 'on' : 'off'} (medians)`,
    );
    console.log(
      `  machine: ${cpus().length} cores, load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')} at the end of the rounds`,
    );
    console.log(
      `  bare node:http 200 (ceiling)  ${fmt(median(b.map((x) => x.rps))).padStart(8)} req/s   p50 ${median(b.map((x) => x.p50)).toFixed(2)} ms  p99 ${median(b.map((x) => x.p99)).toFixed(2)} ms   rounds: ${b.map((x) => fmt(x.rps)).join(', ')}`,
    );
    console.log(
      `  bridge verified+durable       ${fmt(median(c.map((x) => x.rps))).padStart(8)} req/s   p50 ${median(c.map((x) => x.p50)).toFixed(2)} ms  p99 ${p99.toFixed(2)} ms   rounds: ${c.map((x) => fmt(x.rps)).join(', ')}`,
    );
    console.log(
      `  ratio bridge/ceiling          ${ratio.toFixed(3).padStart(8)}         (target ≥ 0.25: ${ratio >= 0.25 ? 'met' : 'NOT met'}; p99 target < 25 ms: ${p99 < 25 ? 'met' : 'NOT met'})`,
    );
    console.log(
      `  disk flush (fdatasync of 32 KiB, measured before the rounds): p50 ${disk.p50.toFixed(2)} ms, p99 ${disk.p99.toFixed(2)} ms`,
    );
    console.log(
      `  group commit: ${fmt(st.intake.items)} events in ${fmt(st.intake.batches)} transactions (mean ${(st.intake.items / Math.max(1, st.intake.batches)).toFixed(1)}, largest ${st.intake.largestBatch})`,
    );
    if (st.flushes) {
      console.log(
        `  WAL flushes behind the 2xx: ${fmt(st.flushes.count)} (${(st.intake.items / Math.max(1, st.flushes.count)).toFixed(1)} events each), mean ${st.flushes.meanMs.toFixed(2)} ms, max ${st.flushes.maxMs.toFixed(1)} ms`,
      );
    }
    const accepted = st.webhooks.WEBHOOK_ACCEPTED ?? 0;
    const durable = accepted === bridgeOk && accounted(st) === bridgeOk && st.queue.dead === 0;
    console.log(
      `  every ack durable: ${durable ? 'yes' : 'NO'} (2xx received ${fmt(bridgeOk)}, accepted ${fmt(accepted)}, in store ${fmt(st.queue.depth)} + processed ${fmt(st.worker?.processed ?? 0)})`,
    );
    const errors = [...b, ...c].reduce((n, x) => n + x.errors, 0);
    if (errors > 0) console.log(`  errors: ${errors}`);
    if (!durable) process.exitCode = 1;
  } finally {
    await bridge.close();
    await bare.close();
  }
}

async function main(): Promise<void> {
  const base = { webhooks: { standardSecrets: [SECRET] }, queue: { concurrency: 32 } };
  if (STORES.includes('sqlite')) {
    const dir = mkdtempSync(join(tmpdir(), 'claw-bench-webhooks-'));
    try {
      await compare(
        'bench/webhooks: embedded SQLite store (WAL fdatasync before each 2xx, group commit)',
        { ...base, store: { kind: 'sqlite', path: join(dir, 'bridge.db') } },
        dir,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (STORES.includes('pgredis')) {
    const missing = postgresMissing() ?? redisMissing();
    if (missing) {
      console.log(`\nbench/webhooks: PostgreSQL + Redis skipped: ${missing}`);
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'claw-bench-webhooks-pg-'));
    const [pg, redis] = await Promise.all([startPostgres(), startRedis({ appendfsync: REDIS_FSYNC })]);
    try {
      await compare(
        `bench/webhooks: PostgreSQL state + Redis queue (BullMQ, appendfsync ${REDIS_FSYNC})`,
        { ...base, store: { kind: 'postgres', url: pg.url, schema: 'bench', redisUrl: redis.url } },
        dir,
      );
    } finally {
      await Promise.all([pg.close(), redis.close()]);
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
