/**
 * `claw-byterover login` (OAuth 2.0 authorization code + PKCE, loopback callback) and
 * `login --client-credentials`, against the REAL oidc-provider (test/servers/oidc.ts) as the issuer
 * and the ByteRover stand-in accepting the session keys it issues; then refresh on a 401,
 * invalid_grant after the grant is revoked, a denied login — in-process and as a child process
 * whose printed URL the test opens as the browser.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFileTokenStore } from '../../../lib/byterover/auth/index.js';
import { browse, startOidcServer, type BrowseResult, type OidcServer } from '../../servers/oidc.js';
import { startCliEnv, startCliProcess, type CliEnv } from './harness.js';

describe('claw-byterover login with OAuth against oidc-provider', () => {
  let oidc: OidcServer;
  let e: CliEnv;

  beforeAll(async () => {
    oidc = await startOidcServer({ sessionKeys: true });
    e = await startCliEnv({
      standin: { validateSession: (key) => oidc.issuedSessionKeys.has(key) },
      env: { CLAW_BYTEROVER_OAUTH_ISSUER: oidc.issuer, CLAW_BYTEROVER_OAUTH_OFFLINE_ACCESS: 'true' },
    });
    const team = e.standin.addTeam({ is_default: true });
    e.standin.addSpace(team.id, { is_default: true });
  });
  afterAll(async () => {
    await e?.close();
    await oidc?.close();
  });
  afterEach(() => e.standin.clearFaults());

  /**
   * Runs `login` in-process with a browser opener that plays the browser. If the browser does not
   * end on the loopback callback, the login is aborted (instead of waiting its 5 minutes).
   */
  async function loginWithBrowser(argv: string[] = []) {
    let page: Promise<BrowseResult> | undefined;
    let opened = '';
    const ac = new AbortController();
    const r = await e.cli(['login', ...argv], {
      signal: ac.signal,
      openUrl: async (url) => {
        opened = url;
        page = browse(url);
        page.then(
          (p) => !p.url.includes('/callback') && ac.abort(),
          () => ac.abort(),
        );
        return true;
      },
    });
    return { r, opened, page: page ? await page.catch((err: unknown) => err as Error) : undefined };
  }

  it('logs in through the browser and the loopback callback; the printed URL is the authorization request', async () => {
    const { r, opened, page } = await loginWithBrowser(['--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({
      profile: 'default',
      via: 'oauth',
      user: { id: 'user-1' },
      credential: { kind: 'oauth', refreshable: true, issuer: oidc.issuer },
    });
    const url = new URL(opened);
    expect(`${url.origin}${url.pathname}`).toBe(`${oidc.issuer}/authorize`);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('client_id')).toBe('byterover-cli-client');
    // The URL is shown whole (state included): the user may have to paste it into a browser.
    expect(r.err).toContain('Opened your browser to log in to ByteRover');
    expect(r.err).toContain(opened);
    expect((page as BrowseResult).body).toContain('Logged in to ByteRover');
    expect(oidc.stats.success.authorization_code).toBe(1);

    const who = await e.cli(['whoami', '--json']);
    expect(who.code).toBe(0);
    expect(who.json().credential).toMatchObject({ source: 'store', kind: 'oauth', refreshable: true });
    expect(oidc.issuedSessionKeys.has(e.standin.requestsTo('iam.user.me').at(-1)!.sessionId!)).toBe(true);
  });

  it('a 401 from ByteRover makes the CLI refresh once (rotating refresh token) and retry', async () => {
    const before = oidc.refreshCount();
    e.standin.inject({ kind: 'unauthorized', endpoint: 'iam.teams', times: 1 });
    const r = await e.cli(['teams', '--json']);
    expect(r.code).toBe(0);
    expect(r.json().total).toBe(1);
    expect(oidc.refreshCount()).toBe(before + 1);
    const calls = e.standin.requestsTo('iam.teams').slice(-2);
    expect(calls[0]!.status).toBe(401);
    expect(calls[1]!.status).toBe(200);
    expect(calls[1]!.sessionId).not.toBe(calls[0]!.sessionId);
  });

  it('after the grant is revoked, refresh meets invalid_grant: exit 3 and "log in again"', async () => {
    const cred = await createFileTokenStore({ dir: e.dataDir }).load('default');
    const rt = await oidc.provider.RefreshToken.find(cred!.refreshToken!);
    await oidc.revokeGrant(rt!.grantId!);
    e.standin.inject({ kind: 'unauthorized', endpoint: 'iam.user.me', times: 1 });
    const r = await e.cli(['whoami', '--json']);
    expect(r.code).toBe(3);
    expect(r.json().error.code).toMatch(/UNAUTHORIZED|REAUTH_REQUIRED/);
    expect(r.json().error.hint).toContain('claw-byterover login');
    expect(oidc.stats.errors.some((x) => x.grant === 'refresh_token' && x.error === 'invalid_grant')).toBe(true);
  });

  it('a login the user denies is AUTH_LOGIN_DENIED, exit 3', async () => {
    oidc.denyNextLogin('access_denied');
    const { r } = await loginWithBrowser(['--profile', 'denied']);
    expect(r.code).toBe(3);
    expect(r.err).toContain('error AUTH_LOGIN_DENIED');
    expect(r.err).toContain('"access_denied"');
  });

  it('login --client-credentials uses the configured client; a wrong secret is exit 3', async () => {
    const env = {
      CLAW_BYTEROVER_CLIENT_ID: oidc.service.clientId,
      CLAW_BYTEROVER_CLIENT_SECRET: oidc.service.clientSecret,
    };
    const r = await e.cli(['login', '--client-credentials', '--profile', 'svc', '--json'], { env });
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({
      profile: 'svc',
      via: 'client-credentials',
      credential: { kind: 'client-credentials' },
    });
    const who = await e.cli(['whoami', '--profile', 'svc', '--json'], { env });
    expect(who.code).toBe(0);
    // Without a stored credential the session provider fetches one itself.
    const auto = await e.cli(['teams', '--profile', 'svc-auto', '--json'], { env });
    expect(auto.code).toBe(0);

    const bad = await e.cli(['login', '--client-credentials', '--profile', 'svc-bad'], {
      env: { ...env, CLAW_BYTEROVER_CLIENT_SECRET: 'definitely-wrong-secret' },
    });
    expect(bad.code).toBe(3);
    expect(bad.err).toContain('error AUTH_TOKEN_REQUEST_FAILED');
    expect(bad.err).not.toContain('definitely-wrong-secret');
    const none = await e.cli(['login', '--client-credentials', '--profile', 'svc-none']);
    expect(none.code).toBe(6);
    expect(none.err).toContain('CONFIG_CLIENT_CREDENTIALS_MISSING');
  });

  it('as a child process: `login --no-browser` prints the URL; opening it completes the login', async () => {
    const child = startCliProcess(['login', '--no-browser', '--profile', 'child'], { cwd: e.root, env: e.env });
    child.stdin.end();
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    let page: Promise<BrowseResult> | undefined;
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stderr.setEncoding('utf8').on('data', (c: string) => {
        err += c;
        const m = /\n {2}(http:\/\/\S+\/authorize\?\S+)\n/.exec(err);
        if (m && !page) {
          page = browse(m[1]!);
          resolve();
        }
      });
      child.on('close', () => reject(new Error(`login exited before printing a URL: ${err}`)));
    });
    expect(err).toContain('To log in to ByteRover, open this URL in a browser on this machine:');
    const landed = await page!.catch((x: unknown) => ({ status: 0, url: String(x) }) as BrowseResult);
    if (landed.status !== 200) child.kill('SIGINT');
    expect(landed.status).toBe(200);
    expect(await exited).toBe(0);
    expect(out).toMatch(/^Logged in as .* with OAuth login \(profile "child"\)/);
  });

  it('as a child process: Ctrl-C while login waits for the browser exits 130 and stores nothing', async () => {
    const child = startCliProcess(['login', '--no-browser', '--profile', 'interrupted'], { cwd: e.root, env: e.env });
    child.stdin.end();
    let err = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve) => {
      child.stderr.setEncoding('utf8').on('data', (c: string) => {
        err += c;
        if (err.includes('/authorize?')) resolve();
      });
    });
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(err).toMatch(/error AUTH_LOGIN_CANCELLED|error CLI_INTERRUPTED/);
    expect(await createFileTokenStore({ dir: e.dataDir }).load('interrupted')).toBeUndefined();
  });
});
