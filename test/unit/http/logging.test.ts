/**
 * Logs and thrown errors carry no secrets: sentinel values in the Authorization header, an API-key
 * header, the query string (?code=…&token=…), a form body and an error body echoing the credential
 * are absent from every log line, error message, enumerable error field and inspected error; while
 * the useful facts (method, URL path, status, attempt, request id, a truncated error body) are there.
 */
import { inspect } from 'node:util';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClawError } from '../../../lib/errors.js';
import { RetryBudget, createHttpClient, type HttpClient } from '../../../lib/http/index.js';
import { createLogger, type Logger } from '../../../lib/log/index.js';
import { closedPort, failWith, send, startServer, type TestServer } from './server.js';

const BEARER = 'sentinel-bearer-7Hq2xK9vLmN4';
const API_KEY = 'sentinel-apikey-Zr8Wt3Yp';
const CODE = 'sentinel-code-Qa1Sd2Fg3';
const TOKEN = 'sentinel-token-Hj4Kl5Zx6';
const CLIENT_SECRET = 'sentinel-client-secret-Cv7Bn8';
const SECRETS = [BEARER, API_KEY, CODE, TOKEN, CLIENT_SECRET];

const open: Array<TestServer | HttpClient> = [];
afterEach(async () => {
  for (const x of open.splice(0)) await x.close();
});

function capture(make: (dest: { write(s: string): void }) => Logger): { lines: string[]; logger: Logger } {
  const lines: string[] = [];
  return { lines, logger: make({ write: (s: string) => void lines.push(s) }) };
}

function expectNoSecrets(text: string): void {
  for (const s of SECRETS) expect(text, `leaked ${s}`).not.toContain(s);
}

function everythingAbout(e: ClawError): string {
  return [
    e.message,
    JSON.stringify(e),
    JSON.stringify(Object.entries(e)),
    inspect(e, { depth: 10, showHidden: true }),
    String(e.stack),
  ].join('\n');
}

// Both our logger (whose formatter also redacts) and a bare pino logger (nothing but the
// transport's own scrubbing) must come out clean.
const loggers: Array<[string, (dest: { write(s: string): void }) => Logger]> = [
  ['lib/log logger', (dest) => createLogger({ level: 'debug', destination: dest })],
  ['bare pino logger', (dest) => pino({ level: 'debug' }, dest)],
];

