/**
 * A small read-only ELF reader for diagnosis: what a dynamic loader would see in a shared object,
 * without loading (or executing) it. It reads the section headers and from them the dynamic symbol
 * table (with GNU symbol versions), the static symbol table when the file is not stripped, the
 * dynamic section (DT_NEEDED, RUNPATH/RPATH, SONAME, BIND_NOW flags) and the versions required from
 * each dependency (`.gnu.version_r`, where the glibc ceiling comes from).
 *
 * Why TypeScript and not `readelf`/`nm`: binutils is not on every machine a user runs doctor on,
 * and parsing their text output is more fragile than reading the ~10 structures needed here. It
 * handles ELF32/ELF64 in either byte order, so a plugin built for another machine (the usual
 * "wrong architecture" case) is still described. Layouts: the System V gABI and the LSB's
 * symbol-versioning chapter.
 */
import { readFile, stat } from 'node:fs/promises';

export type ElfBinding = 'LOCAL' | 'GLOBAL' | 'WEAK' | 'GNU_UNIQUE' | `OTHER(${number})`;
export type ElfVisibility = 'DEFAULT' | 'INTERNAL' | 'HIDDEN' | 'PROTECTED';
export type ElfSymbolType =
  'NOTYPE' | 'OBJECT' | 'FUNC' | 'SECTION' | 'FILE' | 'COMMON' | 'TLS' | 'GNU_IFUNC' | `OTHER(${number})`;

export interface ElfSymbol {
  name: string;
  /** Defined in this file (st_shndx != SHN_UNDEF). */
  defined: boolean;
  binding: ElfBinding;
  visibility: ElfVisibility;
  type: ElfSymbolType;
  /** GNU version name (`CLAW_1.0`, `GLIBC_2.34`), dynamic symbols only. */
  version?: string;
  /** `@@` (the default version) rather than `@` (hidden version); defined symbols only. */
  versionDefault?: boolean;
}

export interface ElfRequiredVersions {
  /** The library the versions are required from (`libc.so.6`). */
  file: string;
  versions: string[];
}

export interface ElfInfo {
  path: string;
  bits: 32 | 64;
  endian: 'little' | 'big';
  /** e_type: DYN (shared object / PIE), EXEC, REL, CORE. */
  type: string;
  /** e_machine, named (`x86-64`, `aarch64`, …) or `machine N`. */
  machine: string;
  soname?: string;
  needed: string[];
  runpath?: string;
  rpath?: string;
  /** DT_BIND_NOW, DF_BIND_NOW or DF_1_NOW: every symbol is bound at load (like RTLD_NOW). */
  bindNow: boolean;
  /** No `.symtab`: hidden or local definitions cannot be seen. */
  stripped: boolean;
  dynamicSymbols: ElfSymbol[];
  /** `.symtab` (empty when stripped). */
  staticSymbols: ElfSymbol[];
  requiredVersions: ElfRequiredVersions[];
}

const MACHINES: Record<number, string> = {
  3: 'i386',
  8: 'mips',
  20: 'ppc',
  21: 'ppc64',
  22: 's390',
  40: 'arm',
  62: 'x86-64',
  183: 'aarch64',
  243: 'riscv',
  258: 'loongarch',
};
const TYPES: Record<number, string> = { 0: 'NONE', 1: 'REL', 2: 'EXEC', 3: 'DYN', 4: 'CORE' };
const BINDINGS: Record<number, ElfBinding> = { 0: 'LOCAL', 1: 'GLOBAL', 2: 'WEAK', 10: 'GNU_UNIQUE' };
const VISIBILITIES: ElfVisibility[] = ['DEFAULT', 'INTERNAL', 'HIDDEN', 'PROTECTED'];
const SYMBOL_TYPES: Record<number, ElfSymbolType> = {
  0: 'NOTYPE',
  1: 'OBJECT',
  2: 'FUNC',
  3: 'SECTION',
  4: 'FILE',
  5: 'COMMON',
  6: 'TLS',
  10: 'GNU_IFUNC',
};

const SHT_SYMTAB = 2;
const SHT_DYNAMIC = 6;
const SHT_DYNSYM = 11;
const SHT_GNU_VERDEF = 0x6ffffffd;
const SHT_GNU_VERNEED = 0x6ffffffe;
const SHT_GNU_VERSYM = 0x6fffffff;
const DT_NEEDED = 1;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_BIND_NOW = 24;
const DT_RUNPATH = 29;
const DT_FLAGS = 30;
const DT_FLAGS_1 = 0x6ffffffb;
const DF_BIND_NOW = 0x8;
const DF_1_NOW = 0x1;

