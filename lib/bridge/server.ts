/**
 * The bridge's HTTP server: node:http with a small exact-path router. It never parses bodies: each
 * route reads its own raw bytes with `readBody` (size-limited, stops reading at the limit), which the
 * webhook route needs to verify signatures over the exact bytes received.
 *
 * Plugging in a route (skill invoke, OAuth callback, health, metrics):
 *
 *   server.route('POST', '/skill/invoke', async (req, res, ctx) => {
 *     const body = await readJson(req, { limit: 64 * 1024 });   // 413 / 400 thrown as HTTP errors
 *     if (!ok) throw httpError(400, 'SKILL_INVALID_REQUEST', 'expected …, found …', { fields });
 *     sendJson(res, 200, { ok: true, … });
 *   });
 *
 * Replies are JSON `{ok, code?, message?, hint?, …}`. A thrown `httpError` (a ClawError carrying an
 * HTTP status) becomes that status with its code, message and hint; anything else becomes 500
 * `INTERNAL_ERROR` with an `errorId` that is also logged with the error, and nothing internal in the body.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ClawError, isClawError } from '../errors.js';
import { logger as defaultLogger, type Logger } from '../log/index.js';
import { BridgeErrorCode } from './errors.js';

export interface RequestContext {
  /** Path and query of the request (origin is a placeholder). */
  readonly url: URL;
  /** `x-request-id` from the caller when sane, else a fresh one; echoed in the response. */
  readonly requestId: string;
  readonly log: Logger;
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, ctx: RequestContext) => Promise<void> | void;

export interface HttpServerOptions {
  logger?: Logger;
  /** Whole-request timeout (headers + body), ms (default 30 s): then 408 and the socket is destroyed. */
  requestTimeoutMs?: number;
  /** Time to receive the request headers, ms (default 10 s, at most requestTimeoutMs): then 408. */
  headersTimeoutMs?: number;
  /** Idle keep-alive timeout, ms (default 5 s). */
  keepAliveTimeoutMs?: number;
  /**
   * A socket with no traffic in either direction for this long is destroyed, ms (default 60 s): a
   * client that stops reading its response (or stops sending) is released, buffers included.
   */
  idleTimeoutMs?: number;
  /** Concurrent connections; one more is answered 503 (retry-after: 1) and closed (default 1024). */
  maxConnections?: number;
  /** Request header bytes (request line included); more is 431 (default 16 KiB). */
  maxHeaderBytes?: number;
  /**
   * Request body bytes buffered by `readBody` across all requests at once; a request that would go
   * over is 503 `HTTP_BUSY` (retry-after: 1) and its connection closed (default 64 MiB).
   */
  maxBufferedBytes?: number;
  /** How long `close()` lets running requests finish before cutting connections, ms (default 10 s). */
  shutdownGraceMs?: number;
}

/** The body bytes buffered at once by one server's requests (see maxBufferedBytes). */
class BufferBudget {
  used = 0;
  constructor(readonly max: number) {}
}
const budgets = new WeakMap<IncomingMessage, { budget: BufferBudget; held: number }>();

/** Gives back what a request's body held of the server's budget (when the request is done). */
function releaseBudget(req: IncomingMessage): void {
  const b = budgets.get(req);
  if (!b) return;
  b.budget.used -= b.held;
  b.held = 0;
  budgets.delete(req);
}

/** A ClawError that the server answers with `status`. */
export function httpError(
  status: number,
  code: string,
  message: string,
  opts: { hint?: string; details?: Record<string, unknown>; cause?: unknown } = {},
): ClawError {
  return new ClawError(code, message, { ...opts, details: { ...opts.details, httpStatus: status } });
}

export function httpStatusOf(e: unknown): number | undefined {
  const s = isClawError(e) ? e.details?.httpStatus : undefined;
  return typeof s === 'number' && s >= 400 && s <= 599 ? s : undefined;
}

const JSON_TYPE = 'application/json; charset=utf-8';

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | number> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': JSON_TYPE,
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/**
 * Reads the raw body, at most `limit` bytes. A declared Content-Length over the limit is refused
 * before reading anything; a body that grows past it stops being read at once. Both throw
 * `HTTP_BODY_TOO_LARGE` (413); the server then closes the connection (the rest is never read).
 */
