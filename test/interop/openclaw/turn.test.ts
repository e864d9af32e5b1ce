/**
 * Real agent turns: the pinned OpenClaw gateway (Node 24, isolated home, env.ts) whose default model
 * is the stand-in OpenAI-compatible server (test/standin/openai.ts: streaming chat completions,
 * every request recorded, scripted tool calls), with the plugin installed as users install it
 * (`claw-byterover-openclaw`, npm-pack, pack.ts). Each turn is `openclaw agent --session-id … --message …`
 * against the running gateway. Tool search is off (`tools.toolSearch: false`) so the model sees the
 * plugin's tools directly.
 *
 * Proves, reading what the model was actually sent:
 * (a) a planted note's text reaches the model's request in the turn that needs it — and not in the
 *     same turn with the plugin disabled (control run, the built-in `legacy` engine);
 * (b) when the model calls `byterover_curate`, the note is written into the tree;
 * (c) the next turn (a new session) recalls it;
 * (d) in tools-only mode nothing is injected (the tools are still offered);
 * (e) a recall past its deadline (backend `brv` pointed at an executable that never answers) adds
 *     nothing and the turn still completes, with the reason in the gateway log;
 * and OpenClaw's own `memory_search` / `memory_get` (POST /tools/invoke) find the planted note
 * through the corpus supplement, with our path.
 * Prints the wall time of the same turn with the plugin and with it disabled (median of 3), their
 * ratio, and MaxListenersExceededWarning counts of each gateway.
 */
import { chmod, cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools } from '../../helpers/tools.js';
import {
  contentText,
  startOpenAIStandin,
  systemText,
  type ChatRequest,
  type OpenAIStandin,
} from '../../standin/openai.js';
import { ensureOpenClaw, type Gateway, type OpenClawEnv } from './env.js';
import { packPlugin, type PackedPlugin } from './pack.js';

const PLUGIN = 'claw-byterover';
const FIXTURE_TREE = join(import.meta.dirname, '..', '..', 'fixtures', 'context-tree');
const PLANTED = 'The zebra migration lock budget is 7 seconds per table (runbook ZX-4417).';
const RECALL_PROMPT = 'What is the zebra migration lock budget per table?';
const CURATED = 'The quokka service deploys only on Tuesdays at 09:30 UTC (change ticket QK-9921).';
const CURATE_PROMPT = 'REMEMBER-QK: please remember the quokka deploy window.';
const RECALL_CURATED_PROMPT = 'When does the quokka service deploy?';
const ADDITION_MARK = "Notes recalled from the project's ByteRover context tree";
/** The test runner's markers, removed from OpenClaw children (see agent.test.ts). */
const NOT_UNDER_TEST: NodeJS.ProcessEnv = {
  VITEST: undefined,
  VITEST_MODE: undefined,
  VITEST_POOL_ID: undefined,
  VITEST_WORKER_ID: undefined,
  TEST: undefined,
  NODE_ENV: undefined,
};

const skip = missingTools(['npm', 'g++', 'make', 'python3', 'tar'], 'apt-get install -y build-essential python3');

