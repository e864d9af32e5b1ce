/**
 * pushCommit(): optimistic concurrency on current_sha (stale → refetch → retry once → conflict), one
 * idempotency key per logical push reused on every attempt, and a commit applied exactly once even
 * when its answer is lost.
 */
import { describe, expect, it } from 'vitest';
import type { MemoryChange } from '../../../lib/byterover/index.js';
import { rejectionOf, rigWithSpace } from './harness.js';

const note = (n: number): MemoryChange => ({
  path: `notes/n${n}.md`,
  title: `Note ${n}`,
  content: `# Note ${n}\n`,
  tags: ['t'],
  operation: 'add',
});

async function space(o: Parameters<typeof rigWithSpace>[0] = {}) {
  const r = await rigWithSpace(o);
  return { ...r, seed: r.standin.commitFiles(r.teamId, r.spaceId, 'main', { 'seed.md': 'seed' }) };
}

describe('pushCommit()', () => {
  it('fetches the head when no current_sha is given, commits, and the change is pulled back', async () => {
    const { client, standin, teamId, spaceId, seed } = await space();
    const res = await client.pushCommit(teamId, spaceId, { memories: [note(1)], message: 'add n1' });
    expect(res.parentSha).toBe(seed);
    expect(res.commitSha).toBe(standin.head(teamId, spaceId));
    expect(res.commitSha).not.toBe(seed);
    expect(res.retriedAfterConflict).toBe(false);
    const [commit] = standin.requestsTo('cogit.commits');
    expect(commit?.body).toEqual({
      branch: 'main',
      current_sha: seed,
      memories: [{ path: 'notes/n1.md', title: 'Note 1', content: '# Note 1\n', tags: ['t'], operation: 'add' }],
      message: 'add n1',
    });
    expect(commit?.idempotencyKey).toBe(res.idempotencyKey);
    const snap = await client.pullSnapshot(teamId, spaceId);
    expect(snap.commitSha).toBe(res.commitSha);
    expect(snap.message).toBe('add n1');
    expect(snap.files.find((f) => f.path === '/notes/n1.md')?.text).toBe('# Note 1\n');
  });

  it('uses the caller-given current_sha without fetching, and deletes', async () => {
    const { client, standin, teamId, spaceId, seed } = await space();
    const res = await client.pushCommit(teamId, spaceId, {
      currentSha: seed,
      memories: [{ path: 'seed.md', title: '', content: '', operation: 'delete' }],
    });
    expect(standin.requestsTo('cogit.snapshot')).toHaveLength(0);
    expect(res.parentSha).toBe(seed);
    expect([...standin.files(teamId, spaceId).keys()]).toEqual([]);
  });

  it('pushes on a branch without commits (current_sha "")', async () => {
    const { client, standin, teamId, spaceId } = await space();
    const res = await client.pushCommit(teamId, spaceId, { branch: 'fresh', memories: [note(2)] });
    expect(res.parentSha).toBe('');
    expect(standin.head(teamId, spaceId, 'fresh')).toBe(res.commitSha);
  });

  it('on a stale current_sha refetches the head and succeeds on the second attempt, same idempotency key', async () => {
    const { client, standin, teamId, spaceId, seed } = await space();
    standin.inject({ kind: 'concurrentCommit', endpoint: 'cogit.commits' });
    const res = await client.pushCommit(teamId, spaceId, { currentSha: seed, memories: [note(3)] });
    const history = standin.history(teamId, spaceId);
    expect(history.map((c) => c.message)).toEqual(['Direct commit', 'Concurrent change 1', 'Push 1 memory']);
    const moved = history[1]?.sha;
    expect(res).toMatchObject({
      retriedAfterConflict: true,
      alreadyApplied: false,
      parentSha: moved,
      commitSha: history[2]?.sha,
    });
    const commits = standin.requestsTo('cogit.commits');
    expect(commits.map((r) => [r.status, (r.body as { current_sha: string }).current_sha])).toEqual([
      [400, seed],
      [200, moved],
    ]);
    expect(commits[0]?.response).toMatchObject({
      statusCode: 400,
      code: 'SHA_MISMATCH',
      error: `Expected SHA '${seed}' but current SHA is '${moved}'`,
    });
    expect(new Set(commits.map((r) => r.idempotencyKey))).toEqual(new Set([res.idempotencyKey]));
    expect(standin.requestsTo('cogit.snapshot')).toHaveLength(1);
    // the concurrent change is kept: the push applied on top of it
    expect([...standin.files(teamId, spaceId).keys()].sort()).toEqual([
      '/concurrent/change-1.md',
      '/notes/n3.md',
      '/seed.md',
    ]);
  });

  it('fails with BYTEROVER_CONFLICT naming the SHA sent and the head found when the head moves twice', async () => {
    const { client, standin, teamId, spaceId, seed } = await space();
    standin.inject({ kind: 'concurrentCommit', endpoint: 'cogit.commits', times: 2 });
    const err = await rejectionOf(client.pushCommit(teamId, spaceId, { memories: [note(4)] }));
    const [, first, second] = standin.history(teamId, spaceId).map((c) => c.sha);
    expect(err.code).toBe('BYTEROVER_CONFLICT');
    expect(err.message).toContain(`sent current_sha ${first}`);
    expect(err.message).toContain(`head is ${second}`);
    expect(err.message).toContain(`based on ${seed}`);
    expect(err.details).toMatchObject({ sentSha: first, currentSha: second, firstSentSha: seed, branch: 'main' });
    expect(String(err.hint)).toContain('claw-byterover pull');
    expect(standin.requestsTo('cogit.commits').map((r) => r.status)).toEqual([400, 400]);
    expect(standin.history(teamId, spaceId)).toHaveLength(3);
  });

  it('repeats a commit that met a burst of 5xx with the same idempotency key, committing once', async () => {
    const { client, standin, teamId, spaceId, seed } = await space();
    standin.inject({ kind: 'status', status: 503, endpoint: 'cogit.commits', times: 2 });
    const res = await client.pushCommit(teamId, spaceId, { currentSha: seed, memories: [note(5)] });
    const commits = standin.requestsTo('cogit.commits');
    expect(commits.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(commits.map((r) => r.idempotencyKey)).toEqual([res.idempotencyKey, res.idempotencyKey, res.idempotencyKey]);
    expect(res.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    expect(standin.history(teamId, spaceId)).toHaveLength(2);
  });

  it('a commit applied whose answer was lost is answered from the idempotency record, not applied twice', async () => {
    const { client, standin, teamId, spaceId, seed } = await space();
    standin.inject({ kind: 'failAfterCommit', endpoint: 'cogit.commits', status: 502 });
    const res = await client.pushCommit(teamId, spaceId, { currentSha: seed, memories: [note(6)] });
    const commits = standin.requestsTo('cogit.commits');
    expect(commits.map((r) => [r.status, r.replayed])).toEqual([
      [502, false],
      [200, true],
    ]);
    expect(commits[0]?.idempotencyKey).toBe(commits[1]?.idempotencyKey);
    expect(standin.history(teamId, spaceId)).toHaveLength(2);
    expect(res.commitSha).toBe(standin.head(teamId, spaceId));
    expect(res).toMatchObject({ retriedAfterConflict: false, alreadyApplied: false });
  });

  it('without idempotency records on the server, a lost answer is recognised from the new head, not committed twice', async () => {
    const { client, standin, teamId, spaceId, seed } = await space({ standin: { idempotency: false } });
    standin.inject({ kind: 'failAfterCommit', endpoint: 'cogit.commits', status: 502 });
    const res = await client.pushCommit(teamId, spaceId, {
      currentSha: seed,
      memories: [note(6), { path: 'gone.md', title: '', content: '', operation: 'delete' }],
    });
    // lib/http repeated the POST (same key); the server, keeping no record, found the head moved.
    expect(standin.requestsTo('cogit.commits').map((r) => r.status)).toEqual([502, 400]);
    expect(standin.requestsTo('cogit.snapshot')).toHaveLength(1);
    expect(standin.history(teamId, spaceId)).toHaveLength(2);
    expect(res).toMatchObject({ alreadyApplied: true, commitSha: standin.head(teamId, spaceId), parentSha: seed });
  });

  it('two pushes get two different idempotency keys', async () => {
    const { client, standin, teamId, spaceId } = await space();
    const a = await client.pushCommit(teamId, spaceId, { memories: [note(7)] });
    const b = await client.pushCommit(teamId, spaceId, { memories: [note(8)] });
    expect(a.idempotencyKey).not.toBe(b.idempotencyKey);
    expect(b.parentSha).toBe(a.commitSha);
    expect(standin.history(teamId, spaceId)).toHaveLength(3);
  });

  it('rejects invalid changes before sending anything', async () => {
    const { client, standin, teamId, spaceId } = await space();
    standin.clearRequests();
    const cases: Array<[unknown, string]> = [
      [[], 'expected at least one memory change'],
      [[{ ...note(1), operation: 'rename' }], 'memories[0].operation: expected add, edit or delete, found "rename"'],
      [[note(1), { ...note(2), path: ' ' }], 'memories[1].path'],
      [[{ ...note(1), title: '' }], 'memories[0].title: expected a title for an add'],
      [[{ ...note(1), content: ' ' }], 'memories[0].content: expected content for an add'],
      [[{ ...note(1), tags: [1] }], 'memories[0].tags'],
    ];
    for (const [memories, text] of cases) {
      const err = await rejectionOf(client.pushCommit(teamId, spaceId, { memories: memories as MemoryChange[] }));
      expect(err.code).toBe('BYTEROVER_INVALID_MEMORY');
      expect(err.message).toContain(text);
    }
    expect((await rejectionOf(client.pushCommit('', spaceId, { memories: [note(1)] }))).code).toBe(
      'BYTEROVER_INVALID_ARGUMENT',
    );
    expect(standin.requests).toHaveLength(0);
  });

  it('reports CoGit errors sent in `error` (not `message`) with the server code', async () => {
    const { client, standin, teamId } = await space();
    const err = await rejectionOf(
      client.pushCommit(teamId, 'missing-space', { currentSha: 'abc', memories: [note(1)] }),
    );
    expect(err).toMatchObject({ code: 'PROJECT_NOT_FOUND', status: 404, endpoint: 'cogit.commits' });
    expect(err.message).toContain('Project missing-space not found');
    const [req] = standin.requestsTo('cogit.commits');
    expect(req?.status).toBe(404);
    expect(req?.response).toMatchObject({ statusCode: 404, code: 'PROJECT_NOT_FOUND', error: expect.any(String) });
    expect(req?.response).not.toHaveProperty('message');
  });
});
