/**
 * Every failure path of the client against the stand-in: 401 → onUnauthorized → retry once, 401
 * twice, 429 + Retry-After (seconds and HTTP-date) through lib/http, 5xx bursts, error bodies with
 * `error` instead of `message`, codes missing from the body, unexpected shapes and malformed JSON,
 * transport failures, and no secret in any error or log line.
 */
import { describe, expect, it } from 'vitest';
import { ByteRoverError, isByteRoverError } from '../../../lib/byterover/index.js';
import type { SessionProvider } from '../../../lib/byterover/auth/types.js';
import { DEFAULT_SESSION_KEY } from '../../standin/byterover.js';
import { KeyListSession, rejectionOf, rig } from './harness.js';

describe('401 handling', () => {
  it('asks the session provider once and retries once with the renewed key', async () => {
    const session = new KeyListSession(['expired-session-key-111111', 'fresh-session-key-222222']);
    const { client, standin } = await rig({ session, standin: { sessionKeys: ['fresh-session-key-222222'] } });
    const me = await client.me();
    expect(me.id).toBe('user-1');
    expect(session.rejected).toEqual(['expired-session-key-111111']);
    const seen = standin.requestsTo('iam.user.me');
    expect(seen.map((r) => [r.sessionId, r.status])).toEqual([
      ['expired-session-key-111111', 401],
      ['fresh-session-key-222222', 200],
    ]);
    expect(seen[0]?.response).toMatchObject({
      statusCode: 401,
      code: 'AUTH_INVALID_TOKEN',
      message: 'Invalid or expired session',
      timestamp: expect.any(String),
    });
  });

  it('fails with BYTEROVER_UNAUTHORIZED when the renewed key is rejected too (one renewal, two requests)', async () => {
    const session = new KeyListSession([
      'bad-session-key-aaaaaa',
      'still-bad-session-key-bbbbbb',
      'never-used-key-cccccc',
    ]);
    const { client, standin, logs } = await rig({ session });
    const err = await rejectionOf(client.teams());
    expect(err).toBeInstanceOf(ByteRoverError);
    expect(err).toMatchObject({ code: 'BYTEROVER_UNAUTHORIZED', status: 401, retryable: false, endpoint: 'iam.teams' });
    expect(err.message).toContain('rejected again after renewing');
    expect(err.details).toMatchObject({ serverCode: 'AUTH_INVALID_TOKEN' });
    expect(String(err.hint)).toContain('claw-byterover login');
    expect(session.rejected).toEqual(['bad-session-key-aaaaaa']);
    expect(standin.requestsTo('iam.teams').map((r) => r.sessionId)).toEqual([
      'bad-session-key-aaaaaa',
      'still-bad-session-key-bbbbbb',
    ]);
    const everything = JSON.stringify(err) + err.message + String(err.hint) + logs.join('');
    for (const key of session.keys) expect(everything).not.toContain(key);
  });

  it('fails at once when the provider cannot renew', async () => {
    const session = new KeyListSession(['revoked-session-key-333333', 'unused-key-444444'], false);
    const { client, standin } = await rig({ session });
    const err = await rejectionOf(client.pullSnapshot('t', 's'));
    expect(err.code).toBe('BYTEROVER_UNAUTHORIZED');
    expect(err.message).toContain('could not be renewed');
    expect(session.rejected).toEqual(['revoked-session-key-333333']);
    expect(standin.requests).toHaveLength(1);
  });

  it('fails at once when the provider has no onUnauthorized, and on a missing key', async () => {
    const fixed: SessionProvider = { sessionKey: async () => 'unknown-session-key-555555' };
    const { client, standin } = await rig({ session: fixed });
    expect((await rejectionOf(client.me())).code).toBe('BYTEROVER_UNAUTHORIZED');
    expect(standin.requests).toHaveLength(1);

    const empty: SessionProvider = { sessionKey: async () => '' };
    const r2 = await rig({ session: empty });
    const err = await rejectionOf(r2.client.me());
    expect(err.code).toBe('BYTEROVER_UNAUTHORIZED');
    // lib/http sends an empty header value; the stand-in treats it as missing.
    expect(r2.standin.requests[0]?.response).toMatchObject({
      code: 'AUTH_INVALID_TOKEN',
      message: 'Missing x-byterover-session-id header',
    });
  });

  it('accepts keys through the pluggable validateSession hook', async () => {
    const checked: string[] = [];
    const session = new KeyListSession(['hook-approved-key-666666']);
    const { client } = await rig({
      session,
      standin: {
        validateSession: async (key) => {
          checked.push(key);
          return key.startsWith('hook-approved-');
        },
      },
    });
    expect((await client.me()).email).toBe('ada@example.com');
    expect(checked).toEqual(['hook-approved-key-666666']);
  });

  it('renews once when a 401 hits a push mid-way, keeping its idempotency key', async () => {
    const session = new KeyListSession([DEFAULT_SESSION_KEY, 'second-session-key-777777']);
    const { client, standin } = await rig({
      session,
      standin: { sessionKeys: [DEFAULT_SESSION_KEY, 'second-session-key-777777'] },
    });
    const team = standin.addTeam();
    const space = standin.addSpace(team.id);
    standin.inject({ kind: 'unauthorized', endpoint: 'cogit.commits' });
    const res = await client.pushCommit(team.id, space.id, {
      memories: [{ path: 'x.md', title: 'X', content: 'x', operation: 'add' }],
    });
    const commits = standin.requestsTo('cogit.commits');
    expect(commits.map((r) => [r.status, r.sessionId])).toEqual([
      [401, DEFAULT_SESSION_KEY],
      [200, 'second-session-key-777777'],
    ]);
    expect(commits.map((r) => r.idempotencyKey)).toEqual([res.idempotencyKey, res.idempotencyKey]);
  });
});

