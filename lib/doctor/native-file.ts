/**
 * What a claw-runtime host would find in a plugin file, read statically (lib/doctor/elf.ts): the
 * entry points with their binding, visibility and symbol version (and, when one is not exported,
 * why: hidden, local, C++-mangled, or undecidable because the file is stripped), the dependent
 * libraries resolved the way ld.so searches (RUNPATH/RPATH with $ORIGIN, LD_LIBRARY_PATH, the
 * ld.so cache, the default directories), the glibc / libstdc++ symbol-version ceilings against this
 * machine, Node-API references (which RTLD_NOW cannot resolve outside node) and BIND_NOW.
 */
import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import {
  ElfFormatError,
  compareVersions,
  hostMachine,
  readElf,
  symbolLabel,
  versionCeiling,
  type ElfInfo,
  type ElfSymbol,
} from './elf.js';

const run = promisify(execFile);

/** The C entry points of the claw ABI (claw/plugin.h). claw_strerror only makes messages better. */
export const ENTRY_POINTS = ['claw_init', 'claw_abi_info', 'claw_strerror'] as const;
export type EntryPointName = (typeof ENTRY_POINTS)[number];

/** `hidden`: defined, but hidden visibility or LOCAL binding (the linker demotes hidden symbols to LOCAL). */
export type EntryState = 'exported' | 'hidden' | 'mangled' | 'missing' | 'unknown-stripped';

export interface EntryPoint {
  name: EntryPointName;
  state: EntryState;
  /** `claw_init@@CLAW_1.0 GLOBAL DEFAULT FUNC` when exported; the hidden/mangled symbol otherwise. */
  seen?: string;
}

export interface Dependency {
  name: string;
  /** Where ld.so would find it. */
  path?: string;
  /** How it was found: runpath, rpath, LD_LIBRARY_PATH, ld.so.cache, default dirs. */
  via?: string;
  /** Why it is unusable (not found, other architecture). */
  problem?: string;
}

export interface NativeFileReport {
  path: string;
  /** Set when the file is not a readable ELF object; nothing else is then filled in. */
  formatError?: string;
  format?: { bits: 32 | 64; endian: string; type: string; machine: string; soname?: string };
  /** The file's machine and class match this process. */
  archMatches?: boolean;
  entryPoints: EntryPoint[];
  /** Every defined dynamic claw_* symbol, labelled (`claw_init@@CLAW_1.0`). */
  clawExports: string[];
  stripped?: boolean;
  dependencies: Dependency[];
  glibc: { required?: string; runtime?: string; ok: boolean };
  glibcxx: { required?: string };
  napi: { undefinedRefs: number; first?: string; moduleEntry: boolean };
  bindNow: boolean;
}

function describeSym(s: ElfSymbol): string {
  return `${symbolLabel(s)} ${s.binding} ${s.visibility} ${s.type}`;
}

function classify(elf: ElfInfo, name: EntryPointName): EntryPoint {
  const dyn = elf.dynamicSymbols.find((s) => s.defined && s.name === name);
  if (dyn && dyn.binding !== 'LOCAL' && (dyn.visibility === 'DEFAULT' || dyn.visibility === 'PROTECTED'))
    return { name, state: 'exported', seen: describeSym(dyn) };
  const mangled = elf.dynamicSymbols.find(
    (s) => s.defined && s.name.startsWith('_Z') && s.name.includes(`${name.length}${name}`),
  );
  if (mangled) return { name, state: 'mangled', seen: describeSym(mangled) };
  const stat = elf.staticSymbols.find((s) => s.defined && s.name === name);
  if (stat) return { name, state: 'hidden', seen: `${describeSym(stat)} in .symtab only` };
  const statMangled = elf.staticSymbols.find(
    (s) => s.defined && s.name.startsWith('_Z') && s.name.includes(`${name.length}${name}`),
  );
  if (statMangled) return { name, state: 'mangled', seen: `${describeSym(statMangled)} in .symtab only` };
  return { name, state: elf.stripped ? 'unknown-stripped' : 'missing' };
}

/** The glibc version this process runs on (from Node's diagnostic report), e.g. `2.36`. */
export function runtimeGlibc(): string | undefined {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime;
}

