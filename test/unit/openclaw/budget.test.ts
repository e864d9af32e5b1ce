/**
 * Budgets and degradation of the context engine (lib/openclaw/engine.ts), over the fixture tree and
 * the minisearch engine:
 * - the addition's ceiling: configured `recall.maxTokens`, else sized from the model's context window
 *   OpenClaw passes as `tokenBudget`; the addition never exceeds it, for any window;
 * - huge sessions: the query reads only the latest messages (older ones are never touched), and a
 *   100,000-message session still gets its addition;
 * - every failure path (junk messages, a runtime that throws, a hanging recall past its deadline)
 *   returns the history unchanged with no addition.
 */
import { describe, expect, it } from 'vitest';
import { estimateTokens } from '../../../lib/memory/index.js';
import {
  additionBudget,
  createContextEngine,
  DEFAULT_MAX_TOKENS,
  DEFAULT_MIN_TOKENS,
  DEFAULT_TOKENS_NO_WINDOW,
  queryOf,
  RECENT_MESSAGES,
} from '../../../lib/openclaw/engine.js';
import type { AgentMessage } from '../../../lib/openclaw/host.js';
import { engines, testRuntime } from './helpers.js';

const minisearch = (await engines()).find((e) => e.name === 'minisearch')?.factory;
if (!minisearch) throw new Error('minisearch engine missing');
const user = (text: string): AgentMessage => ({ role: 'user', content: [{ type: 'text', text }] });
const assistant = (text: string): AgentMessage => ({ role: 'assistant', content: [{ type: 'text', text }] });
const PROMPT = 'postgres index connection pooling transactions migrations deploys';

describe('addition budget', () => {
  it('is sized from the context window when maxTokens is not configured', () => {
    const share = { budgetShare: 0.1 };
    expect(additionBudget(undefined, share)).toBe(DEFAULT_TOKENS_NO_WINDOW);
    expect(additionBudget(0, share)).toBe(DEFAULT_TOKENS_NO_WINDOW);
    expect(additionBudget(8_000, share)).toBe(DEFAULT_MIN_TOKENS); // 2 % = 160, raised to the floor
    expect(additionBudget(32_000, share)).toBe(640);
    expect(additionBudget(200_000, share)).toBe(DEFAULT_MAX_TOKENS); // 4,000 capped
    expect(additionBudget(1_000_000, share)).toBe(DEFAULT_MAX_TOKENS);
    expect(additionBudget(1_500, share)).toBe(150); // never more than budgetShare of a tiny window
  });

  it('a configured maxTokens is the ceiling, still bounded by budgetShare of the window', () => {
    expect(additionBudget(undefined, { maxTokens: 5000, budgetShare: 0.1 })).toBe(5000);
    expect(additionBudget(200_000, { maxTokens: 5000, budgetShare: 0.1 })).toBe(5000);
    expect(additionBudget(8_000, { maxTokens: 5000, budgetShare: 0.1 })).toBe(800);
  });

  it('the addition never exceeds the budget, for windows from 2k to 1M tokens and both kinds of ceiling', async () => {
    for (const maxTokens of [undefined, 150, 300, 20_000]) {
      const { rt } = await testRuntime({
        index: minisearch,
        config: { recall: { ...(maxTokens ? { maxTokens } : {}), maxHits: 50 } },
      });
      const ce = createContextEngine({ runtime: rt });
      let added = 0;
      for (const tokenBudget of [undefined, 2_000, 4_000, 8_000, 32_000, 128_000, 200_000, 1_000_000]) {
        const r = await ce.assemble({ sessionId: 's', messages: [], prompt: PROMPT, tokenBudget });
        const add = r.systemPromptAddition ?? '';
        if (add) added++;
        expect(estimateTokens(add), `${maxTokens}/${tokenBudget}`).toBeLessThanOrEqual(
          additionBudget(tokenBudget, rt.config.recall),
        );
        expect(r.estimatedTokens).toBe(estimateTokens(add));
      }
      expect(added, `maxTokens ${maxTokens}`).toBeGreaterThan(0);
    }
  });
});

