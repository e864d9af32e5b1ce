/**
 * lib/doctor's ELF reader and plugin-file diagnosis on shared objects compiled here, with binutils
 * as the oracle: the defined dynamic symbols (name@@version) equal `nm -D --defined-only`, DT_NEEDED
 * and SONAME equal `readelf -d`, the glibc ceiling equals the highest GLIBC_ version `objdump -p`
 * lists. Then the classifications a claw-runtime host needs: exported / hidden / mangled / stripped,
 * a missing dependency (and the same one found through LD_LIBRARY_PATH and $ORIGIN RUNPATH), another
 * architecture (cross-compiled for aarch64), BIND_NOW, and files that are not ELF at all.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ElfFormatError,
  fileFindings,
  inspectNativeFile,
  parseElf,
  readElf,
  symbolLabel,
  versionCeiling,
} from '../../../lib/doctor/index.js';
import { missingTools } from '../../helpers/tools.js';

const skip = missingTools(['cc', 'c++', 'nm', 'readelf', 'objdump'], 'apt-get install -y build-essential binutils');
const crossSkip = skip ?? missingTools(['aarch64-linux-gnu-gcc'], 'apt-get install -y g++-aarch64-linux-gnu');

let dir: string;
const sh = (cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) =>
  execFileSync(cmd, args, { encoding: 'utf8', env });

const PLUGIN_C = `
#include <stdint.h>
#include <math.h>
__attribute__((visibility("default"))) int32_t claw_init(const void *h, void *o) { (void)h; (void)o; return 0; }
__attribute__((visibility("default"))) const void *claw_abi_info(void) { return 0; }
__attribute__((visibility("hidden"))) const char *claw_strerror(int32_t c) { return c ? "error" : "ok"; }
double use_libm(double x) { return cos(x); }
`;

beforeAll(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'doctor-elf-'));
  writeFileSync(join(dir, 'plugin.c'), PLUGIN_C);
  sh('cc', [
    '-shared',
    '-fPIC',
    '-O1',
    '-Wl,-soname,libplugin.so',
    join(dir, 'plugin.c'),
    '-o',
    join(dir, 'libplugin.so'),
    '-lm',
  ]);
  sh('cc', ['-shared', '-fPIC', '-O1', '-s', join(dir, 'plugin.c'), '-o', join(dir, 'libstripped.so'), '-lm']);
  writeFileSync(
    join(dir, 'mangled.cc'),
    '#include <cstdint>\n__attribute__((visibility("default"))) int32_t claw_init(const void *, void *) { return 0; }\n__attribute__((visibility("default"))) const void *claw_abi_info() { return nullptr; }\n',
  );
  sh('c++', ['-shared', '-fPIC', join(dir, 'mangled.cc'), '-o', join(dir, 'libmangled.so')]);
  // A dependency that exists at link time, then moves away.
  mkdirSync(join(dir, 'deps'));
  writeFileSync(join(dir, 'dep.c'), 'int claw_test_dep(void) { return 1; }\n');
  sh('cc', ['-shared', '-fPIC', join(dir, 'dep.c'), '-o', join(dir, 'deps', 'libclawdoctordep.so')]);
  sh('cc', [
    '-shared',
    '-fPIC',
    join(dir, 'plugin.c'),
    `-L${join(dir, 'deps')}`,
    '-Wl,--no-as-needed',
    '-lclawdoctordep',
    '-Wl,-z,now',
    '-o',
    join(dir, 'libneedsdep.so'),
    '-lm',
  ]);
  mkdirSync(join(dir, 'origin'));
  sh('cc', [
    '-shared',
    '-fPIC',
    join(dir, 'plugin.c'),
    `-L${join(dir, 'deps')}`,
    '-Wl,--no-as-needed',
    '-lclawdoctordep',
    '-Wl,-rpath,$ORIGIN/../deps',
    '-o',
    join(dir, 'origin', 'librunpath.so'),
    '-lm',
  ]);
  if (!crossSkip)
    sh('aarch64-linux-gnu-gcc', ['-shared', '-fPIC', join(dir, 'plugin.c'), '-o', join(dir, 'libarm64.so'), '-lm']);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function nmDefined(file: string): string[] {
  return sh('nm', ['-D', '--defined-only', file])
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length === 3 && f[1] !== 'A')
    .map((f) => f[2] as string)
    .sort();
}

describe.skipIf(skip)('ELF reader vs binutils', () => {
  it('defined dynamic symbols with their version equal nm -D --defined-only (our build of libc and a plugin)', async () => {
    for (const file of [join(dir, 'libplugin.so'), join(dir, 'libmangled.so')]) {
      const elf = await readElf(file);
      const ours = elf.dynamicSymbols
        .filter((s) => s.defined && !(s.type === 'OBJECT' && s.name === s.version))
        .map(symbolLabel)
        .sort();
      expect(ours).toEqual(nmDefined(file));
    }
  });

  it('SONAME, DT_NEEDED and the glibc ceiling agree with readelf -d and objdump -p', async () => {
    const file = join(dir, 'libplugin.so');
    const elf = await readElf(file);
    const dynamic = sh('readelf', ['-d', '-W', file]);
    const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
    expect(elf.needed).toEqual(needed);
    expect(elf.soname).toBe(/\(SONAME\)\s+Library soname: \[([^\]]+)\]/.exec(dynamic)?.[1]);
    const refs = [...sh('objdump', ['-p', file]).matchAll(/GLIBC_(\d+(?:\.\d+)+)/g)].map((m) => m[1] as string);
    const max = refs.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1);
    expect(versionCeiling(elf, 'GLIBC')).toBe(max);
    expect(elf).toMatchObject({
      bits: 64,
      endian: 'little',
      type: 'DYN',
      machine: 'x86-64',
      stripped: false,
      bindNow: false,
    });
  });

  it('reads BIND_NOW (-z now) from the dynamic section', async () => {
    expect((await readElf(join(dir, 'libneedsdep.so'))).bindNow).toBe(true);
    expect(sh('readelf', ['-d', join(dir, 'libneedsdep.so')])).toMatch(/BIND_NOW|FLAGS.*NOW/);
  });

  it('refuses what is not ELF with a reason', () => {
    expect(() => parseElf(Buffer.from('#!/bin/sh\necho not a library\n'.repeat(4)))).toThrow(ElfFormatError);
    expect(() => parseElf(Buffer.from('#!/bin/sh\necho not a library\n'.repeat(4)))).toThrow(/not an ELF file/);
    const head = Buffer.alloc(64);
    head.writeUInt32BE(0x7f454c46, 0);
    head[4] = 2;
    head[5] = 1;
    head.writeBigUInt64LE(10_000n, 0x28);
    head.writeUInt16LE(64, 0x3a);
    head.writeUInt16LE(3, 0x3c);
    expect(() => parseElf(head)).toThrow(/truncated ELF file: section header table/);
  });
});

describe.skipIf(skip)('plugin-file diagnosis', () => {
  it('exported entry points are named with binding, visibility and version; a hidden claw_strerror is a warning', async () => {
    const r = await inspectNativeFile(join(dir, 'libplugin.so'));
    expect(r.entryPoints.find((e) => e.name === 'claw_init')).toEqual({
      name: 'claw_init',
      state: 'exported',
      seen: 'claw_init GLOBAL DEFAULT FUNC',
    });
    expect(r.entryPoints.find((e) => e.name === 'claw_strerror')).toMatchObject({
      state: 'hidden',
      seen: expect.stringMatching(/^claw_strerror LOCAL (DEFAULT|HIDDEN) FUNC in \.symtab only$/),
    });
    const f = fileFindings(r);
    expect(f.map((x) => [x.severity, x.code])).toEqual([['warn', 'NATIVE_ENTRY_HIDDEN']]);
    expect(r.dependencies.find((d) => d.name === 'libm.so.6')?.path).toMatch(/libm\.so\.6$/);
    expect(r.archMatches).toBe(true);
  });

  it('the same file stripped: cannot tell hidden from missing, and says so', async () => {
    const r = await inspectNativeFile(join(dir, 'libstripped.so'));
    expect(r.stripped).toBe(true);
    expect(r.entryPoints.find((e) => e.name === 'claw_strerror')?.state).toBe('unknown-stripped');
    expect(fileFindings(r)[0]?.message).toBe(
      'undefined symbol: claw_strerror: the dynamic symbol table has no claw_strerror; the file is stripped, so a hidden definition cannot be told from a missing one',
    );
  });

  it('C++ linkage: the mangled name is shown and extern "C" is the fix', async () => {
    const r = await inspectNativeFile(join(dir, 'libmangled.so'));
    const f = fileFindings(r)[0];
    expect(f?.code).toBe('NATIVE_ENTRY_MANGLED');
    expect(f?.message).toMatch(
      /^undefined symbol: claw_init: the file has _Z9claw_initPKvPv GLOBAL DEFAULT FUNC, which is claw_init compiled with C\+\+ linkage \(name mangling\) \(so are claw_abi_info\)$/,
    );
    expect(f?.next).toContain('extern "C"');
  });

  it('a dependency that is gone: not found; found again through LD_LIBRARY_PATH; $ORIGIN RUNPATH resolved', async () => {
    const gone = join(dir, 'deps-moved');
    rmSync(gone, { recursive: true, force: true });
    execFileSync('mv', [join(dir, 'deps'), gone]);
    try {
      const r = await inspectNativeFile(join(dir, 'libneedsdep.so'), { PATH: process.env.PATH });
      expect(r.dependencies.find((d) => d.name === 'libclawdoctordep.so')).toEqual({
        name: 'libclawdoctordep.so',
        problem: 'not found',
      });
      const f = fileFindings(r).find((x) => x.code === 'NATIVE_DEPENDENCY_MISSING');
      expect(f?.message).toBe('libclawdoctordep.so: cannot open shared object file (not found)');
      const withPath = await inspectNativeFile(join(dir, 'libneedsdep.so'), { LD_LIBRARY_PATH: gone });
      expect(withPath.dependencies.find((d) => d.name === 'libclawdoctordep.so')).toEqual({
        name: 'libclawdoctordep.so',
        path: join(gone, 'libclawdoctordep.so'),
        via: 'LD_LIBRARY_PATH',
      });
      expect(fileFindings(withPath).map((x) => x.code)).toEqual(['NATIVE_ENTRY_HIDDEN', 'NATIVE_BIND_NOW']);
    } finally {
      execFileSync('mv', [gone, join(dir, 'deps')]);
    }
    const r = await inspectNativeFile(join(dir, 'origin', 'librunpath.so'), {});
    expect(r.dependencies.find((d) => d.name === 'libclawdoctordep.so')).toMatchObject({
      via: 'RUNPATH',
      path: join(dir, 'origin', '..', 'deps', 'libclawdoctordep.so'),
    });
  });

  it.skipIf(crossSkip)('a plugin built for aarch64: described, and refused as another architecture', async () => {
    const r = await inspectNativeFile(join(dir, 'libarm64.so'));
    expect(r.format).toMatchObject({ bits: 64, machine: 'aarch64' });
    expect(r.archMatches).toBe(false);
    const f = fileFindings(r)[0];
    expect(f?.code).toBe('NATIVE_WRONG_ARCH');
    expect(f?.message).toBe(`${join(dir, 'libarm64.so')} is built for aarch64 (64-bit); this machine is x86-64 (x64)`);
    expect(r.dependencies.every((d) => d.problem === 'not resolved: the file is for aarch64')).toBe(true);
  });

  it('a file that is not ELF, and one that does not exist', async () => {
    writeFileSync(join(dir, 'notelf.so'), 'hello');
    expect(fileFindings(await inspectNativeFile(join(dir, 'notelf.so')))[0]).toMatchObject({
      code: 'NATIVE_NOT_ELF',
      message: `${join(dir, 'notelf.so')} is not a loadable shared object: not an ELF file (no \\x7fELF magic)`,
    });
    expect((await inspectNativeFile(join(dir, 'nope.so'))).formatError).toBe('no such file');
  });

  it('a named pipe, a device and a directory are refused from stat, never opened or read (a pipe would block, /dev/zero never ends)', async () => {
    const fifo = join(dir, 'plugin.fifo');
    sh('mkfifo', [fifo]);
    expect((await inspectNativeFile(fifo)).formatError).toBe('a named pipe (FIFO), not a shared object file');
    expect((await inspectNativeFile('/dev/zero')).formatError).toBe('a character device, not a shared object file');
    expect(fileFindings(await inspectNativeFile(dir))[0]).toMatchObject({
      code: 'NATIVE_NOT_ELF',
      message: `${dir} is not a loadable shared object: a directory, not a shared object file`,
    });
  });
});
