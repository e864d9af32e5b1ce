/**
 * bench/client: requests per second of ByteRover `whoami` (GET IAM user/me) through the full client
 * (session provider with an API-key credential, ByteRover call layer, response validation (the
 * `user/me` hand check, zod for any other shape), the transport's retry layer and logging at the
 * default level), and of a plain GET through `createHttpClient`, each
 * against bare undici (a Pool with 50 connections) on the same local server in the
 * same run, printed with their ratio (target ≥ 0.9), and the load generator's CPU time per request
 * for each side (the client's own cost, which the server's speed does not mask).
 *
 *   node --import tsx bench/client.ts [--seconds 2] [--rounds 5] [--concurrency 50]
 *
 * The server runs in a child process so the load generator and the server do not share one event
 * loop. Rounds pair a baseline and a candidate run back to back (alternating which goes first); the ratio
 * is the median of the per-round ratios, so load drift on a shared machine hits both sides.
 * Building blocks for other client benchmarks (e.g. ByteRover `whoami` through the full client):
 * `startBenchServer` (any server module), `bareUndiciGet` (the baseline), `benchRequests` (any async
 * request function), `comparePaired` + `printComparison` (paired rounds, ratio, CPU per request).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { createHttpClient } from '../lib/http/index.js';
import { createByteRoverClient } from '../lib/byterover/index.js';
import { createMemoryTokenStore, createSessionProvider } from '../lib/byterover/auth/index.js';

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
  return {
    requests: r.ok,
    errors: r.errors,
    seconds: r.seconds,
    rps: r.ok / r.seconds,
    cpuUsPerRequest: r.cpuUs / Math.max(1, r.ok),
  };
}

export interface BenchServer {
  url: string;
  close(): Promise<void>;
}

/** Starts a server module (default: bench/client/server.ts) in a child process; resolves with its URL. */
export async function startBenchServer(
  module: string = fileURLToPath(new URL('./client/server.ts', import.meta.url)),
): Promise<BenchServer> {
  const child: ChildProcess = fork(module, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
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

/** A GET through a bare undici Pool (50 connections), reading the JSON body: the baseline. */
export function bareUndiciGet(
  origin: string,
  path: string,
  connections = 50,
  headers: Record<string, string> = {},
): { fn: () => Promise<unknown>; close: () => Promise<void> } {
  const pool = new Pool(origin, { connections });
  return {
    fn: async () => {
      const res = await pool.request({ path, method: 'GET', headers });
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
      return res.body.json();
    },
    close: () => pool.close(),
  };
}

export interface Side {
  /** Label printed in the report. */
  name: string;
  fn: () => Promise<unknown>;
}

export interface Comparison {
  baseline: BenchResult[];
  candidate: BenchResult[];
  /** Median of the per-round candidate/baseline throughput ratios. */
  ratio: number;
}

/**
 * After one unmeasured pass of each side, runs `rounds` pairs of baseline and candidate back to back, alternating which goes first so
 * neither always meets the machine in the same state; the ratio is the median of the per-round
 * ratios, robust against load changes on a shared machine between rounds.
 */
export async function comparePaired(
  baseline: Side,
  candidate: Side,
  rounds: number,
  opts: BenchOptions,
): Promise<Comparison> {
  const b: BenchResult[] = [];
  const c: BenchResult[] = [];
  // One unmeasured pass of each side first, so the first round does not pay for JIT start-up
  // (seen as a first baseline round at a fraction of the others on a loaded machine).
  const prime = { ...opts, durationMs: opts.warmupMs ?? 500 };
  await benchRequests(baseline.fn, prime);
  await benchRequests(candidate.fn, prime);
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      b.push(await benchRequests(baseline.fn, opts));
      c.push(await benchRequests(candidate.fn, opts));
    } else {
      c.push(await benchRequests(candidate.fn, opts));
      b.push(await benchRequests(baseline.fn, opts));
    }
  }
  return { baseline: b, candidate: c, ratio: median(c.map((x, i) => x.rps / (b[i] as BenchResult).rps)) };
}

/** Prints both figures, the ratio against `target`, and the load generator's CPU per request. */
export function printComparison(title: string, baseline: Side, candidate: Side, cmp: Comparison, target = 0.9): void {
  const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
  const width = Math.max(baseline.name.length, candidate.name.length) + 2;
  const row = (side: Side, rs: BenchResult[]): string =>
    `  ${side.name.padEnd(width)}${fmt(median(rs.map((x) => x.rps))).padStart(8)} req/s   rounds: ${rs.map((x) => fmt(x.rps)).join(', ')}`;
  const bCpu = median(cmp.baseline.map((x) => x.cpuUsPerRequest));
  const cCpu = median(cmp.candidate.map((x) => x.cpuUsPerRequest));
  const errors = [...cmp.baseline, ...cmp.candidate].reduce((n, x) => n + x.errors, 0);
  console.log(title);
  console.log(row(baseline, cmp.baseline));
  console.log(row(candidate, cmp.candidate));
  console.log(
    `  ${'ratio'.padEnd(width)}${cmp.ratio.toFixed(3).padStart(8)}         (median of per-round ratios; target ≥ ${target}: ${cmp.ratio >= target ? 'met' : 'NOT met'})`,
  );
  console.log(
    `  load-generator CPU per request: ${baseline.name} ${bCpu.toFixed(1)} µs, ${candidate.name} ${cCpu.toFixed(1)} µs`,
  );
  if (errors > 0) console.log(`  errors: ${errors}`);
}

async function main(): Promise<void> {
  const seconds = arg('seconds', 2);
  const rounds = arg('rounds', 5);
  const concurrency = arg('concurrency', 50);
  const server = await startBenchServer();
  const path = '/api/v1/user/me';
  const url = `${server.url}${path}`;

  const bare = bareUndiciGet(server.url, path, 50, { 'x-byterover-session-id': 'brv-bench-api-key' });
  const http = createHttpClient({ connections: 50 });
  const store = createMemoryTokenStore();
  await store.save({
    kind: 'api-key',
    sessionKey: 'brv-bench-api-key',
    version: 1,
    updatedAt: new Date().toISOString(),
  });
  const byterover = createByteRoverClient({
    http,
    session: createSessionProvider({ store, http }),
    config: { iamBaseUrl: server.url },
  });
  const baseline: Side = { name: 'bare undici Pool(50)', fn: bare.fn };
  const whoami: Side = { name: 'whoami (full client)', fn: () => byterover.me() };
  const transport: Side = {
    name: 'createHttpClient (retry+log)',
    fn: async () => {
      const res = await http.request({
        method: 'GET',
        url,
        endpoint: 'bench.user.me',
        headers: { 'x-byterover-session-id': 'brv-bench-api-key' },
      });
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      return res.body;
    },
  };
  try {
    const opts = { durationMs: seconds * 1000, warmupMs: 500, concurrency };
    const title = (what: string): string =>
      `bench/client: ${what}, ${concurrency} in flight, ${rounds} paired rounds of ${seconds} s (medians)`;
    printComparison(
      title('ByteRover whoami (GET /api/v1/user/me)'),
      baseline,
      whoami,
      await comparePaired(baseline, whoami, rounds, opts),
    );
    console.log('');
    printComparison(
      title(`transport only, GET ${path}`),
      baseline,
      transport,
      await comparePaired(baseline, transport, rounds, opts),
    );
  } finally {
    await Promise.all([bare.close(), http.close()]);
    await server.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