let ldCache: Promise<Map<string, string[]>> | undefined;

/** `ldconfig -p`: soname → paths (with the arch tag), when ldconfig exists. */
function ldSoCache(): Promise<Map<string, string[]>> {
  ldCache ??= (async () => {
    const map = new Map<string, string[]>();
    for (const bin of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
      try {
        const { stdout } = await run(bin, ['-p'], { maxBuffer: 16 << 20, timeout: 10_000 });
        for (const line of stdout.split('\n')) {
          const m = /^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)/.exec(line);
          if (m?.[1] && m[3]) map.set(m[1], [...(map.get(m[1]) ?? []), m[3]]);
        }
        return map;
      } catch {
        // try the next location
      }
    }
    return map;
  })();
  return ldCache;
}

/** ELF class and machine of a library file, read from its header only. */
async function headerOf(path: string): Promise<{ bits: number; machine: number } | undefined> {
  try {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(20);
      await fh.read(buf, 0, 20, 0);
      if (buf.readUInt32BE(0) !== 0x7f454c46) return undefined;
      return { bits: buf[4] === 2 ? 64 : 32, machine: buf[5] === 1 ? buf.readUInt16LE(18) : buf.readUInt16BE(18) };
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
}

const MACHINE_NUMBERS: Record<string, number> = {
  'x86-64': 62,
  aarch64: 183,
  i386: 3,
  arm: 40,
  riscv: 243,
  ppc64: 21,
  s390: 22,
};

function defaultDirs(elf: ElfInfo): string[] {
  const triplet =
    elf.machine === 'x86-64' ? 'x86_64-linux-gnu' : elf.machine === 'aarch64' ? 'aarch64-linux-gnu' : undefined;
  const dirs = triplet ? [`/lib/${triplet}`, `/usr/lib/${triplet}`] : [];
  return [...dirs, ...(elf.bits === 64 ? ['/lib64', '/usr/lib64'] : []), '/lib', '/usr/lib'];
}

/** Resolves DT_NEEDED entries in ld.so's order; a candidate of another class or machine is skipped, as ld.so does. */
export async function resolveDependencies(elf: ElfInfo, env: NodeJS.ProcessEnv = process.env): Promise<Dependency[]> {
  const origin = dirname(elf.path);
  const expand = (list: string | undefined) =>
    (list ?? '')
      .split(':')
      .filter(Boolean)
      .map((d) => d.replace(/\$\{?ORIGIN\}?/g, origin));
  const wantMachine = MACHINE_NUMBERS[elf.machine];
  const cache = await ldSoCache();
  const out: Dependency[] = [];
  for (const name of elf.needed) {
    const candidates: Array<{ path: string; via: string }> = [];
    if (name.includes('/')) candidates.push({ path: name, via: 'path' });
    else {
      if (!elf.runpath) for (const d of expand(elf.rpath)) candidates.push({ path: join(d, name), via: 'RPATH' });
      for (const d of expand(env.LD_LIBRARY_PATH)) candidates.push({ path: join(d, name), via: 'LD_LIBRARY_PATH' });
      for (const d of expand(elf.runpath)) candidates.push({ path: join(d, name), via: 'RUNPATH' });
      for (const p of cache.get(name) ?? []) candidates.push({ path: p, via: 'ld.so.cache' });
      for (const d of defaultDirs(elf)) candidates.push({ path: join(d, name), via: 'default directories' });
    }
    let dep: Dependency = { name, problem: 'not found' };
    for (const c of candidates) {
      if (!existsSync(c.path)) continue;
      const h = await headerOf(c.path);
      if (!h) continue;
      if (h.bits !== elf.bits || (wantMachine !== undefined && h.machine !== wantMachine)) {
        dep = { name, problem: `only found for another architecture (${c.path})` };
        continue;
      }
      dep = { name, path: c.path, via: c.via };
      break;
    }
    out.push(dep);
  }
  return out;
}

/** Reads and classifies a plugin file. Never throws for a bad file: `formatError` says what is wrong. */
export async function inspectNativeFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<NativeFileReport> {
  const empty: NativeFileReport = {
    path,
    entryPoints: [],
    clawExports: [],
    dependencies: [],
    glibc: { ok: true },
    glibcxx: {},
    napi: { undefinedRefs: 0, moduleEntry: false },
    bindNow: false,
  };
  let elf: ElfInfo;
  try {
    elf = await readElf(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      ...empty,
      formatError:
        e instanceof ElfFormatError
          ? e.message
          : code === 'ENOENT'
            ? 'no such file'
            : code
              ? `cannot read it (${code})`
              : String(e),
    };
  }
  const machine = hostMachine();
  const archMatches = elf.machine === machine && elf.bits === (process.arch.endsWith('64') ? 64 : 32);
  const napiRefs = elf.dynamicSymbols.filter(
    (s) => !s.defined && (s.name.startsWith('napi_') || s.name.startsWith('node_api_')),
  );
  const glibcRequired = versionCeiling(elf, 'GLIBC');
  const glibcRuntime = runtimeGlibc();
  const glibcxxRequired = versionCeiling(elf, 'GLIBCXX');
  return {
    path,
    format: {
      bits: elf.bits,
      endian: elf.endian,
      type: elf.type,
      machine: elf.machine,
      ...(elf.soname ? { soname: elf.soname } : {}),
    },
    archMatches,
    entryPoints: ENTRY_POINTS.map((n) => classify(elf, n)),
    clawExports: elf.dynamicSymbols.filter((s) => s.defined && s.name.startsWith('claw_')).map(symbolLabel),
    stripped: elf.stripped,
    dependencies: archMatches
      ? await resolveDependencies(elf, env)
      : elf.needed.map((name) => ({ name, problem: `not resolved: the file is for ${elf.machine}` })),
    glibc: {
      ...(glibcRequired ? { required: glibcRequired } : {}),
      ...(glibcRuntime ? { runtime: glibcRuntime } : {}),
      ok: !glibcRequired || !glibcRuntime || compareVersions(glibcRequired, glibcRuntime) <= 0,
    },
    glibcxx: glibcxxRequired ? { required: glibcxxRequired } : {},
    napi: {
      undefinedRefs: napiRefs.length,
      ...(napiRefs[0] ? { first: napiRefs[0].name } : {}),
      moduleEntry: elf.dynamicSymbols.some((s) => s.defined && s.name === 'napi_register_module_v1'),
    },
    bindNow: elf.bindNow,
  };
}

/** A finding about the file: what is wrong, in the loader's words, and the fix. */
export interface FileFinding {
  severity: 'fail' | 'warn';
  code: string;
  message: string;
  next: string;
}

/**
 * What is wrong with the file for a native host, worst first. `asNodeAddon` (the file is loaded by
 * node, not dlopen'ed by a C host) turns the Node-API findings off.
 */
export function fileFindings(r: NativeFileReport, opts: { asNodeAddon?: boolean } = {}): FileFinding[] {
  const out: FileFinding[] = [];
  if (r.formatError) {
    out.push({
      severity: 'fail',
      code: 'NATIVE_NOT_ELF',
      message: `${r.path} is not a loadable shared object: ${r.formatError}`,
      next: 'Check that the path names the plugin (libclaw_byterover.so, or claw_byterover.node for node).',
    });
    return out;
  }
  if (r.archMatches === false) {
    out.push({
      severity: 'fail',
      code: 'NATIVE_WRONG_ARCH',
      message: `${r.path} is built for ${r.format?.machine} (${r.format?.bits}-bit); this machine is ${hostMachine()} (${process.arch})`,
      next: `Install the build for ${process.platform}-${process.arch} (prebuilds/${process.platform}-${process.arch}/), or rebuild on this machine: \`npm rebuild claw-byterover\`.`,
    });
  }
  const nm = `nm -D --defined-only ${r.path} | grep claw_`;
  // One finding per cause, naming every entry point it hits (claw_init first: a host needs it most).
  const byState = new Map<EntryState, EntryPoint[]>();
  for (const e of r.entryPoints) if (e.state !== 'exported') byState.set(e.state, [...(byState.get(e.state) ?? []), e]);
  for (const [state, entries] of byState) {
    const first = entries[0] as EntryPoint;
    const names = entries.map((e) => e.name).join(', ');
    const sev = entries.some((e) => e.name !== 'claw_strerror') ? 'fail' : 'warn';
    const lead = `undefined symbol: ${first.name}`;
    const also =
      entries.length > 1
        ? ` (so are ${entries
            .slice(1)
            .map((e) => e.name)
            .join(', ')})`
        : '';
    if (state === 'hidden')
      out.push({
        severity: sev,
        code: 'NATIVE_ENTRY_HIDDEN',
        message: `${lead}: ${first.name} is defined but hidden${also} — ${first.seen}; a hidden symbol is not in the dynamic symbol table, so dlsym cannot find it`,
        next: `Mark ${names} CLAW_EXPORT (visibility("default"); include claw/plugin.h) and keep them in the linker version script native/exports.map; with -fvisibility=hidden every unmarked function stays hidden. Check with: ${nm}`,
      });
    else if (state === 'mangled')
      out.push({
        severity: sev,
        code: 'NATIVE_ENTRY_MANGLED',
        message: `${lead}: the file has ${first.seen}, which is ${first.name} compiled with C++ linkage (name mangling)${also}`,
        next: `Declare ${names} inside extern "C" { … } (claw/plugin.h does this) and rebuild. Check with: ${nm}`,
      });
    else if (state === 'unknown-stripped')
      out.push({
        severity: sev,
        code: 'NATIVE_ENTRY_MISSING',
        message: `${lead}: the dynamic symbol table has no ${names}; the file is stripped, so a hidden definition cannot be told from a missing one`,
        next: `Check this is the claw plugin; rebuild it unstripped (or run doctor on the unstripped build) to see whether ${first.name} is hidden. Check with: ${nm}`,
      });
    else {
      const wrongFile = r.napi.moduleEntry && r.clawExports.length === 0;
      out.push({
        severity: sev,
        code: wrongFile ? 'NATIVE_WRONG_FILE' : 'NATIVE_ENTRY_MISSING',
        message: wrongFile
          ? `${lead}: this is a Node addon without the claw ABI (it exports napi_register_module_v1 and no claw_* symbol)`
          : `${lead}: the file does not define ${names} at all${r.clawExports.length ? ` (it exports ${r.clawExports.join(', ')}: plugin and host disagree on the ABI)` : ''}`,
        next: `Point the host at the claw plugin (libclaw_byterover.so), or rebuild the plugin from a release whose claw/plugin.h defines ${names}. Check with: ${nm}`,
      });
    }
  }
  for (const d of r.dependencies)
    if (d.problem)
      out.push({
        severity: 'fail',
        code: 'NATIVE_DEPENDENCY_MISSING',
        message: `${d.name}: cannot open shared object file (${d.problem})`,
        next: `Install the package that provides ${d.name}, or add its directory to LD_LIBRARY_PATH (ldd ${r.path} shows the same).`,
      });
  if (!r.glibc.ok)
    out.push({
      severity: 'fail',
      code: 'NATIVE_GLIBC_TOO_OLD',
      message: `the file needs GLIBC_${r.glibc.required}, this machine has glibc ${r.glibc.runtime}`,
      next: `Use a build made against glibc ≤ ${r.glibc.runtime} (the release prebuilds target an old glibc), or rebuild here: \`npm rebuild claw-byterover\`.`,
    });
  if (!opts.asNodeAddon && r.napi.undefinedRefs > 0)
    out.push({
      severity: 'warn',
      code: 'NATIVE_NODE_ADDON',
      message: `this is a Node addon: it references ${r.napi.undefinedRefs} Node-API functions (e.g. ${r.napi.first}) that only the node executable provides, so a host using RTLD_NOW (or LD_BIND_NOW=1) fails with "undefined symbol: ${r.napi.first}"`,
      next: 'Give native hosts the plain library libclaw_byterover.so (no Node-API references), or load the .node with RTLD_LAZY.',
    });
  if (r.bindNow)
    out.push({
      severity: 'warn',
      code: 'NATIVE_BIND_NOW',
      message: 'the file is linked with BIND_NOW (-z now): every symbol is resolved at load time',
      next: 'Link with -z lazy (binding.gyp does) so unused references cannot fail the load.',
    });
  return out.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'fail' ? -1 : 1));
}
