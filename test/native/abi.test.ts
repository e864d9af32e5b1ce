/**
 * Binary ABI check (scripts/abi-check.sh): the unstripped libclaw_byterover.so built from this
 * checkout, abidw'd, against the committed baseline native/abi/libclaw_byterover.abi with abidiff.
 * Any non-zero abidiff result fails, except a claw_* struct growing at its end (suppressed by
 * native/abi/append-at-end.abignore); a member-by-member comparison with native/abi/claw-structs.txt
 * covers what that libabigail suppression would otherwise hide, and the extension structs no
 * exported function reaches.
 *
 * Then, once, the check is shown to catch deliberate changes made to scratch copies of the
 * sources: a field inserted in the middle of claw_host_info, a field retyped in place (the case
 * abidiff's suppression hides), a changed function signature. And to accept a field appended at
 * the end of claw_host_info.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools } from '../helpers/tools.js';
import { ensureNativeBuilt, ROOT } from './helpers.js';
import { hangGuard } from '../helpers/timeout.js';

const HEADER = join('native', 'include', 'claw', 'plugin.h');

const skip = missingTools(['abidw', 'abidiff', 'g++', 'python3'], 'apt-get install -y abigail-tools g++ python3');

function abiCheck(args: string[] = []): { status: number | null; out: string } {
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'abi-check.sh'), ...args], { encoding: 'utf8', timeout: hangGuard(300_000) });
  if (r.error) throw r.error;
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Replaces `from` exactly once in `file`, after `anchor` when given; throws when not found so a
 *  header change that moves the text fails loudly instead of testing nothing. */
function edit(dir: string, file: string, from: string, to: string, anchor?: string): void {
  const path = join(dir, file);
  const text = readFileSync(path, 'utf8');
  const start = anchor ? text.indexOf(anchor) : 0;
  if (start < 0) throw new Error(`${file}: anchor ${JSON.stringify(anchor)} not found; update this test`);
  const at = text.indexOf(from, start);
  if (at < 0) throw new Error(`${file}: ${JSON.stringify(from)} not found; update this test`);
  writeFileSync(path, text.slice(0, at) + to + text.slice(at + from.length));
}

describe.skipIf(skip)('ABI baseline (abidw/abidiff)', () => {
  let work = '';
  let n = 0;

  /** A scratch copy of what the build reads, changed by `change`. */
  function scratch(change: (dir: string) => void): string {
    const dir = join(work, `variant-${++n}`);
    for (const p of ['native/include', 'native/src', 'native/exports.map', 'binding.gyp', 'package.json']) {
      cpSync(join(ROOT, p), join(dir, p), { recursive: true });
    }
    change(dir);
    return dir;
  }

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'claw-abi-'));
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the committed baseline describes the exported entry points', () => {
    const xml = readFileSync(join(ROOT, 'native', 'abi', 'libclaw_byterover.abi'), 'utf8');
    expect(xml).toContain("soname='libclaw_byterover.so'");
    for (const sym of ['claw_abi_info', 'claw_init', 'claw_strerror']) {
      expect(xml).toContain(`<elf-symbol name='${sym}' version='CLAW_1.0' is-default-version='yes' type='func-type' binding='global-binding'`);
    }
    expect(xml).toMatch(/<class-decl name='claw_host_info' size-in-bits='\d+' is-struct='yes'/);
    // The member-by-member layout file covers every public claw_* struct, extensions included.
    const structs = readFileSync(join(ROOT, 'native', 'abi', 'claw-structs.txt'), 'utf8');
    for (const s of ['claw_abi_descriptor', 'claw_host_info', 'claw_plugin_funcs', 'claw_plugin_info']) {
      expect(structs).toMatch(new RegExp(`^struct ${s} \\d+\n  0 struct_size: unsigned int$`, 'm'));
    }
    expect(structs).toMatch(/^ {2}384 log: \(fn\(void\*, int, const char\*\) -> void\)\*$/m);
  });

  it('the current sources are ABI-compatible with the committed baseline', () => {
    const r = abiCheck();
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('abi-check: OK: libclaw_byterover.so is ABI-compatible with native/abi/');
  }, hangGuard(300_000));

  it('catches a field inserted in the middle of claw_host_info', () => {
    const dir = scratch((d) => edit(d, HEADER, '  const char *host_name;', '  uint32_t inserted_flags;\n  const char *host_name;'));
    const r = abiCheck(['--root', dir]);
    expect(r.status, r.out).toBe(1);
    expect(r.out).toMatch(/abi-check: FAIL: abidiff exit (4|12) \(/);
    expect(r.out).toContain("'uint32_t inserted_flags', at offset 128 (in bits)");
    expect(r.out).toContain("struct claw_host_info: member 4 was 'host_name' (const char* at bit 128), now 'inserted_flags'");
  }, hangGuard(300_000));

  it('catches a field retyped in place, which the append-at-end suppression alone would hide', () => {
    const dir = scratch((d) => edit(d, HEADER, '  uint64_t capabilities;', '  int64_t capabilities;', 'typedef struct claw_host_info {'));
    const r = abiCheck(['--root', dir]);
    expect(r.status, r.out).toBe(1);
    // abidiff with the suppression passes it; the member-by-member guard does not.
    expect(r.out).toContain('abi-check: abidiff found changes only in the append-at-end suppression');
    expect(r.out).toContain('abi-check: FAIL: claw_* struct layout changed incompatibly:');
    expect(r.out).toContain("struct claw_host_info: member 6 was 'capabilities' (unsigned long int at bit 256), now 'capabilities' (long int at bit 256)");
  }, hangGuard(300_000));

  it('catches a changed function signature', () => {
    const dir = scratch((d) => {
      edit(d, HEADER, 'claw_strerror(int32_t code)', 'claw_strerror(int64_t code)');
      edit(d, join('native', 'src', 'plugin.cc'), 'claw_strerror(int32_t code)', 'claw_strerror(int64_t code)');
    });
    const r = abiCheck(['--root', dir]);
    expect(r.status, r.out).toBe(1);
    expect(r.out).toMatch(/abi-check: FAIL: abidiff exit (4|12) \(/);
    expect(r.out).toContain("'function const char* claw_strerror(int32_t)' has some indirect sub-type changes");
  }, hangGuard(300_000));

  it('accepts a field appended at the end of claw_host_info (suppressed growth)', () => {
    const dir = scratch((d) =>
      edit(d, HEADER, '  claw_host_get_extension_fn get_extension;\n} claw_host_info;', '  claw_host_get_extension_fn get_extension;\n  uint64_t appended_since_1_1;\n} claw_host_info;'),
    );
    const r = abiCheck(['--root', dir]);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain("'uint64_t appended_since_1_1', at offset");
    expect(r.out).toMatch(/abi-check: struct claw_host_info grew at its end \((\d+) -> \d+ bits\): compatible/);
    expect(r.out).toContain('abi-check: OK');
  }, hangGuard(300_000));

  it('refuses a library without DWARF, such as the release build (abidiff needs debug info)', async () => {
    const { so } = await ensureNativeBuilt();
    const r = abiCheck(['--so', so]);
    expect(r.status).toBe(2);
    expect(r.out).toContain('has no DWARF (.debug_info): compare an unstripped build');
  }, hangGuard(600_000));
});
