/**
 * Shared set-up for the agent link tests: temp data dirs, a LocalMemory over a copy of the fixture
 * tree, links that record their waits instead of sleeping them, and a logger captured in memory.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach } from 'vitest';
import { AgentLink, type AgentLinkOptions } from '../../../lib/agent/index.js';
import { createLogger, type Logger } from '../../../lib/log/index.js';
import { LocalMemory } from '../../../lib/memory/index.js';
import { FIXTURE_TREE, tempProject } from '../memory/helpers.js';
import { ScriptedGateway, type ScriptedGatewayOptions } from './gateway.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

export function onCleanup(fn: () => Promise<unknown>): void {
  cleanups.push(fn);
}

export async function tempDataDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'claw-agent-'));
  onCleanup(() => rm(d, { recursive: true, force: true }));
  return d;
}

export async function gateway(o: ScriptedGatewayOptions = {}): Promise<ScriptedGateway> {
  const g = await ScriptedGateway.start(o);
  onCleanup(() => g.close());
  return g;
}

let shared: Promise<{ memory: LocalMemory; project: string }> | undefined;
afterAll(async () => {
  const s = shared;
  shared = undefined;
  if (!s) return;
  const { memory, project } = await s;
  await memory.close();
  await rm(project, { recursive: true, force: true });
});

/** One read-only LocalMemory over the fixture tree for the whole test file (opening one costs ~250 ms). */
export async function sharedMemory(): Promise<LocalMemory> {
  shared ??= (async () => {
    const project = await mkdtemp(join(tmpdir(), 'claw-agent-tree-'));
    await cp(FIXTURE_TREE, join(project, '.brv', 'context-tree'), { recursive: true });
    return { memory: await LocalMemory.open({ projectRoot: project, watch: false }), project };
  })();
  return (await shared).memory;
}

/** A LocalMemory of the test's own (to write into, or to break). */
export async function fixtureMemory(): Promise<{ memory: LocalMemory; tree: string }> {
  const { project, tree } = await tempProject(true);
  const memory = await LocalMemory.open({ projectRoot: project, watch: false });
  onCleanup(() => memory.close());
  return { memory, tree };
}

/** A logger writing JSON lines into `lines` (at trace: everything the link logs). */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return {
    logger: createLogger({ level: 'trace', destination: { write: (s: string) => lines.push(s) } as never }),
    lines,
  };
}

export interface TestLink {
  link: AgentLink;
  /** Every wait the link asked for, in order. */
  waits: number[];
  logs: string[];
}

/** A link whose waits are recorded and return at once (jitter fixed by `random`). */
export async function testLink(g: ScriptedGateway, o: Partial<AgentLinkOptions> = {}): Promise<TestLink> {
  const waits: number[] = [];
  const { logger, lines } = memoryLogger();
  const memory = o.memory || o.commands ? undefined : await sharedMemory();
  const link = new AgentLink({
    url: g.url,
    dataDir: o.dataDir ?? (await tempDataDir()),
    connectTimeoutMs: 0,
    challengeTimeoutMs: 2_000,
    requestTimeoutMs: 5_000,
    logger,
    random: () => 0.5,
    sleep: async (ms) => {
      waits.push(ms);
      await new Promise((r) => setImmediate(r));
    },
    ...(memory ? { memory } : {}),
    ...o,
  });
  onCleanup(() => link.stop());
  return { link, waits, logs: lines };
}
