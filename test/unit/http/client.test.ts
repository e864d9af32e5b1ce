/**
 * The transport's plumbing against real loopback servers: keep-alive pools per origin (many
 * requests, few sockets), close(), request building (query, JSON, form, bytes, headers), response
 * decoding, size limit, bad input, and the observer hooks.
 */
import { describe, expect, it } from 'vitest';
import { failWith, fixtures, send } from './server.js';
import { packageVersion } from '../../../lib/version.js';
import { pollUntil } from '../../helpers/timeout.js';

const { server, client } = fixtures();

describe('keep-alive pools', () => {
  it('reuses a few sockets per origin for many requests', async () => {
    const s = await server((_req, res) => send(res, 200, { ok: true }));
    const c = client({ connections: 4 });
    for (let i = 0; i < 50; i++) await c.request({ method: 'GET', url: `${s.origin}/seq/${i}` });
    // undici's Pool may open a second socket while the first is still marked busy (its 'drain'
    // comes a microtask after the response); bare undici does the same. Never one per request.
    expect(s.sockets()).toBeLessThanOrEqual(2);
    await Promise.all(Array.from({ length: 400 }, (_, i) => c.request({ method: 'GET', url: `${s.origin}/par/${i}` })));
    expect(s.seen).toHaveLength(450);
    expect(s.sockets()).toBeLessThanOrEqual(4);
    expect(c.origins).toEqual([s.origin]);
  });

  it('keeps one pool per origin and closes them all', async () => {
    const a = await server((_req, res) => send(res, 200, 'a'));
    const b = await server((_req, res) => send(res, 200, 'b'));
    const c = client();
    expect((await c.request({ method: 'GET', url: `${a.origin}/` })).body).toBe('a');
    expect((await c.request({ method: 'GET', url: `${b.origin}/` })).body).toBe('b');
    expect((await c.request({ method: 'GET', url: `${a.origin.toUpperCase().replace('HTTP', 'http')}/x` })).body).toBe(
      'a',
    );
    expect(c.origins.sort()).toEqual([a.origin, b.origin].sort());
    expect(a.openSockets() + b.openSockets()).toBe(2);
    await c.close();
    await pollUntil(() => a.openSockets() + b.openSockets() === 0);
    expect(a.openSockets() + b.openSockets()).toBe(0);
    const e = await failWith(c.request({ method: 'GET', url: a.origin }));
    expect(e.code).toBe('HTTP_CLIENT_CLOSED');
  });
});

