/**
 * scripts/prebuild.sh (`npm run prebuild`): what it produces and how node-gyp-build picks it.
 *
 * Builds both architectures into a scratch directory (CLAW_PREBUILD_OUT), never into this
 * checkout's prebuilds/, and checks: the layout node-gyp-build expects
 * (prebuilds/<platform>-<arch>/claw-byterover.glibc.node plus the plain libclaw_byterover.so),
 * the right machine type, stripped, no BIND_NOW, the committed export list (native/exports.txt)
 * unchanged by stripping, the glibc symbol-version ceiling on both architectures, and that
 * node-gyp-build resolves exactly the x64 prebuild for this machine (and nothing for musl). Also
 * that npm's automatic pre-hook (`npm run build` runs a script named "prebuild" first) does not
 * trigger the cross-build.
 * The Node-version matrix and `npm pack` live in node-matrix.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools } from '../helpers/tools.js';
import { committedExports, definedDynamicSymbols, mustRun, ROOT } from './helpers.js';
import { hangGuard } from '../helpers/timeout.js';

const require = createRequire(import.meta.url);
const PKG = 'claw-byterover';
/** Same ceiling as symbols.test.ts (GLIBC_2.17: the first glibc with aarch64, RHEL/CentOS 7). */
const GLIBC_CEILING = '2.17';

const skip = missingTools(
  ['g++', 'make', 'python3', 'aarch64-linux-gnu-g++', 'aarch64-linux-gnu-strip', 'readelf', 'nm'],
  'apt-get install -y build-essential python3 g++-aarch64-linux-gnu binutils-aarch64-linux-gnu',
);

function withoutNpmEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

/** "2.17" -> 2017000, "2.2.5" -> 2002005: comparable glibc version numbers. */
function glibcKey(v: string): number {
  const [a = 0, b = 0, c = 0] = v.split('.').map(Number);
  return (a * 1000 + b) * 1000 + c;
}

describe.skipIf(skip)('npm run prebuild', () => {
  let out = '';
  let log = '';

  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'claw-prebuild-test-'));
    const r = spawnSync('npm', ['run', 'prebuild'], {
      cwd: ROOT,
      env: withoutNpmEnv({ CLAW_PREBUILD_OUT: out }),
      encoding: 'utf8',
      timeout: hangGuard(600_000),
    });
    log = `${r.stdout}\n${r.stderr}`;
    if (r.status !== 0) throw new Error(`npm run prebuild exited ${r.status ?? r.signal}:\n${log}`);
  }, hangGuard(600_000));

  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('writes the node-gyp-build layout for linux-x64 and linux-arm64 and nothing else', () => {
    expect(readdirSync(join(out, 'prebuilds')).sort()).toEqual(['linux-arm64', 'linux-x64']);
    for (const arch of ['x64', 'arm64']) {
      expect(readdirSync(join(out, 'prebuilds', `linux-${arch}`)).sort()).toEqual([`${PKG}.glibc.node`, 'libclaw_byterover.so']);
    }
    expect(log).toContain(`prebuilds/linux-x64/${PKG}.glibc.node`);
  });

  it('each binary is for its machine, stripped, lazily bound, and exports exactly the committed list', () => {
    const exportsTxt = committedExports();
    for (const [arch, machine] of [['x64', 'Advanced Micro Devices X86-64'], ['arm64', 'AArch64']] as const) {
      for (const [file, section] of [[`${PKG}.glibc.node`, 'claw_byterover.node'], ['libclaw_byterover.so', 'libclaw_byterover.so']] as const) {
        const path = join(out, 'prebuilds', `linux-${arch}`, file);
        expect(mustRun('readelf', ['-h', path])).toMatch(new RegExp(`Machine:\\s+${machine}`));
        const sections = mustRun('readelf', ['-S', '-W', path]);
        expect(sections, `${path} is stripped`).not.toContain('.symtab');
        expect(sections).not.toContain('.debug_info');
        expect(mustRun('readelf', ['-d', '-W', path])).not.toMatch(/BIND_NOW|FLAGS_1.*\bNOW\b/);
        expect(definedDynamicSymbols(path), `${arch} ${file}`).toEqual(exportsTxt[section]);
      }
    }
  });

  it(`requires no glibc symbol version above GLIBC_${GLIBC_CEILING} on either architecture`, () => {
    for (const arch of ['x64', 'arm64']) {
      for (const file of [`${PKG}.glibc.node`, 'libclaw_byterover.so']) {
        const path = join(out, 'prebuilds', `linux-${arch}`, file);
        const versions = [...mustRun('readelf', ['-V', '-W', path]).matchAll(/Name: GLIBC_([0-9.]+)/g)].map((m) => m[1] as string);
        expect(versions.length, `${path} needs some GLIBC_ version`).toBeGreaterThan(0);
        const highest = versions.reduce((a, b) => (glibcKey(a) >= glibcKey(b) ? a : b));
        expect(glibcKey(highest), `${arch}/${file} needs GLIBC_${highest}`).toBeLessThanOrEqual(glibcKey(GLIBC_CEILING));
      }
    }
  });

  it('node-gyp-build picks the x64 prebuild on this machine, and none for musl or another arch', () => {
    const ngb = require('node-gyp-build') as { resolve(dir: string): string };
    // node-gyp-build reads its target from the environment at load time: ask a fresh process.
    const resolveIn = (env: NodeJS.ProcessEnv): { status: number | null; out: string } => {
      const r = spawnSync(
        process.execPath,
        ['-e', `try { console.log(require(${JSON.stringify(require.resolve('node-gyp-build'))}).resolve(${JSON.stringify(out)})) } catch (e) { console.log('ERR ' + e.message.split('\\n')[0]); process.exit(3) }`],
        { env: withoutNpmEnv({ PREBUILDS_ONLY: '1', ...env }), encoding: 'utf8' },
      );
      return { status: r.status, out: r.stdout.trim() };
    };
    expect(typeof ngb.resolve).toBe('function');
    writeFileSync(join(out, 'package.json'), JSON.stringify({ name: PKG }));  // node-gyp-build reads the name
    expect(resolveIn({})).toEqual({ status: 0, out: join(out, 'prebuilds', 'linux-x64', `${PKG}.glibc.node`) });
    expect(resolveIn({ npm_config_arch: 'arm64' })).toEqual({ status: 0, out: join(out, 'prebuilds', 'linux-arm64', `${PKG}.glibc.node`) });
    expect(resolveIn({ LIBC: 'musl' })).toMatchObject({ status: 3, out: expect.stringContaining('No native build was found') });
    expect(resolveIn({ npm_config_arch: 'ia32' }).status).toBe(3);
  });

  it("npm's automatic pre-hook of `npm run build` does not cross-compile", () => {
    const pkgDir = mkdtempSync(join(tmpdir(), 'claw-prehook-'));
    try {
      writeFileSync(
        join(pkgDir, 'package.json'),
        JSON.stringify({
          name: 'prehook',
          private: true,
          scripts: { prebuild: `bash ${join(ROOT, 'scripts', 'prebuild.sh')}`, build: 'echo build-ran' },
        }),
      );
      const target = join(pkgDir, 'out');
      const r = spawnSync('npm', ['run', 'build'], { cwd: pkgDir, env: withoutNpmEnv({ CLAW_PREBUILD_OUT: target }), encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain('prebuild: skipped: npm ran this as the pre-hook of another script');
      expect(r.stdout).toContain('build-ran');
      expect(existsSync(target)).toBe(false);
    } finally {
      rmSync(pkgDir, { recursive: true, force: true });
    }
  });
});
