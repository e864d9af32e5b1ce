/**
 * Failure 1, "undefined symbol: claw_init", created for real: the plugin core compiled with the
 * compiler and the real version script but WITHOUT the export (CLAW_TEST_NO_EXPORT, the fixture the
 * native tests use), then handed to `claw-byterover doctor --plugin`. Doctor must name the failure,
 * show the evidence (the entry points hidden in .symtab, nothing claw_* in the dynamic table,
 * claw-host's own dlsym failure) and the fix (CLAW_EXPORT + exports.map). The stripped variant
 * must say it cannot tell hidden from missing; the real plain library must pass, with the
 * addon that node loads described (binary, exports, dependencies, glibc, Node-API, ABI).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPluginFile } from '../../../lib/doctor/checks/native.js';
import { compileScratchPlugin, ensureNativeBuilt, type Artifacts } from '../../native/helpers.js';
import { missingTools } from '../../helpers/tools.js';
import { startCliEnv, type CliEnv } from '../cli/harness.js';
import { doctorJson, evidence } from './harness.js';
import { hangGuard } from '../../helpers/timeout.js';

const skip = missingTools(['c++', 'make', 'python3'], 'apt-get install -y build-essential python3');

let e: CliEnv;
let tmp: string;
let built: Artifacts;

beforeAll(async () => {
  if (skip) return;
  built = await ensureNativeBuilt();
  tmp = mkdtempSync(join(tmpdir(), 'doctor-native-'));
  e = await startCliEnv();
}, hangGuard(600_000));

afterAll(async () => {
  await e?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(skip)('doctor: "undefined symbol: claw_init"', () => {
  it("a plugin built without the export: named, with the hidden symbols, claw-host's verdict and the fix; exit 7", async () => {
    const lib = compileScratchPlugin(join(tmp, 'libnoexport.so'), { defines: ['CLAW_TEST_NO_EXPORT'] });
    const r = await doctorJson(e, ['--plugin', lib]);
    expect(r.code).toBe(7);
    expect(r.report).toMatchObject({ ok: false, exitCode: 7 });
    const c = r.check('native.plugin');
    expect(c).toMatchObject({ status: 'fail', code: 'NATIVE_ENTRY_HIDDEN', symptom: 'undefined symbol: claw_init' });
    expect(c.summary).toMatch(
      /^undefined symbol: claw_init: claw_init is defined but hidden \(so are claw_abi_info, claw_strerror\) — claw_init LOCAL (DEFAULT|HIDDEN) FUNC in \.symtab only/,
    );
    expect(evidence(c, 'claw_* exports')).toBe('(none in the dynamic symbol table)');
    expect(evidence(c, 'claw_init')).toMatch(/^hidden: claw_init LOCAL/);
    expect(evidence(c, 'claw-host load')).toBe(
      `exit 8 at stage symbols: ${lib} loaded, but dlsym failed: undefined symbol: claw_init`,
    );
    // claw-host classifies (not exported: hidden, C++ linkage or not a plugin) and points back here;
    // which of those it is comes from doctor's own reading of the file (summary and claw_init above).
    expect(c.evidence.filter((x) => x.label === 'claw-host diagnosis').map((x) => x.value)[0]).toMatch(
      /^claw_init is not exported by .*: it is hidden \(not marked CLAW_EXPORT/,
    );
    // its pointer back to doctor is not repeated inside doctor's own report
    expect(c.evidence.some((x) => x.value.includes('claw-byterover doctor --plugin'))).toBe(false);
    expect(c.next[0]).toMatch(/^Mark claw_init, claw_abi_info, claw_strerror CLAW_EXPORT .* native\/exports\.map/);
    expect(c.next[0]).toContain(`nm -D --defined-only ${lib} | grep claw_`);
    // the addon node loads is fine and says what it is
    const load = r.check('native.load');
    expect(load.status).toBe('pass');
    expect(evidence(load, 'binary')).toBe(`${built.node} (local build (Release))`);
    expect(evidence(load, 'claw_init')).toBe('exported: claw_init@@CLAW_1.0 GLOBAL DEFAULT FUNC');
    expect(evidence(load, 'ABI negotiation')).toMatch(/^host claw-host offers 1\.0–1\.0: agreed 1\.0;/);
    expect(evidence(load, 'Node-API')).toMatch(
      new RegExp(`^built for Node-API 8, this Node ${process.versions.node} supports ${process.versions.napi}$`),
    );
    expect(evidence(load, 'glibc')).toMatch(/^needs GLIBC_2\.\d+, this machine has 2\.\d+/);
    expect(evidence(load, 'dependencies')).toMatch(/libstdc\+\+\.so\.6 => \/\S+libstdc\+\+\.so\.6/);

    // the human report says the same
    const human = await e.cli(['doctor', '--plugin', lib]);
    expect(human.code).toBe(7);
    expect(human.out).toContain('✘ FAIL  Plugin file for a claw-runtime host  (“undefined symbol: claw_init”)');
    expect(human.out).toContain('next: Mark claw_init, claw_abi_info, claw_strerror CLAW_EXPORT');
    expect(human.err).toMatch(
      /doctor: \[2\/9\] Plugin file for a claw-runtime host: fail — undefined symbol: claw_init/,
    );
  });

  it('the same plugin stripped: not exported, and why a hidden definition cannot be seen', async () => {
    const lib = compileScratchPlugin(join(tmp, 'libnoexport-stripped.so'), {
      defines: ['CLAW_TEST_NO_EXPORT'],
      extra: ['-s'],
    });
    const c = (await doctorJson(e, ['--plugin', lib])).check('native.plugin');
    expect(c).toMatchObject({ status: 'fail', code: 'NATIVE_ENTRY_MISSING' });
    expect(c.summary).toBe(
      'undefined symbol: claw_init: the dynamic symbol table has no claw_init, claw_abi_info, claw_strerror; the file is stripped, so a hidden definition cannot be told from a missing one',
    );
    expect(evidence(c, 'claw-host load')).toMatch(/undefined symbol: claw_init$/);
  });

  it('the real plain library passes: loaded by claw-host with RTLD_NOW, ABI negotiated', async () => {
    const r = await doctorJson(e, ['--plugin', built.so]);
    const c = r.check('native.plugin');
    expect(c.status).toBe('pass');
    expect(evidence(c, 'claw-host load')).toBe(
      'dlopen (RTLD_NOW) → claw_abi_info → claw_init: ok, negotiated ABI 1.0 with host range 1.0–1.0',
    );
    expect(evidence(c, 'Node-API references')).toBe('none (a plain shared library)');
  });

  it("the .node given to a native host: claw-host's RTLD_NOW failure on napi_* and the plain-library advice", async () => {
    const c = (await doctorJson(e, ['--plugin', built.node])).check('native.plugin');
    expect(c.status).toBe('fail');
    expect(c.summary).toMatch(
      /^a claw-runtime host cannot load it: cannot load \S+claw_byterover\.node with RTLD_NOW: undefined symbol: napi_/,
    );
    expect(c.next.join('\n')).toContain('libclaw_byterover.so');
  });

  /** A plugin with every export in place whose claw_abi_info does `body` (compiled here with cc). */
  function pluginWhoseAbiInfo(name: string, body: string): string {
    const src = join(tmp, `${name}.c`);
    writeFileSync(
      src,
      `#include <stdint.h>\n#include <stddef.h>\n` +
        `__attribute__((visibility("default"))) const void *claw_abi_info(void) { ${body} }\n` +
        `__attribute__((visibility("default"))) int32_t claw_init(const void *h, void *o) { (void)h; (void)o; return 0; }\n` +
        `__attribute__((visibility("default"))) const char *claw_strerror(int32_t c) { return c ? "error" : "ok"; }\n`,
    );
    const out = join(tmp, `lib${name}.so`);
    execFileSync('cc', ['-shared', '-fPIC', '-O0', src, '-o', out]);
    return out;
  }

  it('a plugin that crashes its host: claw-host killed by SIGSEGV is a failure, not a pass with "load not tried"', async () => {
    const lib = pluginWhoseAbiInfo('crash', 'volatile const int *p = NULL; return (const void *)(intptr_t)*p;');
    const r = await doctorJson(e, ['--plugin', lib]);
    const c = r.check('native.plugin');
    expect(c).toMatchObject({ status: 'fail', code: 'NATIVE_HOST_CRASHED' });
    expect(c.summary).toBe(
      'a claw-runtime host crashes loading it: claw-host was killed by SIGSEGV while loading libcrash.so or calling claw_abi_info / claw_init',
    );
    expect(evidence(c, 'claw_init')).toBe('exported: claw_init GLOBAL DEFAULT FUNC');
    expect(evidence(c, 'claw-host load')).toBe('claw-host was killed by SIGSEGV');
    expect(c.next[0]).toMatch(
      /^The plugin crashes its host: fix the crash in its constructors, claw_abi_info or claw_init\. Reproduce outside doctor: \S+claw-host \S+libcrash\.so; under a debugger: gdb /,
    );
    expect(r.code).toBe(7);
  });

  it('a plugin whose claw_abi_info never returns: claw-host is killed at the timeout and the hang is named', async () => {
    const lib = pluginWhoseAbiInfo('hang', 'for (;;) { } return NULL;');
    const c = await checkPluginFile({ env: process.env, plugin: lib, clawHostTimeoutMs: 1_000 });
    expect(c).toMatchObject({ status: 'fail', code: 'NATIVE_HOST_TIMEOUT' });
    expect(c.summary).toBe(
      'a claw-runtime host hangs loading it: claw-host did not return from loading libhang.so and calling claw_abi_info / claw_init within 1 s',
    );
    expect(c.evidence.find((x) => x.label === 'claw-host load')?.value).toBe(
      'claw-host did not finish within 1 s and was killed',
    );
    expect(c.next[0]).toMatch(/^claw_abi_info and claw_init must return promptly/);
  });
});
