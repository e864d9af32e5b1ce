#!/usr/bin/env node
/**
 * Builds the TypeScript of lib/ into dist/ (tsc -p tsconfig.build.json), then bundles the CLI into one
 * file, dist/cli/cli.cjs (below), and records the build with a stamp file, dist/.build-stamp, written
 * only when both succeed.
 *
 *   node scripts/build-ts.mjs             build now (`npm run build:ts`)
 *   node scripts/build-ts.mjs --if-stale  build only when a source is newer than the stamp (or there is
 *                                         no stamp): `prepare` (run by `npm ci`), `npm start`, `npm test`
 *
 * The staleness check is a walk of lib/ comparing modification times (a few milliseconds), so an
 * up-to-date checkout starts without loading the compiler. Sources: every lib/**\/*.ts except tests,
 * tsconfig.json and tsconfig.build.json. Plain JavaScript with no dependency, so it runs
 * before anything is built; a published package ships dist/ and never runs it.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const STAMP = join(ROOT, 'dist', '.build-stamp');

function newestSource(dir, acc) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newestSource(p, acc);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      const m = statSync(p).mtimeMs;
      if (m > acc.mtimeMs) Object.assign(acc, { mtimeMs: m, path: p });
    }
  }
  return acc;
}

/**
 * Why dist/ must be rebuilt, or null when it is up to date: no stamp, or the newest source (named)
 * is newer than it.
 */
export function staleReason(root = ROOT) {
  const stamp = join(root, 'dist', '.build-stamp');
  if (!existsSync(stamp)) return 'dist/ has no build stamp (never built here, or the last build failed)';
  const built = statSync(stamp).mtimeMs;
  const newest = newestSource(join(root, 'lib'), { mtimeMs: 0, path: '' });
  for (const f of ['tsconfig.json', 'tsconfig.build.json']) {
    const p = join(root, f);
    if (existsSync(p) && statSync(p).mtimeMs > newest.mtimeMs)
      Object.assign(newest, { mtimeMs: statSync(p).mtimeMs, path: p });
  }
  if (newest.mtimeMs > built) return `${newest.path.slice(root.length + 1)} is newer than the last build`;
  return null;
}

/**
 * Runs tsc; resolves to its exit status. Writes the stamp on success only. SIGINT/SIGTERM during the
 * build stop tsc and end this process with the conventional status (130/143): no compiler is left
 * running behind an interrupted `npm start`.
 */