interface Turn {
  code: number | null;
  ms: number;
  requests: ChatRequest[];
  stdout: string;
  stderr: string;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const allText = (reqs: ChatRequest[]) => reqs.map((r) => JSON.stringify(r.messages)).join('\n');

describe.skipIf(skip)('a real agent turn with the plugin (real OpenClaw gateway, stand-in model)', () => {
  let oc: OpenClawEnv;
  let packed: PackedPlugin;
  let model: OpenAIStandin;
  let project = '';
  let gw: Gateway | undefined;
  const warnings: Record<string, number> = {};
  const timings: Record<string, number[]> = { plugin: [], control: [] };

  const configure = async (plugin: { enabled: boolean; config: Record<string, unknown>; slot: string }) => {
    const cfg = (await oc.readConfig()) as Record<string, any>;
    cfg.models = {
      providers: {
        standin: {
          baseUrl: model.baseUrl,
          apiKey: model.apiKey,
          api: 'openai-completions',
          models: [
            {
              id: 'standin-model',
              name: 'Stand-in',
              reasoning: false,
              input: ['text'],
              cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
              contextWindow: 128_000,
              maxTokens: 4096,
            },
          ],
        },
      },
    };
    cfg.agents = { defaults: { model: { primary: 'standin/standin-model' }, workspace: project } };
    cfg.tools = { ...cfg.tools, toolSearch: false };
    cfg.plugins.entries[PLUGIN] = { ...cfg.plugins.entries[PLUGIN], enabled: plugin.enabled, config: plugin.config };
    cfg.plugins.slots = { ...cfg.plugins.slots, contextEngine: plugin.slot };
    await oc.writeConfig(cfg);
  };

  const startGateway = async (phase: string) => {
    await gw?.stop();
    gw = await oc.startGateway({ env: { NODE_OPTIONS: '--trace-warnings' } });
    warnings[phase] = 0;
    return gw;
  };
  const stopGateway = async (phase: string) => {
    if (!gw) return;
    warnings[phase] = (gw.output().match(/MaxListenersExceededWarning/g) ?? []).length;
    await gw.stop();
  };

  const turn = async (sessionId: string, message: string): Promise<Turn> => {
    const g = gw!;
    const before = model.requests.length;
    const started = performance.now();
    const r = await oc.run(['agent', '--session-id', sessionId, '--message', message, '--json', '--timeout', '300'], {
      timeoutMs: 400_000,
      env: { ...NOT_UNDER_TEST, OPENCLAW_GATEWAY_PORT: String(g.port), OPENCLAW_GATEWAY_TOKEN: g.token },
    });
    const ms = performance.now() - started;
    return {
      code: r.code,
      ms,
      requests: model.requests.slice(before).map((q) => q.body),
      stdout: r.stdout,
      stderr: r.stderr,
    };
  };
  const mustTurn = async (sessionId: string, message: string): Promise<Turn> => {
    const t = await turn(sessionId, message);
    if (t.code !== 0 || t.requests.length === 0)
      throw new Error(
        `openclaw agent exited ${t.code} with ${t.requests.length} model request(s)\n--- stdout\n${t.stdout.slice(-3000)}\n--- stderr\n${t.stderr.slice(-3000)}\n--- gateway\n${gw?.output().slice(-4000)}`,
      );
    return t;
  };

  const invoke = async (tool: string, args: Record<string, unknown>) => {
    const res = await fetch(`${gw!.url}/tools/invoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw!.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tool, args }),
    });
    return { status: res.status, text: await res.text() };
  };

  beforeAll(async () => {
    oc = await ensureOpenClaw();
    packed = await packPlugin();
    model = await startOpenAIStandin({
      respond: (req) => {
        // The curate turn: call the tool once, then answer after its result. (OpenClaw appends its
        // own internal-context user message after the prompt, so look for the prompt anywhere.)
        const asked = req.messages.findIndex((m) => m.role === 'user' && contentText(m).includes('REMEMBER-QK'));
        const answered = asked >= 0 && req.messages.slice(asked).some((m) => m.role === 'tool');
        if (asked >= 0 && !answered)
          return {
            toolCalls: [{ name: 'byterover_curate', arguments: { title: 'Quokka deploy window', content: CURATED } }],
          };
        return { content: 'Noted.' };
      },
    });
    project = await mkdtemp(join(tmpdir(), 'claw-openclaw-turn-'));
    await cp(FIXTURE_TREE, join(project, '.brv', 'context-tree'), { recursive: true });
    await writeFile(
      join(project, '.brv', 'context-tree', 'database', 'zebra-lock-budget.md'),
      `# Zebra migration lock budget\n\n${PLANTED}\n`,
    );
    await oc.mustRun(['plugins', 'install', `npm-pack:${packed.tarball}`, '--force', '--accept-capabilities'], {
      timeoutMs: 900_000,
    });
  }, 1_800_000);

  afterAll(async () => {
    await gw?.stop();
    await oc?.cleanup();
    packed?.cleanup();
    await model?.close();
    if (project) await rm(project, { recursive: true, force: true });
    const p = median(timings.plugin ?? []);
    const c = median(timings.control ?? []);
    process.stderr.write(
      `\nturn wall time (openclaw agent through the gateway, median of ${timings.plugin?.length}): with the plugin ${(p / 1000).toFixed(2)} s, plugin disabled ${(c / 1000).toFixed(2)} s, ratio ${(p / c).toFixed(2)}× (target ≤ 1.3×)\n` +
        `MaxListenersExceededWarning per gateway: ${JSON.stringify(warnings)}\n`,
    );
  }, 120_000);

  it('(a) recalls a planted note into the model request; (b) curate writes; (c) the next turn recalls it; memory_search/memory_get find the tree', async () => {
    await configure({
      enabled: true,
      slot: PLUGIN,
      config: { projectDir: project, recall: { deadlineMs: 5000 }, logLevel: 'debug' },
    });
    await startGateway('plugin');

    const a = await mustTurn('turn-recall', RECALL_PROMPT);
    const sys = systemText(a.requests[0]!);
    expect(sys).toContain(ADDITION_MARK);
    expect(sys).toContain(PLANTED);
    expect(sys).toContain('(database/zebra-lock-budget.md)');

    const b = await mustTurn('turn-curate', CURATE_PROMPT);
    expect(b.requests.length).toBeGreaterThanOrEqual(2); // the tool call, then the answer after its result
    expect(b.requests[0]!.tools?.map((t) => t.function.name)).toContain('byterover_curate');
    const toolResult = b.requests[1]!.messages.find((m) => m.role === 'tool');
    expect(contentText(toolResult)).toMatch(/Saved the note at quokka-deploy-window\.md/);
    const written = await readFile(join(project, '.brv', 'context-tree', 'quokka-deploy-window.md'), 'utf8');
    expect(written).toContain(CURATED);

    const c = await mustTurn('turn-recall-curated', RECALL_CURATED_PROMPT);
    expect(systemText(c.requests[0]!)).toContain(CURATED);

    const search = await invoke('memory_search', { query: 'zebra migration lock budget', corpus: 'all' });
    expect(search.status, search.text).toBe(200);
    expect(search.text).toContain('database/zebra-lock-budget.md');
    expect(search.text).toContain('byterover');
    const get = await invoke('memory_get', { path: 'database/zebra-lock-budget.md', corpus: 'wiki' });
    expect(get.status, get.text).toBe(200);
    expect(get.text).toContain('ZX-4417');

    for (let i = 0; i < 3; i++) timings.plugin!.push((await mustTurn(`timed-plugin-${i}`, RECALL_PROMPT)).ms);
    await stopGateway('plugin');
  });

  it('control: with the plugin disabled the same turn carries no memory', async () => {
    await configure({ enabled: false, slot: 'legacy', config: { projectDir: project } });
    await startGateway('control');
    const a = await mustTurn('control-recall', RECALL_PROMPT);
    expect(allText(a.requests)).not.toContain('ZX-4417');
    expect(allText(a.requests)).not.toContain(ADDITION_MARK);
    for (let i = 0; i < 3; i++) timings.control!.push((await mustTurn(`timed-control-${i}`, RECALL_PROMPT)).ms);
    await stopGateway('control');
  });

  it('(d) tools-only mode: the tools are offered, nothing is injected', async () => {
    await configure({ enabled: true, slot: 'legacy', config: { projectDir: project, mode: 'tools-only' } });
    await startGateway('tools-only');
    const d = await mustTurn('tools-only-recall', RECALL_PROMPT);
    expect(d.requests[0]!.tools?.map((t) => t.function.name)).toContain('byterover_search');
    expect(allText(d.requests)).not.toContain('ZX-4417');
    expect(allText(d.requests)).not.toContain(ADDITION_MARK);
    await stopGateway('tools-only');
  });

  it('(e) a recall past its deadline adds nothing and the turn completes', async () => {
    // A recall engine that never answers: backend brv pointed at an executable that sleeps.
    const hang = join(project, 'brv-that-hangs');
    await writeFile(hang, '#!/bin/sh\nexec sleep 600\n');
    await chmod(hang, 0o755);
    await configure({
      enabled: true,
      slot: PLUGIN,
      config: { projectDir: project, backend: 'brv', brv: { path: hang }, recall: { deadlineMs: 300 } },
    });
    const g = await startGateway('deadline');
    const e = await mustTurn('deadline-recall', RECALL_PROMPT);
    expect(e.code).toBe(0);
    expect(allText(e.requests)).not.toContain(ADDITION_MARK);
    expect(g.output()).toMatch(
      /recall skipped for this turn: (recall was slower than the deadline|the context tree was still being opened)/,
    );
    await stopGateway('deadline');
    expect(await readdir(join(project, '.brv', 'context-tree'))).toContain('quokka-deploy-window.md');
  });
});
