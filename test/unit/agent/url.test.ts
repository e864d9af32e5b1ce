/**
 * The gateway URL never carries the token (issue 14 item 10): OpenClaw's gateway reads it only from
 * the connect frame (auth.token), and a token in a URL leaks into shell history and proxy logs.
 */
import { describe, expect, it } from 'vitest';
import { validateGatewayUrl } from '../../../lib/agent/link.js';

function refusal(url: string): Error & { code?: string; exitCode?: number; hint?: string; details?: unknown } {
  try {
    validateGatewayUrl(url);
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error(`expected ${url} to be refused`);
}

describe('validateGatewayUrl', () => {
  it('refuses a token (or any credential) in the query with AGENT_INVALID_URL, exit 2, the next step and no value', () => {
    for (const [url, param] of [
      ['ws://127.0.0.1:18789/?token=s3cr3t-gw-token', 'token'],
      ['ws://127.0.0.1:18789?access_token=s3cr3t-gw-token', 'access_token'],
      ['wss://gw.example.test/ws?client=x&auth=s3cr3t-gw-token', 'auth'],
      ['ws://127.0.0.1:18789/?password=s3cr3t-gw-token', 'password'],
    ] as const) {
      const e = refusal(url);
      expect(e.code).toBe('AGENT_INVALID_URL');
      expect(e.exitCode).toBe(2);
      expect(e.message).toContain(`found ?${param}= in its query`);
      expect(e.hint).toContain('--token or OPENCLAW_GATEWAY_TOKEN');
      expect(JSON.stringify({ m: e.message, h: e.hint, d: e.details })).not.toContain('s3cr3t-gw-token');
    }
  });

  it('accepts plain ws:// and wss:// URLs, with a path and harmless query parameters', () => {
    expect(validateGatewayUrl('ws://127.0.0.1:18789').host).toBe('127.0.0.1:18789');
    expect(validateGatewayUrl('wss://gw.example.test/ws?client=cli').pathname).toBe('/ws');
  });
});
