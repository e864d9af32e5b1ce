/**
 * bench/pull-stall: the longest event-loop stall while a hostile space is pulled (issue 13), with the
 * snapshot answer parsed and decoded in a worker thread (the default from 256 KiB) against the same
 * pull decoding in place (`snapshotOffloadBytes` = ∞), in the same run. The ByteRover stand-in serves
 * test/interop/bridge/hostile-space.ts's space (24 notes of 256 KiB + 2 of 3 MB of unclosed markdown
 * and two entries the tree cannot hold; a ~16 MB answer) from its own process, so encoding it is not
 * on the measured loop. Each round pulls the space into a fresh LocalMemory (all notes added and
 * indexed) once per mode, alternating which goes first; the figure is the longest gap between 1 ms
 * timer ticks during the pull, median over rounds, and the ratio worker / in place (lower is better).
 *
 *   node --import tsx bench/pull-stall.ts [--rounds 5]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createByteRoverClient } from '../lib/byterover/index.js';
import { createHttpClient } from '../lib/http/index.js';
import { createLogger } from '../lib/log/index.js';
import { LocalMemory } from '../lib/memory/index.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const rounds = arg('rounds', 5);
const silent = createLogger({ level: 'silent' });
const here = fileURLToPath(new URL('.', import.meta.url));

const child = spawn(process.execPath, ['--import', 'tsx', join(here, '../test/interop/bridge/hostile-space.ts')], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
const ready = JSON.parse(String((await lines.next()).value)) as {
  clientConfig: Record<string, string>;
  sessionKey: string;
  teamId: string;
  spaceId: string;
};
const http = createHttpClient({ logger: silent });

/** The longest stall (ms) of one pull of the whole space into a fresh tree. */
async function pullOnce(offloadBytes: number): Promise<{ stall: number; ms: number; added: number }> {
  const client = createByteRoverClient({
    http,
    session: { sessionKey: async () => ready.sessionKey },
    config: ready.clientConfig,
    logger: silent,
    snapshotOffloadBytes: offloadBytes,
  });
  const project = mkdtempSync(join(tmpdir(), 'claw-pull-stall-'));
  const memory = await LocalMemory.open({ projectRoot: project, watch: false, logger: silent });
  try {
    const sync = memory.sync(client, { teamId: ready.teamId, spaceId: ready.spaceId });
    let last = performance.now();
    let stall = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      stall = Math.max(stall, now - last);
      last = now;
    }, 1);
    const t0 = performance.now();
    const r = await sync.pull();
    const ms = performance.now() - t0;
    clearInterval(timer);
    stall = Math.max(stall, performance.now() - last);
    return { stall, ms, added: r.added.length };
  } finally {
    await memory.close();
    rmSync(project, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const worker: number[] = [];
const inPlace: number[] = [];
const wall: { worker: number[]; inPlace: number[] } = { worker: [], inPlace: [] };
for (let i = 0; i < rounds; i++) {
  const order = i % 2 === 0 ? (['worker', 'inPlace'] as const) : (['inPlace', 'worker'] as const);
  for (const mode of order) {
    const r = await pullOnce(mode === 'worker' ? 256 * 1024 : Number.MAX_SAFE_INTEGER);
    if (r.added !== 27) throw new Error(`expected 27 notes added, found ${r.added}`);
    (mode === 'worker' ? worker : inPlace).push(r.stall);
    wall[mode].push(r.ms);
  }
}
const w = median(worker);
const p = median(inPlace);
console.log(
  `pull-stall: longest event-loop stall during a ~16 MB hostile-space pull (median of ${rounds}): ` +
    `worker ${w.toFixed(1)} ms, in place ${p.toFixed(1)} ms, ratio ${(w / p).toFixed(2)} (lower is better); ` +
    `pull wall time worker ${median(wall.worker).toFixed(0)} ms, in place ${median(wall.inPlace).toFixed(0)} ms`,
);
child.stdin.end();
await http.close();
