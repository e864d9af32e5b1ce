#!/usr/bin/env node
/**
 * Builds the TypeScript of lib/ into dist/ (tsc -p tsconfig.build.json) and records the build with a
 * stamp file, dist/.build-stamp, written only when tsc succeeds.
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
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
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
  const stamp = join(root, 'dist', '.build-stamp');
  writeFileSync(stamp, `${stampTime.toISOString()}\n`);
  utimesSync(stamp, stampTime, stampTime);
  log(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return 0;
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