describe('throttling and server failures (retries inside lib/http)', () => {
  it('honours 429 Retry-After in seconds: the retry lands after the rate-limit window', async () => {
    const { client, standin } = await rig();
    standin.inject({ kind: 'rateLimit', retryAfter: 1, endpoint: 'iam.user.me' });
    expect((await client.me()).id).toBe('user-1');
    // The stand-in keeps answering 429 until its window closes, so a client that retried early
    // would have met a second 429; exactly two requests means the first retry waited it out.
    expect(standin.requestsTo('iam.user.me').map((r) => r.status)).toEqual([429, 200]);
    expect(standin.requestsTo('iam.user.me')[0]?.response).toMatchObject({ statusCode: 429 });
  });

  it('honours 429 Retry-After as an HTTP-date', async () => {
    const { client, standin } = await rig();
    standin.inject({ kind: 'rateLimit', retryAfter: new Date(Date.now() + 2000), endpoint: 'iam.teams' });
    expect(await client.teams()).toEqual([]);
    expect(standin.requestsTo('iam.teams').map((r) => r.status)).toEqual([429, 200]);
  });

  it('a client that ignores Retry-After would be refused again (the window is real)', async () => {
    const { standin, http } = await rig();
    standin.inject({ kind: 'rateLimit', retryAfter: 30, endpoint: 'iam.user.me' });
    const url = `${standin.urls.iam}/api/v1/user/me`;
    const headers = { 'x-byterover-session-id': DEFAULT_SESSION_KEY };
    const first = await http.request({ method: 'GET', url, headers, retry: false });
    const second = await http.request({ method: 'GET', url, headers, retry: false });
    expect([first.status, second.status]).toEqual([429, 429]);
    expect(Number(second.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('fails fast with the transport code when Retry-After exceeds the deadline', async () => {
    const { client, standin } = await rig({ http: { deadlineMs: 5_000 } });
    standin.inject({ kind: 'rateLimit', retryAfter: 120, endpoint: 'iam.user.me' });
    const err = await rejectionOf(client.me());
    expect(err.code).toBe('HTTP_RETRY_AFTER_EXCEEDS_DEADLINE');
    expect(standin.requests).toHaveLength(1);
  });

  it('recovers from a burst of 5xx', async () => {
    const { client, standin } = await rig();
    standin.addTeam();
    standin.inject({ kind: 'status', status: 502, endpoint: 'iam.teams', times: 1 });
    standin.inject({ kind: 'status', status: 503, endpoint: 'iam.teams', times: 1 });
    expect(await client.teams()).toHaveLength(1);
    expect(standin.requestsTo('iam.teams').map((r) => r.status)).toEqual([502, 503, 200]);
  });

  it('reports a burst longer than the retry policy as a retryable ByteRoverError with the last request id', async () => {
    const { client, standin } = await rig();
    standin.inject({ kind: 'status', status: 503, endpoint: 'iam.user.me', times: 5 });
    const err = await rejectionOf(client.me());
    const seen = standin.requestsTo('iam.user.me');
    expect(seen).toHaveLength(3);
    expect(isByteRoverError(err, 'SERVICE_UNAVAILABLE')).toBe(true);
    expect(err).toMatchObject({ status: 503, retryable: true, requestId: seen[2]?.requestId });
    expect(err.message).toContain('Injected failure');
    expect(String(err.hint)).toContain(String(seen[2]?.requestId));
  });

  it('keeps lib/http codes for transport failures: timeouts and resets', async () => {
    const { client, standin } = await rig({ client: { config: { timeouts: { iam: 150 } } } });
    standin.inject({ kind: 'latency', ms: 1_000, endpoint: 'iam.user.me', times: 3 });
    expect((await rejectionOf(client.me())).code).toBe('HTTP_TIMEOUT');
    standin.clearFaults();
    standin.inject({ kind: 'reset', endpoint: 'iam.user.me', times: 3 });
    expect((await rejectionOf(client.me())).code).toBe('HTTP_NETWORK');
    standin.inject({ kind: 'reset', endpoint: 'iam.user.me', times: 1 });
    expect((await client.me()).id).toBe('user-1');
  });
});

describe('cancellation', () => {
  it("passes the caller's AbortSignal to lib/http (a list stops at the page in flight)", async () => {
    const { client, standin } = await rig();
    for (let i = 0; i < 150; i++) standin.addTeam();
    standin.inject({ kind: 'latency', ms: 2_000, endpoint: 'iam.teams', times: 1 });
    const ac = new AbortController();
    const pending = client.teams({ signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    expect((await rejectionOf(pending)).code).toBe('HTTP_ABORTED');
    // the first page was in flight (or not yet sent); no later page was asked for
    expect(standin.requestsTo('iam.teams').length).toBeLessThanOrEqual(1);
  });
});

describe('error bodies', () => {
  it('reads `error` when an endpoint uses it instead of `message`', async () => {
    const { client, standin } = await rig();
    standin.errorStyle['iam.teams'] = 'error';
    standin.inject({
      kind: 'status',
      status: 403,
      code: 'TEAM_ACCESS_DENIED',
      message: 'You are not a member of this team',
      endpoint: 'iam.teams',
    });
    const err = await rejectionOf(client.teams());
    expect(standin.requestsTo('iam.teams')[0]?.response).toMatchObject({ error: 'You are not a member of this team' });
    expect(err).toMatchObject({ code: 'TEAM_ACCESS_DENIED', status: 403, retryable: false });
    expect(err.message).toContain('You are not a member of this team');
    expect(String(err.hint)).toContain('claw-byterover teams');
  });

  it('uses BYTEROVER_HTTP_<status> when the body has no code', async () => {
    const { client, standin } = await rig();
    standin.inject({ kind: 'status', status: 418, code: null, message: 'teapot', endpoint: 'billing.usages' });
    const err = await rejectionOf(client.billingUsage());
    expect(err).toMatchObject({
      code: 'BYTEROVER_HTTP_418',
      status: 418,
      retryable: false,
      endpoint: 'billing.usages',
    });
    expect(err.message).toContain('teapot');
  });

  it('answers 404 for a path the service does not serve', async () => {
    const { standin, http } = await rig();
    const res = await http.request({ method: 'GET', url: `${standin.urls.cogit}/api/v1/user/me` });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ statusCode: 404, code: 'NOT_FOUND' });
    expect(res.requestId).toBe(standin.requests[0]?.requestId);
  });
});

describe('response validation', () => {
  it('names the offending field of an unexpected shape', async () => {
    const { client, standin } = await rig();
    standin.inject({
      kind: 'body',
      endpoint: 'iam.teams',
      body: {
        code: 200,
        data: {
          teams: [
            { id: 't1', name: 'ok' },
            { id: 42, name: 'x' },
          ],
          total: 2,
        },
      },
    });
    const err = await rejectionOf(client.teams());
    expect(err.code).toBe('BYTEROVER_BAD_RESPONSE');
    expect(err.message).toContain('field data.teams[1].id');
    expect(err.message).toContain('found number');
    expect(err.details).toMatchObject({ field: 'data.teams[1].id', endpoint: 'iam.teams' });
  });

  it('names a missing field', async () => {
    const { client, standin } = await rig();
    standin.inject({ kind: 'body', endpoint: 'iam.user.me', body: { code: 200, data: { email: 'a@b.c' } } });
    const err = await rejectionOf(client.me());
    expect(err.code).toBe('BYTEROVER_BAD_RESPONSE');
    expect(err.message).toContain('field data.id');
    expect(err.message).toContain('found nothing');
  });

  it('rejects malformed JSON as BYTEROVER_BAD_RESPONSE', async () => {
    const { client, standin } = await rig();
    standin.inject({ kind: 'malformed', endpoint: 'iam.spaces' });
    const err = await rejectionOf(client.spaces());
    expect(err.code).toBe('BYTEROVER_BAD_RESPONSE');
    expect(err.message).toContain('malformed JSON');
    expect((err as { cause?: { code?: string } }).cause?.code).toBe('HTTP_INVALID_RESPONSE');
    expect(err.requestId).toBe(standin.requestsTo('iam.spaces')[0]?.requestId);
  });

  it('rejects text where JSON is expected', async () => {
    const { client, standin } = await rig();
    standin.inject({
      kind: 'malformed',
      endpoint: 'iam.user.me',
      body: '<html>gateway</html>',
      contentType: 'text/html',
    });
    const err = await rejectionOf(client.me());
    expect(err.code).toBe('BYTEROVER_BAD_RESPONSE');
    expect(err.message).toContain('non-JSON text');
  });

  it('checks snapshot files: base64 alphabet and size', async () => {
    const { client, standin } = await rig();
    const file = { path: '/a.md', content: 'aGVsbG8=', mode: '100644', sha: 'x', size: 5 };
    const snap = (files: unknown[]) => ({ branch: 'main', commit_sha: 'abc', message: 'm', author: null, files });
    standin.inject({
      kind: 'body',
      endpoint: 'cogit.snapshot',
      body: snap([file, { ...file, content: 'not base64!' }]),
    });
    let err = await rejectionOf(client.pullSnapshot('t', 's'));
    expect(err.code).toBe('BYTEROVER_BAD_RESPONSE');
    expect(err.message).toContain('field files[1].content: expected base64');
    standin.inject({ kind: 'body', endpoint: 'cogit.snapshot', body: snap([{ ...file, size: 9 }]) });
    err = await rejectionOf(client.pullSnapshot('t', 's'));
    expect(err.message).toContain('field files[0].size: expected 5');
    standin.inject({ kind: 'body', endpoint: 'cogit.snapshot', body: snap([file]) });
    expect((await client.pullSnapshot('t', 's')).files[0]?.text).toBe('hello');
  });

  it('treats a commit answered with success=false as BYTEROVER_COMMIT_REJECTED', async () => {
    const { client, standin } = await rig();
    const team = standin.addTeam();
    const space = standin.addSpace(team.id);
    standin.inject({
      kind: 'body',
      endpoint: 'cogit.commits',
      body: { success: false, message: 'Repository is read-only' },
    });
    const err = await rejectionOf(
      client.pushCommit(team.id, space.id, {
        currentSha: '',
        memories: [{ path: 'a', title: 'a', content: 'a', operation: 'add' }],
      }),
    );
    expect(err.code).toBe('BYTEROVER_COMMIT_REJECTED');
    expect(err.message).toContain('Repository is read-only');
  });
});