/**
 * Longest name read from a string table. Every string the reader looks for (claw_* entry points,
 * sonames, GLIBC_ versions, search paths) is far shorter; the cap keeps a corrupt table (no NUL,
 * every symbol pointing into it) from costing time and memory quadratic in the file size. A name
 * that does not end within it is read as empty (the symbol is skipped).
 */
export const MAX_ELF_NAME = 4096;

/** The machine name of this process's architecture, as ElfInfo.machine spells it. */
export function hostMachine(arch: string = process.arch): string {
  const byArch: Record<string, string> = {
    x64: 'x86-64',
    arm64: 'aarch64',
    ia32: 'i386',
    arm: 'arm',
    riscv64: 'riscv',
    ppc64: 'ppc64',
    s390x: 's390',
    loong64: 'loongarch',
  };
  return byArch[arch] ?? arch;
}

/** Why a file is not an ELF object this reader can describe. */
export class ElfFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ElfFormatError';
  }
}

interface Section {
  type: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  entsize: number;
}

class Reader {
  readonly view: DataView;
  readonly le: boolean;
  readonly is64: boolean;

  constructor(
    readonly buf: Buffer,
    le: boolean,
    is64: boolean,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.le = le;
    this.is64 = is64;
  }

  check(off: number, len: number, what: string): void {
    if (off < 0 || len < 0 || off + len > this.buf.length)
      throw new ElfFormatError(
        `truncated ELF file: ${what} at offset ${off} (+${len}) is past the end (${this.buf.length} bytes)`,
      );
  }
  u8(off: number): number {
    this.check(off, 1, 'byte');
    return this.view.getUint8(off);
  }
  u16(off: number): number {
    this.check(off, 2, 'half word');
    return this.view.getUint16(off, this.le);
  }
  u32(off: number): number {
    this.check(off, 4, 'word');
    return this.view.getUint32(off, this.le);
  }
  /** A native word (u32 or u64) as a number; values past 2^53 are clamped (never offsets we use). */
  word(off: number): number {
    if (!this.is64) return this.u32(off);
    this.check(off, 8, 'double word');
    const v = this.view.getBigUint64(off, this.le);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  }
  /** Signed native word (d_tag). */
  sword(off: number): number {
    if (!this.is64) {
      this.check(off, 4, 'word');
      return this.view.getInt32(off, this.le);
    }
    this.check(off, 8, 'double word');
    return Number(this.view.getBigInt64(off, this.le));
  }
  /** The NUL-terminated string at `off`, ending before `limit` (its table's end) and within MAX_ELF_NAME. */
  cstr(off: number, limit: number): string {
    const stop = Math.min(limit, this.buf.length, off + MAX_ELF_NAME + 1);
    if (off >= stop) return '';
    const end = this.buf.subarray(off, stop).indexOf(0);
    return end === -1 ? '' : this.buf.toString('utf8', off, off + end);
  }
}

function sectionHeaders(r: Reader): Section[] {
  const shoff = r.word(r.is64 ? 0x28 : 0x20);
  const shentsize = r.u16(r.is64 ? 0x3a : 0x2e);
  const shnum = r.u16(r.is64 ? 0x3c : 0x30);
  if (shoff === 0 || shnum === 0)
    throw new ElfFormatError('no section headers (a stripped-to-the-bone object): its symbols cannot be listed');
  if (shentsize !== (r.is64 ? 64 : 40)) throw new ElfFormatError(`unexpected section header size ${shentsize}`);
  r.check(shoff, shnum * shentsize, 'section header table');
  const out: Section[] = [];
  for (let i = 0; i < shnum; i++) {
    const b = shoff + i * shentsize;
    out.push(
      r.is64
        ? {
            type: r.u32(b + 4),
            offset: r.word(b + 0x18),
            size: r.word(b + 0x20),
            link: r.u32(b + 0x28),
            info: r.u32(b + 0x2c),
            entsize: r.word(b + 0x38),
          }
        : {
            type: r.u32(b + 4),
            offset: r.u32(b + 0x10),
            size: r.u32(b + 0x14),
            link: r.u32(b + 0x18),
            info: r.u32(b + 0x1c),
            entsize: r.u32(b + 0x24),
          },
    );
  }
  return out;
}

/**
 * Version index → name, from .gnu.version_d (definitions) and .gnu.version_r (requirements).
 *
 * The entries are chained by forward offsets (vd_next, vn_next, vna_aux/vna_next). In a well-formed
 * file every entry occupies its own bytes inside its section, so a link shorter than an entry, an
 * entry outside the section, or more entries than the section can hold means a corrupt chain: it is
 * refused rather than walked (a walk over overlapping entries can cost far more than the file size).
 */
