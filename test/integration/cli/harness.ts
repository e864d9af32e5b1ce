/**
 * Running `claw-byterover` against real loopback servers (the ByteRover stand-in, the real
 * oidc-provider), two ways:
 * - `cli(argv)`: in-process through `run(argv, io)` (fast; stdout/stderr captured by the io);
 * - `spawnCli(argv)`: a real child process `node --import tsx lib/cli/index.ts` (real exit code,
 *   real stdin pipe, everything the process writes to fd 1 and 2).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../../lib/cli/index.js';
import { startByteRoverStandin, type ByteRoverStandin, type StandinOptions } from '../../standin/byterover.js';
import { memoryIo, type MemoryIoOptions } from '../../unit/cli/memory-io.js';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
export const CLI_ENTRY = join(REPO_ROOT, 'lib', 'cli', 'index.ts');
/** `--import tsx`, resolved from the repository (the child's cwd is a temp project dir). */
export const TSX_LOADER = import.meta.resolve('tsx');

export interface CliRun {
  code: number;
  out: string;
  err: string;
  /** stdout parsed as the one JSON document `--json` promises. */
  json<T = Record<string, any>>(): T;
}

function result(code: number, out: string, err: string): CliRun {
  return {
    code,
    out,
    err,
    json<T>() {
      return JSON.parse(out) as T;
    },
  };
}

export interface CliEnv {
  standin: ByteRoverStandin;
  /** Temp dir holding `data/` (credentials), `project/` (cwd) and `config/`. */
  root: string;
  dataDir: string;
  project: string;
  env: Record<string, string>;
  cli(argv: string[], o?: MemoryIoOptions): Promise<CliRun>;
  spawnCli(argv: string[], o?: { stdin?: string; env?: Record<string, string> }): Promise<CliRun>;
  close(): Promise<void>;
}

export async function startCliEnv(o: { standin?: StandinOptions; env?: Record<string, string> } = {}): Promise<CliEnv> {
  const standin = await startByteRoverStandin(o.standin);
  const root = await mkdtemp(join(tmpdir(), 'claw-cli-'));
  const dataDir = join(root, 'data');
  const project = join(root, 'project');
  const env: Record<string, string> = {
    ...standin.env(),
    HOME: root,
    XDG_CONFIG_HOME: join(root, 'config'),
    CLAW_BYTEROVER_DATA_DIR: dataDir,
    CLAW_BYTEROVER_NO_BROWSER: '1',
    ...o.env,
  };
  const self: CliEnv = {
    standin,
    root,
    dataDir,
    project,
    env,
    async cli(argv, io = {}) {
      const { mkdir } = await import('node:fs/promises');
      await mkdir(project, { recursive: true });
      const m = memoryIo({ cwd: project, ...io, env: { ...env, ...io.env } });
      const code = await run(argv, m);
      return result(code, m.out(), m.err());
    },
    async spawnCli(argv, so = {}) {
      const { mkdir } = await import('node:fs/promises');
      await mkdir(project, { recursive: true });
      return spawnCli(argv, {
        cwd: project,
        env: { ...env, ...so.env },
        ...(so.stdin !== undefined ? { stdin: so.stdin } : {}),
      });
    },
    async close() {
      await standin.close();
      await rm(root, { recursive: true, force: true });
    },
  };
  return self;
}

/** Starts the CLI as a child process with only the given env (plus PATH); the caller drives its pipes. */
export function startCliProcess(
  argv: string[],
  o: { cwd: string; env: Record<string, string> },
): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', TSX_LOADER, CLI_ENTRY, ...argv], {
    cwd: o.cwd,
    // Only what the CLI needs: no inherited secrets, no inherited CI/TTY quirks.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...o.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs the CLI as a child process; stdin is the given text (then closed) or empty. */
export function spawnCli(
  argv: string[],
  o: { cwd: string; env: Record<string, string>; stdin?: string },
): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = startCliProcess(argv, o);
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise(result(code ?? (signal ? 128 : 1), out, err)));
    child.stdin.end(o.stdin ?? '');
  });
}

/** A loopback port nothing listens on (bound, then released): "the server is down". */
export async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
