/**
 * The transport's resilience against real node:http servers on loopback: Retry-After (both forms,
 * waited in full, never past the deadline), the retry budget bound under a failing upstream,
 * idempotency (POST never retried without a key, the same key on every attempt), per-attempt
 * timeout, caller abort (mid-attempt and mid-wait), the deadline, 5xx bursts and network errors.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { isClawError, type ClawError } from '../../../lib/errors.js';
import { RetryBudget } from '../../../lib/http/index.js';
import { closedPort, failWith, fixtures, lateAfter, send } from './server.js';

const { server, client } = fixtures();

describe('Retry-After', () => {
  it('waits a Retry-After of 2 s in full before the second attempt', async () => {
    const s = await server((_req, res, seen) => {
      if (seen.n === 1) send(res, 503, { code: 'UNAVAILABLE' }, { 'retry-after': '2' });
      else send(res, 200, { ok: true });
    });
    const res = await client().request({ method: 'GET', url: `${s.origin}/thing` });
    expect(res.status).toBe(200);
    expect(res.attempts).toBe(2);
    expect(s.seen).toHaveLength(2);
    // Correctness of the wait (not a speed figure): the server asked for 2 s, it got at least 2 s.
    expect(s.seen[1]!.at - s.seen[0]!.at).toBeGreaterThanOrEqual(2000);
  });

  it('honours the HTTP-date form: no retry before the date', async () => {
    let until = 0;
    const s = await server((_req, res, seen) => {
      if (seen.n === 1) {
        // HTTP-dates have 1 s resolution: name a whole second at least 1 s away.
        until = (Math.floor(Date.now() / 1000) + 2) * 1000;
        send(res, 429, { code: 'TooManyRequests' }, { 'retry-after': new Date(until).toUTCString() });
      } else send(res, 200, { ok: true });
    });
    const res = await client().request({ method: 'GET', url: `${s.origin}/dated` });
    expect(res.status).toBe(200);
    expect(s.seen).toHaveLength(2);
    expect(s.seen[1]!.at).toBeGreaterThanOrEqual(until);
  });

  it('never truncates Retry-After to the per-wait cap', async () => {
    const s = await server((_req, res, seen) =>
      seen.n === 1 ? send(res, 503, '', { 'retry-after': '1' }) : send(res, 200, {}),
    );
    const res = await client({ retry: { maxWaitMs: 100 } }).request({ method: 'GET', url: s.origin });
    expect(res.attempts).toBe(2);
    expect(s.seen[1]!.at - s.seen[0]!.at).toBeGreaterThanOrEqual(1000);
  });

  it('fails fast with HTTP_RETRY_AFTER_EXCEEDS_DEADLINE when Retry-After is beyond the deadline', async () => {
    const s = await server((_req, res) =>
      send(res, 503, { code: 'MAINTENANCE' }, { 'retry-after': '30', 'x-request-id': 'rid-maint' }),
    );
    const call = client().request({ method: 'GET', url: `${s.origin}/busy`, deadlineMs: 5000 });
    // Not waiting: the rejection comes long before even the 5 s deadline, let alone 30 s.
    const first = await Promise.race([
      call.then(
        () => 'resolved' as const,
        (e: unknown) => e,
      ),
      lateAfter(4000),
    ]);
    expect(first).not.toBe('late');
    expect(isClawError(first, 'HTTP_RETRY_AFTER_EXCEEDS_DEADLINE')).toBe(true);
    const e = first as ClawError;
    expect(e.message).toContain('"30"');
    expect(e.message).toMatch(/only [\d.]+ s left/);
    expect(e.hint).toBeTruthy();
    expect(e.details).toMatchObject({
      status: 503,
      retryAfter: '30',
      retryAfterMs: 30_000,
      requestId: 'rid-maint',
      attempts: 1,
    });
    expect((e.details as { remainingMs: number }).remainingMs).toBeLessThanOrEqual(5000);
    expect(s.seen).toHaveLength(1);
  });

  it('also applies the deadline check to an HTTP-date Retry-After', async () => {
    const s = await server((_req, res) =>
      send(res, 429, '', { 'retry-after': new Date(Date.now() + 3_600_000).toUTCString() }),
    );
    const e = await failWith(client().request({ method: 'GET', url: `${s.origin}/x`, deadlineMs: 10_000 }));
    expect(e.code).toBe('HTTP_RETRY_AFTER_EXCEEDS_DEADLINE');
    expect(s.seen).toHaveLength(1);
  });
});

describe('retry budget', () => {
  it('bounds total attempts across 1,000 calls to a fully failing upstream', async () => {
    const s = await server((_req, res) => send(res, 500, { code: 'INTERNAL' }));
    const budget = new RetryBudget(); // capacity 500, retry cost 5
    const c = client({ budget, retry: { baseMs: 2 } });
    const calls = 1000;
    const statuses = await Promise.all(
      Array.from({ length: calls }, (_, i) =>
        c.request({ method: 'GET', url: `${s.origin}/down/${i}` }).then((r) => r.status),
      ),
    );
    // With no success to refill it, the bucket pays for at most capacity / retryCost retries.
    const bound = calls + Math.floor(budget.capacity / budget.retryCost);
    expect(bound).toBe(1100);
    expect(s.seen.length).toBeLessThanOrEqual(bound);
    expect(s.seen.length).toBeGreaterThan(calls); // retries did happen until the budget ran out
    expect(budget.available).toBeLessThan(budget.retryCost);
    // Each call still returned the last response it got (fail fast, not throw).
    expect(statuses.every((x) => x === 500)).toBe(true);
  });

  it('throws HTTP_RETRY_BUDGET_EXHAUSTED when no response was ever received', async () => {
    const port = await closedPort();
    const budget = new RetryBudget({ capacity: 4 });
    const attempts: number[] = [];
    const c = client({ budget, observers: [{ onAttempt: (i) => attempts.push(i.attempt) }] });
    const e = await failWith(c.request({ method: 'GET', url: `http://127.0.0.1:${port}/` }));
    expect(e.code).toBe('HTTP_RETRY_BUDGET_EXHAUSTED');
    expect(e.message).toContain('HTTP_NETWORK');
    expect(e.message).toContain('4 of 4 tokens left, a retry costs 5');
    expect(budget.available).toBe(4);
    expect(attempts).toEqual([1]);
  });

  it('refunds on success so a recovered upstream restores the budget', async () => {
    let fail = true;
    const s = await server((_req, res) => (fail ? send(res, 502, '') : send(res, 200, { ok: true })));
    const budget = new RetryBudget({ capacity: 20 });
    const c = client({ budget, retry: { baseMs: 1, maxAttempts: 2 } });
    for (let i = 0; i < 4; i++) await c.request({ method: 'GET', url: s.origin });
    expect(budget.available).toBe(0);
    fail = false;
    for (let i = 0; i < 5; i++) await c.request({ method: 'GET', url: s.origin });
    expect(budget.available).toBe(5);
  });
});

describe('idempotency', () => {
  it('never retries a POST without an idempotency key (5xx)', async () => {
    const s = await server((_req, res) => send(res, 503, { code: 'UNAVAILABLE' }, { 'retry-after': '0' }));
    const res = await client().request({ method: 'POST', url: `${s.origin}/commit`, body: { a: 1 } });
    expect(res.status).toBe(503);
    expect(res.attempts).toBe(1);
    expect(s.seen).toHaveLength(1);
  });

  it('never retries a PATCH or POST without a key after a connection reset either', async () => {
    const s = await server((req) => req.socket.destroy());
    for (const method of ['POST', 'PATCH'] as const) {
      const e = await failWith(client().request({ method, url: `${s.origin}/x`, body: 'data' }));
      expect(e.code).toBe('HTTP_NETWORK');
      expect(e.details?.attempts).toBe(1);
    }
    expect(s.seen).toHaveLength(2);
  });

  it('retries a POST with idempotencyKey: true, sending the same key on every attempt', async () => {
    const s = await server((_req, res, seen) =>
      seen.n < 3 ? send(res, seen.n === 1 ? 500 : 429, '') : send(res, 201, { id: 'c1' }),
    );
    const c = client({ retry: { baseMs: 1, throttledBaseMs: 1 } });
    const res = await c.request({
      method: 'POST',
      url: `${s.origin}/commits`,
      body: { msg: 'x' },
      idempotencyKey: true,
    });
    expect(res.status).toBe(201);
    expect(res.attempts).toBe(3);
    const keys = s.seen.map((x) => x.headers['idempotency-key']);
    expect(keys).toHaveLength(3);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(keys).size).toBe(1);
    expect(res.idempotencyKey).toBe(keys[0]);
    expect(s.seen.every((x) => x.body === '{"msg":"x"}')).toBe(true);

    // A second logical call gets a new key.
    const res2 = await c.request({
      method: 'POST',
      url: `${s.origin}/commits`,
      body: { msg: 'y' },
      idempotencyKey: true,
    });
    expect(res2.idempotencyKey).not.toBe(res.idempotencyKey);
  });

  it('uses a given key and a custom header, and retries a keyed POST after a network error', async () => {
    const s = await server((req, res, seen) => (seen.n === 1 ? req.socket.destroy() : send(res, 200, { ok: true })));
    const c = client({ retry: { baseMs: 1 } });
    const res = await c.request({
      method: 'PATCH',
      url: `${s.origin}/x`,
      body: { v: 1 },
      idempotencyKey: 'op-123',
      idempotencyHeader: 'X-Idempotency-Key',
    });
    expect(res.status).toBe(200);
    expect(s.seen.map((x) => x.headers['x-idempotency-key'])).toEqual(['op-123', 'op-123']);
    expect(s.seen[0]!.headers['idempotency-key']).toBeUndefined();
  });

  it('treats a POST whose caller set the Idempotency-Key header as keyed', async () => {
    const s = await server((_req, res, seen) => (seen.n === 1 ? send(res, 503, '') : send(res, 200, {})));
    const res = await client({ retry: { throttledBaseMs: 1 } }).request({
      method: 'POST',
      url: s.origin,
      body: {},
      headers: { 'Idempotency-Key': 'hdr-1' },
    });
    expect([res.status, res.attempts, res.idempotencyKey]).toEqual([200, 2, 'hdr-1']);
    expect(s.seen.map((x) => x.headers['idempotency-key'])).toEqual(['hdr-1', 'hdr-1']);
  });

  it('does not retry at all with retry: false', async () => {
    const s = await server((_req, res) => send(res, 503, ''));
    const res = await client().request({ method: 'GET', url: s.origin, retry: false });
    expect(res.attempts).toBe(1);
    expect(s.seen).toHaveLength(1);
  });
});

describe('timeouts, deadline and abort', () => {
  it('times out a hung attempt and retries it (GET)', async () => {
    const s = await server((_req, res, seen) => {
      if (seen.n > 1) send(res, 200, { ok: true }); // the first request is never answered
    });
    const res = await client({ retry: { baseMs: 1 } }).request({
      method: 'GET',
      url: `${s.origin}/slow`,
      timeoutMs: 1000,
    });
    expect(res.status).toBe(200);
    expect(res.attempts).toBe(2);
  });

  it('throws HTTP_TIMEOUT when every attempt times out, and charges timeout retries 10 tokens', async () => {
    const s = await server(() => undefined);
    const budget = new RetryBudget();
    const e = await failWith(
      client({ budget, retry: { baseMs: 1 } }).request({
        method: 'GET',
        url: `${s.origin}/hang?token=abc`,
        timeoutMs: 100,
      }),
    );
    expect(e.code).toBe('HTTP_TIMEOUT');
    expect(e.details).toMatchObject({ attempts: 3, timeoutMs: 100, url: `${s.origin}/hang` });
    expect(budget.available).toBe(500 - 2 * 10);
    expect(s.seen).toHaveLength(3);
  });

  it('counts time spent waiting for a socket against the attempt timeout', async () => {
    const s = await server(() => undefined); // never answers: the single socket stays busy
    const c = client({ connections: 1 });
    const ac = new AbortController();
    const first = failWith(c.request({ method: 'GET', url: `${s.origin}/a`, signal: ac.signal }));
    while (s.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
    // Queued behind the hung request, this one never reaches a socket before its timeout.
    const e = await failWith(c.request({ method: 'GET', url: `${s.origin}/b`, timeoutMs: 200, retry: false }));
    expect(e.code).toBe('HTTP_TIMEOUT');
    expect(s.seen.map((x) => x.url)).toEqual(['/a']);
    ac.abort();
    expect((await first).code).toBe('HTTP_ABORTED');
  });

  it('fails with HTTP_DEADLINE_EXCEEDED when the overall deadline passes mid-attempt', async () => {
    const s = await server(() => undefined);
    const e = await failWith(client().request({ method: 'GET', url: s.origin, timeoutMs: 60_000, deadlineMs: 300 }));
    expect(e.code).toBe('HTTP_DEADLINE_EXCEEDED');
    expect(e.details).toMatchObject({ attempts: 1, deadlineMs: 300 });
  });

  it('does not start a retry whose wait cannot fit before the deadline', async () => {
    const s = await server((_req, res) => send(res, 503, ''));
    // A 10 s computed wait (0.5 · the 20 s cap) cannot fit in a 3 s deadline: stop, return the 503.
    const c = client({ retry: { throttledBaseMs: 100_000 }, random: () => 0.5 });
    const res = await c.request({ method: 'GET', url: s.origin, deadlineMs: 3000 });
    expect(res.status).toBe(503);
    expect(res.attempts).toBe(1);
  });

  it('aborts an attempt in flight when the caller aborts', async () => {
    const s = await server(() => undefined);
    const ac = new AbortController();
    const p = client().request({ method: 'GET', url: s.origin, signal: ac.signal });
    while (s.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    const e = await failWith(p);
    expect(e.code).toBe('HTTP_ABORTED');
    expect(e.message).toContain('during attempt 1');
  });

  it('aborts the wait between attempts when the caller aborts', async () => {
    const s = await server((_req, res) => send(res, 503, '', { 'retry-after': '20' }));
    const ac = new AbortController();
    const p = client().request({ method: 'GET', url: s.origin, signal: ac.signal, deadlineMs: 60_000 });
    while (s.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50)); // now in the 20 s wait
    ac.abort();
    const first = await Promise.race([
      p.then(
        () => 'resolved' as const,
        (e: unknown) => e,
      ),
      lateAfter(5000),
    ]);
    expect(isClawError(first, 'HTTP_ABORTED')).toBe(true);
    expect((first as ClawError).message).toContain('waiting to retry');
    expect(s.seen).toHaveLength(1);
  });

  it('aborts every call sharing one signal, without an EventTarget leak warning', async () => {
    const s = await server(() => undefined);
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const ac = new AbortController();
      const c = client({ connections: 50 });
      const calls = Array.from({ length: 40 }, () =>
        failWith(c.request({ method: 'GET', url: s.origin, signal: ac.signal })),
      );
      while (s.seen.length < 40) await new Promise((r) => setTimeout(r, 5));
      ac.abort();
      const errors = await Promise.all(calls);
      expect(errors.every((e) => e.code === 'HTTP_ABORTED')).toBe(true);
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('rejects at once with an already-aborted signal, sending nothing', async () => {
    const s = await server((_req, res) => send(res, 200, {}));
    const e = await failWith(client().request({ method: 'GET', url: s.origin, signal: AbortSignal.abort() }));
    expect(e.code).toBe('HTTP_ABORTED');
    expect(s.seen).toHaveLength(0);
  });
});

describe('5xx bursts and network errors', () => {
  it('rides out a 5xx burst and succeeds', async () => {
    const s = await server((_req, res, seen) =>
      seen.n === 1 ? send(res, 500, '') : seen.n === 2 ? send(res, 504, '') : send(res, 200, { ok: 1 }),
    );
    const res = await client({ retry: { baseMs: 1 } }).request({ method: 'GET', url: s.origin });
    expect([res.status, res.attempts, res.body]).toEqual([200, 3, { ok: 1 }]);
  });

  it('returns the last 5xx after maxAttempts', async () => {
    const s = await server((_req, res) => send(res, 502, 'bad gateway'));
    const res = await client({ retry: { baseMs: 1 } }).request({ method: 'GET', url: s.origin });
    expect([res.status, res.attempts, res.body]).toEqual([502, 3, 'bad gateway']);
    expect(s.seen).toHaveLength(3);
  });

  it('does not retry non-retryable statuses', async () => {
    const s = await server((_req, res) => send(res, 404, { code: 'NOT_FOUND' }));
    const res = await client().request({ method: 'GET', url: s.origin });
    expect([res.status, res.attempts]).toEqual([404, 1]);
  });

  it('retries a GET after connection resets', async () => {
    const s = await server((req, res, seen) => (seen.n <= 2 ? req.socket.destroy() : send(res, 200, { ok: true })));
    const res = await client({ retry: { baseMs: 1 } }).request({ method: 'GET', url: s.origin });
    expect([res.status, res.attempts]).toEqual([200, 3]);
  });

  it('retries a GET after connection refused, then reports HTTP_NETWORK with a hint', async () => {
    const port = await closedPort();
    const attempts: Array<string | undefined> = [];
    const c = client({ retry: { baseMs: 1 }, observers: [{ onAttempt: (i) => attempts.push(i.errorCode) }] });
    const e = await failWith(c.request({ method: 'GET', url: `http://127.0.0.1:${port}/x` }));
    expect(e.code).toBe('HTTP_NETWORK');
    expect(e.message).toContain('ECONNREFUSED');
    expect(e.hint).toMatch(/Check/);
    expect(e.details).toMatchObject({ attempts: 3, transportCode: 'ECONNREFUSED' });
    expect(attempts).toEqual(['HTTP_NETWORK', 'HTTP_NETWORK', 'HTTP_NETWORK']);
  });

  it('recovers when a server comes up between attempts (refused, then answered)', async () => {
    const port = await closedPort();
    const srv = net.createServer((sock) => {
      sock.once('data', () =>
        sock.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}'),
      );
    });
    let listening: Promise<void> | undefined;
    // Start listening only once the first attempt has been refused (during the 400 ms wait).
    const onAttempt = (i: { attempt: number; errorCode: string | undefined }): void => {
      if (i.attempt === 1 && i.errorCode === 'HTTP_NETWORK')
        listening = new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
    };
    const c = client({ retry: { baseMs: 400 }, random: () => 0.999, observers: [{ onAttempt }] });
    try {
      const res = await c.request({ method: 'GET', url: `http://127.0.0.1:${port}/late` });
      expect(listening).toBeDefined();
      expect([res.status, res.attempts, res.body]).toEqual([200, 2, {}]);
    } finally {
      await listening;
      await new Promise((r) => srv.close(r));
    }
  });
});
