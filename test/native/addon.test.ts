/**
 * The Node-API face through lib/native.ts: the same descriptor and the same negotiation answers
 * as the C ABI, codes as identifiers, and the prebuild-first loader with its NATIVE_LOAD_FAILED
 * report (every path tried, platform/arch/libc/Node-API, next step), from lib/ and from a dist/
 * layout.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClawError } from '../../lib/errors.js';
import {
  abiInfo,
  addonPath,
  binding,
  CLAW_STATUS,
  loadAddon,
  negotiateAbi,
  negotiateAgentProtocol,
  strerror,
} from '../../lib/native.js';
import { missingTools } from '../helpers/tools.js';
import { ensureNativeBuilt, mustRun, packageVersion, ROOT, runHost, type Artifacts } from './helpers.js';

const skip = missingTools(['c++', 'make'], 'apt-get install -y build-essential python3');
const tuple = `${process.platform}-${process.arch}`;

function loadError(fn: () => unknown): ClawError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ClawError) return e;
    throw e;
  }
  throw new Error('expected a ClawError');
}

describe.skipIf(skip)('native addon via lib/native.ts', () => {
  let a: Artifacts;
  let tmp: string;
  const v = packageVersion();

  beforeAll(async () => {
    a = await ensureNativeBuilt();
    tmp = mkdtempSync(join(tmpdir(), 'claw-addon-'));
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe('facade', () => {
    it('loads build/Release when no prebuild exists in the checkout', () => {
      expect(addonPath()).toBe(a.node);
    });

    it('abiInfo() is the descriptor claw-host reads from the same .node through the C ABI', () => {
      const info = abiInfo();
      expect(info).toMatchObject({
        abiMajor: 1,
        abiMinorMin: 0,
        abiMinorMax: 0,
        pluginName: 'claw-byterover',
        pluginVersion: v,
        flavor: 'node-addon',
        napiVersion: 8,
        agentProtocolMin: 3,
        agentProtocolMax: 4,
        capabilities: 3,
      });
      expect(info.gitRevision).toMatch(/^([0-9a-f]{7,40}|unknown)$/);
      expect(info.compiler).toMatch(/^(gcc|clang) \d+\.\d+\.\d+$/);
      const viaC = runHost(a.host, [a.node, '--lazy']).json.abiInfo;
      expect({ ...viaC, structSize: undefined }).toEqual({ ...info, structSize: undefined });
    });

    it('the status table in TypeScript matches the binary', () => {
      expect(binding().statuses).toEqual(CLAW_STATUS);
      expect(strerror(CLAW_STATUS.CLAW_E_ABI_MAJOR)).toBe('host and plugin ABI major versions differ');
      expect(strerror(12345)).toBe('unknown claw status code');
    });

    it('Node-API version of the addon is one this Node supports', () => {
      expect(abiInfo().napiVersion).toBeLessThanOrEqual(Number(process.versions.napi));
    });
  });

  describe('negotiateAbi', () => {
    it('inside: agreed 1.0', () => {
      expect(negotiateAbi({ major: 1, minorMin: 0, minorMax: 2 })).toEqual({
        ok: true,
        status: 0,
        code: 'CLAW_OK',
        message: `claw ABI 1.0 agreed: plugin claw-byterover ${v} speaks ABI 1.0, host accepts ABI 1.0–1.2`,
        version: { major: 1, minor: 0 },
      });
    });

    it('major mismatch: code, not prose', () => {
      expect(negotiateAbi({ major: 2, minorMin: 0, minorMax: 0, name: 'claw-runtime', version: '2.3.0' })).toEqual({
        ok: false,
        status: -3,
        code: 'CLAW_E_ABI_MAJOR',
        message: `claw ABI mismatch: plugin claw-byterover ${v} speaks ABI 1.0, host claw-runtime 2.3.0 requires ABI 2.0: upgrade claw-byterover to a release built for ABI 2`,
      });
    });

    it('host needs a newer minor: CLAW_E_ABI_TOO_OLD', () => {
      const r = negotiateAbi({ major: 1, minorMin: 1, minorMax: 4 });
      expect(r).toMatchObject({ ok: false, code: 'CLAW_E_ABI_TOO_OLD', status: -4 });
      expect(r.message.endsWith(': upgrade claw-byterover')).toBe(true);
    });

    it('inverted range: CLAW_E_INVALID_ARG', () => {
      expect(negotiateAbi({ major: 1, minorMin: 3, minorMax: 1 })).toMatchObject({ ok: false, code: 'CLAW_E_INVALID_ARG' });
    });

    it('malformed arguments throw TypeError naming the field', () => {
      expect(() => negotiateAbi({ major: 1, minorMin: 0 } as never)).toThrow(
        expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: 'expected `minorMax` to be an integer 0..4294967295, got undefined' }),
      );
      expect(() => negotiateAbi(null as never)).toThrow(TypeError);
    });
  });

  describe('negotiateAgentProtocol', () => {
    it.each([
      [3, 4, 4],
      [4, 6, 4],
      [1, 3, 3],
      [3, 3, 3],
    ])('agent %i–%i: protocol %i', (min, max, version) => {
      const r = negotiateAgentProtocol(min, max);
      expect(r).toMatchObject({ ok: true, code: 'CLAW_OK', version });
    });

    it('agent requires newer: upgrade claw-byterover', () => {
      expect(negotiateAgentProtocol(5, 6)).toEqual({
        ok: false,
        status: -6,
        code: 'CLAW_E_PROTOCOL_MISMATCH',
        message: 'plugin speaks 3–4, agent requires 5–6: upgrade claw-byterover',
      });
    });

    it('agent only accepts older: upgrade the agent', () => {
      expect(negotiateAgentProtocol(1, 2)).toMatchObject({
        code: 'CLAW_E_PROTOCOL_MISMATCH',
        message: 'plugin speaks 3–4, agent requires 1–2: upgrade the agent to one that accepts protocol 3–4',
      });
    });

    it('inverted range: CLAW_E_INVALID_ARG', () => {
      expect(negotiateAgentProtocol(4, 3)).toMatchObject({
        ok: false,
        code: 'CLAW_E_INVALID_ARG',
        message: 'invalid agent protocol range 4–3: the minimum must not exceed the maximum',
      });
    });

    it('non-integers throw TypeError', () => {
      expect(() => negotiateAgentProtocol(-1, 4)).toThrow('expected argument `min` to be an integer 0..4294967295, got -1');
      expect(() => negotiateAgentProtocol(3, 4.5)).toThrow('expected argument `max` to be an integer 0..4294967295, got 4.5');
    });
  });

  describe('loader', () => {
    /** A package root in tmp with the given files copied in. */
    function fakeRoot(name: string, files: Record<string, string | Buffer>): string {
      const root = join(tmp, name);
      for (const [rel, src] of Object.entries(files)) {
        const dest = join(root, rel);
        mkdirSync(join(dest, '..'), { recursive: true });
        if (typeof src === 'string') copyFileSync(src, dest);
        else writeFileSync(dest, src);
      }
      mkdirSync(root, { recursive: true });
      return root;
    }

    it('nothing to load: NATIVE_LOAD_FAILED lists every path, what it saw, and the next step', () => {
      const root = fakeRoot('empty', {});
      const e = loadError(() => loadAddon({ root, env: {} }));
      expect(e.code).toBe('NATIVE_LOAD_FAILED');
      expect(e.message.split('\n')).toEqual([
        expect.stringMatching(
          new RegExp(`^could not load the claw-byterover native addon for ${tuple} \\((glibc[ 0-9.]*|musl), Node ${process.versions.node}, Node-API ${process.versions.napi}\\); tried:$`),
        ),
        `  ${root}/prebuilds/${tuple}/: missing (no prebuilds directory)`,
        `  ${root}/build/Release/claw_byterover.node: missing`,
        `  ${root}/build/Debug/claw_byterover.node: missing`,
      ]);
      expect(e.hint).toMatch(/^no binary fits .*: run `npm rebuild claw-byterover` to compile one with node-gyp/);
      expect(e.details).toMatchObject({ platform: process.platform, arch: process.arch, napi: process.versions.napi, node: process.versions.node });
      expect(e.details?.['tried']).toHaveLength(3);
    });

    it('prebuild first: a fitting prebuild wins over build/Release', () => {
      const root = fakeRoot('both', {
        [`prebuilds/${tuple}/claw-byterover.napi.node`]: a.node,
        'build/Release/claw_byterover.node': a.node,
      });
      const r = loadAddon({ root, env: {} });
      expect(r.path).toBe(join(root, 'prebuilds', tuple, 'claw-byterover.napi.node'));
      expect(r.binding.negotiateAgentProtocol(3, 4).version).toBe(4);
    });

    it('a prebuild that does not load is reported and build/Release is used', () => {
      const root = fakeRoot('broken', {
        [`prebuilds/${tuple}/claw-byterover.napi.node`]: Buffer.from('definitely not an ELF object\n'.repeat(40)),
        'build/Release/claw_byterover.node': a.node,
      });
      const r = loadAddon({ root, env: {} });
      expect(r.path).toBe(join(root, 'build', 'Release', 'claw_byterover.node'));
      expect(r.tried[0]).toMatchObject({ path: join(root, 'prebuilds', tuple, 'claw-byterover.napi.node'), outcome: 'failed' });
      expect(r.tried[0]?.reason).toMatch(/invalid ELF header/);
    });

    it('a prebuild for another libc is skipped as no-match (node-gyp-build tag rules)', () => {
      const otherLibc = 'musl';
      const root = fakeRoot('libc', {
        [`prebuilds/${tuple}/claw-byterover.napi.${otherLibc}.node`]: a.node,
        'build/Release/claw_byterover.node': a.node,
      });
      const r = loadAddon({ root, env: {} });
      expect(r.path).toBe(join(root, 'build', 'Release', 'claw_byterover.node'));
      expect(r.tried[0]).toEqual({
        path: join(root, 'prebuilds', tuple, `claw-byterover.napi.${otherLibc}.node`),
        outcome: 'no-match',
        reason: 'tags do not fit this process (napi, musl)',
      });
    });

    it('PREBUILDS_ONLY skips local builds and says so in the hint', () => {
      const root = fakeRoot('prebuilds-only', { 'build/Release/claw_byterover.node': a.node });
      const e = loadError(() => loadAddon({ root, env: { PREBUILDS_ONLY: '1' } }));
      expect(e.code).toBe('NATIVE_LOAD_FAILED');
      expect(e.message).toContain(`  ${root}/build/Release/claw_byterover.node: skipped (PREBUILDS_ONLY is set)`);
      expect(e.hint).toMatch(/^PREBUILDS_ONLY is set, so local builds were not tried/);
    });

    it('PREBUILDS_ONLY with a fitting prebuild loads it', () => {
      const root = fakeRoot('prebuilds-only-ok', { [`prebuilds/${tuple}/claw-byterover.napi.glibc.node`]: a.node });
      expect(loadAddon({ root, env: { PREBUILDS_ONLY: '1' } }).path).toBe(join(root, 'prebuilds', tuple, 'claw-byterover.napi.glibc.node'));
    });

    it('CLAW_BYTEROVER_PREBUILD points the loader at another root', () => {
      const other = fakeRoot('override', { 'build/Release/claw_byterover.node': a.node });
      const r = loadAddon({ root: join(tmp, 'does-not-matter'), env: { CLAW_BYTEROVER_PREBUILD: other } });
      expect(r.path).toBe(join(other, 'build', 'Release', 'claw_byterover.node'));
    });

    it('a .node that is not this addon is refused and reported', () => {
      const root = fakeRoot('foreign', {});
      // A valid Node addon of a different kind: node-addon-api's own empty test module is not built
      // here, so use a scratch one compiled now.
      const src = join(tmp, 'foreign.cc');
      writeFileSync(
        src,
        '#include <node_api.h>\nstatic napi_value Init(napi_env env, napi_value exports) { return exports; }\nNAPI_MODULE(NODE_GYP_MODULE_NAME, Init)\n',
      );
      mkdirSync(join(root, 'build', 'Release'), { recursive: true });
      const headers = mustRun(process.execPath, ['-p', "require('node-api-headers').include_dir"]).trim();
      mustRun('c++', ['-shared', '-fPIC', `-I${headers}`, '-DNODE_GYP_MODULE_NAME=foreign', src, '-o', join(root, 'build', 'Release', 'claw_byterover.node')]);
      const e = loadError(() => loadAddon({ root, env: {} }));
      expect(e.message).toContain(
        `  ${root}/build/Release/claw_byterover.node: failed (loaded, but it is not the claw-byterover addon (no abiInfo/negotiateAbi))`,
      );
      expect(e.hint).toMatch(/^a binary was found but did not load/);
    });

    it('from a dist/ layout the package root is one level up too', () => {
      const root = join(tmp, 'distpkg');
      mkdirSync(join(root, 'build', 'Release'), { recursive: true });
      copyFileSync(a.node, join(root, 'build', 'Release', 'claw_byterover.node'));
      writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'claw-byterover', type: 'module' }));
      symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
      mustRun(process.execPath, [
        join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
        join(ROOT, 'lib', 'native.ts'),
        '--outDir', join(root, 'dist'),
        '--rootDir', join(ROOT, 'lib'),
        '--module', 'nodenext',
        '--moduleResolution', 'nodenext',
        '--target', 'es2022',
        '--types', 'node',
        '--strict',
        '--skipLibCheck',
      ]);
      const out = mustRun(process.execPath, [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(join(root, 'dist', 'native.js'))}); console.log(JSON.stringify({ path: m.addonPath(), v: m.negotiateAgentProtocol(3, 4).version }));`,
      ]);
      expect(JSON.parse(out)).toEqual({ path: join(root, 'build', 'Release', 'claw_byterover.node'), v: 4 });
    });
  });
});