describe('huge sessions', () => {
  /** A session whose messages older than the recent window throw when read. */
  function guarded(n: number, tail: AgentMessage[]): AgentMessage[] {
    const base: AgentMessage[] = Array.from({ length: n }, (_, i) =>
      i % 2 ? assistant(`answer ${i}`) : user(`question ${i}`),
    );
    const all = [...base, ...tail];
    const firstAllowed = all.length - RECENT_MESSAGES;
    return new Proxy(all, {
      get(target, key, recv) {
        if (typeof key === 'string' && /^\d+$/.test(key) && Number(key) < firstAllowed)
          throw new Error(`read message ${key}: older than the recent window`);
        return Reflect.get(target, key, recv);
      },
    });
  }

  it('the query comes from the latest messages only (older history is never read)', () => {
    const tail = [user('dead-letter queue replay'), ...Array.from({ length: 10 }, (_, i) => assistant(`step ${i}`))];
    expect(queryOf({ messages: guarded(100_000, tail) })).toBe('dead-letter queue replay');
    // a user message older than the window does not become the query
    const noUser = Array.from({ length: RECENT_MESSAGES }, (_, i) => assistant(`tool output ${i}`));
    expect(queryOf({ messages: guarded(1000, noUser) })).toBe('');
    expect(queryOf({ prompt: 'blue green', messages: guarded(1000, noUser) })).toBe('blue green');
  });

  it('a 100,000-message session still gets its addition and its history back unchanged', async () => {
    const { rt } = await testRuntime({ index: minisearch });
    const ce = createContextEngine({ runtime: rt });
    const messages: AgentMessage[] = Array.from({ length: 100_000 }, (_, i) =>
      i % 2 ? assistant(`answer ${i} `.repeat(20)) : user(`question ${i} `.repeat(20)),
    );
    messages.push(user('How do database migrations avoid long locks?'));
    const r = await ce.assemble({ sessionId: 's', messages, tokenBudget: 200_000 });
    expect(r.messages).toBe(messages);
    expect(r.systemPromptAddition).toContain('(database/migrations.md)');
  });
});

describe('every failure leaves the turn intact', () => {
  it('junk messages: no throw, history returned as given', async () => {
    const { rt } = await testRuntime({ index: minisearch });
    const ce = createContextEngine({ runtime: rt });
    const junk = [
      null,
      { role: 'user', content: 42 },
      { role: 'user' },
      user('database migrations locks'),
    ] as unknown as AgentMessage[];
    const r = await ce.assemble({ sessionId: 's', messages: junk });
    expect(r.messages).toBe(junk);
    const none = await ce.assemble({
      sessionId: 's',
      messages: undefined as unknown as AgentMessage[],
      prompt: PROMPT,
    });
    expect(none.messages).toEqual([]);
  });

  it('a runtime that throws synchronously: no addition, the history unchanged, logged', async () => {
    const { rt, log } = await testRuntime({ index: minisearch });
    const ce = createContextEngine({ runtime: rt });
    rt.isReady = () => {
      throw new Error('boom in the runtime');
    };
    const messages = [user(PROMPT)];
    const r = await ce.assemble({ sessionId: 's', messages, prompt: PROMPT });
    expect(r).toEqual({ messages, estimatedTokens: estimateTokens(PROMPT) });
    expect(log.text()).toMatch(/assemble failed; this turn goes on without memory/);
  });

  it('a tree that never finishes opening: the deadline passes, no addition, the turn goes on', async () => {
    const { rt, log } = await testRuntime({ index: minisearch, config: { recall: { deadlineMs: 50 } } });
    // the open never completes: recall waits on it until the deadline
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const open = rt.memory.bind(rt);
    rt.memory = async (dir) => {
      await gate;
      return open(dir);
    };
    const ce = createContextEngine({ runtime: rt });
    const messages = [user(PROMPT)];
    const r = await ce.assemble({ sessionId: 's', messages, prompt: PROMPT, tokenBudget: 100_000 });
    expect(r.systemPromptAddition).toBeUndefined();
    expect(r.messages).toBe(messages);
    expect(log.text()).toMatch(/recall skipped for this turn/);
    release();
  });
});
