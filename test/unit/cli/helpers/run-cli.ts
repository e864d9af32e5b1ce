/**
 * Runs the `claw-byterover` executable as a child process, as a user's shell would: `bundle` is the
 * built one (dist/cli/bin.js, which runs the CLI bundle dist/cli/cli.cjs), `source` the sources under
 * tsx (lib/cli/bin.ts, the ES modules). `node` adds arguments for node itself (before the script).
 * The child's environment is `env` and nothing else. `runTraced` runs it under ./trace-modules.mjs.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const BIN = join(ROOT, 'dist', 'cli', 'bin.js');
const SOURCE = join(ROOT, 'lib', 'cli', 'bin.ts');
/** tsx's loader by URL: a child may run where `tsx` does not resolve by name. */
const TSX = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

export type How = 'bundle' | 'source';

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function runCli(
  how: How,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; node?: string[] },
): Promise<Ran> {
  const argv = how === 'bundle' ? [...(opts.node ?? []), BIN] : ['--import', TSX, ...(opts.node ?? []), SOURCE];
  const child = spawn(process.execPath, [...argv, ...args], {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  return { code, stdout, stderr };
}

/** An environment of PATH and a home of its own (HOME and the XDG config, data and cache folders under it). */
export function homeEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_CACHE_HOME: join(home, '.cache'),
  };
}

/** What ./trace-modules.mjs recorded of a run. */
export interface Trace {
  /** Packages named by a bare specifier (`@scope/pkg/sub` → `@scope/pkg`; built-ins aside). */
  packages: Set<string>;
  /** Files loaded by URL, relative to ROOT (the ES modules; the bundle is one file). */
  files: string[];
  /** Native addons opened. */
  addons: string[];
}

const TRACER = join(ROOT, 'test', 'unit', 'cli', 'helpers', 'trace-modules.mjs');

/** runCli under ./trace-modules.mjs, recording into `trace` (a file path), and what it recorded. */
export async function runTraced(
  how: How,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; trace: string },
): Promise<Ran & { trace: Trace }> {
  const ran = await runCli(how, args, {
    cwd: opts.cwd,
    env: { ...opts.env, TRACE_MODULES_FILE: opts.trace },
    node: ['--import', TRACER],
  });
  const trace: Trace = { packages: new Set(), files: [], addons: [] };
  const lines = (await readFile(opts.trace, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  for (const line of lines) {
    const l = JSON.parse(line) as { specifier?: string; url?: string; filename?: string };
    const s = l.specifier;
    if (s && !/^(node:|file:|data:|\.|\/)/.test(s) && !builtinModules.includes(s))
      trace.packages.add(s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!);
    if (l.url?.startsWith('file:')) trace.files.push(fileURLToPath(l.url).slice(ROOT.length + 1));
    if (l.filename) trace.addons.push(l.filename);
  }
  return { ...ran, trace };
}
