/**
 * `npm run bench`: runs every benchmark under bench/ (each top-level bench/*.ts except this file) in
 * its own process, one after another so they don't compete for the two cores, and prints their
 * output. Each benchmark prints its own figures and the ratio against a baseline measured in the
 * same run. `npm run bench -- load client` runs only the named ones.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = new Set(process.argv.slice(2));
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3))
  .filter((name) => wanted.size === 0 || wanted.has(name))
  .sort();

if (benches.length === 0) {
  console.error(`no benchmark matches ${[...wanted].join(', ')}; available: ${readdirSync(here).join(', ')}`);
  process.exit(2);
}

let failed = 0;
for (const name of benches) {
  console.log(`\n=== bench/${name} ===`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, `${name}.ts`)], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.error(`bench/${name} exited with ${r.status ?? r.signal}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
