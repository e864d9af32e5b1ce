/**
 * The host matrix: claw-host (the reference claw-runtime, native/host/claw_host.c) loading the real
 * artifacts and scratch variants, asserting the exact exit code and message of every case. Exit
 * codes are claw-host's documented ones (claw-host --help, docs/readme/native.md). What a real host
 * never does on purpose (odd struct sizes, NULL arguments, init/shutdown twice, threads, cycles) is
 * driven by claw-host-matrix (native/test/claw_host_matrix.c, the same host code plus those cases).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileFindings, inspectNativeFile } from '../../lib/doctor/native-file.js';
import { missingTools } from '../helpers/tools.js';
import {
  compileScratchPlugin,
  CORE_FLAGS,
  ensureNativeBuilt,
  mustRun,
  packageVersion,
  runHost,
  type Artifacts,
} from './helpers.js';

const skip = missingTools(['c++', 'cc', 'make', 'nm'], 'apt-get install -y build-essential binutils');

const EXIT = {
  OK: 0,
  USAGE: 2,
  NOT_FOUND: 3,
  MISSING_DEP: 4,
  NODE_ADDON_NOW: 5,
  NOT_LOADABLE: 7,
  NO_ENTRY: 8,
  ABI_MAJOR: 10,
  ABI_TOO_OLD: 11,
  ABI_TOO_NEW: 12,
  STRUCT_SIZE: 13,
  INVALID_ARG: 14,
  PROTOCOL: 15,
} as const;

describe.skipIf(skip)('claw-host matrix', () => {
  let a: Artifacts;
  let tmp: string;
  const v = packageVersion();
  const plugin = `plugin claw-byterover ${v}`;
  const host = 'host claw-host 1.0.0';

  beforeAll(async () => {
    a = await ensureNativeBuilt();
    tmp = mkdtempSync(join(tmpdir(), 'claw-host-matrix-'));
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe('loading both faces', () => {
    it('the plain .so loads with RTLD_NOW and negotiates ABI 1.0', () => {
      const r = runHost(a.host, [a.so, '--now']);
      expect(r.status).toBe(EXIT.OK);
      expect(r.json).toMatchObject({
        ok: true,
        mode: 'now',
        code: 'CLAW_OK',
        abiInfo: { flavor: 'shared-library', pluginName: 'claw-byterover', pluginVersion: v, abiMajor: 1 },
        negotiated: { abiMajor: 1, abiMinor: 0, capabilities: 3, structSize: 40 },
        log: [],
      });
    });

    it('the .node loads with RTLD_LAZY and negotiates ABI 1.0', () => {
      const r = runHost(a.host, [a.node, '--lazy']);
      expect(r.status).toBe(EXIT.OK);
      expect(r.json).toMatchObject({
        ok: true,
        mode: 'lazy',
        abiInfo: { flavor: 'node-addon', napiVersion: 8 },
        negotiated: { abiMajor: 1, abiMinor: 0, capabilities: 3, structSize: 40 },
      });
    });

    it('the .node with RTLD_NOW gives the diagnosis, not a crash', () => {
      const r = runHost(a.host, [a.node, '--now']);
      expect(r.status).toBe(EXIT.NODE_ADDON_NOW);
      expect(r.json.stage).toBe('load');
      expect(r.json.error).toMatch(new RegExp(`^cannot load ${a.node} with RTLD_NOW: undefined symbol: napi_\\w+$`));
      expect(r.json.diagnosis[0]).toMatch(/^this is a Node addon \(\.node\): its Node-API functions \(napi_\*\) are provided only by the node executable/);
      expect(r.json.diagnosis[1]).toBe(
        'fix: load it with RTLD_LAZY (claw-host --lazy): nothing on the claw_init path calls Node-API; or, better, load the plain shared library libclaw_byterover.so, which has no Node-API references',
      );
      expect(r.json.diagnosis[2]).toBe(`the plain library is right there: claw-host ${a.so} --now`);
    });

    it('LD_BIND_NOW=1 with --lazy fails the same way for the .node (the host cannot opt out)', () => {
      const r = runHost(a.host, [a.node, '--lazy'], { ...process.env, LD_BIND_NOW: '1' });
      expect(r.status).toBe(EXIT.NODE_ADDON_NOW);
      expect(r.json.error).toMatch(/even with RTLD_LAZY: undefined symbol: napi_\w+$/);
    });

    it('claw-host is only the reference host: the matrix options are claw-host-matrix\'s', () => {
      for (const opt of ['--struct-size', '--out-size', '--null-host', '--null-out', '--init-twice', '--shutdown-twice', '--threads', '--cycles']) {
        const r = spawnSync(a.host, [a.so, opt, '8'], { encoding: 'utf8' });
        expect(r.status, opt).toBe(EXIT.USAGE);
        expect(r.stderr).toBe(`claw-host: unknown option '${opt}'\n(run claw-host --help for usage)\n`);
      }
      expect(mustRun(a.host, ['--help'])).not.toMatch(/--threads|--cycles|--struct-size|--null-/);
      expect(mustRun(a.matrix, ['--help'])).toMatch(/--threads N[\s\S]*--cycles N/);
    });

    it('human output names the plugin, the negotiated version and exits 0', () => {
      const out = mustRun(a.host, [a.so]);
      expect(out).toContain(`abi info:    claw-byterover ${v} (git `);
      expect(out).toContain('negotiated:  ABI 1.0, capabilities 0x3 (plugin wrote 40 bytes of claw_plugin_info)');
      expect(out.trim().endsWith('ok')).toBe(true);
    });
  });

  describe('host ABI ranges', () => {
    it('inside (1.0–1.2): agreed minor is the lower maximum, 1.0', () => {
      const r = runHost(a.host, [a.so, '--abi', '1.0-1.2']);
      expect(r.status).toBe(EXIT.OK);
      expect(r.json.negotiated).toMatchObject({ abiMajor: 1, abiMinor: 0 });
      expect(r.json.log).toEqual([]);
    });

    it('below (major 0): CLAW_E_ABI_MAJOR, one log line telling the host to upgrade', () => {
      const r = runHost(a.host, [a.so, '--abi', '0.0-0.9']);
      expect(r.status).toBe(EXIT.ABI_MAJOR);
      expect(r.json).toMatchObject({ status: -3, code: 'CLAW_E_ABI_MAJOR', error: 'claw_init refused: CLAW_E_ABI_MAJOR (-3): host and plugin ABI major versions differ' });
      expect(r.json.log).toEqual([
        {
          level: 'error',
          message: `claw ABI mismatch: ${plugin} speaks ABI 1.0, ${host} requires ABI 0.0–0.9: upgrade claw-host to one that speaks ABI 1, or install a claw-byterover built for ABI 0`,
        },
      ]);
    });

    it('above (1.1–1.3): CLAW_E_ABI_TOO_OLD, upgrade claw-byterover', () => {
      const r = runHost(a.host, [a.so, '--abi', '1.1-1.3']);
      expect(r.status).toBe(EXIT.ABI_TOO_OLD);
      expect(r.json.code).toBe('CLAW_E_ABI_TOO_OLD');
      expect(r.json.log).toEqual([
        { level: 'error', message: `claw ABI mismatch: ${plugin} speaks ABI 1.0, ${host} requires ABI 1.1–1.3: upgrade claw-byterover` },
      ]);
    });

    it('above (major 2): CLAW_E_ABI_MAJOR, upgrade claw-byterover to an ABI 2 release', () => {
      const r = runHost(a.host, [a.node, '--lazy', '--abi', '2.0-2.1', '--host-name', 'runtime-x', '--host-version', '9.1']);
      expect(r.status).toBe(EXIT.ABI_MAJOR);
      expect(r.json.log).toEqual([
        {
          level: 'error',
          message: `claw ABI mismatch: ${plugin} speaks ABI 1.0, host runtime-x 9.1 requires ABI 2.0–2.1: upgrade claw-byterover to a release built for ABI 2`,
        },
      ]);
    });

    it('an inverted range is CLAW_E_INVALID_ARG with one log line', () => {
      const r = runHost(a.host, [a.so, '--abi', '1.2-1.0']);
      expect(r.status).toBe(EXIT.INVALID_ARG);
      expect(r.json.log).toEqual([
        {
          level: 'error',
          message: `claw ABI refused: ${host} sent an invalid ABI range 1.2–1.0 (abi_minor_min > abi_minor_max): fix the host's claw_host_info`,
        },
      ]);
    });

    describe('against a plugin that serves 1.1–1.2 only (scratch build of the same core)', () => {
      let future: string;
      beforeAll(() => {
        future = compileScratchPlugin(join(tmp, 'libfuture.so'), {
          defines: ['CLAW_PLUGIN_ABI_MINOR_MIN=1', 'CLAW_PLUGIN_ABI_MINOR_MAX=2', `CLAW_PLUGIN_VERSION="${v}"`],
        });
      });

      it('host 1.0 (below the plugin minimum): CLAW_E_ABI_TOO_NEW, upgrade the host', () => {
        const r = runHost(a.host, [future, '--abi', '1.0']);
        expect(r.status).toBe(EXIT.ABI_TOO_NEW);
        expect(r.json.code).toBe('CLAW_E_ABI_TOO_NEW');
        expect(r.json.log).toEqual([
          {
            level: 'error',
            message: `claw ABI mismatch: ${plugin} speaks ABI 1.1–1.2, ${host} requires ABI 1.0: upgrade claw-host to ABI 1.1 or later, or install an older claw-byterover`,
          },
        ]);
      });

      it('host 1.0–1.3 (overlapping): agrees on 1.2, the lower maximum', () => {
        const r = runHost(a.host, [future, '--abi', '1.0-1.3']);
        expect(r.status).toBe(EXIT.OK);
        expect(r.json.negotiated).toMatchObject({ abiMajor: 1, abiMinor: 2 });
      });

      it('host 1.3–1.4 (above): CLAW_E_ABI_TOO_OLD', () => {
        const r = runHost(a.host, [future, '--abi', '1.3-1.4']);
        expect(r.status).toBe(EXIT.ABI_TOO_OLD);
        expect(r.json.log[0]?.message).toBe(`claw ABI mismatch: ${plugin} speaks ABI 1.1–1.2, ${host} requires ABI 1.3–1.4: upgrade claw-byterover`);
      });
    });
  });

  describe('struct sizes', () => {
    it('host struct_size below the 16-byte minimum: CLAW_E_STRUCT_SIZE, nothing logged (callback out of reach)', () => {
      const r = runHost(a.matrix, [a.so, '--struct-size', '8']);
      expect(r.status).toBe(EXIT.STRUCT_SIZE);
      expect(r.json.code).toBe('CLAW_E_STRUCT_SIZE');
      expect(r.json.log).toEqual([]);
      expect(r.json.diagnosis).toEqual([
        'claw_host_info.struct_size 8 is below CLAW_HOST_INFO_MIN_SIZE 16, so the plugin cannot read even the version fields (nor the log callback)',
      ]);
    });

    it('an older, smaller host struct (version fields only) negotiates; missing fields read as zero', () => {
      const r = runHost(a.matrix, [a.so, '--struct-size', '16', '--caps', '3']);
      expect(r.status).toBe(EXIT.OK);
      // capabilities lie past byte 16, so the plugin saw none and the intersection is 0.
      expect(r.json.negotiated).toMatchObject({ abiMajor: 1, abiMinor: 0, capabilities: 0 });
    });

    it('a newer, larger host struct (trailing bytes 0xA5) negotiates; unknown bytes ignored', () => {
      const r = runHost(a.matrix, [a.so, '--struct-size', '200']);
      expect(r.status).toBe(EXIT.OK);
      expect(r.json.negotiated).toMatchObject({ capabilities: 3, structSize: 40 });
    });

    it('plugin-info struct smaller than the ABI 1.0 layout: CLAW_E_STRUCT_SIZE with one log line', () => {
      const r = runHost(a.matrix, [a.so, '--out-size', '16']);
      expect(r.status).toBe(EXIT.STRUCT_SIZE);
      expect(r.json.log).toEqual([
        {
          level: 'error',
          message: `claw ABI refused: ${host} passed a claw_plugin_info of 16 bytes, ${plugin} needs at least 40 (the ABI 1.0 layout): rebuild claw-host against claw/plugin.h`,
        },
      ]);
    });

    it('plugin-info struct larger than the plugin knows: it writes 40 bytes and not one past them', () => {
      // claw-host-matrix fills everything past the 40 written bytes with a guard pattern and exits 17 if touched.
      const r = runHost(a.matrix, [a.so, '--out-size', '100']);
      expect(r.status).toBe(EXIT.OK);
      expect(r.json.negotiated).toMatchObject({ structSize: 40 });
    });
  });

  describe('NULL arguments', () => {
    it('claw_init(NULL, out): CLAW_E_INVALID_ARG, nothing to log to', () => {
      const r = runHost(a.matrix, [a.so, '--null-host']);
      expect(r.status).toBe(EXIT.INVALID_ARG);
      expect(r.json).toMatchObject({ code: 'CLAW_E_INVALID_ARG', log: [] });
    });

    it('claw_init(host, NULL): CLAW_E_INVALID_ARG with one log line', () => {
      const r = runHost(a.matrix, [a.so, '--null-out']);
      expect(r.status).toBe(EXIT.INVALID_ARG);
      expect(r.json.log).toEqual([
        {
          level: 'error',
          message: `claw ABI refused: ${host} called claw_init with out = NULL (${plugin}): pass a zeroed claw_plugin_info with struct_size set`,
        },
      ]);
    });
  });

  describe('reference counting and threads', () => {
    for (const [face, args] of [
      ['.so', (x: Artifacts) => [x.so]],
      ['.node', (x: Artifacts) => [x.node, '--lazy']],
    ] as const) {
      it(`${face}: init twice and shutdown twice (same table; 1 then 0; extra shutdown is a no-op)`, () => {
        const r = runHost(a.matrix, [...args(a), '--init-twice', '--shutdown-twice']);
        expect(r.status).toBe(EXIT.OK);
        expect(r.json.checks).toBe(
          'extra shutdown returned CLAW_E_NOT_INITIALIZED (harmless no-op); init twice: same function table, shutdown returned 1 then 0',
        );
      });

      it(`${face}: 8 threads initialize concurrently, one table, atomic reference count`, () => {
        const r = runHost(a.matrix, [...args(a), '--threads', '8', '--shutdown-twice']);
        expect(r.status).toBe(EXIT.OK);
        expect(r.json.checks).toBe(
          '8 threads: 8 concurrent claw_init calls succeeded with one function table; the 8 shutdowns returned 7..0 each exactly once',
        );
      });
    }

    it('load/init/shutdown/unload 200 times in one process', () => {
      const r = runHost(a.matrix, [a.so, '--cycles', '200']);
      expect(r.status).toBe(EXIT.OK);
      expect(r.json.cycles).toBe(200);
    });
  });

  describe('function table', () => {
    it('agent protocol 3–6 through the table picks 4', () => {
      const r = runHost(a.host, [a.so, '--agent', '3-6']);
      expect(r.status).toBe(EXIT.OK);
      expect(r.json.agent).toEqual({ status: 0, code: 'CLAW_OK', version: 4, message: 'plugin speaks 3–4, agent accepts 3–6: using protocol 4' });
    });

    it('agent protocol 5–6: CLAW_E_PROTOCOL_MISMATCH, upgrade claw-byterover', () => {
      const r = runHost(a.host, [a.so, '--agent', '5-6']);
      expect(r.status).toBe(EXIT.PROTOCOL);
      expect(r.json.agent).toEqual({
        status: -6,
        code: 'CLAW_E_PROTOCOL_MISMATCH',
        version: 0,
        message: 'plugin speaks 3–4, agent requires 5–6: upgrade claw-byterover',
      });
    });

    it('an unknown extension id yields NULL', () => {
      const r = runHost(a.host, [a.so, '--extension', 'claw.nonexistent/1']);
      expect(r.status).toBe(EXIT.OK);
      expect(r.json.extension).toEqual({ id: 'claw.nonexistent/1', found: false });
    });
  });

  describe('load-failure diagnoses', () => {
    // claw-host classifies from what the dynamic loader says and points at doctor; the file's own
    // account (hidden vs mangled vs missing, dependencies, architecture) is lib/doctor's, asserted for
    // these same files in test/unit/doctor/elf.test.ts and test/integration/doctor/native.test.ts.
    const doctorHint = (lib: string) =>
      `for the file's own account (symbols, dependencies, architecture): claw-byterover doctor --plugin ${lib}`;
    /** The doctor's findings for the same file (the one ELF diagnosis, lib/doctor). */
    const doctorSays = async (lib: string) => fileFindings(await inspectNativeFile(lib));
    const notExported = (lib: string) =>
      `claw_init is not exported by ${lib}: it is hidden (not marked CLAW_EXPORT / not listed in native/exports.map), compiled as C++ without extern "C" (claw/plugin.h declares the entry points extern "C"), or this is not a claw plugin`;

    it('a plugin built without the export: undefined symbol: claw_init, exit 8, the causes and the check; doctor: hidden', async () => {
      const lib = compileScratchPlugin(join(tmp, 'libnoexport.so'), { defines: ['CLAW_TEST_NO_EXPORT'] });
      const r = runHost(a.host, [lib]);
      expect(r.status).toBe(EXIT.NO_ENTRY);
      expect(r.json.stage).toBe('symbols');
      expect(r.json.code).toBeUndefined(); // claw_init was never reached
      expect(r.json.error).toBe(`${lib} loaded, but dlsym failed: undefined symbol: claw_init`);
      expect(r.json.diagnosis).toEqual([
        notExported(lib),
        `check with: nm -D --defined-only ${lib} | grep claw_`,
        doctorHint(lib),
        'claw_abi_info is missing too (same cause)',
      ]);
      expect((await doctorSays(lib))[0]).toMatchObject({
        code: 'NATIVE_ENTRY_HIDDEN',
        message: expect.stringMatching(/^undefined symbol: claw_init: claw_init is defined but hidden \(so are claw_abi_info, claw_strerror\)/) as unknown as string,
      });
    });

    it('the same plugin stripped: the same classification; doctor: stripped, so hidden cannot be told from missing', async () => {
      const lib = compileScratchPlugin(join(tmp, 'libnoexport-stripped.so'), { defines: ['CLAW_TEST_NO_EXPORT'], extra: ['-s'] });
      const r = runHost(a.host, [lib]);
      expect(r.status).toBe(EXIT.NO_ENTRY);
      expect(r.json.diagnosis[0]).toBe(notExported(lib));
      expect(r.json.diagnosis).toContain(doctorHint(lib));
      expect((await doctorSays(lib))[0]).toMatchObject({
        code: 'NATIVE_ENTRY_MISSING',
        message: expect.stringMatching(/the file is stripped, so a hidden definition cannot be told from a missing one$/) as unknown as string,
      });
    });

    it('entry points compiled as C++ (no extern "C"): exit 8, extern "C" named among the causes; doctor: the mangled name', async () => {
      const src = join(tmp, 'mangled.cc');
      writeFileSync(
        src,
        [
          '#include <cstdint>',
          'struct claw_host_info; struct claw_plugin_info; struct claw_abi_descriptor;',
          '__attribute__((visibility("default"))) const claw_abi_descriptor *claw_abi_info() { return nullptr; }',
          '__attribute__((visibility("default"))) int32_t claw_init(const claw_host_info *, claw_plugin_info *) { return 0; }',
          '',
        ].join('\n'),
      );
      const lib = join(tmp, 'libmangled.so');
      mustRun('c++', [...CORE_FLAGS, '-shared', src, '-o', lib]);
      const r = runHost(a.host, [lib]);
      expect(r.status).toBe(EXIT.NO_ENTRY);
      expect(r.json.error).toBe(`${lib} loaded, but dlsym failed: undefined symbol: claw_init`);
      expect(r.json.diagnosis[0]).toBe(notExported(lib));
      expect((await doctorSays(lib))[0]).toMatchObject({
        code: 'NATIVE_ENTRY_MANGLED',
        message: expect.stringContaining('_Z9claw_initPK14claw_host_infoP16claw_plugin_info GLOBAL DEFAULT FUNC, which is claw_init compiled with C++ linkage') as unknown as string,
      });
    });

    it('a missing dependent library: named, with the ldd check and the fix; doctor: not found', async () => {
      const depSrc = join(tmp, 'dep.c');
      writeFileSync(depSrc, 'int claw_test_dep(void) { return 1; }\n');
      const depDir = join(tmp, 'deps');
      mustRun('mkdir', ['-p', depDir]);
      mustRun('cc', ['-shared', '-fPIC', depSrc, '-o', join(depDir, 'libclawtestdep.so')]);
      const lib = compileScratchPlugin(join(tmp, 'libneedsdep.so'), {
        extra: [`-L${depDir}`, '-Wl,--no-as-needed', '-lclawtestdep'],
      });
      rmSync(join(depDir, 'libclawtestdep.so'));
      const r = runHost(a.host, [lib]);
      expect(r.status).toBe(EXIT.MISSING_DEP);
      expect(r.json.error).toBe(`cannot load ${lib}: a library it depends on is missing: libclawtestdep.so`);
      expect(r.json.diagnosis).toEqual([
        `see what else ld.so cannot find: ldd ${lib}`,
        'fix: install the package that provides libclawtestdep.so, or add its directory to LD_LIBRARY_PATH',
      ]);
      expect((await doctorSays(lib)).find((f) => f.code === 'NATIVE_DEPENDENCY_MISSING')?.message).toMatch(
        /^libclawtestdep\.so: cannot open shared object file \(/,
      );
    });

    it('a plugin built for another machine (e_machine of another architecture): not loadable, exit 7; doctor: both architectures', async () => {
      const lib = join(tmp, 'libforeign.so');
      copyFileSync(a.so, lib);
      // e_machine lives at offset 18 of the ELF header: 183 is EM_AARCH64, 62 EM_X86_64.
      const code = process.arch === 'arm64' ? 62 : 183;
      const h = openSync(lib, 'r+');
      writeSync(h, Buffer.from([code, 0]), 0, 2, 18);
      closeSync(h);
      const r = runHost(a.host, [lib]);
      expect(r.status).toBe(EXIT.NOT_LOADABLE);
      expect(r.json.error).toMatch(new RegExp(`^cannot load ${lib}: `));
      expect(r.json.diagnosis).toEqual([
        `${lib} is not a shared library this host can load: check that it is the plugin built for this machine (file ${lib})`,
        doctorHint(lib),
      ]);
      const wrongArch = (await doctorSays(lib)).find((f) => f.code === 'NATIVE_WRONG_ARCH');
      expect(wrongArch?.message).toMatch(new RegExp(`^${lib} is built for \\S+ \\(64-bit\\); this machine is \\S+ \\(${process.arch}\\)$`));
    });

    it('not a shared library at all: wrong file; doctor: not ELF', async () => {
      const f = join(tmp, 'notes.so');
      writeFileSync(f, 'just text, certainly not an ELF shared object\n'.repeat(4));
      const r = runHost(a.host, [f]);
      expect(r.status).toBe(EXIT.NOT_LOADABLE);
      expect(r.json.diagnosis).toEqual([
        `${f} is not a shared library this host can load: check that it is the plugin built for this machine (file ${f})`,
        doctorHint(f),
      ]);
      expect(await doctorSays(f)).toEqual([
        expect.objectContaining({ code: 'NATIVE_NOT_ELF', message: `${f} is not a loadable shared object: not an ELF file (no \\x7fELF magic)` }),
      ]);
    });

    it('a path that does not exist', () => {
      const f = join(tmp, 'nope', 'libclaw_byterover.so');
      const r = runHost(a.host, [f]);
      expect(r.status).toBe(EXIT.NOT_FOUND);
      expect(r.json.error).toBe(`cannot read plugin ${f}: No such file or directory`);
    });
  });
});
