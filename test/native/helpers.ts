/**
 * Shared helpers for test/native/*: build the native artifacts when missing or stale (node-gyp,
 * serialized across vitest workers by a lock), build with CMake into a temp dir, compile scratch
 * plugins, run claw-host, and read symbol tables. Other native tests (prebuilds, sanitizers,
 * valgrind, fuzz) should call ensureNativeBuilt()/withBuildLock() instead of running node-gyp in
 * build/ themselves, so two workers never rebuild the same tree at once.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import lockfile from 'proper-lockfile';
import { hangGuard } from '../helpers/timeout.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUILD_DIR = join(ROOT, 'build', 'Release');

export interface Artifacts {
  /** claw_byterover.node */
  node: string;
  /** libclaw_byterover.so */
  so: string;
  /** claw-host */
  host: string;
  /** claw-host-matrix: the ABI test-matrix driver (native/test/claw_host_matrix.c), a test artifact */
  matrix: string;
}

/** Where node-gyp (binding.gyp) puts each artifact. */
export const GYP_ARTIFACTS: Artifacts = {
  node: join(BUILD_DIR, 'claw_byterover.node'),
  so: join(BUILD_DIR, 'libclaw_byterover.so'),
  host: join(BUILD_DIR, 'claw-host'),
  matrix: join(BUILD_DIR, 'claw-host-matrix'),
};

/** Where CMake (CMakeLists.txt) puts each artifact under its build dir. */
export function cmakeArtifacts(out: string): Artifacts {
  return {
    node: join(out, 'Release', 'claw_byterover.node'),
    so: join(out, 'Release', 'libclaw_byterover.so'),
    host: join(out, 'claw-host'),
    matrix: join(out, 'claw-host-matrix'),
  };
}

export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, encoding: 'utf8', maxBuffer: 64 << 20 });
}

/** Runs a command and throws with its output when it fails. */
export function mustRun(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = run(cmd, args, opts);
  if (r.error) throw r.error;
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * node-gyp flags this machine needs: npm passes `nodedir` from its config when it runs the install
 * script, but a direct node-gyp call does not see it, so point it at Node's own headers when they
 * sit next to the executable (Debian/nodesource layout: /usr/include/node). Without them node-gyp
 * would try to download headers.
 */
export function nodeGypFlags(): string[] {
  const fromNpm = process.env.npm_config_nodedir;
  if (fromNpm) return [`--nodedir=${fromNpm}`];
  const prefix = resolve(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include', 'node', 'common.gypi'))) return [`--nodedir=${prefix}`];
  return [];
}

function newestMtime(paths: string[]): number {
  let newest = 0;
  const visit = (p: string): void => {
    if (!existsSync(p)) return;
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const e of readdirSync(p)) visit(join(p, e));
    } else {
      newest = Math.max(newest, st.mtimeMs);
    }
  };
  for (const p of paths) visit(p);
  return newest;
}

const NATIVE_INPUTS = [
  'native/src',
  'native/include',
  'native/host',
  'native/test/claw_host_matrix.c',
  'native/exports.map',
  'binding.gyp',
].map((p) => join(ROOT, p));

/** Runs `fn` while holding the build lock for this checkout (across processes). */
export async function withBuildLock<T>(fn: () => T | Promise<T>): Promise<T> {
  const id = createHash('sha256').update(ROOT).digest('hex').slice(0, 12);
  const lockTarget = join(tmpdir(), `claw-byterover-native-build-${id}`);
  mkdirSync(lockTarget, { recursive: true });
  const release = await lockfile.lock(lockTarget, {
    realpath: false,
    stale: 600_000,
    retries: { retries: 1200, minTimeout: 100, maxTimeout: 500 },
  });
  try {
    return await fn();
  } finally {
    await release();
  }
}

/**
 * Makes sure build/Release has the .node, the .so, claw-host and claw-host-matrix, built from the current sources:
 * runs node-gyp (configure when there is no Makefile or binding.gyp changed, then an incremental
 * build) when any artifact is missing or older than a native source.
 */