describe.each(loggers)('no secrets in logs or errors (%s)', (_name, make) => {
  it('scrubs headers, query strings and echoed secrets from error-status log lines, keeping the request id', async () => {
    const s = await startServer((req, res) => {
      // A careless server echoing the credential it rejected, plus the query it was sent.
      send(
        res,
        401,
        {
          error: 'invalid_token',
          message: `token ${req.headers['x-api-key']} rejected; url was ${req.url}; auth=${req.headers.authorization}`,
        },
        {
          'x-request-id': 'rid-logtest-1',
        },
      );
    });
    open.push(s);
    const { lines, logger } = capture(make);
    const c = createHttpClient({ logger, budget: new RetryBudget() });
    open.push(c);
    const res = await c.request({
      method: 'POST',
      url: `${s.origin}/oauth/token?code=${CODE}&token=${TOKEN}`,
      headers: { Authorization: `Bearer ${BEARER}`, 'x-api-key': API_KEY },
      form: { grant_type: 'authorization_code', client_secret: CLIENT_SECRET },
      endpoint: 'oauth.token',
    });
    expect(res.status).toBe(401);
    // The server really did receive the secrets (the test would prove nothing otherwise).
    expect(s.seen[0]!.url).toContain(CODE);
    expect(s.seen[0]!.body).toContain(CLIENT_SECRET);

    const out = lines.join('');
    expectNoSecrets(out);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const attempt = parsed.find((l) => l.event === 'http.attempt');
    const call = parsed.find((l) => l.event === 'http.call');
    expect(attempt).toMatchObject({
      method: 'POST',
      url: `${s.origin}/oauth/token`,
      status: 401,
      attempt: 1,
      endpoint: 'oauth.token',
      requestId: 'rid-logtest-1',
    });
    expect(typeof attempt?.durationMs).toBe('number');
    expect(String(attempt?.body)).toContain('invalid_token');
    expect(String(attempt?.body)).toContain('[REDACTED]');
    expect(call).toMatchObject({
      method: 'POST',
      status: 401,
      attempts: 1,
      requestId: 'rid-logtest-1',
      url: `${s.origin}/oauth/token`,
    });
  });

  it('truncates long error bodies in logs', async () => {
    const s = await startServer((_req, res) => send(res, 500, 'x'.repeat(5000), { 'x-amzn-requestid': 'amzn-77' }));
    open.push(s);
    const { lines, logger } = capture(make);
    const c = createHttpClient({ logger, budget: new RetryBudget(), logBodyChars: 100 });
    open.push(c);
    await c.request({ method: 'GET', url: s.origin, retry: false });
    const attempt = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === 'http.attempt');
    expect(String(attempt?.body).length).toBeLessThanOrEqual(101);
    expect(attempt?.requestId).toBe('amzn-77');
  });

  it('keeps secrets out of thrown errors and their logs (network failure, timeout)', async () => {
    const port = await closedPort();
    const { lines, logger } = capture(make);
    const c = createHttpClient({ logger, budget: new RetryBudget(), retry: { baseMs: 1 } });
    open.push(c);
    const e1 = await failWith(
      c.request({
        method: 'GET',
        url: `http://127.0.0.1:${port}/cb?code=${CODE}&token=${TOKEN}`,
        headers: { authorization: `Bearer ${BEARER}`, 'x-api-key': API_KEY },
      }),
    );
    expect(e1.code).toBe('HTTP_NETWORK');
    expectNoSecrets(everythingAbout(e1));
    expect(e1.details?.url).toBe(`http://127.0.0.1:${port}/cb`);

    const hang = await startServer(() => undefined);
    open.push(hang);
    const e2 = await failWith(
      c.request({
        method: 'PUT',
        url: `${hang.origin}/x?token=${TOKEN}`,
        body: { client_secret: CLIENT_SECRET },
        timeoutMs: 50,
        retry: false,
      }),
    );
    expect(e2.code).toBe('HTTP_TIMEOUT');
    expectNoSecrets(everythingAbout(e2));
    expectNoSecrets(lines.join(''));
    expect(lines.some((l) => l.includes('"http.call"') && l.includes('HTTP_TIMEOUT'))).toBe(true);
  });
});

describe('log levels', () => {
  it('builds no log line when the level is disabled', async () => {
    const s = await startServer((_req, res) => send(res, 200, { ok: true }));
    open.push(s);
    const { lines, logger } = capture((dest) => createLogger({ level: 'warn', destination: dest }));
    const c = createHttpClient({ logger, budget: new RetryBudget() });
    open.push(c);
    await c.request({ method: 'GET', url: s.origin });
    expect(lines).toEqual([]);
  });

  it('logs a retried attempt at info and a failed call at warn', async () => {
    const s = await startServer((_req, res) => send(res, 503, ''));
    open.push(s);
    const { lines, logger } = capture((dest) => createLogger({ level: 'info', destination: dest }));
    const c = createHttpClient({ logger, budget: new RetryBudget(), retry: { throttledBaseMs: 1 } });
    open.push(c);
    await c.request({ method: 'GET', url: s.origin });
    const parsed = lines.map(
      (l) => JSON.parse(l) as { level: number; event: string; attempt?: number; retryInMs?: number },
    );
    expect(parsed.filter((l) => l.event === 'http.attempt').map((l) => [l.level, l.attempt])).toEqual([
      [30, 1],
      [30, 2],
    ]);
    expect(parsed.filter((l) => l.event === 'http.call').map((l) => l.level)).toEqual([40]);
  });

  it('says in the call line when the retry budget stopped a retry', async () => {
    const s = await startServer((_req, res) => send(res, 500, ''));
    open.push(s);
    const { lines, logger } = capture((dest) => createLogger({ level: 'warn', destination: dest }));
    const c = createHttpClient({ logger, budget: new RetryBudget({ capacity: 0 }) });
    open.push(c);
    const res = await c.request({ method: 'GET', url: s.origin });
    expect(res.attempts).toBe(1);
    const call = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === 'http.call');
    expect(call).toMatchObject({ level: 40, status: 500, attempts: 1 });
    expect(String(call?.notRetried)).toContain('retry budget exhausted (0/0 tokens)');
  });
});
