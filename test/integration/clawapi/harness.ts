/**
 * Shared set-up of the claw-api integration tests: the real issuer, the stand-in trusting it, a
 * logger whose every line is kept (to prove no token is ever logged), and helpers.
 */
import { expect } from 'vitest';
import { createHttpClient } from '../../../lib/http/index.js';
import type { HttpClient, HttpRequest } from '../../../lib/http/types.js';
import { createLogger } from '../../../lib/log/index.js';
import type { NodeRegistration } from '../../../lib/clawapi/index.js';
import { startClawApiStandin, type ClawApiStandin } from '../../standin/claw-api.js';
import { CLAW_AUDIENCE, startClawIssuer, type ClawIssuer } from './issuer.js';

export interface Env {
  issuer: ClawIssuer;
  api: ClawApiStandin;
  lines: string[];
  logger: ReturnType<typeof createLogger>;
  http: ReturnType<typeof createHttpClient>;
  close(): Promise<void>;
}

export async function startEnv(): Promise<Env> {
  const issuer = await startClawIssuer();
  const api = await startClawApiStandin({ issuer: issuer.issuer, jwksUri: issuer.jwksUri, audience: CLAW_AUDIENCE });
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } as never });
  const http = createHttpClient({ logger });
  return {
    issuer,
    api,
    lines,
    logger,
    http,
    async close() {
      await http.close();
      await api.close();
      await issuer.close();
    },
  };
}

export function node(id = 'cb-test-node'): NodeRegistration {
  return {
    id,
    name: 'claw-byterover test bridge',
    version: '0.1.0',
    capabilities: ['memory.search', 'skill.invoke'],
    protocol: { min: 3, max: 3 },
    endpoints: [{ kind: 'skill-invoke', url: 'http://127.0.0.1:8787/skill/invoke' }],
  };
}

/** Waits (bounded) until `cond` holds; never measures time. */
export async function until(cond: () => boolean, what: string, limitMs = 15_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The token, its payload and signature segments and every 16-character window of them are absent. */
export function expectNoToken(text: string, token: string, o: { allowEmpty?: boolean } = {}): void {
  if (!o.allowEmpty) expect(text.length).toBeGreaterThan(0);
  expect(text).not.toContain(token.trim());
  const parts = token
    .trim()
    .replace(/^Bearer\s+/i, '')
    .split('.');
  for (const seg of parts.length === 3 ? parts.slice(1) : parts) {
    for (let i = 0; i + 16 <= seg.length; i += 8)
      expect(text, 'a piece of the token leaked').not.toContain(seg.slice(i, i + 16));
  }
}

/**
 * `http` whose first issuer discovery request fails at the transport (the issuer restarting), every
 * other request passed on; `discoveries` lists the discovery URLs asked for.
 */
export function failingFirstDiscovery(http: HttpClient): { http: HttpClient; discoveries: string[] } {
  const discoveries: string[] = [];
  const wrapped = new Proxy(http, {
    get(target, prop) {
      if (prop === 'request') {
        return async (req: HttpRequest) => {
          const url = String(req.url);
          if (url.includes('/.well-known/')) {
            discoveries.push(url);
            if (discoveries.length === 1) throw new Error('connect ECONNREFUSED (injected by the test)');
          }
          return target.request(req);
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { http: wrapped, discoveries };
}
