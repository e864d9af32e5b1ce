/**
 * A REAL Redis server for tests: Debian's `redis-server` (7.0) as a child process on 127.0.0.1 at a
 * random free port, working dir in a temp dir. By default the append-only file is on with
 * `appendfsync always` (Redis fsyncs the AOF before answering a write, batching the writes of one
 * event-loop turn), so "enqueued in Redis" means "on disk", as in a durable production setup.
 * `close()` shuts it down and removes the dir; a process exit kills it as a last resort.
 *
 * Tests skip locally (and fail in CI) through `redisMissing()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingTools } from '../helpers/tools.js';
import { freePort } from './postgres.js';

export const REDIS_INSTALL = 'apt-get install -y redis-server';

export function redisMissing(): string | undefined {
  return missingTools(['redis-server'], REDIS_INSTALL);
}

export interface RedisServerOptions {
  /** 'always' (default), 'everysec', or 'off' (no AOF, no snapshots: memory only). */
  appendfsync?: 'always' | 'everysec' | 'off';
}

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  close(): Promise<void>;
}

/** Sends one inline command and resolves with the first reply line (e.g. `+PONG`). */
export function redisCommand(port: number, command: string, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, host);
    let buf = '';
    sock.setTimeout(2000, () => sock.destroy(new Error('redis: timeout')));
    sock.on('connect', () => sock.write(`${command}\r\n`));
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\r\n');
      if (nl !== -1) {
        sock.end();
        resolve(buf.slice(0, nl));
      }
    });
    sock.on('error', reject);
  });
}

export async function startRedis(opts: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'claw-redis-'));
  const fsync = opts.appendfsync ?? 'always';
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const args = [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--dir',
      dir,
      '--save',
      '',
      '--daemonize',
      'no',
      '--protected-mode',
      'yes',
    ];
    args.push(...(fsync === 'off' ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', fsync]));
    const child: ChildProcess = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString('utf8')));
    const ready = await waitReady(port, child);
    if (!ready) {
      child.kill('SIGKILL');
      if (attempt < 3 && /Address already in use/i.test(output)) continue;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`redis-server did not start: ${output}`);
    }
    const kill = (): void => {
      if (child.exitCode === null) child.kill('SIGKILL');
    };
    process.once('exit', kill);
    return {
      host: '127.0.0.1',
      port,
      url: `redis://127.0.0.1:${port}`,
      async close() {
        process.removeListener('exit', kill);
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise<void>((r) => child.once('exit', () => r()));
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(t);
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

async function waitReady(port: number, child: ChildProcess): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) return false;
    try {
      if ((await redisCommand(port, 'PING')) === '+PONG') return true;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}
