/**
 * Shared set-up for the agent link tests: temp data dirs, a LocalMemory over a copy of the fixture
 * tree, links that record their waits instead of sleeping them, and a logger captured in memory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { AgentLink, type AgentLinkOptions } from '../../../lib/agent/index.js';
import { createLogger, type Logger } from '../../../lib/log/index.js';
import { LocalMemory } from '../../../lib/memory/index.js';
import { tempProject } from '../memory/helpers.js';
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

export async function fixtureMemory(): Promise<{ memory: LocalMemory; tree: string }> {
  const { project, tree } = await tempProject(true);
  const memory = await LocalMemory.open({ projectRoot: project, watch: false });
  onCleanup(() => memory.close());
  return { memory, tree };
}

/** A logger writing JSON lines into `lines` (at trace: everything the link logs). */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ level: 'trace', destination: { write: (s: string) => lines.push(s) } as never }), lines };
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
  const memory = o.memory || o.commands ? undefined : (await fixtureMemory()).memory;
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
