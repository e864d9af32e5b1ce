#!/usr/bin/env node
/**
 * `npm start`: the bridge service (`claw-byterover serve`) from the built dist/, in this process (so
 * SIGINT/SIGTERM reach it directly, not through a shell). dist/ is rebuilt first only when a source
 * is newer than the last build (scripts/build-ts.mjs: a cheap modification-time check); an
 * up-to-date checkout starts without loading the compiler. Extra arguments go to `serve`:
 * `npm start -- --port 9000`.
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { ensureBuilt, ROOT } from './build-ts.mjs';

const status = await ensureBuilt();
if (status !== 0) {
  process.exitCode = status;
} else {
  const cli = await import(pathToFileURL(join(ROOT, 'dist', 'cli', 'index.js')).href);
  const { processIo } = await import(pathToFileURL(join(ROOT, 'dist', 'cli', 'io.js')).href);
  process.exitCode = await cli.run(['serve', ...process.argv.slice(2)], processIo());
}