export async function build(root = ROOT, log = (s) => process.stderr.write(s)) {
  let tsc;
  try {
    tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  } catch {
    log(
      'error BUILD_TSC_MISSING: dist/ must be (re)built but TypeScript is not installed in node_modules.\n' +
        '  next: run `npm ci` (without --omit=dev) in the checkout, then retry\n',
    );
    return 1;
  }
  const started = Date.now();
  // The stamp's time is taken before tsc reads the sources, so a file saved during the build is
  // newer than the stamp and triggers the next rebuild.
  const stampTime = new Date();
  const child = spawn(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
    cwd: root,
    stdio: 'inherit',
  });
  const onSignal = (sig) => {
    child.kill(sig);
    log(`build interrupted (${sig})\n`);
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const r = await new Promise((res) => child.on('close', (status, signal) => res({ status, signal })));
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (r.status !== 0) {
    log(
      `error BUILD_TS_FAILED: tsc exited ${r.status ?? r.signal}; dist/ may be incomplete.\n` +
        '  next: fix the errors above, then `npm run build:ts`\n',
    );
    return r.status ?? 1;
  }
  try {
    await bundleCli(root);
  } catch (e) {
    log(
      `error BUILD_BUNDLE_FAILED: bundling the CLI (dist/cli/cli.cjs) failed: ${e instanceof Error ? e.message : e}\n` +
        '  next: run `npm ci` (esbuild is a dev dependency), fix what the message names, then `npm run build:ts`\n',
    );
    return 1;
  }
  const stamp = join(root, 'dist', '.build-stamp');
  writeFileSync(stamp, `${stampTime.toISOString()}\n`);
  utimesSync(stamp, stampTime, stampTime);
  log(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return 0;
}

/**
 * Packages bundled too, not `require`d: commander, which every command runs (130 KB of CommonJS that
 * would otherwise compile on every start without a cache) and which needs nothing but built-ins.
 */
const INLINED = ['commander'];

/** The first line of dist/cli/cli.cjs: a placeholder the bundle's own hash replaces (same length). */
export const BUNDLE_BANNER = `/* claw-byterover cli bundle ${'0'.repeat(64)} */`;

/**
 * Bundles the CLI as tsc emitted it (dist/cli/entry.js and everything of dist/ it imports, statically
 * or through a literal `import()`) into one CommonJS file, dist/cli/cli.cjs, with esbuild.
 *
 * Why: a CLI process spends most of its start compiling its ~50 ES modules, and Node 20 has no compile
 * cache for ES modules. One CommonJS file can be compiled with a V8 code cache (lib/cli/code-cache.ts),
 * which makes a warm `search` ~14 ms faster. dist/cli/bin.js runs the bundle; the library, the
 * OpenClaw plugin and the tests import dist/ and lib/ as ES modules, unchanged.
 *
 * - Packages but commander (INLINED) stay external: each is `require`d where the module that imports it first runs (esbuild
 *   keeps every module's top level lazy behind its first import), so a process still loads only what
 *   its command uses. A literal `import('pkg')` would load the package's ES build beside the CommonJS
 *   one `require` loads (two copies): refused, import it through a module of ours instead.
 * - `import.meta.url` keeps meaning the original file (dist/x/y.js), so paths computed from it (the
 *   package root, createRequire) are those of the ES modules.
 * - The first line carries the sha-256 of the bundle (computed over it with the placeholder in place):
 *   the code cache's key.
 */
export async function bundleCli(root = ROOT) {
  const req = createRequire(join(root, 'package.json'));
  const esbuild = req('esbuild');
  const dist = join(root, 'dist');
  const outfile = join(dist, 'cli', 'cli.cjs');
  const outdir = dirname(outfile);
  const ours = {
    name: 'claw-byterover-dist',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (INLINED.includes(args.path)) return undefined; // bundled like our own modules
        if (args.kind === 'dynamic-import' && !args.path.startsWith('node:'))
          return {
            errors: [
              {
                text: `import('${args.path}') in ${relative(root, args.importer)}: the bundle would load the package twice (its ES build here, its CommonJS build where it is imported statically); import it through a module of ours`,
              },
            ],
          };
        return { path: args.path, external: true };
      });
      b.onLoad({ filter: /\.js$/ }, (args) => {
        if (args.path === join(dist, 'cli', 'commander.js'))
          // lib/cli/commander.ts `require`s commander through createRequire (cheaper than its ES
          // wrapper); bundled, the same exports come from the inlined copy.
          return {
            contents: "export * from 'commander';",
            loader: 'js',
            resolveDir: dirname(args.path),
          };
        if (!args.path.startsWith(dist + sep)) return undefined; // an inlined package: as it is
        let contents = readFileSync(args.path, 'utf8');
        // esbuild keeps an `import()` of a computed specifier as it is, silently: run from the bundle
        // it would go through Node's experimental vm loader (with a warning on stderr).
        const computed = /\bimport\((?!['"`]|\$\{)/.exec(contents); // `import(${…})`: in the code of a worker
        if (computed)
          return {
            errors: [
              {
                text: `an import() of a computed specifier in ${relative(root, args.path)} (${JSON.stringify(contents.slice(computed.index, computed.index + 40))}): the CLI bundle cannot hold it`,
              },
            ],
          };
        // `import.meta.url` (replaced by `define` below, in code only) names the original file; on the
        // first line of code (after a `#!` line), so the lines of tsc's source map still hold.
        if (contents.includes('import.meta.url')) {
          const url = `var __importMetaUrl = __distUrl(${JSON.stringify(relative(outdir, args.path).split(sep).join('/'))}); `;
          contents = contents.replace(/^(#![^\n]*\n)?/, (shebang) => shebang + url);
        }
        return { contents, loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
  const result = await esbuild.build({
    entryPoints: [join(dist, 'cli', 'entry.js')],
    outfile,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    charset: 'ascii',
    write: false,
    logLevel: 'silent',
    plugins: [ours],
    define: { 'import.meta.url': '__importMetaUrl' },
    // ES modules are strict mode code; the bundle must be too (the directive first, after a comment).
    banner: { js: `${BUNDLE_BANNER}\n"use strict";` },
    // A declaration, hoisted: the file URL of a path relative to dist/cli/.
    footer: {
      js: "function __distUrl(p) { return require('node:url').pathToFileURL(require('node:path').join(__dirname, p)).href; }",
    },
  });
  // A warning is an error here.
  if (result.warnings.length > 0) {
    const text = await esbuild.formatMessages(result.warnings, { kind: 'warning' });
    throw new Error(`esbuild warned:\n${text.join('')}`);
  }
  for (const file of result.outputFiles) {
    let text = file.text;
    if (file.path === outfile) {
      if (!text.startsWith(BUNDLE_BANNER)) throw new Error('the bundle does not start with its banner');
      // ASCII only (esbuild escapes strings; comments are dropped), so lib/cli/code-cache.ts reads it
      // as latin1: a one-byte string, made without decoding UTF-8.
      const nonAscii = /[^\x00-\x7f]/.exec(text);
      if (nonAscii)
        throw new Error(
          `the bundle holds a non-ASCII character (${JSON.stringify(text.slice(Math.max(0, nonAscii.index - 60), nonAscii.index + 20))}): write it as an escape in the source`,
        );
      const hash = createHash('sha256').update(text).digest('hex');
      text = BUNDLE_BANNER.replace('0'.repeat(64), hash) + text.slice(BUNDLE_BANNER.length);
    }
    writeFileSync(file.path, text);
  }
  return outfile;
}

/** Builds when stale; resolves to 0 when dist/ is up to date afterwards. */
export async function ensureBuilt(root = ROOT, log = (s) => process.stderr.write(s)) {
  const why = staleReason(root);
  if (why === null) return 0;
  log(`building dist/: ${why}\n`);
  return build(root, log);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await (process.argv.includes('--if-stale') ? ensureBuilt() : build());
}
