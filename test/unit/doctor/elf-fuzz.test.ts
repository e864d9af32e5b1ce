/**
 * lib/doctor/elf.ts against malformed ELF: `doctor --plugin` reads whatever file a user names, so a
 * truncated download or a corrupted build must come back as a readable ElfFormatError (or a partial
 * description), never a RangeError from the bounds of a DataView, an exception of another kind, or
 * work that grows faster than the file (a loop driven by a bogus count, size or `next` link).
 *
 * Seeded and bounded: real objects compiled here for three layouts (ELF64 LE shared object, ELF32
 * LE shared object with a dynamic section, ELF32 big-endian relocatable with a symbol table), each
 * mutated a fixed number of times by one seeded generator: truncation, random byte flips, and
 * targeted overwrites of the header and section-header fields the reader follows (offsets, sizes,
 * counts, links, entry sizes) with boundary values. A failure prints the seed, layout and mutation.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElfFormatError, parseElf } from '../../../lib/doctor/index.js';
import { MAX_ELF_NAME } from '../../../lib/doctor/elf.js';
import { rng } from '../../../bench/recall/generate.js';
import { missingTools } from '../../helpers/tools.js';

const skip = missingTools(['cc', 'clang'], 'apt-get install -y build-essential clang');

const SEED = 0x5eed_e1f;
const MUTATIONS_PER_FILE = 1500;

const SOURCE = `
int claw_init(const void *h, void *o) { (void)h; (void)o; return 0; }
const void *claw_abi_info(void) { return 0; }
__attribute__((visibility("hidden"))) const char *claw_strerror(int c) { return c ? "error" : "ok"; }
static int local_helper(int x) { return x * 3; }
unsigned long strlen(const char *s); /* a versioned libc reference: .gnu.version_r in the linked object */
int name_length(const char *s) { return (int)strlen(s); }
int (*keep_local)(int) = local_helper;
`;

interface Layout {
  name: string;
  buf: Buffer;
}

let dir: string;
const layouts: Layout[] = [];

beforeAll(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'doctor-elf-fuzz-'));
  const src = join(dir, 'p.c');
  writeFileSync(src, SOURCE);
  const build = (name: string, cmd: string, args: string[]) => {
    const out = join(dir, name);
    execFileSync(cmd, [...args, src, '-o', out], { stdio: 'pipe' });
    layouts.push({ name, buf: readFileSync(out) });
  };
  build('elf64-le.so', 'cc', ['-shared', '-fPIC', '-O1']);
  // No libc needed: -nostdlib, linked by the system ld in its elf_i386 mode (a .dynamic with 8-byte entries).
  build('elf32-le.so', 'clang', ['--target=i386-linux-gnu', '-shared', '-fPIC', '-nostdlib', '-O1']);
  build('elf32-be.o', 'clang', ['--target=powerpc-linux-gnu', '-c', '-fPIC', '-O1']);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const BOUNDARY = [0, 1, 2, 7, 0x7f, 0xff, 0xffff, 0x7fffffff, 0xffffffff];

/** Offsets of the header/section-header fields the reader follows, for targeted overwrites. */
function fieldOffsets(buf: Buffer): Array<{ at: number; width: 2 | 4 | 8 }> {
  const is64 = buf[4] === 2;
  const le = buf[5] === 1;
  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const shoff = is64
    ? Number(le ? buf.readBigUInt64LE(0x28) : buf.readBigUInt64BE(0x28))
    : le
      ? buf.readUInt32LE(0x20)
      : buf.readUInt32BE(0x20);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  const w = is64 ? 8 : 4;
  const out: Array<{ at: number; width: 2 | 4 | 8 }> = [
    { at: is64 ? 0x28 : 0x20, width: w },
    { at: is64 ? 0x3a : 0x2e, width: 2 },
    { at: is64 ? 0x3c : 0x30, width: 2 },
  ];
  for (let i = 0; i < shnum; i++) {
    const b = shoff + i * shentsize;
    // sh_type, sh_offset, sh_size, sh_link, sh_info, sh_entsize
    if (is64)
      out.push(
        { at: b + 4, width: 4 },
        { at: b + 0x18, width: 8 },
        { at: b + 0x20, width: 8 },
        { at: b + 0x28, width: 4 },
        { at: b + 0x2c, width: 4 },
        { at: b + 0x38, width: 8 },
      );
    else
      out.push(
        { at: b + 4, width: 4 },
        { at: b + 0x10, width: 4 },
        { at: b + 0x14, width: 4 },
        { at: b + 0x18, width: 4 },
        { at: b + 0x1c, width: 4 },
        { at: b + 0x24, width: 4 },
      );
  }
  return out.filter((f) => f.at + f.width <= buf.length);
}

function writeField(buf: Buffer, at: number, width: 2 | 4 | 8, value: number, le: boolean): void {
  if (width === 2) (le ? buf.writeUInt16LE : buf.writeUInt16BE).call(buf, value & 0xffff, at);
  else if (width === 4) (le ? buf.writeUInt32LE : buf.writeUInt32BE).call(buf, value >>> 0, at);
  else (le ? buf.writeBigUInt64LE : buf.writeBigUInt64BE).call(buf, BigInt(value), at);
}

/** One mutant of `base` and a description of what was done to it. */
function mutate(base: Buffer, next: () => number): { buf: Buffer; what: string } {
  const pick = (n: number) => Math.floor(next() * n);
  const kind = pick(4);
  if (kind === 0) {
    const len = pick(base.length);
    return { buf: Buffer.from(base.subarray(0, len)), what: `truncated to ${len} bytes` };
  }
  const buf = Buffer.from(base);
  const le = buf[5] === 1;
  if (kind === 1) {
    const n = 1 + pick(16);
    for (let i = 0; i < n; i++) buf[pick(buf.length)] = pick(256);
    return { buf, what: `${n} random bytes` };
  }
  // Targeted: one to three header/section-header fields set to a boundary value, a value near the
  // file size, or a random one.
  const fields = fieldOffsets(base);
  const changes: string[] = [];
  for (let i = 0, n = 1 + pick(3); i < n; i++) {
    const f = fields[pick(fields.length)] as { at: number; width: 2 | 4 | 8 };
    const choice = pick(3);
    const value =
      choice === 0
        ? (BOUNDARY[pick(BOUNDARY.length)] as number)
        : choice === 1
          ? base.length - pick(64)
          : pick(0x1_0000_0000);
    writeField(buf, f.at, f.width, Math.max(0, value), le);
    changes.push(`@${f.at}=${value}`);
  }
  if (kind === 3) buf.fill(0xff, pick(buf.length), buf.length);
  return { buf, what: `fields ${changes.join(' ')}${kind === 3 ? ' + tail of 0xff' : ''}` };
}

/** Section header fields of the first section of `type` (ELF64 LE only). */
function section64(buf: Buffer, type: number): { at: number; link: number } {
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shnum = buf.readUInt16LE(0x3c);
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * 64;
    if (buf.readUInt32LE(at + 4) === type) return { at, link: buf.readUInt32LE(at + 0x28) };
  }
  throw new Error(`no section of type ${type}`);
}

describe.skipIf(skip)('ELF reader on malformed files (seeded fuzz)', () => {
  it('the unmutated objects parse (the fuzz starts from valid layouts)', () => {
    const seen = layouts.map((l) => {
      const e = parseElf(l.buf, l.name);
      return [l.name, e.bits, e.endian, e.type, e.machine, e.dynamicSymbols.length + e.staticSymbols.length > 0];
    });
    expect(seen).toEqual([
      ['elf64-le.so', 64, 'little', 'DYN', 'x86-64', true],
      ['elf32-le.so', 32, 'little', 'DYN', 'i386', true],
      ['elf32-be.o', 32, 'big', 'REL', 'ppc', true],
    ]);
    expect(
      parseElf(layouts[1]?.buf as Buffer).staticSymbols.some(
        (s) => s.name === 'claw_strerror' && s.binding === 'LOCAL',
      ),
    ).toBe(true);
  });

  it(`every mutant is described or refused with ElfFormatError, with work bounded by the file size (seed ${SEED}, ${MUTATIONS_PER_FILE} per layout)`, () => {
    const next = rng(SEED);
    const failures: string[] = [];
    let refused = 0;
    let described = 0;
    for (const l of layouts) {
      for (let i = 0; i < MUTATIONS_PER_FILE; i++) {
        const { buf, what } = mutate(l.buf, next);
        try {
          const e = parseElf(buf, l.name);
          described++;
          // Every symbol, needed entry and version requirement comes from bytes of the file: a count
          // above the file size means a loop ran on something other than the file's contents.
          const items =
            e.dynamicSymbols.length +
            e.staticSymbols.length +
            e.needed.length +
            e.requiredVersions.reduce((n, r) => n + 1 + r.versions.length, 0);
          if (items > buf.length) failures.push(`${l.name} #${i} (${what}): ${items} items from ${buf.length} bytes`);
          const names = [...e.dynamicSymbols, ...e.staticSymbols].reduce((n, s) => n + s.name.length, 0);
          if (names > 64 * buf.length)
            failures.push(`${l.name} #${i} (${what}): ${names} name bytes from ${buf.length} bytes`);
        } catch (err) {
          if (err instanceof ElfFormatError) refused++;
          else
            failures.push(
              `${l.name} #${i} (${what}): ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
            );
        }
      }
    }
    expect(failures.slice(0, 10), `${failures.length} failing mutants, first ones listed`).toEqual([]);
    // The mutations reach both outcomes (a fuzz that only ever refuses at the header tests little).
    expect(refused).toBeGreaterThan(MUTATIONS_PER_FILE / 10);
    expect(described).toBeGreaterThan(MUTATIONS_PER_FILE / 10);
  });

  it('a string table without NUL that every symbol points into: names are capped, not read to the end of the file for each symbol', () => {
    const base = layouts[0]?.buf as Buffer;
    const strtabBytes = 64 * 1024;
    const count = 2048;
    const strtab = Buffer.concat([Buffer.alloc(strtabBytes, 0x41), Buffer.from([0])]);
    const symtab = Buffer.alloc(count * 24);
    for (let i = 1; i < count; i++) {
      symtab.writeUInt32LE(strtabBytes - i * 16, i * 24); // st_name: i*16 bytes before the only NUL
      symtab[i * 24 + 4] = 0x12; // GLOBAL FUNC
      symtab.writeUInt16LE(1, i * 24 + 6); // defined
    }
    const buf = Buffer.concat([base, strtab, symtab]);
    const sym = section64(buf, 2); // SHT_SYMTAB
    const str = (buf.readBigUInt64LE(0x28) as bigint) + BigInt(sym.link * 64);
    buf.writeBigUInt64LE(BigInt(base.length), Number(str) + 0x18);
    buf.writeBigUInt64LE(BigInt(strtab.length), Number(str) + 0x20);
    buf.writeBigUInt64LE(BigInt(base.length + strtab.length), sym.at + 0x18);
    buf.writeBigUInt64LE(BigInt(symtab.length), sym.at + 0x20);
    const e = parseElf(buf, 'crafted');
    const longest = Math.max(0, ...e.staticSymbols.map((s) => s.name.length));
    expect(longest).toBeLessThanOrEqual(MAX_ELF_NAME);
    // The symbols whose name ends within the cap (the last ones before the NUL) are still read.
    expect(e.staticSymbols.filter((s) => /^A+$/.test(s.name)).length).toBe(Math.floor(MAX_ELF_NAME / 16));
    expect(e.dynamicSymbols.some((s) => s.name === 'claw_init')).toBe(true);
  });

  it('a corrupt version-requirement chain (a link shorter than an entry, a walk out of the section) is refused, not walked', () => {
    const base = layouts[0]?.buf as Buffer;
    const verneed = section64(base, 0x6ffffffe); // SHT_GNU_VERNEED
    const offset = Number(base.readBigUInt64LE(verneed.at + 0x18));
    expect(parseElf(base).requiredVersions.length).toBeGreaterThan(0);

    const shortLink = Buffer.from(base);
    shortLink.writeUInt32LE(1, offset + 12); // vn_next = 1: the next Verneed overlaps this one
    shortLink.writeUInt32LE(0xffff, verneed.at + 0x2c); // sh_info: as many entries as that allows
    expect(() => parseElf(shortLink)).toThrow(
      /^corrupt version requirements \(\.gnu\.version_r\): a link of 1 bytes is shorter than an entry \(16\)$/,
    );

    const longChain = Buffer.from(base);
    longChain.writeUInt16LE(0xffff, offset + 2); // vn_cnt: 65535 Vernaux entries
    const firstAux = offset + longChain.readUInt32LE(offset + 8);
    for (let a = firstAux; a + 16 <= offset + Number(base.readBigUInt64LE(verneed.at + 0x20)); a += 16)
      longChain.writeUInt32LE(16, a + 12);
    expect(() => parseElf(longChain)).toThrow(
      /^corrupt version requirements \(\.gnu\.version_r\): an entry at offset \d+ lies outside the section$/,
    );
  });
});