export function readBody(req: IncomingMessage, opts: { limit: number }): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > opts.limit) {
    return Promise.reject(tooLarge(opts.limit, `${declared} bytes declared`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: unknown, body?: Buffer): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (err) reject(err);
      else resolve(body as Buffer);
    };
    const budget = budgets.get(req);
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > opts.limit) {
        req.pause();
        finish(tooLarge(opts.limit, `more than ${opts.limit} bytes sent`));
        return;
      }
      if (budget) {
        if (budget.budget.used + c.length > budget.budget.max) {
          req.pause();
          finish(busy(budget.budget.max));
          return;
        }
        budget.budget.used += c.length;
        budget.held += c.length;
      }
      chunks.push(c);
    };
    const onEnd = (): void =>
      finish(undefined, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    const onError = (e: Error): void =>
      finish(httpError(400, 'HTTP_BODY_ABORTED', `the request body could not be read: ${e.message}`));
    const onAborted = (): void => finish(httpError(400, 'HTTP_BODY_ABORTED', 'the client aborted the request body'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

function tooLarge(limit: number, found: string): ClawError {
  return httpError(413, 'HTTP_BODY_TOO_LARGE', `expected a body of at most ${limit} bytes, found ${found}`, {
    hint: 'send a smaller body, or raise the limit in the bridge configuration',
  });
}

function busy(max: number): ClawError {
  return httpError(503, 'HTTP_BUSY', `the bridge is buffering its maximum of ${max} request body bytes`, {
    hint: 'retry in a moment (retry-after); to allow more, raise bridge.http.maxBufferedBytes',
  });
}

/** readBody + JSON.parse; malformed JSON is a 400 `HTTP_BODY_INVALID_JSON`. */
export async function readJson(req: IncomingMessage, opts: { limit: number }): Promise<unknown> {
  const raw = await readBody(req, opts);
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch (e) {
    throw httpError(
      400,
      'HTTP_BODY_INVALID_JSON',
      `expected a JSON body, found invalid JSON (${(e as Error).message})`,
    );
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export class HttpServer {
  readonly log: Logger;
  private readonly routes = new Map<string, Map<string, RouteHandler>>();
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly shutdownGraceMs: number;
  private readonly closeHooks: Array<() => Promise<void> | void> = [];
  private inFlight = 0;
  /** Request ids: a random per-server prefix and a counter (cheap, unique per process). */
  private readonly idPrefix = randomBytes(4).toString('hex');
  private requestCount = 0;
  private idle: (() => void) | undefined;
  private closing: Promise<void> | undefined;

  constructor(opts: HttpServerOptions = {}) {
    this.log = opts.logger ?? defaultLogger;
    this.shutdownGraceMs = opts.shutdownGraceMs ?? 10_000;
    const requestTimeout = opts.requestTimeoutMs ?? 30_000;
    const headersTimeout = Math.min(opts.headersTimeoutMs ?? 10_000, requestTimeout);
    this.maxConnections = opts.maxConnections ?? 1024;
    this.budget = new BufferBudget(opts.maxBufferedBytes ?? 64 * 1024 * 1024);
    this.server = createServer(
      {
        requestTimeout,
        headersTimeout,
        keepAliveTimeout: opts.keepAliveTimeoutMs ?? 5_000,
        maxHeaderSize: opts.maxHeaderBytes ?? 16 * 1024,
        // How often Node checks the two timeouts above (its default, 30 s, would let a slow client
        // hold its socket up to 30 s past them).
        connectionsCheckingInterval: Math.max(50, Math.min(headersTimeout, requestTimeout) / 4),
      },
      (req, res) => {
        void this.dispatch(req, res);
      },
    );
    // Inactivity in both directions (a client that neither sends nor reads): destroyed, buffers freed.
    this.server.setTimeout(opts.idleTimeoutMs ?? 60_000, (s: Socket) => s.destroy());
    this.server.on('connection', (s: Socket) => {
      if (this.sockets.size >= this.maxConnections) {
        this.refuse(s, 503, 'Service Unavailable', 'retry-after: 1\r\n');
        return;
      }
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    // Node reports a request that timed out (408), headers over maxHeaderBytes (431) or a malformed
    // request (400) here; the socket is answered and then destroyed, never left half-open.
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      const code = err.code ?? '';
      if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'ERR_HTTP_HEADERS_TIMEOUT')
        this.refuse(socket, 408, 'Request Timeout');
      else if (code === 'HPE_HEADER_OVERFLOW') this.refuse(socket, 431, 'Request Header Fields Too Large');
      else if (code === 'ECONNRESET' || !socket.writable) socket.destroy();
      else this.refuse(socket, 400, 'Bad Request');
    });
  }

  private readonly maxConnections: number;
  private readonly budget: BufferBudget;

  /**
   * Answers `status` on a raw socket and destroys it once the answer is flushed, or at once when the
   * client does not take it (a client that stops reading must not keep the descriptor).
   */
  private refuse(socket: Socket, status: number, reason: string, extra = ''): void {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(`HTTP/1.1 ${status} ${reason}\r\n${extra}connection: close\r\ncontent-length: 0\r\n\r\n`, () =>
      socket.destroy(),
    );
    // The answer fits in the kernel's send buffer; if it cannot even be flushed, give up on it.
    const t = setTimeout(() => socket.destroy(), 1000);
    t.unref();
    socket.once('close', () => clearTimeout(t));
  }

  /** Connections open now, and request body bytes buffered now (for tests and metrics). */
  get load(): { connections: number; bufferedBytes: number } {
    return { connections: this.sockets.size, bufferedBytes: this.budget.used };
  }

  /** Registers `handler` for `method` on the exact `path` (query strings ignored). */
  route(method: string, path: string, handler: RouteHandler): this {
    const m = method.toUpperCase();
    let byMethod = this.routes.get(path);
    if (!byMethod) this.routes.set(path, (byMethod = new Map()));
    if (byMethod.has(m))
      throw new ClawError(BridgeErrorCode.ROUTE_TAKEN, `${m} ${path} is already registered`, {
        hint: 'each route has one handler',
      });
    byMethod.set(m, handler);
    return this;
  }

  /** Runs `fn` during `close()`, after requests finished (in registration order; one failing does not stop the rest). */
  onClose(fn: () => Promise<void> | void): this {
    this.closeHooks.push(fn);
    return this;
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<{ port: number; url: string }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const a = this.server.address() as AddressInfo;
    const h = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return { port: a.port, url: `http://${h}:${a.port}` };
  }

  get listening(): boolean {
    return this.server.listening;
  }

  /**
   * Stops accepting, lets running requests finish (up to the grace period), then runs the close hooks
   * in order; a hook that throws is logged and the others still run. Never rejects.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const stopped = new Promise<void>((r) => this.server.close(() => r()));
      this.server.closeIdleConnections();
      if (this.inFlight > 0) {
        await Promise.race([
          new Promise<void>((r) => (this.idle = r)),
          new Promise((r) => setTimeout(r, this.shutdownGraceMs).unref()),
        ]);
      }
      for (const s of this.sockets) s.destroy();
      if (this.server.listening) await stopped;
      // Every hook runs even when one fails (each releases something of its own: the worker, the
      // memory, the telemetry export); a failure is logged, and close() still resolves.
      for (const [i, hook] of this.closeHooks.entries()) {
        try {
          await hook();
        } catch (e) {
          this.log.error(
            { hook: i, err: isClawError(e) ? e.toJSON() : String((e as Error)?.message ?? e) },
            'bridge: a close hook failed; closing the rest',
          );
        }
      }
    })();
    return this.closing;
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.inFlight++;
    budgets.set(req, { budget: this.budget, held: 0 });
    // The body's share of the budget is held until the exchange is over (answered or cut).
    res.once('close', () => releaseBudget(req));
    const given = req.headers['x-request-id'];
    const requestId =
      typeof given === 'string' && REQUEST_ID.test(given)
        ? given
        : `${this.idPrefix}-${(++this.requestCount).toString(36)}`;
    res.setHeader('x-request-id', requestId);
    if (this.closing) res.setHeader('connection', 'close');
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://bridge.invalid');
    } catch {
      url = new URL('http://bridge.invalid/');
    }
    const ctx: RequestContext = { url, requestId, log: this.log };
    try {
      const byMethod = this.routes.get(url.pathname);
      if (!byMethod) {
        sendJson(res, 404, { ok: false, code: 'NOT_FOUND', message: `no route for ${url.pathname}` });
        return;
      }
      const handler = byMethod.get(req.method ?? 'GET') ?? (req.method === 'HEAD' ? byMethod.get('GET') : undefined);
      if (!handler) {
        const allow = [...byMethod.keys()].join(', ');
        sendJson(
          res,
          405,
          {
            ok: false,
            code: 'METHOD_NOT_ALLOWED',
            message: `expected ${allow} on ${url.pathname}, found ${req.method}`,
          },
          { allow },
        );
        return;
      }
      await handler(req, res, ctx);
    } catch (e) {
      this.replyThrown(req, res, ctx, e);
    } finally {
      this.inFlight--;
      if (this.inFlight === 0 && this.idle) this.idle();
    }
  }

  private replyThrown(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, e: unknown): void {
    const status = httpStatusOf(e);
    if (status !== undefined && isClawError(e)) {
      const headers: Record<string, string> = {};
      if (status === 413 || (status === 503 && e.code === 'HTTP_BUSY')) {
        // The rest of the body is never read: close the connection after this answer.
        headers.connection = 'close';
        if (status === 503) headers['retry-after'] = '1';
        res.once('finish', () => req.socket.destroySoon());
      }
      sendJson(
        res,
        status,
        { ok: false, code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) },
        headers,
      );
      return;
    }
    const errorId = randomBytes(6).toString('hex');
    ctx.log.error(
      {
        errorId,
        requestId: ctx.requestId,
        path: ctx.url.pathname,
        err: isClawError(e) ? e.toJSON() : String((e as Error)?.stack ?? e),
      },
      'bridge: request failed',
    );
    sendJson(res, 500, {
      ok: false,
      code: 'INTERNAL_ERROR',
      message: `internal error ${errorId} (see the bridge log)`,
      errorId,
    });
  }
}