describe('close during a call', () => {
  it('does not start another attempt (or a new pool) after close()', async () => {
    const s = await server((_req, res) => send(res, 503, '', { 'retry-after': '1' }));
    const c = client();
    const p = failWith(c.request({ method: 'GET', url: s.origin }));
    while (s.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
    await c.close();
    const e = await p;
    expect(e.code).toBe('HTTP_CLIENT_CLOSED');
    expect(s.seen).toHaveLength(1);
    expect(c.origins).toEqual([]);
  });
});

describe('requests', () => {
  it('sends query parameters, JSON bodies and default + caller headers', async () => {
    const s = await server((req, res, seen) =>
      send(res, 200, {
        url: req.url,
        ct: req.headers['content-type'],
        ua: req.headers['user-agent'],
        x: req.headers['x-team'],
        body: seen.body,
      }),
    );
    const c = client({ headers: { 'X-Team': 'default' } });
    const res = await c.request<Record<string, string>>({
      method: 'PUT',
      url: `${s.origin}/a/b?x=1`,
      query: { page: 2, q: 'a b&c', skip: undefined, flag: true },
      body: { hello: 'world' },
      headers: { 'x-team': 'mine' },
    });
    expect(res.body).toEqual({
      url: '/a/b?x=1&page=2&q=a%20b%26c&flag=true',
      ct: 'application/json',
      // The package version (lib/version.ts), not a copy of it.
      ua: `claw-byterover/${packageVersion()} node/${process.versions.node}`,
      x: 'mine',
      body: '{"hello":"world"}',
    });
  });

  it('sends forms urlencoded, strings as text and bytes as octets, respecting a caller content-type', async () => {
    const s = await server((req, res, seen) => send(res, 200, { ct: req.headers['content-type'], body: seen.body }));
    const c = client();
    const form = await c.request<{ ct: string; body: string }>({
      method: 'POST',
      url: s.origin,
      form: { a: '1', b: 'x y' },
    });
    expect(form.body).toEqual({ ct: 'application/x-www-form-urlencoded', body: 'a=1&b=x+y' });
    const text = await c.request<{ ct: string; body: string }>({ method: 'POST', url: s.origin, body: 'plain' });
    expect(text.body.ct).toBe('text/plain;charset=utf-8');
    const bytes = await c.request<{ ct: string; body: string }>({
      method: 'POST',
      url: s.origin,
      body: new TextEncoder().encode('raw'),
    });
    expect(bytes.body).toEqual({ ct: 'application/octet-stream', body: 'raw' });
    const usp = await c.request<{ ct: string; body: string }>({
      method: 'POST',
      url: s.origin,
      body: new URLSearchParams({ q: '1' }),
    });
    expect(usp.body).toEqual({ ct: 'application/x-www-form-urlencoded', body: 'q=1' });
    const lower = await c.request<{ ct: string; body: string }>({
      method: 'post' as 'POST',
      url: s.origin,
      body: [1, 2],
    });
    expect(lower.body).toEqual({ ct: 'application/json', body: '[1,2]' });
    const own = await c.request<{ ct: string }>({
      method: 'POST',
      url: s.origin,
      body: '<a/>',
      headers: { 'Content-Type': 'application/xml' },
    });
    expect(own.body.ct).toBe('application/xml');
  });

  it('accepts URL objects and bare origins', async () => {
    const s = await server((req, res) => send(res, 200, { url: req.url }));
    const c = client();
    expect((await c.request({ method: 'GET', url: new URL(`${s.origin}/u?z=1#frag`) })).body).toEqual({
      url: '/u?z=1',
    });
    expect((await c.request({ method: 'GET', url: s.origin })).body).toEqual({ url: '/' });
    expect((await c.request({ method: 'GET', url: `${s.origin}?q=1#f` })).body).toEqual({ url: '/?q=1' });
  });

  it('rejects bad input with HTTP_INVALID_REQUEST and never sends it', async () => {
    const s = await server((_req, res) => send(res, 200, {}));
    const c = client();
    const cases: Array<() => Promise<unknown>> = [
      () => c.request({ method: 'GET', url: 'ftp://example.invalid/x' }),
      () => c.request({ method: 'GET', url: 'not a url' }),
      () => c.request({ method: 'GET', url: `http://user:pw-secret@127.0.0.1:${s.port}/` }),
      () => c.request({ method: 'GET', url: s.origin, timeoutMs: 0 }),
      () => c.request({ method: 'POST', url: s.origin, idempotencyKey: '' }),
      () => c.request({ method: 'GET', url: s.origin, headers: { 'bad header': 'x' } }),
      () => c.request({ method: 'GET', url: s.origin, headers: { 'x-ok': 'line\r\nbreak' } }),
      () => c.request({ method: 'TRACE' as 'GET', url: s.origin }),
      () => c.request({ method: 'POST', url: s.origin, body: new Blob(['x']) }),
      () => c.request({ method: 'POST', url: s.origin, body: { n: 1n } }),
    ];
    for (const make of cases) {
      const e = await failWith(make());
      expect(e.code).toBe('HTTP_INVALID_REQUEST');
      expect(e.hint).toBeTruthy();
      expect(e.message).not.toContain('pw-secret');
    }
    expect(s.seen).toHaveLength(0);
  });
});

describe('responses', () => {
  it('decodes JSON by content type, text otherwise, bytes on request; exposes flattened headers and request id', async () => {
    const s = await server((req, res) => {
      if (req.url === '/json') return send(res, 200, { a: 1 }, { 'x-request-id': 'r-1' });
      if (req.url === '/problem') {
        res.writeHead(400, {
          'content-type': 'application/problem+json',
          'set-cookie': ['a=1', 'b=2'],
          'request-id': 'r-2',
        });
        return void res.end('{"title":"bad"}');
      }
      if (req.url === '/empty') {
        res.writeHead(204, { 'x-correlation-id': 'r-3' });
        return void res.end();
      }
      send(res, 200, 'hello');
    });
    const c = client();
    const j = await c.request({ method: 'GET', url: `${s.origin}/json` });
    expect([j.body, j.requestId, j.attempts]).toEqual([{ a: 1 }, 'r-1', 1]);
    const p = await c.request({ method: 'GET', url: `${s.origin}/problem` });
    expect([p.status, p.body, p.requestId, p.headers['set-cookie']]).toEqual([
      400,
      { title: 'bad' },
      'r-2',
      'a=1, b=2',
    ]);
    const e = await c.request({ method: 'DELETE', url: `${s.origin}/empty` });
    expect([e.status, e.body, e.requestId]).toEqual([204, undefined, 'r-3']);
    const t = await c.request({ method: 'GET', url: `${s.origin}/text` });
    expect(t.body).toBe('hello');
    const b = await c.request<Uint8Array>({ method: 'GET', url: `${s.origin}/json`, responseType: 'bytes' });
    expect(b.body).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(b.body)).toBe('{"a":1}');
    const h = await c.request({ method: 'HEAD', url: `${s.origin}/json` });
    expect([h.status, h.body]).toEqual([200, undefined]);
  });

  it('fails a 2xx with malformed JSON as HTTP_INVALID_RESPONSE but returns a malformed error body as text', async () => {
    const s = await server((req, res) => {
      res.writeHead(req.url === '/ok' ? 200 : 502, { 'content-type': 'application/json', 'x-request-id': 'r-bad' });
      res.end('<html>oops</html>');
    });
    const c = client({ retry: { baseMs: 1 } });
    const e = await failWith(c.request({ method: 'GET', url: `${s.origin}/ok` }));
    expect(e.code).toBe('HTTP_INVALID_RESPONSE');
    expect(e.details).toMatchObject({ status: 200, requestId: 'r-bad' });
    const r = await c.request({ method: 'GET', url: `${s.origin}/err`, retry: false });
    expect([r.status, r.body]).toEqual([502, '<html>oops</html>']);
  });

  it('stops reading a body larger than maxResponseBytes', async () => {
    const s = await server((_req, res) => send(res, 200, 'y'.repeat(100_000)));
    const e = await failWith(client({ maxResponseBytes: 10_000 }).request({ method: 'GET', url: s.origin }));
    expect(e.code).toBe('HTTP_RESPONSE_TOO_LARGE');
    expect(s.seen).toHaveLength(1);
  });
});

