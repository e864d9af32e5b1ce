/**
 * The bridge HTTP server (loopback): route registration, 404/405, thrown HTTP errors, 500 with an
 * error id and nothing internal, raw-body and JSON reading with limits, request ids, graceful close.
 */
import { Writable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpServer, httpError, readBody, readJson, sendJson } from '../../../lib/bridge/server.js';
import { createLogger } from '../../../lib/log/index.js';

const lines: string[] = [];
const sink = new Writable({
  write(chunk, _enc, cb) {
    lines.push(String(chunk));
    cb();
  },
});
const server = new HttpServer({ logger: createLogger({ level: 'error', destination: sink }) });
let base = '';
let release!: () => void;

beforeAll(async () => {
  server
    .route('POST', '/echo', async (req, res) => {
      const raw = await readBody(req, { limit: 32 });
      sendJson(res, 200, { ok: true, bytes: raw.length, hex: raw.toString('hex') });
    })
    .route('POST', '/json', async (req, res) =>
      sendJson(res, 200, { ok: true, got: await readJson(req, { limit: 1024 }) }),
    )
    .route('GET', '/teapot', () => {
      throw httpError(418, 'TEAPOT', 'expected coffee, found tea', { hint: 'brew coffee' });
    })
    .route('GET', '/boom', () => {
      throw new Error('database password is hunter2');
    })
    .route('GET', '/slow', async (_req, res) => {
      await new Promise<void>((r) => (release = r));
      sendJson(res, 200, { ok: true, slow: true });
    });
  base = (await server.listen(0)).url;
});
afterAll(() => server.close());

describe('HttpServer', () => {
  it('routes by exact path and method: 404 unknown path, 405 with Allow, HEAD falls back to GET', async () => {
    expect((await request(`${base}/nope`)).statusCode).toBe(404);
    const r = await request(`${base}/echo`);
    expect(r.statusCode).toBe(405);
    expect(r.headers.allow).toBe('POST');
    expect(await r.body.json()).toMatchObject({
      ok: false,
      code: 'METHOD_NOT_ALLOWED',
      message: 'expected POST on /echo, found GET',
    });
    expect((await request(`${base}/teapot`, { method: 'HEAD' })).statusCode).toBe(418);
  });

  it('a route can be registered once per method', () => {
    expect(() => server.route('post', '/echo', () => undefined)).toThrow(/already registered/);
  });

  it('hands the raw bytes to the route, untouched', async () => {
    const bytes = Buffer.from([0, 255, 10, 13, 0x7b]);
    const r = await request(`${base}/echo?x=1`, { method: 'POST', body: bytes });
    expect(await r.body.json()).toEqual({ ok: true, bytes: 5, hex: '00ff0a0d7b' });
  });

  it('body limits: 413 HTTP_BODY_TOO_LARGE, connection closed', async () => {
    const r = await request(`${base}/echo`, { method: 'POST', body: 'x'.repeat(33) });
    expect(r.statusCode).toBe(413);
    expect(r.headers.connection).toBe('close');
    expect(await r.body.json()).toMatchObject({
      ok: false,
      code: 'HTTP_BODY_TOO_LARGE',
      message: 'expected a body of at most 32 bytes, found 33 bytes declared',
    });
  });

  it('readJson: 400 HTTP_BODY_INVALID_JSON for malformed JSON', async () => {
    const bad = await request(`${base}/json`, { method: 'POST', body: '{"a":' });
    expect(bad.statusCode).toBe(400);
    expect(await bad.body.json()).toMatchObject({ ok: false, code: 'HTTP_BODY_INVALID_JSON' });
    const good = await request(`${base}/json`, { method: 'POST', body: '{"a":[1]}' });
    expect(await good.body.json()).toEqual({ ok: true, got: { a: [1] } });
  });

  it('httpError becomes its status, code, message and hint', async () => {
    const r = await request(`${base}/teapot`);
    expect(r.statusCode).toBe(418);
    expect(await r.body.json()).toEqual({
      ok: false,
      code: 'TEAPOT',
      message: 'expected coffee, found tea',
      hint: 'brew coffee',
    });
  });

  it('anything else is a 500 with an error id that the log carries, and nothing internal in the body', async () => {
    const r = await request(`${base}/boom`);
    expect(r.statusCode).toBe(500);
    const j = (await r.body.json()) as { code: string; errorId: string; message: string };
    expect(j.code).toBe('INTERNAL_ERROR');
    expect(JSON.stringify(j)).not.toContain('hunter2');
    expect(lines.some((l) => l.includes(j.errorId))).toBe(true);
  });

  it('echoes a sane x-request-id and makes one otherwise', async () => {
    const given = await request(`${base}/nope`, { headers: { 'x-request-id': 'req-abc.1' } });
    expect(given.headers['x-request-id']).toBe('req-abc.1');
    const made = await request(`${base}/nope`, { headers: { 'x-request-id': 'bad id\twith\tspaces' } });
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
  });

  it('close() lets a running request finish, then runs the close hooks', async () => {
    const s = new HttpServer({ logger: createLogger({ level: 'silent' }) });
    let gate!: () => void;
    const order: string[] = [];
    s.route('GET', '/wait', async (_req, res) => {
      await new Promise<void>((r) => (gate = r));
      order.push('handler done');
      sendJson(res, 200, { ok: true });
    }).onClose(() => void order.push('hook'));
    const url = (await s.listen(0)).url;
    const pending = request(`${url}/wait`);
    await new Promise((r) => setTimeout(r, 50));
    const closed = s.close();
    await new Promise((r) => setTimeout(r, 20));
    gate();
    const r = await pending;
    expect(r.statusCode).toBe(200);
    await r.body.dump();
    await closed;
    expect(order).toEqual(['handler done', 'hook']);
    await expect(request(`${url}/wait`)).rejects.toThrow();
  });

  it('close() runs every hook even when one throws, logs the failure, and resolves', async () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'error', destination: { write: (l: string) => void lines.push(l) } as never });
    const s = new HttpServer({ logger: log });
    const ran: string[] = [];
    s.onClose(() => void ran.push('first'))
      .onClose(() => {
        ran.push('second');
        throw new Error('worker stop failed');
      })
      .onClose(async () => void ran.push('third'));
    await s.listen(0);
    await expect(s.close()).resolves.toBeUndefined();
    expect(ran).toEqual(['first', 'second', 'third']);
    expect(lines.join('')).toContain('worker stop failed');
  });

  it('keeps serving other requests while one route waits', async () => {
    const slow = request(`${base}/slow`);
    await new Promise((r) => setTimeout(r, 30));
    expect((await request(`${base}/nope`)).statusCode).toBe(404);
    release();
    expect(await (await slow).body.json()).toEqual({ ok: true, slow: true });
  });
});
