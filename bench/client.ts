/**
 * bench/client: requests per second through `createHttpClient` (retry layer, logging at the
 * default level) against bare undici (a Pool with 50 connections) on the same local server in the
 * same run, printed with their ratio (target ≥ 0.9).
 *
 *   node --import tsx bench/client.ts [--seconds 2] [--rounds 5] [--concurrency 50]
 *
 * The server runs in a child process so the load generator and the server do not share one event
 * loop. Rounds alternate baseline/candidate so drift (CPU frequency, GC, page cache) hits both.
 * `benchRequests` benchmarks any async request function and `startBenchServer` any handler module,
 * so a full-client benchmark (e.g. ByteRover `whoami`) can reuse both.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { createHttpClient } from '../lib/http/index.js';

export interface BenchOptions {
  /** Measured time per round in ms. */
  durationMs?: number;
  /** Unmeasured warm-up before each round in ms. */
  warmupMs?: number;
  /** Requests kept in flight. */
  concurrency?: number;
}

export interface BenchResult {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  /** Load-generator CPU time (user + system) per completed request, in µs: the client's own cost. */
  cpuUsPerRequest: number;
}

/** Runs `fn` with `concurrency` loops for warm-up then `durationMs`; counts completions. */
export async function benchRequests(fn: () => Promise<unknown>, opts: BenchOptions = {}): Promise<BenchResult> {
  const concurrency = opts.concurrency ?? 50;
  const run = async (ms: number): Promise<{ ok: number; errors: number; seconds: number; cpuUs: number }> => {
    let ok = 0;
    let errors = 0;
    let stop = false;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const timer = setTimeout(() => {
      stop = true;
    }, ms);
    const loop = async (): Promise<void> => {
      while (!stop) {
        try {
          await fn();
          ok++;
        } catch {
          errors++;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, loop));
    clearTimeout(timer);
    const cpu = process.cpuUsage(cpu0);
    return { ok, errors, seconds: (performance.now() - t0) / 1000, cpuUs: cpu.user + cpu.system };
  };
  await run(opts.warmupMs ?? 500);
  const r = await run(opts.durationMs ?? 3000);
  return { requests: r.ok, errors: r.errors, seconds: r.seconds, rps: r.ok / r.seconds, cpuUsPerRequest: r.cpuUs / Math.max(1, r.ok) };
}

export interface BenchServer {
  url: string;
  close(): Promise<void>;
}

/** Starts a server module (default: bench/client/server.ts) in a child process; resolves with its URL. */
export async function startBenchServer(module: string = fileURLToPath(new URL('./client/server.ts', import.meta.url))): Promise<BenchServer> {
  const child: ChildProcess = fork(module, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code} before listening`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i === -1 ? undefined : Number(process.argv[i + 1]);
  return v !== undefined && Number.isFinite(v) && v > 0 ? v : fallback;
}

async function main(): Promise<void> {
  const seconds = arg('seconds', 2);
  const rounds = arg('rounds', 5);
  const concurrency = arg('concurrency', 50);
  const server = await startBenchServer();
  const url = `${server.url}/api/v1/user/me`;
  const path = '/api/v1/user/me';

  const pool = new Pool(server.url, { connections: 50 });
  const bare = async (): Promise<unknown> => {
    const res = await pool.request({ path, method: 'GET' });
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
    return res.body.json();
  };
  const client = createHttpClient({ connections: 50 });
  const viaClient = async (): Promise<unknown> => {
    const res = await client.request({ method: 'GET', url, endpoint: 'bench.user.me' });
    if (res.status !== 200) throw new Error(`status ${res.status}`);
    return res.body;
  };

  const opts = { durationMs: seconds * 1000, warmupMs: 500, concurrency };
  const baseline: BenchResult[] = [];
  const candidate: BenchResult[] = [];
  for (let r = 0; r < rounds; r++) {
    baseline.push(await benchRequests(bare, opts));
    candidate.push(await benchRequests(viaClient, opts));
  }
  await Promise.all([pool.close(), client.close()]);
  await server.close();

  // Each round pairs a baseline and a candidate run measured back to back; the median of the
  // per-round ratios is robust against load changes on the machine between rounds.
  const ratio = median(candidate.map((x, i) => x.rps / (baseline[i] as BenchResult).rps));
  const b = median(baseline.map((x) => x.rps));
  const c = median(candidate.map((x) => x.rps));
  const bCpu = median(baseline.map((x) => x.cpuUsPerRequest));
  const cCpu = median(candidate.map((x) => x.cpuUsPerRequest));
  const errors = [...baseline, ...candidate].reduce((n, x) => n + x.errors, 0);
  const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
  console.log(`bench/client: GET ${path}, ${concurrency} in flight, ${rounds} alternating rounds of ${seconds} s (medians)`);
  console.log(`  bare undici Pool(50)          ${fmt(b).padStart(8)} req/s   rounds: ${baseline.map((x) => fmt(x.rps)).join(', ')}`);
  console.log(`  createHttpClient (retry+log)  ${fmt(c).padStart(8)} req/s   rounds: ${candidate.map((x) => fmt(x.rps)).join(', ')}`);
  console.log(`  ratio client/bare             ${ratio.toFixed(3)}   (median of per-round ratios; target ≥ 0.9: ${ratio >= 0.9 ? 'met' : 'NOT met'})`);
  console.log(`  load-generator CPU per request: bare ${bCpu.toFixed(1)} µs, client ${cCpu.toFixed(1)} µs (ratio bare/client ${(bCpu / cCpu).toFixed(3)})`);
  if (errors > 0) console.log(`  errors: ${errors}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
