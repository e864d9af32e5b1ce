/**
 * A real node:http server on 127.0.0.1 (random port) for the transport's tests. The handler sees
 * every request in order; the server records arrival times, headers and bodies, and counts sockets.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import { isClawError, type ClawError } from '../../../lib/errors.js';
import { RetryBudget, createHttpClient, type HttpClientOptions } from '../../../lib/http/index.js';
import { createLogger } from '../../../lib/log/index.js';

export interface Seen {
  n: number;
  /** Date.now() when the request's headers arrived. */
  at: number;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, seen: Seen) => unknown;

export interface TestServer {
  origin: string;
  port: number;
  seen: Seen[];
  /** TCP connections accepted so far. */
  sockets: () => number;
  /** TCP connections currently open. */
  openSockets: () => number;
  close(): Promise<void>;
}

export async function startServer(handler: Handler): Promise<TestServer> {
  const seen: Seen[] = [];
  let accepted = 0;
  let open = 0;
  const server = http.createServer((req, res) => {
    const s: Seen = {
      n: seen.length + 1,
      at: Date.now(),
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: '',
    };
    seen.push(s);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      s.body = Buffer.concat(chunks).toString('utf8');
      Promise.resolve(handler(req, res, s)).catch((e) => {
        res.statusCode = 599;
        res.end(String(e));
      });
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (sock) => {
    accepted++;
    open++;
    sock.on('close', () => open--);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    seen,
    sockets: () => accepted,
    openSockets: () => open,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** JSON response helper. */
export function send(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', ...headers });
  res.end(text);
}

/** A port nothing listens on (bound then released). */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Resolves 'late' after ms (used to prove a call did NOT wait for something long). */
export function lateAfter(ms: number): Promise<'late'> {
  return new Promise((r) => setTimeout(() => r('late'), ms).unref());
}

/** The rejection of `p` as a ClawError (fails the test if it resolves or throws something else). */
export async function failWith(p: Promise<unknown>): Promise<ClawError> {
  try {
    await p;
  } catch (e) {
    if (isClawError(e)) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

const quiet = createLogger({ level: 'silent' });

/**
 * Servers and clients for one test file, closed after each test. Clients get a silent logger and
 * an isolated retry budget unless the test passes its own.
 */
export function fixtures(): {
  server: (handler: Handler) => Promise<TestServer>;
  client: (opts?: HttpClientOptions) => ReturnType<typeof createHttpClient>;
} {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const x of open.splice(0)) await x.close();
  });
  return {
    server: async (handler) => {
      const s = await startServer(handler);
      open.push(s);
      return s;
    },
    client: (opts = {}) => {
      const c = createHttpClient({ logger: quiet, budget: new RetryBudget(), ...opts });
      open.push(c);
      return c;
    },
  };
}
