/**
 * The stand-in OpenAI-compatible server (test/standin/openai.ts) against the chat-completions
 * contract: JSON completions, server-sent-event streams whose deltas reassemble into the same text
 * and tool calls, the usage chunk, OpenAI-shaped errors, and request recording.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIStandin, systemText, type OpenAIStandin } from '../../standin/openai.js';

let s: OpenAIStandin;
beforeAll(async () => {
  s = await startOpenAIStandin({
    respond: (req) =>
      JSON.stringify(req.messages).includes('use a tool')
        ? { toolCalls: [{ name: 'lookup', arguments: { q: 'zebra lock budget', n: 3 } }] }
        : { content: 'A reply long enough to be split into several stream deltas.' },
  });
});
afterAll(() => s.close());

const post = (body: unknown, key = s.apiKey) =>
  fetch(`${s.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

async function sse(res: Response): Promise<Array<Record<string, any>>> {
  const text = await res.text();
  const events = text.split('\n\n').filter(Boolean);
  expect(events.at(-1)).toBe('data: [DONE]');
  return events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, '')) as Record<string, any>);
}

describe('OpenAI stand-in', () => {
  it('answers a JSON completion and records the request', async () => {
    const before = s.requests.length;
    const res = await post({
      model: 'standin-model',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi' },
      ],
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.object).toBe('chat.completion');
    expect(body.choices[0]).toMatchObject({ finish_reason: 'stop', message: { role: 'assistant' } });
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
    await s.waitFor(before + 1);
    expect(systemText(s.requests[before]!.body)).toBe('be brief');
  });

  it('streams content deltas that reassemble into the reply, then finish_reason, usage and [DONE]', async () => {
    const res = await post({
      model: 'standin-model',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const chunks = await sse(res);
    expect(chunks[0]!.choices[0].delta.role).toBe('assistant');
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    expect(text).toBe('A reply long enough to be split into several stream deltas.');
    expect(chunks.filter((c) => c.choices[0]?.delta?.content).length).toBeGreaterThan(1);
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('stop');
    expect(chunks.at(-1)!.usage.total_tokens).toBeGreaterThan(0);
  });

  it('streams a tool call whose argument pieces reassemble into the JSON arguments', async () => {
    const res = await post({
      model: 'standin-model',
      stream: true,
      messages: [{ role: 'user', content: 'use a tool' }],
    });
    const chunks = await sse(res);
    const calls = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
    expect(calls[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'lookup' } });
    expect(calls[0].id).toMatch(/^call_/);
    expect(JSON.parse(calls.map((t: any) => t.function.arguments ?? '').join(''))).toEqual({
      q: 'zebra lock budget',
      n: 3,
    });
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('tool_calls');
  });

  it('answers errors in OpenAI shape: 401 bad key, 400 bad body, 404 unknown model or path; lists models', async () => {
    expect((await post({ model: 'standin-model', messages: [] }, 'wrong')).status).toBe(401);
    const bad = await post('{not json');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.type).toBe('invalid_request_error');
    expect((await post({ model: 'standin-model' })).status).toBe(400);
    const missing = await post({ model: 'gpt-nope', messages: [] });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error.code).toBe('model_not_found');
    const models = await fetch(`${s.baseUrl}/models`, { headers: { authorization: `Bearer ${s.apiKey}` } });
    expect(((await models.json()) as any).data.map((m: any) => m.id)).toEqual(['standin-model']);
    const nowhere = await fetch(`${s.url}/v2/else`, { headers: { authorization: `Bearer ${s.apiKey}` } });
    expect(nowhere.status).toBe(404);
  });
});
