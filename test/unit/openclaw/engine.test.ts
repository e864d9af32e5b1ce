/**
 * The context engine over a real context tree and real recall engines (minisearch as `brv`
 * configures it, and the native index): the addition fits the budget and cites paths, the deadline
 * bounds the turn, failures degrade to no addition, after-turn curation is durable and idempotent,
 * compaction is handed to the host.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateDocs, vocabulary, writeTree } from '../../../bench/recall/generate.js';
import { estimateTokens } from '../../../lib/memory/index.js';
import {
  ADDITION_HEADER,
  additionBudget,
  createContextEngine,
  queryOf,
  withDeadline,
} from '../../../lib/openclaw/engine.js';
import type { AgentMessage, CompactParams } from '../../../lib/openclaw/host.js';
import { engines, testRuntime } from './helpers.js';

const all = await engines();
const minisearch = all.find((e) => e.name === 'minisearch')?.factory;
if (!minisearch) throw new Error('minisearch engine missing');

const user = (text: string): AgentMessage => ({ role: 'user', content: [{ type: 'text', text }] });
const assistant = (text: string): AgentMessage => ({ role: 'assistant', content: [{ type: 'text', text }] });
const history = [user('We are working on the payments service.'), assistant('Understood. What do you need?')];

for (const engine of all) {
  describe.skipIf(engine.skip !== undefined)(
    `assemble over ${engine.name}${engine.skip ? ` (${engine.skip})` : ''}`,
    () => {
      it('adds the recalled notes with their paths, within the budget, history untouched', async () => {
        const { rt } = await testRuntime({ index: engine.factory });
        const ce = createContextEngine({ runtime: rt });
        const prompt = 'How do database migrations avoid long locks?';
        const r = await ce.assemble({ sessionId: 's1', messages: history, prompt, tokenBudget: 8000 });
        expect(r.messages).toBe(history);
        const add = r.systemPromptAddition ?? '';
        expect(add.startsWith(ADDITION_HEADER)).toBe(true);
        expect(add).toContain('(database/migrations.md)');
        expect(estimateTokens(add)).toBeLessThanOrEqual(additionBudget(8000, rt.config.recall));
        const historyTokens = history.reduce(
          (n, m) => n + estimateTokens((m.content as Array<{ text: string }>)[0]?.text ?? ''),
          0,
        );
        expect(r.estimatedTokens).toBe(historyTokens + estimateTokens(add));
      });

      it('shrinks the addition with the token budget and drops it when there is no room', async () => {
        const { rt } = await testRuntime({ index: engine.factory });
        const ce = createContextEngine({ runtime: rt });
        const prompt = 'postgres index connection pooling transactions';
        let last = Infinity;
        for (const tokenBudget of [200_000, 8000, 4000, 2500]) {
          const add =
            (await ce.assemble({ sessionId: 's', messages: [], prompt, tokenBudget })).systemPromptAddition ?? '';
          const budget = additionBudget(tokenBudget, rt.config.recall);
          expect(estimateTokens(add), String(tokenBudget)).toBeLessThanOrEqual(budget);
          expect(estimateTokens(add)).toBeLessThanOrEqual(last);
          last = estimateTokens(add);
          expect(add).toMatch(/\(database\/[a-z-]+\.md\)/);
        }
        const tiny = await ce.assemble({ sessionId: 's', messages: [], prompt, tokenBudget: 500 });
        expect(tiny.systemPromptAddition).toBeUndefined();
        expect(tiny.estimatedTokens).toBe(0);
      });
    },
  );
}

describe('what assemble recalls for', () => {
  it('uses the host prompt, else the last user message; short prompts recall nothing', async () => {
    expect(queryOf({ prompt: '  blue-green   deploys ', messages: [user('ignored')] })).toBe('blue-green deploys');
    expect(queryOf({ messages: [user('first'), assistant('x'), user('dead-letter queue replay')] })).toBe(
      'dead-letter queue replay',
    );
    expect(queryOf({ prompt: 'x'.repeat(5000), messages: [] })).toHaveLength(2000);

    const { rt } = await testRuntime({ index: minisearch });
    const ce = createContextEngine({ runtime: rt });
    const fromMessages = await ce.assemble({ sessionId: 's', messages: [user('dead-letter queue replay')] });
    expect(fromMessages.systemPromptAddition).toContain('(messaging/retries-dead-letter.md)');
    const short = await ce.assemble({ sessionId: 's', messages: [user('hi')], prompt: 'ok?' });
    expect(short.systemPromptAddition).toBeUndefined();
    const nothing = await ce.assemble({ sessionId: 's', messages: [], prompt: 'zzqx vvkw plorb' });
    expect(nothing.systemPromptAddition).toBeUndefined();
  });
});

describe('the deadline', () => {
  it('withDeadline resolves timeout and aborts the work once the deadline passes', async () => {
    let seen: AbortSignal | undefined;
    const never = (signal: AbortSignal) => {
      seen = signal;
      return new Promise<string>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error)));
    };
    expect(await withDeadline(never, 20)).toEqual({ kind: 'timeout' });
    expect(seen?.aborted).toBe(true);
    expect(await withDeadline(async () => 'done', 1000)).toEqual({ kind: 'ok', value: 'done' });
    const failed = await withDeadline(async () => Promise.reject(new Error('boom')), 1000);
    expect(failed.kind).toBe('error');
  });

  it('a turn does not wait for a tree that is still being indexed, and says why', async () => {
    const { rt, log, project } = await testRuntime({
      index: minisearch,
      withFixture: false,
      config: { recall: { deadlineMs: 10 } },
    });
    const v = vocabulary(7, 2000);
    const docs = generateDocs(2000, 7, v);
    await writeTree(project, docs);
    const ce = createContextEngine({ runtime: rt });
    // The first note's title (its `# ` heading) as the prompt.
    const prompt = /^# (.+)$/m.exec(docs[0]?.text ?? '')?.[1] ?? '';
    expect(prompt.length).toBeGreaterThan(5);
    const first = await ce.assemble({ sessionId: 's', messages: [], prompt });
    // The turn went on before the tree was ready: no addition, and the reason is logged.
    expect(rt.isReady(undefined)).toBe(false);
    expect(first.systemPromptAddition).toBeUndefined();
    expect(log.text()).toMatch(
      /warn recall skipped for this turn: the context tree was still being opened and indexed .*deadlineMs=10/,
    );
    await rt.memory(undefined);
    // Once open, the same runtime recalls (a generous deadline now: without watching, a query first
    // rescans a stale 2,000-note tree, which on a loaded machine takes longer than 10 ms).
    rt.config.recall.deadlineMs = 10_000;
    const later = await createContextEngine({ runtime: rt }).assemble({ sessionId: 's', messages: [], prompt });
    expect(later.systemPromptAddition, log.text().slice(-1500)).toContain(ADDITION_HEADER);
  });
});

describe('failures never fail the turn', () => {
  it('a backend that cannot run degrades to no addition, with the code in the log', async () => {
    const { rt, log } = await testRuntime({ config: { backend: 'brv', brv: { path: '/nonexistent/brv' } } });
    const ce = createContextEngine({ runtime: rt });
    const r = await ce.assemble({ sessionId: 's', messages: history, prompt: 'database migrations and locks' });
    expect(r).toEqual({ messages: history, estimatedTokens: expect.any(Number) });
    expect(log.text()).toMatch(
      /warn recall failed; this turn goes on without memory .*error=MEMORY_BRV_NOT_FOUND reason="expected the ByteRover CLI/,
    );
  });

  it('a tree that cannot be opened degrades the same way', async () => {
    const { rt, log, project } = await testRuntime({
      index: minisearch,
      withFixture: false,
      config: { contextTree: 'tree-file' },
    });
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(project, 'tree-file'), 'not a directory');
    const r = await createContextEngine({ runtime: rt }).assemble({
      sessionId: 's',
      messages: [],
      prompt: 'anything at all here',
    });
    expect(r.systemPromptAddition).toBeUndefined();
    expect(log.text()).toMatch(/warn recall failed/);
  });
});

describe('after the turn', () => {
  const turn = [user('Remember that the ledger service owns all balance writes.'), assistant('Noted.')];

  it('commitTurn curates durable statements into the tree and the outbox, once per advancement key', async () => {
    const { rt, tree, state } = await testRuntime({ index: minisearch });
    const ce = createContextEngine({ runtime: rt });
    expect(await ce.commitTurn?.({ advancementKey: 'k1', messages: turn, sessionId: 's' })).toEqual({
      status: 'committed',
    });
    const files = await readdir(join(tree, 'openclaw'));
    expect(files).toEqual(['the-ledger-service-owns-all-balance-writes.md']);
    const text = await readFile(join(tree, 'openclaw', files[0] ?? ''), 'utf8');
    expect(text).toContain('The ledger service owns all balance writes.');
    expect(await readdir(join(state, 'outbox'))).toHaveLength(1);
    // A host retry of the same key: duplicate, nothing written.
    expect(await ce.commitTurn?.({ advancementKey: 'k1', messages: turn, sessionId: 's' })).toEqual({
      status: 'duplicate',
    });
    // The same statement in another turn: committed, but the note exists already (content-derived id).
    expect(await ce.commitTurn?.({ advancementKey: 'k2', messages: turn, sessionId: 's' })).toEqual({
      status: 'committed',
    });
    expect(await readdir(join(tree, 'openclaw'))).toHaveLength(1);
    expect(await readdir(join(state, 'outbox'))).toHaveLength(1);
    // The new note is recalled on the next turn.
    const next = await ce.assemble({ sessionId: 's', messages: [], prompt: 'who owns balance writes in the ledger?' });
    expect(next.systemPromptAddition).toContain('(openclaw/the-ledger-service-owns-all-balance-writes.md)');
    // Keys survive a new engine instance (they live in the tree's state dir).
    expect(
      await createContextEngine({ runtime: rt }).commitTurn?.({ advancementKey: 'k1', messages: turn, sessionId: 's' }),
    ).toEqual({ status: 'duplicate' });
  });

  it('afterTurn curates the turn after prePromptMessageCount on hosts without commitTurn, and stops once commitTurn is seen', async () => {
    const { rt, tree } = await testRuntime({ index: minisearch });
    const ce = createContextEngine({ runtime: rt });
    const earlier = [user('Remember that this earlier statement is not part of the turn.'), assistant('ok')];
    await ce.afterTurn?.({ sessionId: 's', messages: [...earlier, ...turn], prePromptMessageCount: earlier.length });
    expect(await readdir(join(tree, 'openclaw'))).toEqual(['the-ledger-service-owns-all-balance-writes.md']);
    await ce.commitTurn?.({ advancementKey: 'k', messages: [user('hello there')], sessionId: 's' });
    await ce.afterTurn?.({
      sessionId: 's',
      messages: [user('Remember that afterTurn is now a no-op.')],
      prePromptMessageCount: 0,
    });
    expect(await readdir(join(tree, 'openclaw'))).toHaveLength(1);
  });

  it('nothing is curated for heartbeats, when disabled, or for ordinary turns', async () => {
    const { rt, tree } = await testRuntime({ index: minisearch });
    const ce = createContextEngine({ runtime: rt });
    await ce.commitTurn?.({ advancementKey: 'h', messages: turn, sessionId: 's', isHeartbeat: true });
    await ce.commitTurn?.({
      advancementKey: 'o',
      messages: [user('What is our retry policy?'), assistant('Three attempts with jitter.')],
      sessionId: 's',
    });
    const off = await testRuntime({ index: minisearch, config: { curate: { afterTurn: false } } });
    await createContextEngine({ runtime: off.rt }).commitTurn?.({
      advancementKey: 'x',
      messages: turn,
      sessionId: 's',
    });
    for (const t of [tree, off.tree])
      await expect(readdir(join(t, 'openclaw'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a curate failure is logged and the turn still commits', async () => {
    // Backend "brv" with a missing executable can neither recall nor curate.
    const broken = await testRuntime({ config: { backend: 'brv', brv: { path: '/nonexistent/brv' } } });
    const r = await createContextEngine({ runtime: broken.rt }).commitTurn?.({
      advancementKey: 'k',
      messages: turn,
      sessionId: 's',
    });
    expect(r).toEqual({ status: 'committed' });
    expect(broken.log.text()).toMatch(
      /warn after-turn curation failed; the turn is unaffected .*error=MEMORY_BRV_NOT_FOUND/,
    );
  });
});

describe('compaction and the rest of the contract', () => {
  it('declares a non-owning engine with durable turn semantics', async () => {
    const { rt } = await testRuntime({ index: minisearch });
    const ce = createContextEngine({ runtime: rt, version: '9.9.9' });
    expect(ce.info).toEqual({
      id: 'claw-byterover',
      name: 'ByteRover memory',
      version: '9.9.9',
      ownsCompaction: false,
      transcriptSemantics: {
        currentTurnFence: 'before-current-turn-entry-v1',
        turnAdvancementIdempotency: 'atomic-idempotent-v1',
      },
    });
    expect(await ce.ingest({ sessionId: 's', message: user('x') })).toEqual({ ingested: false });
  });

  it('hands compaction to the runtime unchanged, and reports (not throws) when it cannot', async () => {
    const { rt, log } = await testRuntime({ index: minisearch });
    const seen: CompactParams[] = [];
    const params: CompactParams = { sessionId: 's', sessionKey: 'agent:main:main', tokenBudget: 1000, force: true };
    const ce = createContextEngine({
      runtime: rt,
      delegateCompaction: async (p) => (seen.push(p), { ok: true, compacted: true, result: { tokensBefore: 900 } }),
    });
    expect(await ce.compact(params)).toEqual({ ok: true, compacted: true, result: { tokensBefore: 900 } });
    expect(seen).toEqual([params]);
    const failing = createContextEngine({
      runtime: rt,
      delegateCompaction: async () => Promise.reject(new Error('host gone')),
    });
    expect(await failing.compact(params)).toEqual({
      ok: false,
      compacted: false,
      reason: expect.stringContaining('host gone'),
    });
    expect(log.text()).toContain('could not hand compaction to OpenClaw');
    // Without OpenClaw installed here, the default delegate cannot load the host SDK: a reason, not a throw.
    const hostless = await createContextEngine({ runtime: rt }).compact(params);
    expect(hostless).toMatchObject({ ok: false, compacted: false });
    expect(hostless.reason).toContain('cannot load the OpenClaw plugin SDK');
  });
});
