/**
 * `login` checks that the login server answers before it opens a browser and waits: with nothing
 * listening at the issuer it fails at once with HTTP_NETWORK naming the host; a reachable issuer
 * still gets the full browser wait (the real oidc-provider login succeeds). Before the check, the
 * unreachable case opened the login page and waited DEFAULT_LOGIN_TIMEOUT_MS (5 min) in silence.
 */
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isClawError } from '../../../lib/errors.js';
import { loginWithOAuth } from '../../../lib/byterover/auth/index.js';
import { DEFAULT_LOGIN_TIMEOUT_MS } from '../../../lib/byterover/auth/loopback.js';
import { loginPlayingBrowser, startAuthEnv, type AuthEnv } from './setup.js';

/** A loopback port with nothing listening (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('login: the login server must be reachable first', () => {
  let env: AuthEnv;
  beforeEach(async () => {
    env = await startAuthEnv();
  });
  afterEach(async () => {
    await env.close();
  });

  it('fails with HTTP_NETWORK naming the host, without opening a login page or waiting', async () => {
    const port = await closedPort();
    const opened: string[] = [];
    const ac = new AbortController();
    const err = await loginWithOAuth({
      issuer: `http://127.0.0.1:${port}/api/v1/oidc`,
      store: env.store,
      http: env.http,
      logger: env.logger,
      signal: ac.signal,
      // Were a login page opened, the test would otherwise wait the whole login timeout: stop it.
      openBrowser: async (url) => {
        opened.push(url);
        ac.abort();
        return true;
      },
    }).catch((e: unknown) => e);
    expect(opened).toEqual([]);
    expect(isClawError(err) && err.code).toBe('HTTP_NETWORK');
    const e = err as Error & { hint?: string; details?: Record<string, unknown> };
    expect(e.message).toContain(`Cannot reach the login server 127.0.0.1:${port}`);
    expect(e.message).toContain('No login page was opened');
    expect(e.hint).toContain(`127.0.0.1:${port}`);
    expect(e.details).toMatchObject({ host: `127.0.0.1:${port}` });
    expect(await env.store.load()).toBeUndefined();
  });

  it('a reachable login server still gets the browser wait (5 min) and logs in', async () => {
    expect(DEFAULT_LOGIN_TIMEOUT_MS).toBe(5 * 60_000);
    const { summary } = await loginPlayingBrowser(env);
    expect(summary.kind).toBe('oauth');
  });
});
