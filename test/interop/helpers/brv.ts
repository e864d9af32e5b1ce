/**
 * The real ByteRover CLI for interop tests and the recall benchmark.
 *
 * `ensureBrv()` installs `byterover-cli@3.14.0` from npm once into a cache folder
 * (`interopCacheDir('brv')`, helpers/cache.ts) with `npm install --prefix`,
 * reusing it when the right version is already there (~700 MB, about a minute the first time).
 *
 * `startOfflineBrv()` prepares an isolated, offline environment for it: HOME, XDG_* and BRV_DATA_DIR in
 * a temp folder; every ByteRover base URL pointed at a loopback HTTP server that answers 404 to
 * everything (`brv` 3.14's daemon refuses to start when its IAM host is unreachable, and starts when
 * it answers; `brv search` then works offline); auto-update, update notifier and analytics disabled;
 * proxies pointed at the same loopback server so nothing can leave the machine. `stop()` ends the
 * daemon `brv` started (its process group, from `<BRV_DATA_DIR>/daemon.json`) and removes the folder.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interopCacheDir } from './cache.js';

export const BRV_VERSION = '3.14.0';

export function brvCacheDir(): string {
  return interopCacheDir('brv');
}

function installedVersion(dir: string): string | undefined {
  try {
    return (
      JSON.parse(readFileSync(join(dir, 'node_modules', 'byterover-cli', 'package.json'), 'utf8')) as {
        version?: string;
      }
    ).version;
  } catch {
    return undefined;
  }
}

/** Installs (or reuses) byterover-cli; returns the folder holding its `brv` executable. */
export async function ensureBrv(
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<{ binDir: string; brv: string }> {
  const dir = brvCacheDir();
  const binDir = join(dir, 'node_modules', '.bin');
  if (installedVersion(dir) !== BRV_VERSION || !existsSync(join(binDir, 'brv'))) {
    await mkdir(dir, { recursive: true });
    log(`installing byterover-cli@${BRV_VERSION} from npm into ${dir} (about 700 MB, about a minute)…`);
    const args = [
      'install',
      '--prefix',
      dir,
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      `byterover-cli@${BRV_VERSION}`,
    ];
    const { code, out } = await new Promise<{ code: number | null; out: string }>((res) => {
      const child = spawn('npm', args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, npm_config_update_notifier: 'false' },
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-8000)));
      child.stderr.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-8000)));
      child.on('error', (e) => res({ code: -1, out: `${out}\n${e.message}` }));
      child.on('close', (c) => res({ code: c, out }));
    });
    if (code !== 0 || installedVersion(dir) !== BRV_VERSION) {
      throw new Error(
        `could not install byterover-cli@${BRV_VERSION} from npm into ${dir} (npm ${args.join(' ')} exited ${code}). ` +
          `The brv interop test needs the npm registry and ~700 MB of disk. npm said:\n${out.trim()}`,
      );
    }
  }
  return { binDir, brv: join(binDir, 'brv') };
}

export interface OfflineBrv {
  /** Environment for spawning `brv`. */
  env: NodeJS.ProcessEnv;
  home: string;
  /** Requests the loopback "ByteRover" received (method + url). */
  requests: string[];
  stop(): Promise<void>;
}

export async function startOfflineBrv(binDir: string): Promise<OfflineBrv> {
  const home = await mkdtemp(join(tmpdir(), 'claw-brv-home-'));
  const requests: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        statusCode: 404,
        code: 'NOT_FOUND',
        message: 'offline test server',
        timestamp: new Date().toISOString(),
      }),
    );
  });
  server.on('connect', (req, socket) => {
    requests.push(`CONNECT ${req.url}`);
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dataDir = join(home, 'brv-data');
  const env: NodeJS.ProcessEnv = {
    PATH: `${binDir}:${process.env.PATH ?? ''}`,
    HOME: home,
    XDG_DATA_HOME: join(home, 'data'),
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_CACHE_HOME: join(home, 'cache'),
    XDG_STATE_HOME: join(home, 'state'),
    BRV_DATA_DIR: dataDir,
    BRV_IAM_BASE_URL: base,
    BRV_COGIT_BASE_URL: base,
    BRV_BILLING_BASE_URL: base,
    BRV_LLM_BASE_URL: base,
    BRV_GIT_REMOTE_BASE_URL: base,
    BRV_WEB_APP_URL: base,
    BRV_DISABLE_AUTOUPDATE: '1',
    BRV_SKIP_ANALYTICS: '1',
    NO_UPDATE_NOTIFIER: '1',
    // brv runs `npm list -g` to see how it was installed; keep that npm off the network too.
    npm_config_update_notifier: 'false',
    npm_config_offline: 'true',
    HTTP_PROXY: base,
    HTTPS_PROXY: base,
    http_proxy: base,
    https_proxy: base,
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
    ...(process.env.NODE ? { NODE: process.env.NODE } : {}),
  };
  return {
    env,
    home,
    requests,
    async stop() {
      try {
        const { pid } = JSON.parse(await readFile(join(dataDir, 'daemon.json'), 'utf8')) as { pid?: number };
        if (pid) await endGroup(pid);
      } catch {
        // no daemon started
      }
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await rm(home, { recursive: true, force: true });
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM the daemon's process group (it leads its own), then SIGKILL what is left after 8 s. */
async function endGroup(pid: number): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  signal('SIGTERM');
  for (let i = 0; i < 80 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) signal('SIGKILL');
}

/**
 * The first ("cold") `brv` query of a tree, tried up to `tries` times: at large sizes brv's agent
 * builds its whole index synchronously on it and can be dropped by its own daemon's heartbeat
 * ("Agent disconnected"). Returns the cold time, or the last error (reported, never hidden).
 */
export async function brvColdQuery(
  run: (query: string) => Promise<unknown>,
  query: string,
  label = 'query',
  tries = 3,
): Promise<{ coldMs: number } | { error: string }> {
  let lastError = '';
  for (let attempt = 1; attempt <= tries; attempt++) {
    const t0 = performance.now();
    try {
      await run(query);
      return { coldMs: performance.now() - t0 };
    } catch (e) {
      lastError = `${(e as Error).message} (after ${Math.round(performance.now() - t0)} ms, attempt ${attempt})`;
      console.log(`brv search cold ${label} failed: ${lastError}`);
    }
  }
  return { error: lastError };
}
