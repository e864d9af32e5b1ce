/**
 * The recall engine's native microbenchmark (no Node in the measured path):
 *   node --import tsx bench/recall-native/run.ts [notes=10000] [queries=2000] [seed=42]
 * Compiles bench/recall-native/main.cc with the engine (g++ -O2) into $TMPDIR/claw-recall-bench/ and runs
 * it; main.cc prints each figure beside a baseline measured in the same run. See
 * docs/readme/recall-engine.md ("Benchmark").
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const out = join(tmpdir(), 'claw-recall-bench'); // not build/: node-gyp rebuild deletes it
const bin = join(out, 'recall_native_bench');
const engine = ['utf8', 'tokenizer', 'markdown', 'html', 'excerpt', 'index', 'recall_c'].map((f) =>
  join(root, 'native/src/recall', `${f}.cc`),
);
mkdirSync(out, { recursive: true });
const cxx = process.env.CXX ?? 'g++';
const build = spawnSync(
  cxx,
  ['-std=c++17', '-O2', '-DNDEBUG', '-pthread', join(root, 'bench/recall-native/main.cc'), ...engine, '-o', bin],
  {
    stdio: 'inherit',
  },
);
if (build.status !== 0) {
  console.error(
    `${cxx} failed to build the benchmark (exit ${build.status ?? build.signal}); install g++ (apt-get install -y g++) or set CXX`,
  );
  process.exit(1);
}
const r = spawnSync(bin, process.argv.slice(2), { stdio: 'inherit' });
process.exit(r.status ?? 1);
