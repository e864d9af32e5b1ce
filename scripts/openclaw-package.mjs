#!/usr/bin/env node
/**
 * The OpenClaw plugin package, generated from the same dist/ as everything else.
 *
 *   node scripts/openclaw-package.mjs [--out <dir>] [--prebuilds <dir>] [--pack <dest>] [--json]
 *
 * Why: OpenClaw installs a plugin with npm into its own project root (`dependencies`,
 * `optionalDependencies` and non-optional peers are installed) and, in every process that loads the
 * plugin, copies ("captures") the plugin and every declared dependency that resolves into
 * `<state>/tmp/plugin-captures/`. The main `claw-byterover` package also carries the CLI, the bridge
 * service and telemetry (BullMQ, pg, ioredis, better-sqlite3, the OpenTelemetry exporters…), none of
 * which the plugin loads. This script stages a package that holds only what the plugin loads:
 *
 * 1. the import closure of `dist/openclaw/index.js`: static `import`/`export … from`, `import('x')`,
 *    `require('x')` and relative `'…/x.js'` string constants (a module path held in a constant and
 *    imported later), followed file by file;
 * 2. `dependencies`: exactly the bare packages that closure imports, at the versions the main
 *    package.json pins (it fails when one is not pinned there); `openclaw` stays an optional peer;
 * 3. the card's layout, kept: `dist/…` at the same relative paths (so `PACKAGE_ROOT` — two levels
 *    above dist/openclaw — finds `openclaw.plugin.json`, `skills/`, `prebuilds/` and `package.json`),
 *    the manifest, the skill, docs/readme/openclaw.md as README.md, and `prebuilds/` (from
 *    `--prebuilds <dir>` or the repository's) so nothing is compiled at install (OpenClaw installs
 *    with --ignore-scripts).
 *
 * `--pack <dest>` runs `npm pack` on the stage into <dest>. `--json` prints a summary (files,
 * dependencies, tarball). Run `npm run build:ts` first. Plain JavaScript, no dependency.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const PLUGIN_PACKAGE_NAME = 'claw-byterover-openclaw';
const ENTRY = join(ROOT, 'dist', 'openclaw', 'index.js');
const HOST_PACKAGES = new Set(['openclaw', '@openclaw/plugin-sdk']);
const BUILTINS = new Set(builtinModules);

const SPECIFIERS = [
  /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
  /\bimport\s*['"]([^'"]+)['"]/g,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
  // a relative module path held in a constant and imported later
  /=\s*['"](\.\.?\/[^'"\s]+\.js)['"]/g,
  // a worker or other module file located relative to the importer
  /new URL\(\s*['"](\.\.?\/[^'"\s]+\.js)['"]\s*,/g,
];
/**
 * Packages imported only when running from TypeScript sources (a worker started under tsx in tests),
 * never from dist/: not dependencies of the plugin.
 */
const SOURCE_ONLY = new Set(['tsx']);

