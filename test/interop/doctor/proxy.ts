/**
 * An intermediary that alters the agent handshake, for real: a WebSocket + HTTP proxy in front of an
 * OpenClaw gateway that rewrites the protocol range a node offers in its `connect` frame and adds a
 * `Via` header to HTTP answers (what a misconfigured TLS terminator or API gateway does). Used by the
 * doctor interop test and by docs/media/record-doctor.ts.
 */
import { request as httpRequest, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import type { Gateway } from '../openclaw/env.js';

/** A WebSocket + HTTP proxy to the gateway that rewrites a node's offered protocol range. */
export async function startRewritingProxy(
  target: Gateway,
  min: number,
  max: number,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const up = httpRequest(
      { host: '127.0.0.1', port: target.port, path: req.url, method: req.method, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, { ...r.headers, via: '1.1 rewriting-test-proxy' });
        r.pipe(res);
      },
    );
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (client) => {
    const upstream = new WebSocket(target.wsUrl);
    const pending: string[] = [];
    upstream.on('open', () => pending.splice(0).forEach((m) => upstream.send(m)));
    upstream.on('message', (m) => client.send(m.toString()));
    upstream.on('close', () => client.close());
    client.on('close', () => upstream.close());
    client.on('message', (m) => {
      const frame = JSON.parse(m.toString()) as { method?: string; params?: Record<string, unknown> };
      if (frame.method === 'connect' && frame.params?.role === 'node')
        frame.params = { ...frame.params, minProtocol: min, maxProtocol: max };
      const text = JSON.stringify(frame);
      if (upstream.readyState === WebSocket.OPEN) upstream.send(text);
      else pending.push(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => r());
      }),
  };
}
