/**
 * Per-agent memory scoping: by default one memory per agent workspace; with `agents` in the plugin
 * config, an OpenClaw agent id maps to its own project (or tree, or v4 space), and a turn of agent A
 * never recalls agent B's memory — whether the agent comes from the session key (`agent:<id>:…`),
 * the engine factory's agentDir, or a tool's context. Real trees on disk, the minisearch engine.
 */
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentOfDir, agentOfSessionKey, createContextEngine } from '../../../lib/openclaw/engine.js';
import type { AgentMessage } from '../../../lib/openclaw/host.js';
import { createTools } from '../../../lib/openclaw/tools.js';
import { engines, testRuntime } from './helpers.js';

const minisearch = (await engines()).find((e) => e.name === 'minisearch')?.factory;
if (!minisearch) throw new Error('minisearch engine missing');

const A_FACT = 'Agent Alpha ships the falcon pipeline on Wednesdays';
const B_FACT = 'Agent Beta keeps the falcon pipeline frozen until Friday';
const PROMPT = 'When does the falcon pipeline ship?';

async function project(name: string, fact: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `claw-scope-${name}-`));
  await mkdir(join(dir, '.brv', 'context-tree', 'release'), { recursive: true });
  await writeFile(join(dir, '.brv', 'context-tree', 'release', 'falcon.md'), `# Falcon pipeline\n\n${fact}.\n`);
  return dir;
}

const user = (text: string): AgentMessage => ({ role: 'user', content: [{ type: 'text', text }] });

describe('agent ids', () => {
  it('come from session keys and agent directories', () => {
    expect(agentOfSessionKey('agent:ops:incident-42')).toBe('ops');
    expect(agentOfSessionKey('main')).toBeUndefined();
    expect(agentOfSessionKey(undefined)).toBeUndefined();
    expect(agentOfDir('/home/u/.openclaw/agents/research/agent')).toBe('research');
    expect(agentOfDir('/srv/workspace')).toBeUndefined();
  });
});

describe('one memory per workspace (default)', () => {
  it("an engine for workspace A recalls A's notes, never B's", async () => {
    const a = await project('a', A_FACT);
    const b = await project('b', B_FACT);
    const { rt } = await testRuntime({ index: minisearch, withFixture: false, config: { projectDir: undefined } });
    const engA = createContextEngine({ runtime: rt, workspaceDir: a });
    const engB = createContextEngine({ runtime: rt, workspaceDir: b });
    const ra = (await engA.assemble({ sessionId: 's', messages: [user(PROMPT)], prompt: PROMPT })).systemPromptAddition;
    const rb = (await engB.assemble({ sessionId: 's', messages: [user(PROMPT)], prompt: PROMPT })).systemPromptAddition;
    expect(ra).toContain(A_FACT);
    expect(ra).not.toContain(B_FACT);
    expect(rb).toContain(B_FACT);
    expect(rb).not.toContain(A_FACT);
  });
});

describe('agents mapped to their own memory', () => {
  it('one shared workspace, two agents scoped apart: recall and curate stay in each agent’s tree', async () => {
    const shared = await mkdtemp(join(tmpdir(), 'claw-scope-shared-'));
    const a = await project('a', A_FACT);
    const b = await project('b', B_FACT);
    const { rt } = await testRuntime({
      index: minisearch,
      withFixture: false,
      config: { projectDir: undefined, agents: { alpha: { projectDir: a }, beta: { projectDir: b } } },
    });
    // one engine instance for the workspace (as OpenClaw creates it); the agent comes from the session key
    const engine = createContextEngine({ runtime: rt, workspaceDir: shared });
    const turn = async (sessionKey: string) =>
      (await engine.assemble({ sessionId: 's', sessionKey, messages: [user(PROMPT)], prompt: PROMPT }))
        .systemPromptAddition ?? '';
    const alpha = await turn('agent:alpha:main');
    const beta = await turn('agent:beta:main');
    expect(alpha).toContain(A_FACT);
    expect(alpha).not.toContain(B_FACT);
    expect(beta).toContain(B_FACT);
    expect(beta).not.toContain(A_FACT);
    // an agent not listed: the top-level location (the workspace), which has no tree: nothing
    expect(await turn('agent:gamma:main')).toBe('');

    // the factory's agentDir scopes an engine whose sessions carry no agent key
    const fromDir = createContextEngine({
      runtime: rt,
      workspaceDir: shared,
      agentDir: '/x/.openclaw/agents/beta/agent',
    });
    const viaDir =
      (await fromDir.assemble({ sessionId: 's', messages: [user(PROMPT)], prompt: PROMPT })).systemPromptAddition ?? '';
    expect(viaDir).toContain(B_FACT);
    expect(viaDir).not.toContain(A_FACT);

    // tools: a curate by agent beta lands in beta's tree only; its search does not see alpha's notes
    const betaTools = createTools(rt, { workspaceDir: shared, agentId: 'beta' });
    const curate = betaTools.find((t) => t.name === 'byterover_curate')!;
    await curate.execute('c1', { title: 'Beta on-call', content: 'Beta on-call rotates every Thursday at noon.' });
    expect(await readdir(join(b, '.brv', 'context-tree'))).toContain('beta-on-call.md');
    expect(await readdir(join(a, '.brv', 'context-tree'))).not.toContain('beta-on-call.md');
    const search = createTools(rt, { workspaceDir: shared, agentId: 'alpha' }).find(
      (t) => t.name === 'byterover_search',
    )!;
    const found = JSON.stringify(await search.execute('s1', { query: 'Beta on-call Thursday' }));
    expect(found).not.toContain('beta-on-call.md');
  });
});
