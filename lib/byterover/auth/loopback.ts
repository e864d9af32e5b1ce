/**
 * The loopback redirect receiver of RFC 8252 §7.3: an HTTP server on 127.0.0.1 and a random port that
 * waits for exactly one authorization response (RFC 6749 §4.1.2) at the callback path.
 *
 * The redirect URI uses `localhost` by default because that is the form ByteRover's IAM registers
 * (`http://localhost:<port>/callback`); authorization servers that follow RFC 8252 §7.3 accept any port
 * for a registered loopback URI. Since `localhost` may resolve to ::1 first, the server also listens on
 * [::1] at the same port when the host has IPv6 loopback (best effort).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { callbackListenFailed, loginCancelled, loginDenied, loginTimeout, stateMismatch } from './errors.js';

export const DEFAULT_LOGIN_TIMEOUT_MS = 5 * 60 * 1000;

export interface LoopbackOptions {
  /** Host name put in the redirect URI: `localhost` (ByteRover's registered form) or `127.0.0.1`. */
  redirectHost?: 'localhost' | '127.0.0.1';
  /** Callback path (default `/callback`). */
  path?: string;
  /** Port to listen on (default 0: a random free port). */
  port?: number;
}

export interface LoopbackReceiver {
  redirectUri: string;
  port: number;
  /**
   * Resolves with the full callback URL (redirect URI + the authorization response's query) once a
   * response with the expected `state` arrives. Rejects with AUTH_STATE_MISMATCH (a callback with
   * another state), AUTH_LOGIN_DENIED (`error=` response, RFC 6749 §4.1.2.1), AUTH_LOGIN_TIMEOUT,
   * or AUTH_LOGIN_CANCELLED (signal aborted).
   */
  waitForCallback(expectedState: string, o?: { timeoutMs?: number; signal?: AbortSignal | undefined }): Promise<URL>;
  close(): Promise<void>;
}

const PAGE = (title: string, text: string): string =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>` +
  `<body style="font-family:sans-serif;margin:3em"><h1>${title}</h1><p>${text}</p></body></html>`;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

export async function startLoopbackReceiver(o: LoopbackOptions = {}): Promise<LoopbackReceiver> {
  const path = o.path ?? '/callback';
  const redirectHost = o.redirectHost ?? 'localhost';
  let settle: { resolve: (u: URL) => void; reject: (e: Error) => void; state: string } | undefined;
  let done = false;
  let redirectUri = '';

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', redirectUri);
    if (req.method !== 'GET' || url.pathname !== path) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (done || !settle) {
      res
        .writeHead(409, { 'content-type': 'text/html; charset=utf-8' })
        .end(PAGE('Login already handled', 'You can close this window.'));
      return;
    }
    const waiter = settle;
    const html = (status: number, title: string, text: string): void => {
      res
        .writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
        .end(PAGE(title, text));
    };
    const state = url.searchParams.get('state');
    if (state !== waiter.state) {
      done = true;
      html(400, 'Login rejected', 'The response did not match this login (state mismatch). Start the login again.');
      waiter.reject(stateMismatch());
      return;
    }
    const error = url.searchParams.get('error');
    if (error) {
      done = true;
      const desc = url.searchParams.get('error_description') ?? undefined;
      html(400, 'Login failed', `The server answered: ${escapeHtml(error)}. You can close this window.`);
      waiter.reject(loginDenied(error, desc));
      return;
    }
    if (!url.searchParams.get('code')) {
      html(400, 'Login incomplete', 'The response carried no authorization code.');
      return;
    }
    done = true;
    html(200, 'Logged in to ByteRover', 'claw-byterover received the login. You can close this window.');
    waiter.resolve(new URL(`${redirectUri}${url.search}`));
  };

  const v4 = createServer(handler);
  let address: AddressInfo;
  try {
    address = await listen(v4, '127.0.0.1', o.port ?? 0);
  } catch (e) {
    throw callbackListenFailed('127.0.0.1', e);
  }
  const servers: Server[] = [v4];
  if (redirectHost === 'localhost') {
    const v6 = createServer(handler);
    try {
      await listen(v6, '::1', address.port);
      servers.push(v6);
    } catch {
      // No IPv6 loopback (or the port is taken there): localhost resolves to 127.0.0.1 then.
    }
  }
  redirectUri = `http://${redirectHost}:${address.port}${path}`;

  const close = async (): Promise<void> => {
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  };

  return {
    redirectUri,
    port: address.port,
    close,
    waitForCallback(expectedState, w = {}) {
      const timeoutMs = w.timeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS;
      return new Promise<URL>((resolve, reject) => {
        const timer = setTimeout(() => {
          done = true;
          finish(() => reject(loginTimeout(timeoutMs)));
        }, timeoutMs);
        const onAbort = (): void => {
          done = true;
          finish(() => reject(loginCancelled()));
        };
        const finish = (f: () => void): void => {
          clearTimeout(timer);
          w.signal?.removeEventListener('abort', onAbort);
          settle = undefined;
          f();
        };
        if (w.signal?.aborted) {
          onAbort();
          return;
        }
        w.signal?.addEventListener('abort', onAbort, { once: true });
        settle = {
          state: expectedState,
          resolve: (u) => finish(() => resolve(u)),
          reject: (e) => finish(() => reject(e)),
        };
      });
    },
  };
}
