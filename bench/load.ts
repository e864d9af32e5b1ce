/**
 * bench/load: what it costs a host to load the plugin, beside baselines measured in the same run.
 *
 *  1. Native cycle, in a small C driver (bench/load/driver.c, compiled now):
 *       plugin:   dlopen(libclaw_byterover.so, RTLD_NOW) -> claw_abi_info -> claw_init -> shutdown -> dlclose
 *       baseline: dlopen(trivial .so, one function) -> dlsym -> call -> dlclose
 *     (plus, for information, the .node loaded with RTLD_LAZY: it also pulls in libstdc++.)
 *     Rounds alternate plugin and baseline; the median round is reported. Target: plugin within 2x.
 *  2. `import` of the TypeScript wrapper (lib/native.ts compiled to JS) in a fresh node process,
 *     against `import` of an empty module, and the wrapper's first call (which loads the addon).
 *
 * Run: node --import tsx bench/load.ts   (needs the native build: npm run build:native)
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HERE = join(ROOT, 'bench', 'load');
const SO = join(ROOT, 'build', 'Release', 'libclaw_byterover.so');
const NODE_ADDON = join(ROOT, 'build', 'Release', 'claw_byterover.node');

const ROUNDS = 9;
const CYCLES = 2000;
const PROCESSES = 15;

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function fmt(ns: number): string {
  return ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : `${(ns / 1e3).toFixed(1)} µs`;
}

for (const f of [SO, NODE_ADDON]) {
  if (!existsSync(f)) {
    console.error(`bench/load: ${f} is missing; build it first: npm run build:native`);
    process.exit(1);
  }
}

const work = mkdtempSync(join(tmpdir(), 'claw-bench-load-'));
try {
  // ---- 1. native load cycle -------------------------------------------------------------------
  const driver = join(work, 'driver');
  const trivial = join(work, 'libtrivial.so');
  sh('cc', ['-O2', '-std=gnu11', `-I${join(ROOT, 'native', 'include')}`, join(HERE, 'driver.c'), '-o', driver, '-ldl']);
  sh('cc', ['-O2', '-shared', '-fPIC', join(HERE, 'trivial.c'), '-o', trivial]);

  const plugin: number[] = [];
  const base: number[] = [];
  const addon: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    plugin.push(Number(sh(driver, ['plugin', SO, String(CYCLES), 'now'])));
    base.push(Number(sh(driver, ['trivial', trivial, String(CYCLES)])));
    addon.push(Number(sh(driver, ['plugin', NODE_ADDON, String(CYCLES / 4), 'lazy'])));
  }
  const p = median(plugin);
  const b = median(base);
  const n = median(addon);
  console.log(`native load cycle (median of ${ROUNDS} rounds x ${CYCLES} cycles, one process per round):`);
  console.log(
    `  libclaw_byterover.so  dlopen(RTLD_NOW) -> claw_abi_info -> claw_init -> shutdown -> dlclose: ${fmt(p)}`,
  );
  console.log(
    `  baseline trivial .so  dlopen(RTLD_NOW) -> dlsym -> call -> dlclose:                         ${fmt(b)}`,
  );
  console.log(`  ratio plugin / baseline: ${(p / b).toFixed(2)}x (target <= 2.00x)`);
  console.log(
    `  (info) claw_byterover.node with RTLD_LAZY, same cycle: ${fmt(n)} = ${(n / b).toFixed(2)}x baseline (it also depends on libstdc++)`,
  );

  // ---- 2. import of the TypeScript wrapper in a fresh process -----------------------------------
  const pkg = join(work, 'pkg');
  mkdirSync(join(pkg, 'build', 'Release'), { recursive: true });
  copyFileSync(NODE_ADDON, join(pkg, 'build', 'Release', 'claw_byterover.node'));
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'claw-byterover', type: 'module' }));
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
  sh(process.execPath, [
    join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
    join(ROOT, 'lib', 'native.ts'),
    '--outDir',
    join(pkg, 'dist'),
    '--rootDir',
    join(ROOT, 'lib'),
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--target',
    'es2022',
    '--types',
    'node',
    '--skipLibCheck',
  ]);
  const empty = join(pkg, 'dist', 'empty.js');
  writeFileSync(empty, 'export {};\n');

  const timeImport = (file: string, call: boolean): number => {
    const script = [
      't0 = process.hrtime.bigint()',
      `const m = await import(${JSON.stringify(pathToFileURL(file).href)})`,
      call ? 'm.abiInfo()' : '',
      'console.log(String(process.hrtime.bigint() - t0))',
    ]
      .filter(Boolean)
      .join(';');
    return Number(sh(process.execPath, ['--input-type=module', '-e', `let t0; ${script}`]).trim());
  };
  const wrapper: number[] = [];
  const emptyImport: number[] = [];
  const firstCall: number[] = [];
  for (let i = 0; i < PROCESSES; i++) {
    wrapper.push(timeImport(join(pkg, 'dist', 'native.js'), false));
    emptyImport.push(timeImport(empty, false));
    firstCall.push(timeImport(join(pkg, 'dist', 'native.js'), true));
  }
  const w = median(wrapper);
  const e = median(emptyImport);
  const c = median(firstCall);
  console.log(`\nimport in a fresh node process (median of ${PROCESSES} processes each):`);
  console.log(`  import lib/native (compiled):              ${fmt(w)}`);
  console.log(`  baseline import of an empty module:        ${fmt(e)}`);
  console.log(`  ratio wrapper / empty: ${(w / e).toFixed(2)}x`);
  console.log(`  (info) import + first call (loads the .node): ${fmt(c)} = ${(c / e).toFixed(2)}x empty`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
