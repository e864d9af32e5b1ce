/**
 * After the handshake: invokes of each command answered from a LocalMemory over the fixture tree
 * (through the scripted gateway's node.invoke.request → node.invoke.result), structured errors for
 * bad input, malformed frames survived, reconnect after a drop (full-jitter waits), the tick
 * watchdog, and a terminal refusal while reconnecting.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClawError } from '../../../lib/errors.js';
import { estimateTokens } from '../../../lib/memory/index.js';
import { RECONNECT_POLICY } from '../../../lib/agent/index.js';
import { fixtureMemory, gateway, testLink } from './helpers.js';

describe('invoke → result for each command (LocalMemory over the fixture tree)', () => {
  it('byterover.search returns ranked hits from the tree', async () => {
    const g = await gateway();
    const { link } = await testLink(g);
    await link.start();
    const r = await g.invoke('byterover.search', { query: 'JWT access token expiry', k: 3 });
    expect(r.ok).toBe(true);
    const hits = (r.payload as { hits: Array<{ path: string; title: string; score: number; excerpt: string }> }).hits;
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.length).toBeLessThanOrEqual(3);
    expect(hits[0]?.path).toBe('auth/jwt-session-tokens.md');
    expect(hits[0]?.title).toBe('JWT session tokens');
    expect(r.nodeId).toBe((await link.identity()).deviceId);
  });

  it('byterover.recall returns hits and a text block within the token budget, citing paths', async () => {
    const g = await gateway();
    const { link } = await testLink(g);
    await link.start();
    const r = await g.invoke('byterover.recall', { query: 'how are database migrations run', tokenBudget: 120 });
    expect(r.ok).toBe(true);
    const p = r.payload as {
      hits: Array<{ path: string }>;
      text: string;
      tokens: number;
      dropped: number;
      trimmed: number;
    };
    expect(p.hits.length).toBeGreaterThan(0);
    expect(p.tokens).toBeLessThanOrEqual(120);
    expect(estimateTokens(p.text)).toBe(p.tokens);
    expect(p.text).toContain(`(${p.hits[0]?.path})`);
  });

  it('byterover.curate writes a note into the tree and is idempotent by id', async () => {
    const g = await gateway();
    const { memory, tree } = await fixtureMemory();
    const { link } = await testLink(g, { memory });
    await link.start();
    const params = {
      title: 'Agent link notes',
      content: 'Nodes answer node.invoke.request with node.invoke.result.',
      tags: ['agent'],
      path: 'agent/link.md',
      id: 'note-agent-1',
    };
    const first = await g.invoke('byterover.curate', params);
    expect(first).toMatchObject({
      ok: true,
      payload: { id: 'note-agent-1', path: 'agent/link.md', status: 'written' },
    });
    expect(await readFile(join(tree, 'agent', 'link.md'), 'utf8')).toContain('Nodes answer node.invoke.request');
    const again = await g.invoke('byterover.curate', params);
    expect(again).toMatchObject({ ok: true, payload: { status: 'existing' } });
    const found = await g.invoke('byterover.search', { query: 'node.invoke.result answer' });
    expect((found.payload as { hits: Array<{ path: string }> }).hits.map((h) => h.path)).toContain('agent/link.md');
  });

  it('bad params, unknown commands and broken paramsJSON are structured errors, and the link keeps serving', async () => {
    const g = await gateway();
    const { link } = await testLink(g);
    await link.start();
    const missing = await g.invoke('byterover.search', { quer: 'typo' });
    expect(missing).toMatchObject({ ok: false, error: { code: 'INVALID_PARAMS' } });
    expect(missing.error?.message).toMatch(/byterover\.search expected \{query: string.*query: .*Unrecognized key/s);
    expect(await g.invoke('byterover.recall', { query: 'x', tokenBudget: -5 })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_PARAMS' },
    });
    expect(await g.invoke('byterover.delete', {})).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_COMMAND', message: expect.stringContaining('byterover.search') },
    });
    const s = g.node();
    const raw = await g.invoke('byterover.search', undefined, {
      raw: { id: 'raw-1', nodeId: s?.deviceId, command: 'byterover.search', paramsJSON: '{"query":' },
    });
    expect(raw).toMatchObject({
      ok: false,
      error: { code: 'INVALID_PARAMS', message: expect.stringContaining('not valid JSON') },
    });
    expect(await g.invoke('byterover.search', { query: 'redis cache' })).toMatchObject({ ok: true });
  });

  it('a memory backend that fails becomes {ok:false} with its code, not a crash', async () => {
    const g = await gateway();
    const { memory } = await fixtureMemory();
    await memory.close();
    const { link } = await testLink(g, { memory });
    await link.start();
    const r = await g.invoke('byterover.search', { query: 'jwt' });
    expect(r.ok).toBe(false);
    expect(r.error?.code).toMatch(/^[A-Z_]+$/);
    expect(r.error?.message).toContain('byterover.search failed');
    expect(await g.invoke('byterover.curate', { content: 'still alive?' })).toMatchObject({ ok: false });
  });

  it('the gateway deadline (timeoutMs) cancels a slow command and answers TIMEOUT', async () => {
    const g = await gateway();
    const slow = {
      'byterover.search': (_p: unknown, signal: AbortSignal) =>
        new Promise((_r, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
      'byterover.recall': async () => ({}),
      'byterover.curate': async () => ({}),
    };
    const { link } = await testLink(g, { commands: slow });
    await link.start();
    expect(await g.invoke('byterover.search', { query: 'x' }, { timeoutMs: 100 })).toMatchObject({
      ok: false,
      error: { code: 'TIMEOUT' },
    });
  });
});

describe('malformed frames after the handshake', () => {
  it('garbage, unknown frames and an invoke without a command are survived; an invoke with an id is answered INVALID_REQUEST', async () => {
    const g = await gateway();
    const { link, logs } = await testLink(g);
    await link.start();
    g.sendRaw('this is not json');
    g.sendRaw(JSON.stringify({ type: 'event' }));
    g.sendRaw(JSON.stringify({ type: 'event', event: 'node.invoke.request', payload: { nodeId: 'x' } }));
    const s = g.node();
    const bad = await g.invoke('byterover.search', undefined, { raw: { id: 'bad-1', nodeId: s?.deviceId } });
    expect(bad).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST', message: expect.stringContaining('command') },
    });
    expect(await g.invoke('byterover.search', { query: 'jwt' })).toMatchObject({ ok: true });
    expect(link.connection?.malformedFrames).toBe(4);
    expect(link.state).toBe('connected');
    expect(logs.join('\n')).toContain('ignoring a malformed frame');
  });
});

describe('reconnect', () => {
  it('after a drop the link reconnects with a full-jitter wait and serves on the new connection', async () => {
    const g = await gateway();
    const { link, waits } = await testLink(g, { random: () => 0.5 });
    const first = await link.start();
    const events: string[] = [];
    const reconnected = new Promise<number>((resolve) => link.on('connected', (i) => resolve(i.connection)));
    link.on('disconnected', () => events.push('disconnected'));
    link.on('reconnecting', (r) => events.push(`reconnecting:${r.attempt}`));
    g.dropAll();
    expect(await reconnected).toBe(2);
    expect(events).toEqual(['disconnected', 'reconnecting:1']);
    // full jitter: random · min(cap, base · 2^0) = 0.5 · 1000
    expect(waits).toEqual([500]);
    expect(g.sessions.filter((s) => s.role === 'node')).toHaveLength(2);
    expect(link.connection?.connId).not.toBe(first.connId);
    expect(await g.invoke('byterover.search', { query: 'jwt' })).toMatchObject({ ok: true });
  });

  it('waits grow as random · min(30 s, 1 s · 2^n) while the gateway stays down, and reset after a success', async () => {
    const g = await gateway({ unavailable: { times: 0, retryAfterMs: 0 } });
    const { link, waits } = await testLink(g, { random: () => 0.999 });
    await link.start();
    g.o.unavailable = { times: 6, retryAfterMs: 0 };
    (g as unknown as { unavailableLeft: number }).unavailableLeft = 6;
    const back = new Promise<void>((resolve) => link.on('connected', () => resolve()));
    g.dropAll();
    await back;
    const expected = [0, 1, 2, 3, 4, 5, 6].map((n) =>
      Math.floor(0.999 * Math.min(RECONNECT_POLICY.maxWaitMs, RECONNECT_POLICY.baseMs * 2 ** n)),
    );
    expect(waits).toEqual(expected);
    expect(Math.max(...waits)).toBeLessThan(RECONNECT_POLICY.maxWaitMs);
    const again = new Promise<void>((resolve) => link.on('connected', () => resolve()));
    g.dropAll();
    await again;
    expect(waits.at(-1)).toBe(expected[0]);
  });

  it('a gateway that goes silent past the tick timeout is dropped (4000) and reconnected', async () => {
    const g = await gateway();
    const { link } = await testLink(g, { tickTimeoutMs: 300 });
    await link.start();
    const closes: Array<{ code: number; reason: string }> = [];
    link.on('disconnected', (c) => closes.push(c));
    const back = new Promise<number>((resolve) => link.on('connected', (i) => resolve(i.connection)));
    expect(await back).toBe(2);
    expect(closes[0]).toEqual({ code: 4000, reason: 'tick timeout' });
    await link.stop();
  });

  it('a terminal refusal while reconnecting stops the link: done resolves with it', async () => {
    const g = await gateway({ token: 'token-one-123456' });
    const { link } = await testLink(g, { token: 'token-one-123456' });
    await link.start();
    g.o.token = 'rotated-token-654321';
    g.dropAll();
    const e = await link.done;
    expect(e).toBeInstanceOf(ClawError);
    expect(e?.code).toBe('AGENT_AUTH_FAILED');
    expect(link.state).toBe('stopped');
  });

  it('stop() while waiting to reconnect ends the loop at once', async () => {
    const g = await gateway();
    const { link } = await testLink(g, {
      sleep: (_ms, signal) => new Promise((r) => signal.addEventListener('abort', () => r())),
    });
    await link.start();
    const waiting = new Promise<void>((resolve) => link.on('reconnecting', () => resolve()));
    g.dropAll();
    await waiting;
    expect(link.state).toBe('waiting');
    await link.stop();
    expect(await link.done).toBeUndefined();
    expect(link.state).toBe('stopped');
  });

  it('stop() during a handshake drops the socket at once: start() rejects AGENT_STOPPED, done is undefined', async () => {
    const g = await gateway({ noChallenge: true });
    const { link } = await testLink(g, { challengeTimeoutMs: 120_000, connectTimeoutMs: 120_000 });
    const started = link.start().catch((e: unknown) => e);
    await new Promise<void>((resolve) => g.wss.once('connection', () => resolve()));
    await link.stop();
    expect(await started).toMatchObject({ code: 'AGENT_STOPPED' });
    expect(await link.done).toBeUndefined();
  });
});