function versionNames(r: Reader, sections: Section[]): { names: Map<number, string>; required: ElfRequiredVersions[] } {
  const names = new Map<number, string>();
  const required: ElfRequiredVersions[] = [];
  for (const s of sections) {
    if (s.type !== SHT_GNU_VERDEF && s.type !== SHT_GNU_VERNEED) continue;
    const strtab = sections[s.link];
    if (!strtab) continue;
    const strEnd = strtab.offset + strtab.size;
    const what =
      s.type === SHT_GNU_VERDEF ? 'version definitions (.gnu.version_d)' : 'version requirements (.gnu.version_r)';
    const end = s.offset + s.size;
    // Verdef is 20 bytes, Verdaux 8, Verneed 16, Vernaux 16: no section holds more entries than this.
    let budget = Math.floor(s.size / 8);
    const entry = (at: number, size: number): void => {
      if (at < s.offset || at + size > end)
        throw new ElfFormatError(`corrupt ${what}: an entry at offset ${at} lies outside the section`);
      if (--budget < 0) throw new ElfFormatError(`corrupt ${what}: more chained entries than the section can hold`);
    };
    const link = (next: number, size: number): void => {
      if (next !== 0 && next < size)
        throw new ElfFormatError(`corrupt ${what}: a link of ${next} bytes is shorter than an entry (${size})`);
    };
    if (s.type === SHT_GNU_VERDEF) {
      let off = s.offset;
      for (let i = 0; i < s.info && off < end; i++) {
        entry(off, 20);
        const ndx = r.u16(off + 4);
        const aux = r.u32(off + 12);
        const next = r.u32(off + 16);
        link(next, 20);
        entry(off + aux, 8);
        names.set(ndx & 0x7fff, r.cstr(strtab.offset + r.u32(off + aux), strEnd));
        if (next === 0) break;
        off += next;
      }
    } else {
      let off = s.offset;
      for (let i = 0; i < s.info && off < end; i++) {
        entry(off, 16);
        const cnt = r.u16(off + 2);
        const file = r.cstr(strtab.offset + r.u32(off + 4), strEnd);
        const versions: string[] = [];
        let a = off + r.u32(off + 8);
        for (let k = 0; k < cnt; k++) {
          entry(a, 16);
          const name = r.cstr(strtab.offset + r.u32(a + 8), strEnd);
          names.set(r.u16(a + 6) & 0x7fff, name);
          versions.push(name);
          const anext = r.u32(a + 12);
          link(anext, 16);
          if (anext === 0) break;
          a += anext;
        }
        required.push({ file, versions });
        const next = r.u32(off + 12);
        link(next, 16);
        if (next === 0) break;
        off += next;
      }
    }
  }
  return { names, required };
}

function readSymbols(
  r: Reader,
  sections: Section[],
  table: Section,
  versym: Section | undefined,
  names: Map<number, string>,
): ElfSymbol[] {
  const strtab = sections[table.link];
  if (!strtab) return [];
  const strEnd = strtab.offset + strtab.size;
  // Elf64_Sym is 24 bytes, Elf32_Sym 16: another sh_entsize means the header is corrupt (a smaller
  // one would also multiply the entries read from the same bytes).
  const entsize = r.is64 ? 24 : 16;
  if (table.entsize !== 0 && table.entsize !== entsize)
    throw new ElfFormatError(`symbol table entry size ${table.entsize}, expected ${entsize}`);
  const count = Math.floor(table.size / entsize);
  const out: ElfSymbol[] = [];
  for (let i = 1; i < count; i++) {
    const b = table.offset + i * entsize;
    const nameOff = r.u32(b);
    const info = r.is64 ? r.u8(b + 4) : r.u8(b + 12);
    const other = r.is64 ? r.u8(b + 5) : r.u8(b + 13);
    const shndx = r.is64 ? r.u16(b + 6) : r.u16(b + 14);
    const name = r.cstr(strtab.offset + nameOff, strEnd);
    if (!name) continue;
    const sym: ElfSymbol = {
      name,
      defined: shndx !== 0,
      binding: BINDINGS[info >> 4] ?? `OTHER(${info >> 4})`,
      visibility: VISIBILITIES[other & 3] ?? 'DEFAULT',
      type: SYMBOL_TYPES[info & 0xf] ?? `OTHER(${info & 0xf})`,
    };
    if (versym && versym.offset + i * 2 + 2 <= versym.offset + versym.size) {
      const v = r.u16(versym.offset + i * 2);
      const idx = v & 0x7fff;
      if (idx >= 2) {
        const vname = names.get(idx);
        if (vname) {
          sym.version = vname;
          if (sym.defined) sym.versionDefault = (v & 0x8000) === 0;
        }
      }
    }
    out.push(sym);
  }
  return out;
}