describe('observers', () => {
  it('are called once per attempt and once per call, and cannot break a request', async () => {
    const s = await server((_req, res, seen) => (seen.n === 1 ? send(res, 503, '') : send(res, 200, {})));
    const attempts: unknown[] = [];
    const calls: unknown[] = [];
    const c = client({
      retry: { throttledBaseMs: 1 },
      observers: [
        {
          onAttempt: (i) => attempts.push({ ...i, durationMs: typeof i.durationMs }),
          onCall: (i) => calls.push({ ...i, durationMs: typeof i.durationMs }),
        },
        {
          onAttempt: () => {
            throw new Error('broken observer');
          },
        },
      ],
    });
    const res = await c.request({ method: 'GET', url: `${s.origin}/x`, endpoint: 'test.x' });
    expect(res.status).toBe(200);
    expect(attempts).toEqual([
      { endpoint: 'test.x', method: 'GET', attempt: 1, status: 503, errorCode: undefined, durationMs: 'number' },
      { endpoint: 'test.x', method: 'GET', attempt: 2, status: 200, errorCode: undefined, durationMs: 'number' },
    ]);
    expect(calls).toEqual([
      { endpoint: 'test.x', method: 'GET', status: 200, errorCode: undefined, attempts: 2, durationMs: 'number' },
    ]);
  });

  it('can be attached and detached after the client was built', async () => {
    const s = await server((_req, res) => send(res, 200, {}));
    const c = client();
    const seen: number[] = [];
    const remove = c.addObserver({ onCall: (i) => seen.push(i.status ?? 0) });
    await c.request({ method: 'GET', url: s.origin });
    remove();
    await c.request({ method: 'GET', url: s.origin });
    expect(seen).toEqual([200]);
  });
});
