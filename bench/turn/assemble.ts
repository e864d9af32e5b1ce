/**
 * `assemble` against session size: `node --import tsx bench/turn/assemble.ts`.
 *
 * The context engine (lib/openclaw/engine.ts) over the native recall index and the fixture context
 * tree (test/fixtures/context-tree), with sessions of 10, 1,000, 10,000 and 100,000 prior messages
 * (alternating user/assistant text parts of ~400 characters, plus tool results). 300 assembles per
 * size after a warm-up; prints median and p99 per size and the ratio of each to the 10-message
 * session (the baseline measured in the same run). A flat ratio means assemble does not grow with the
 * session: the query is built from the recent turns only.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../lib/log/index.js';
import { loadNativeRecall } from '../../lib/memory/index.js';
import { parsePluginConfig } from '../../lib/openclaw/config.js';
import { createContextEngine } from '../../lib/openclaw/engine.js';
import type { AgentMessage } from '../../lib/openclaw/host.js';
import { PluginRuntime } from '../../lib/openclaw/runtime.js';

const SIZES = [10, 1000, 10_000, 100_000];
const RUNS = 300;
const PROMPTS = [
  'How do we handle JWT token expiry and refresh in the auth service?',
  'What did we decide about the database migration rollback procedure?',
  'Where is the rate limiting configured for the public API?',
  'How are deploys rolled out, and when is the freeze?',
];

const native = await loadNativeRecall();
if (!native.factory) {
  console.error(`native recall engine unavailable: ${native.reason}`);
  process.exit(1);
}
const project = await mkdtemp(join(tmpdir(), 'claw-bench-assemble-'));
await cp(
  join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'context-tree'),
  join(project, '.brv', 'context-tree'),
  {
    recursive: true,
  },
);
const runtime = new PluginRuntime({
  config: parsePluginConfig({ projectDir: project, recall: { deadlineMs: 5000 } }),
  logger: createLogger({ level: 'silent' }),
  watch: false,
});
const engine = createContextEngine({ runtime, warm: true });
await runtime.memory(undefined);

function session(n: number): AgentMessage[] {
  const filler = 'We reviewed the release checklist, the incident notes and the open questions about caching. '.repeat(
    4,
  );
  const out: AgentMessage[] = [];
  for (let i = 0; i < n; i++) {
    const role = i % 3 === 0 ? 'user' : i % 3 === 1 ? 'assistant' : 'toolResult';
    out.push({ role, content: [{ type: 'text', text: `${i}: ${filler}` }] } as AgentMessage);
  }
  return out;
}

const q = (s: number[], p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] ?? NaN;
const rows: Array<{ messages: number; median: number; p99: number }> = [];
for (const n of SIZES) {
  const history = session(n);
  const times: number[] = [];
  for (let i = 0; i < RUNS + 20; i++) {
    const prompt = PROMPTS[i % PROMPTS.length]!;
    const messages = [...history, { role: 'user', content: [{ type: 'text', text: prompt }] } as AgentMessage];
    const t = performance.now();
    const r = await engine.assemble({ sessionId: 's', messages, tokenBudget: 128_000, prompt });
    const dt = performance.now() - t;
    if (!r.systemPromptAddition) throw new Error(`no addition for "${prompt}" at ${n} messages`);
    if (i >= 20) times.push(dt);
  }
  times.sort((a, b) => a - b);
  rows.push({ messages: n, median: q(times, 0.5), p99: q(times, 0.99) });
}
const base = rows[0]!;
console.log('\nassemble (native recall, fixture tree, 128k-token window) against session length');
console.table(
  rows.map((r) => ({
    'prior messages': r.messages,
    'median ms': r.median.toFixed(3),
    'p99 ms': r.p99.toFixed(3),
    'median / 10-message session': (r.median / base.median).toFixed(2),
    'p99 / 10-message session': (r.p99 / base.p99).toFixed(2),
  })),
);
await runtime.close();
await rm(project, { recursive: true, force: true });