function packageOf(spec) {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The files and bare packages reachable from `entry`. */
export function importClosure(entry = ENTRY) {
  const files = new Set();
  const packages = new Map(); // name -> first importer
  const visit = (file) => {
    if (files.has(file)) return;
    if (!existsSync(file)) throw new Error(`${relative(ROOT, file)} is imported but missing: run npm run build:ts`);
    files.add(file);
    const src = readFileSync(file, 'utf8');
    for (const re of SPECIFIERS) {
      for (const m of src.matchAll(re)) {
        const spec = m[1];
        if (spec.startsWith('.')) {
          visit(resolve(dirname(file), spec));
        } else if (
          !spec.startsWith('node:') &&
          !BUILTINS.has(spec) &&
          !HOST_PACKAGES.has(packageOf(spec)) &&
          !SOURCE_ONLY.has(packageOf(spec))
        ) {
          if (!packages.has(packageOf(spec))) packages.set(packageOf(spec), relative(ROOT, file));
        }
      }
    }
  };
  visit(entry);
  return { files: [...files].sort(), packages };
}

export function stagePluginPackage({ out, prebuilds } = {}) {
  if (!existsSync(ENTRY)) throw new Error('dist/openclaw/index.js is missing: run `npm run build:ts` first');
  const main = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const { files, packages } = importClosure();
  const pinned = { ...main.dependencies };
  const dependencies = {};
  for (const [name, importer] of [...packages].sort(([a], [b]) => a.localeCompare(b))) {
    const version = pinned[name];
    if (!version)
      throw new Error(
        `${importer} imports "${name}", which package.json does not list under dependencies: add it there (exact version) or stop importing it from the plugin`,
      );
    dependencies[name] = version;
  }
  const stage = resolve(out ?? join(ROOT, 'build-openclaw', 'package'));
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  for (const f of files) {
    const to = join(stage, relative(ROOT, f));
    mkdirSync(dirname(to), { recursive: true });
    cpSync(f, to);
  }
  cpSync(join(ROOT, 'openclaw.plugin.json'), join(stage, 'openclaw.plugin.json'));
  cpSync(join(ROOT, 'skills'), join(stage, 'skills'), { recursive: true });
  cpSync(join(ROOT, 'docs', 'readme', 'openclaw.md'), join(stage, 'README.md'));
  if (existsSync(join(ROOT, 'LICENSE'))) cpSync(join(ROOT, 'LICENSE'), join(stage, 'LICENSE'));
  const pre = prebuilds ?? join(ROOT, 'prebuilds');
  if (existsSync(pre) && statSync(pre).isDirectory()) cpSync(pre, join(stage, 'prebuilds'), { recursive: true });
  const pkg = {
    name: PLUGIN_PACKAGE_NAME,
    version: main.version,
    description:
      'ByteRover memory for OpenClaw (the plugin alone): recall from the context tree into each turn, curate after it, byterover_* tools. The CLI, bridge service and telemetry are in the `claw-byterover` package.',
    license: main.license,
    type: 'module',
    engines: main.engines,
    main: './dist/openclaw/index.js',
    exports: { '.': './dist/openclaw/index.js', './package.json': './package.json' },
    files: [
      'dist/',
      'prebuilds/',
      'skills/',
      'openclaw.plugin.json',
      'README.md',
      ...(existsSync(join(ROOT, 'LICENSE')) ? ['LICENSE'] : []),
    ],
    keywords: ['openclaw', 'openclaw-plugin', 'byterover', 'memory', 'context-engine'],
    dependencies,
    peerDependencies: { openclaw: main.peerDependencies?.openclaw ?? '*' },
    peerDependenciesMeta: { openclaw: { optional: true } },
    binary: main.binary,
    openclaw: main.openclaw,
  };
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  return { stage, files: files.map((f) => relative(ROOT, f)), dependencies, pkg };
}

function packStage(stage, dest) {
  mkdirSync(dest, { recursive: true });
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^npm_/i.test(k)) delete env[k];
  const r = spawnSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', resolve(dest)], {
    cwd: stage,
    env,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`npm pack in ${stage} exited ${r.status}: ${r.stderr.slice(-4000)}`);
  const [p] = JSON.parse(r.stdout);
  return {
    tarball: join(resolve(dest), p.filename),
    size: p.size,
    unpackedSize: p.unpackedSize,
    entryCount: p.entryCount,
  };
}

function main(argv) {
  const arg = (name) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const staged = stagePluginPackage({ out: arg('--out'), prebuilds: arg('--prebuilds') });
  const packDest = arg('--pack');
  const packed = packDest ? packStage(staged.stage, packDest) : undefined;
  if (argv.includes('--json')) {
    console.log(
      JSON.stringify(
        { stage: staged.stage, dependencies: staged.dependencies, files: staged.files.length, ...packed },
        null,
        2,
      ),
    );
  } else {
    console.log(`staged ${PLUGIN_PACKAGE_NAME}@${staged.pkg.version} in ${staged.stage}`);
    console.log(
      `  ${staged.files.length} files from dist/; dependencies: ${Object.keys(staged.dependencies).join(', ')}`,
    );
    if (packed) console.log(`  packed ${packed.tarball} (${packed.entryCount} files, ${packed.size} bytes)`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error(`openclaw-package: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}
