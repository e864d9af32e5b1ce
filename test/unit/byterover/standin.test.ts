/**
 * The stand-in's own contract, spoken to with bare lib/http requests (no ByteRover client): what
 * other test authors rely on when they point code at it.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SESSION_KEY, gitBlobSha } from '../../standin/byterover.js';
import { rig } from './harness.js';

const auth = { 'x-byterover-session-id': DEFAULT_SESSION_KEY };

describe('ByteRover stand-in', () => {
  it('answers 401 AUTH_INVALID_TOKEN without or with an unknown session id, with x-request-id', async () => {
    const { standin, http } = await rig();
    for (const headers of [{}, { 'x-byterover-session-id': 'nope-nope-nope' }] as Array<Record<string, string>>) {
      const res = await http.request({ method: 'GET', url: `${standin.urls.billing}/api/v1/billing/usages`, headers });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({
        statusCode: 401,
        code: 'AUTH_INVALID_TOKEN',
        message: expect.any(String),
        timestamp: expect.any(String),
      });
      expect(res.requestId).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(standin.requests.map((r) => r.sessionId)).toEqual([undefined, 'nope-nope-nope']);
  });

  it('validates paging parameters and caps limit at 100', async () => {
    const { standin, http } = await rig();
    for (let i = 0; i < 120; i++) standin.addTeam();
    const get = (q: Record<string, string>) =>
      http.request<{ data: { teams: unknown[]; limit: number } }>({
        method: 'GET',
        url: `${standin.urls.iam}/api/v1/teams`,
        query: q,
        headers: auth,
      });
    const capped = await get({ limit: '500', offset: '0' });
    expect(capped.status).toBe(200);
    expect(capped.body.data.teams).toHaveLength(100);
    expect(capped.body.data.limit).toBe(100);
    expect((await get({ limit: 'abc' })).status).toBe(400);
    expect((await get({ limit: '0' })).body).toMatchObject({ code: 'VALIDATION_ERROR' });
    expect((await get({ is_active: 'maybe' })).status).toBe(400);
    expect((await get({ offset: '110', limit: '100' })).body.data.teams).toHaveLength(10);
  });

  it('computes git blob SHAs and content-derived commit SHAs', async () => {
    const { standin } = await rig();
    const t = standin.addTeam();
    const s = standin.addSpace(t.id);
    expect(gitBlobSha(Buffer.from('hello world'))).toBe('95d09f2b10159347eece71399a7e2e907ea3df4f');
    const a = standin.commitFiles(t.id, s.id, 'main', { 'x.md': 'same' }, 'm');
    const t2 = standin.addTeam();
    const s2 = standin.addSpace(t2.id);
    expect(standin.commitFiles(t2.id, s2.id, 'main', { 'x.md': 'same' }, 'm')).toBe(a);
    expect(standin.commitFiles(t2.id, s2.id, 'other', { 'x.md': 'different' }, 'm')).not.toBe(a);
  });

  it('implements Idempotency-Key on commits: replay for the same body, 422 for another, nothing saved for a rejection', async () => {
    const { standin, http } = await rig();
    const t = standin.addTeam();
    const s = standin.addSpace(t.id);
    const url = `${standin.urls.cogit}/api/v1/organizations/${t.id}/projects/${s.id}/commits`;
    const body = (sha: string, content = 'a') => ({
      branch: 'main',
      current_sha: sha,
      memories: [{ path: 'a.md', title: 'A', content, tags: [], operation: 'add' }],
    });
    const post = (b: unknown, key: string) =>
      http.request<Record<string, unknown>>({
        method: 'POST',
        url,
        headers: auth,
        body: b,
        idempotencyKey: key,
        retry: false,
      });

    const stale = await post(body('0000000'), 'key-1');
    expect(stale.status).toBe(400);
    expect(stale.body).toMatchObject({
      code: 'SHA_MISMATCH',
      success: false,
      error: "Expected SHA '0000000' but current SHA is ''",
    });
    const ok = await post(body(''), 'key-1'); // the rejection saved nothing under key-1
    expect(ok.status).toBe(200);
    const again = await post(body(''), 'key-1');
    expect(again.body).toEqual(ok.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    const reused = await post(body('', 'b'), 'key-1');
    expect(reused.status).toBe(422);
    expect(reused.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(standin.history(t.id, s.id)).toHaveLength(1);
    expect(standin.requestsTo('cogit.commits').map((r) => r.idempotencyKey)).toEqual([
      'key-1',
      'key-1',
      'key-1',
      'key-1',
    ]);
  });

  it('counts fault uses and removes faults', async () => {
    const { standin, http } = await rig();
    const f = standin.inject({ kind: 'status', status: 500, endpoint: ['iam.user.me', 'iam.teams'], times: 2 });
    const me = () =>
      http.request({ method: 'GET', url: `${standin.urls.iam}/api/v1/user/me`, headers: auth, retry: false });
    expect((await me()).status).toBe(500);
    expect(f).toMatchObject({ hits: 1, remaining: 1 });
    f.remove();
    expect((await me()).status).toBe(200);
    expect(standin.requests.map((r) => r.faults)).toEqual([['status'], []]);
  });
});