/** Parses an ELF image. Throws ElfFormatError for anything that is not a readable ELF object. */
export function parseElf(buf: Buffer, path = '(buffer)'): ElfInfo {
  if (buf.length < 52 || buf.readUInt32BE(0) !== 0x7f454c46)
    throw new ElfFormatError(
      buf.length < 4 ? 'file too short to be an ELF object' : 'not an ELF file (no \\x7fELF magic)',
    );
  const cls = buf[4];
  const data = buf[5];
  if (cls !== 1 && cls !== 2) throw new ElfFormatError(`unknown ELF class ${String(cls)}`);
  if (data !== 1 && data !== 2) throw new ElfFormatError(`unknown ELF byte order ${String(data)}`);
  const r = new Reader(buf, data === 1, cls === 2);
  const type = r.u16(0x10);
  const machine = r.u16(0x12);
  const sections = sectionHeaders(r);
  const { names, required } = versionNames(r, sections);
  const versym = sections.find((s) => s.type === SHT_GNU_VERSYM);
  const dynsym = sections.find((s) => s.type === SHT_DYNSYM);
  const symtab = sections.find((s) => s.type === SHT_SYMTAB);
  const info: ElfInfo = {
    path,
    bits: cls === 2 ? 64 : 32,
    endian: data === 1 ? 'little' : 'big',
    type: TYPES[type] ?? `type ${type}`,
    machine: MACHINES[machine] ?? `machine ${machine}`,
    needed: [],
    bindNow: false,
    stripped: symtab === undefined,
    dynamicSymbols: dynsym ? readSymbols(r, sections, dynsym, versym, names) : [],
    staticSymbols: symtab ? readSymbols(r, sections, symtab, undefined, names) : [],
    requiredVersions: required,
  };
  const dyn = sections.find((s) => s.type === SHT_DYNAMIC);
  const dynStr = dyn ? sections[dyn.link] : undefined;
  if (dyn && dynStr) {
    const ent = r.is64 ? 16 : 8;
    const strEnd = dynStr.offset + dynStr.size;
    for (let off = dyn.offset; off + ent <= dyn.offset + dyn.size; off += ent) {
      const tag = r.sword(off);
      const val = r.word(off + (r.is64 ? 8 : 4));
      if (tag === 0) break;
      const str = () => r.cstr(dynStr.offset + val, strEnd);
      if (tag === DT_NEEDED) info.needed.push(str());
      else if (tag === DT_SONAME) info.soname = str();
      else if (tag === DT_RUNPATH) info.runpath = str();
      else if (tag === DT_RPATH) info.rpath = str();
      else if (tag === DT_BIND_NOW) info.bindNow = true;
      else if (tag === DT_FLAGS && (val & DF_BIND_NOW) !== 0) info.bindNow = true;
      else if (tag === DT_FLAGS_1 && (val & DF_1_NOW) !== 0) info.bindNow = true;
    }
  }
  return info;
}

/** What a path that is not a regular file is, in ls's words. */
function fileKind(s: Awaited<ReturnType<typeof stat>>): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a named pipe (FIFO)';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Reads and parses the file at `path`. Only a regular file is read: opening a named pipe blocks
 * until a writer appears and a device like /dev/zero never ends, so both are refused from stat().
 */
export async function readElf(path: string): Promise<ElfInfo> {
  const s = await stat(path);
  if (!s.isFile()) throw new ElfFormatError(`${fileKind(s)}, not a shared object file`);
  return parseElf(await readFile(path), path);
}

/** Compares dotted numeric versions (`2.34` < `2.38`). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The highest `<PREFIX>_x.y` version the file requires (e.g. GLIBC 2.34), or undefined. */
export function versionCeiling(info: ElfInfo, prefix: string): string | undefined {
  let best: string | undefined;
  for (const req of info.requiredVersions)
    for (const v of req.versions) {
      if (!v.startsWith(`${prefix}_`)) continue;
      const num = v.slice(prefix.length + 1);
      if (!/^\d+(\.\d+)*$/.test(num)) continue;
      if (best === undefined || compareVersions(num, best) > 0) best = num;
    }
  return best;
}

/** `name@@VERSION` / `name@VERSION` / `name`, the way readelf prints it. */
export function symbolLabel(s: ElfSymbol): string {
  return s.version ? `${s.name}${s.defined && s.versionDefault !== false ? '@@' : '@'}${s.version}` : s.name;
}