export async function ensureNativeBuilt(): Promise<Artifacts> {
  return withBuildLock(() => {
    const artifacts = Object.values(GYP_ARTIFACTS);
    const oldest = Math.min(...artifacts.map((a) => (existsSync(a) ? statSync(a).mtimeMs : 0)));
    if (oldest > 0 && oldest >= newestMtime(NATIVE_INPUTS)) return GYP_ARTIFACTS;
    const gyp = [join(ROOT, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')];
    const makefile = join(ROOT, 'build', 'Makefile');
    if (!existsSync(makefile) || statSync(makefile).mtimeMs < statSync(join(ROOT, 'binding.gyp')).mtimeMs)
      mustRun(process.execPath, [...gyp, 'configure', ...nodeGypFlags()]);
    mustRun(process.execPath, [...gyp, 'build', ...nodeGypFlags()]);
    for (const a of artifacts) if (!existsSync(a)) throw new Error(`node-gyp build did not produce ${a}`);
    return GYP_ARTIFACTS;
  });
}

/** Builds with cmake-js (CMakeLists.txt) into `out` and returns the artifacts. */
export function buildWithCmake(out: string): Artifacts {
  mustRun(process.execPath, [join(ROOT, 'node_modules', 'cmake-js', 'bin', 'cmake-js'), 'compile', '--out', out]);
  const a = cmakeArtifacts(out);
  for (const p of Object.values(a)) if (!existsSync(p)) throw new Error(`cmake-js did not produce ${p}`);
  return a;
}

/** The core sources, read from binding.gyp's `claw_core_sources` (the one list both builds use). */
export function coreSources(): string[] {
  const gyp = readFileSync(join(ROOT, 'binding.gyp'), 'utf8');
  const m = /'claw_core_sources'\s*:\s*\[([^\]]*)\]/.exec(gyp);
  if (!m?.[1]) throw new Error("binding.gyp has no 'claw_core_sources' list");
  return [...m[1].matchAll(/'([^']+)'/g)].map((x) => join(ROOT, x[1] as string));
}

/** Compiler flags the real builds use for the core (binding.gyp / CMakeLists.txt). */
export const CORE_FLAGS = [
  '-std=c++17',
  '-fPIC',
  '-O2',
  '-fvisibility=hidden',
  '-fvisibility-inlines-hidden',
  '-fexceptions',
  '-fno-rtti',
  `-I${join(ROOT, 'native', 'include')}`,
  `-I${join(ROOT, 'native', 'src')}`,
];

/**
 * Compiles a scratch copy of the plugin core into `out` (a .so) with extra defines, the real
 * version script and flags; e.g. { defines: ['CLAW_TEST_NO_EXPORT'] } builds the entry points
 * hidden.
 */
export function compileScratchPlugin(out: string, opts: { defines?: string[]; extra?: string[] } = {}): string {
  mustRun('c++', [
    ...CORE_FLAGS,
    '-shared',
    ...(opts.defines ?? []).map((d) => `-D${d}`),
    '-DCLAW_BUILD_FLAVOR="shared-library"',
    ...coreSources(),
    `-Wl,--version-script=${join(ROOT, 'native', 'exports.map')}`,
    ...(opts.extra ?? []),
    '-o',
    out,
  ]);
  return out;
}

export interface HostRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Parsed --json output (when --json was passed and stdout parsed). */
  json: HostJson;
}

export interface HostJson {
  ok: boolean;
  exitCode: number;
  plugin: string;
  mode: 'now' | 'lazy';
  stage: string;
  status?: number;
  code?: string;
  abiInfo?: Record<string, unknown> & { flavor: string; pluginVersion: string; abiMajor: number };
  negotiated?: { abiMajor: number; abiMinor: number; capabilities: number; structSize: number };
  agent?: { status: number; code: string; version: number; message: string };
  extension?: { id: string; found: boolean };
  checks?: string;
  cycles?: number;
  log: { level: string; message: string }[];
  error?: string;
  diagnosis: string[];
}

/** Runs claw-host (or claw-host-matrix, same report) with --json and parses its output. */
export function runHost(host: string, args: string[], env: NodeJS.ProcessEnv = process.env): HostRun {
  const r = spawnSync(host, [...args, '--json'], { encoding: 'utf8', env, timeout: hangGuard(120_000) });
  let json: HostJson;
  try {
    json = JSON.parse(r.stdout) as HostJson;
  } catch {
    throw new Error(`claw-host ${args.join(' ')} printed no JSON (exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

/** `nm -D --defined-only` without the address column: "T claw_init@@CLAW_1.0", sorted. */
export function definedDynamicSymbols(file: string): string[] {
  return mustRun('nm', ['-D', '--defined-only', file])
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length === 3)
    .map((f) => `${f[1]} ${f[2]}`)
    .sort();
}

/** native/exports.txt as { '<artifact file name>': sorted lines }. */
export function committedExports(): Record<string, string[]> {
  const sections: Record<string, string[]> = {};
  let current: string[] | undefined;
  for (const raw of readFileSync(join(ROOT, 'native', 'exports.txt'), 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head?.[1]) {
      current = sections[head[1]] = [];
    } else if (current) {
      current.push(line);
    } else {
      throw new Error(`native/exports.txt: "${line}" before any [section]`);
    }
  }
  for (const k of Object.keys(sections)) sections[k]?.sort();
  return sections;
}

/** The package version (embedded in the plugin's messages). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}
