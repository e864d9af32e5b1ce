/**
 * The dynamic symbol tables of both faces, from both build systems, against the committed list
 * (native/exports.txt); entry points unmangled, default visibility, version-tagged; no BIND_NOW; a
 * glibc symbol-version ceiling; no Node-API (nor libstdc++) in the plain library.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools } from '../helpers/tools.js';
import { compareVersions } from '../../lib/doctor/elf.js';
import {
  buildWithCmake,
  committedExports,
  definedDynamicSymbols,
  ensureNativeBuilt,
  mustRun,
  type Artifacts,
} from './helpers.js';

/**
 * Highest glibc symbol version either artifact may require. GLIBC_2.17 is the first glibc with
 * aarch64 support, so the x64 and arm64 prebuilds share one floor (RHEL/CentOS 7 and every later
 * distribution). Today the builds need GLIBC_2.14 at most (memcpy on x86-64). Documented in
 * docs/readme/native.md.
 */
const GLIBC_CEILING = '2.17';

/** Version node every exported symbol carries (native/exports.map). */
const VERSION_NODE = 'CLAW_1.0';

const skip = missingTools(['nm', 'readelf', 'c++', 'make', 'cmake'], 'apt-get install -y binutils build-essential cmake');

/** Every GLIBC_x.y version the file requires (its undefined dynamic symbols and version needs). */
function glibcVersions(file: string): string[] {
  const out = mustRun('readelf', ['-W', '--version-info', file]);
  const versions = new Set<string>();
  for (const m of out.matchAll(/Name: GLIBC_([0-9.]+)/g)) versions.add(m[1] as string);
  return [...versions].sort(compareVersions);
}

/** `readelf --dyn-syms -W` rows for a symbol name (version suffix included in the name column). */
function dynSymRow(file: string, name: string): { type: string; bind: string; vis: string; ndx: string; name: string } | undefined {
  for (const line of mustRun('readelf', ['--dyn-syms', '-W', file]).split('\n')) {
    const f = line.trim().split(/\s+/);
    // Num: Value Size Type Bind Vis Ndx Name
    if (f.length >= 8 && (f[7] === name || f[7]?.startsWith(`${name}@`)))
      return { type: f[3] as string, bind: f[4] as string, vis: f[5] as string, ndx: f[6] as string, name: f[7] as string };
  }
  return undefined;
}

describe.skipIf(skip)('exported symbols', () => {
  let gyp: Artifacts;
  let cmake: Artifacts;
  let cmakeDir: string;
  const expected = committedExports();

  beforeAll(async () => {
    gyp = await ensureNativeBuilt();
    cmakeDir = mkdtempSync(join(tmpdir(), 'claw-cmake-'));
    cmake = buildWithCmake(cmakeDir);
  });
  afterAll(() => {
    if (cmakeDir) rmSync(cmakeDir, { recursive: true, force: true });
  });

  it('native/exports.txt has one section per artifact', () => {
    expect(Object.keys(expected).sort()).toEqual(['claw_byterover.node', 'libclaw_byterover.so']);
  });

  for (const build of ['node-gyp', 'cmake'] as const) {
    for (const face of ['node', 'so'] as const) {
      it(`${build} ${face === 'node' ? '.node' : '.so'}: nm -D --defined-only equals native/exports.txt`, () => {
        const file = (build === 'node-gyp' ? gyp : cmake)[face];
        expect(definedDynamicSymbols(file)).toEqual(expected[basename(file)]);
      });
    }
  }

  it('node-gyp and CMake export the same list for each face', () => {
    expect(definedDynamicSymbols(cmake.node)).toEqual(definedDynamicSymbols(gyp.node));
    expect(definedDynamicSymbols(cmake.so)).toEqual(definedDynamicSymbols(gyp.so));
  });

  for (const face of ['node', 'so'] as const) {
    for (const sym of ['claw_init', 'claw_abi_info', 'claw_strerror']) {
      it(`${face === 'node' ? '.node' : '.so'}: ${sym} is an unmangled, default-visibility FUNC tagged @@${VERSION_NODE}`, () => {
        for (const file of [gyp[face], cmake[face]]) {
          const row = dynSymRow(file, sym);
          expect(row, `${sym} in ${file}`).toEqual({
            type: 'FUNC',
            bind: 'GLOBAL',
            vis: 'DEFAULT',
            ndx: expect.stringMatching(/^\d+$/) as unknown as string,
            name: `${sym}@@${VERSION_NODE}`,
          });
        }
      });
    }
  }

  it('no C++-mangled claw_ symbol leaks into either dynamic symbol table', () => {
    for (const file of [gyp.node, gyp.so, cmake.node, cmake.so]) {
      const mangled = definedDynamicSymbols(file).filter((l) => /\s_Z/.test(l));
      expect(mangled, file).toEqual([]);
    }
  });

  it('readelf -d: no BIND_NOW and no FLAGS NOW in any artifact', () => {
    for (const file of [gyp.node, gyp.so, cmake.node, cmake.so]) {
      const dyn = mustRun('readelf', ['-d', '-W', file]);
      expect(dyn, file).not.toMatch(/BIND_NOW/);
      const flags = dyn.split('\n').filter((l) => /\(FLAGS(_1)?\)/.test(l));
      for (const l of flags) expect(l, file).not.toMatch(/\bNOW\b/);
    }
  });

  it(`requires no glibc symbol version above GLIBC_${GLIBC_CEILING}`, () => {
    for (const file of [gyp.node, gyp.so, cmake.node, cmake.so]) {
      const versions = glibcVersions(file);
      expect(versions.length, `${file} requires some GLIBC_ version`).toBeGreaterThan(0);
      const highest = versions[versions.length - 1] as string;
      expect(compareVersions(highest, GLIBC_CEILING), `${file} requires GLIBC_${highest}`).toBeLessThanOrEqual(0);
    }
  });

  it('the plain library references no Node-API symbol and needs only the C/C++ runtime', () => {
    // ld-linux is glibc's own loader: thread_local storage in the recall engine needs __tls_get_addr from it.
    const runtime = /^(libc|libm|libdl|libpthread|libstdc\+\+|libgcc_s)\.so\.\d+$|^ld-linux(-x86-64|-aarch64)?\.so\.\d+$/;
    for (const file of [gyp.so, cmake.so]) {
      const all = mustRun('nm', ['-D', file]);
      expect(all.match(/\b(napi_|node_api_)\w+/g) ?? [], file).toEqual([]);
      const needed = [...mustRun('readelf', ['-d', '-W', file]).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1] ?? '');
      expect(needed, file).toContain('libc.so.6');
      expect(needed.filter((n) => !runtime.test(n)), file).toEqual([]);
    }
  });

  it('the Node addon does reference Node-API (so the two faces really differ)', () => {
    const undefinedSyms = mustRun('nm', ['-D', '--undefined-only', gyp.node]);
    expect(undefinedSyms).toMatch(/\bnapi_get_cb_info\b/);
  });
});
