/**
 * Every ByteRover call against the stand-in cloud over the real transport: user/me, teams and spaces
 * across pages, snapshot pull with decoding, billing usage, the legacy memories API, and the headers
 * each call carries.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isByteRoverError } from '../../../lib/byterover/index.js';
import { DEFAULT_LEGACY_API_KEY, DEFAULT_SESSION_KEY } from '../../standin/byterover.js';
import { rejectionOf, rig, rigWithSpace } from './harness.js';

describe('me()', () => {
  it('reads IAM user/me and maps it', async () => {
    const { client, standin } = await rig();
    const me = await client.me();
    expect(me).toEqual({
      id: 'user-1',
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      avatarUrl: 'https://example.com/ada.png',
      hasOnboardedCli: true,
    });
    const [req] = standin.requestsTo('iam.user.me');
    expect(req?.service).toBe('iam');
    expect(req?.sessionId).toBe(DEFAULT_SESSION_KEY);
    expect(req?.headers.accept).toBe('application/json');
  });
});

describe('teams()', () => {
  it('reads every page of 100 (limit/offset/total) and keeps the server order', async () => {
    const { client, standin } = await rig();
    for (let i = 0; i < 250; i++) standin.addTeam({ name: `t${i}`, display_name: `Team ${i}` });
    const teams = await client.teams();
    expect(teams).toHaveLength(250);
    expect(teams.map((t) => t.name)).toEqual(Array.from({ length: 250 }, (_, i) => `t${i}`));
    expect(teams[0]).toMatchObject({
      id: 'team-1',
      displayName: 'Team 0',
      isDefault: true,
      isActive: true,
      slug: 'team-1',
    });
    const pages = standin.requestsTo('iam.teams').map((r) => r.query);
    expect(pages).toEqual([
      { limit: '100', offset: '0' },
      { limit: '100', offset: '100' },
      { limit: '100', offset: '200' },
    ]);
  });

  it('filters on is_active across pages', async () => {
    const { client, standin } = await rig();
    for (let i = 0; i < 230; i++) standin.addTeam({ is_active: i % 2 === 0 });
    const active = await client.teams({ isActive: true });
    expect(active).toHaveLength(115);
    expect(active.every((t) => t.isActive)).toBe(true);
    const inactive = await client.teams({ isActive: false });
    expect(inactive).toHaveLength(115);
    expect(inactive.every((t) => !t.isActive)).toBe(true);
    expect(standin.requestsTo('iam.teams').map((r) => r.query.is_active)).toEqual(['true', 'true', 'false', 'false']);
  });

  it('still gets every item when the server serves smaller pages than asked for', async () => {
    const { client, standin } = await rig({ standin: { maxLimit: 30 } });
    for (let i = 0; i < 95; i++) standin.addTeam();
    const teams = await client.teams();
    expect(new Set(teams.map((t) => t.id)).size).toBe(95);
    expect(standin.requestsTo('iam.teams').map((r) => r.query.offset)).toEqual(['0', '30', '60', '90']);
  });

  it('answers an empty list with one request', async () => {
    const { client, standin } = await rig();
    expect(await client.teams()).toEqual([]);
    expect(standin.requestsTo('iam.teams')).toHaveLength(1);
  });
});

describe('spaces()', () => {
  it('reads every page, filtered by team_id, with the team name joined', async () => {
    const { client, standin } = await rig();
    const a = standin.addTeam({ name: 'alpha', slug: 'alpha' });
    const b = standin.addTeam({ name: 'beta' });
    for (let i = 0; i < 130; i++) standin.addSpace(a.id, { name: `a${i}` });
    for (let i = 0; i < 20; i++) standin.addSpace(b.id, { name: `b${i}` });
    const spaces = await client.spaces(a.id);
    expect(spaces).toHaveLength(130);
    expect(spaces.every((s) => s.teamId === a.id && s.teamName === 'alpha' && s.teamSlug === 'alpha')).toBe(true);
    expect(spaces[0]).toMatchObject({ name: 'a0', isDefault: true, defaultBranch: 'main' });
    expect(standin.requestsTo('iam.spaces').map((r) => r.query)).toEqual([
      { team_id: a.id, limit: '100', offset: '0' },
      { team_id: a.id, limit: '100', offset: '100' },
    ]);
    expect(await client.spaces()).toHaveLength(150);
  });

  it('rejects an empty team id before sending anything', async () => {
    const { client, standin } = await rig();
    const err = await rejectionOf(client.spaces(''));
    expect(err.code).toBe('BYTEROVER_INVALID_ARGUMENT');
    expect(standin.requests).toHaveLength(0);
  });
});

describe('pullSnapshot()', () => {
  it('decodes base64 files to bytes, with UTF-8 text when valid', async () => {
    const { client, standin, teamId, spaceId } = await rigWithSpace();
    const binary = Uint8Array.from([0xff, 0xfe, 0x00, 0x80, 0x41]);
    const head = standin.commitFiles(teamId, spaceId, 'main', {
      'structure/context.md': '# Structure\n\nNaïve café — ✓\n',
      'assets/blob.bin': binary,
      'empty.md': '',
    });
    const snap = await client.pullSnapshot(teamId, spaceId);
    expect(snap.commitSha).toBe(head);
    expect(snap.branch).toBe('main');
    expect(snap.message).toBe('Direct commit');
    expect(snap.author).toMatchObject({ name: 'Another Client', email: 'other@example.com' });
    const byPath = new Map(snap.files.map((f) => [f.path, f]));
    expect(byPath.get('/structure/context.md')?.text).toBe('# Structure\n\nNaïve café — ✓\n');
    const bin = byPath.get('/assets/blob.bin');
    expect(bin?.text).toBeUndefined();
    expect([...(bin?.bytes ?? [])]).toEqual([...binary]);
    expect(bin?.size).toBe(5);
    expect(bin?.mode).toBe('100644');
    expect(bin?.sha).toBe(createHash('sha1').update('blob 5\0').update(binary).digest('hex'));
    expect(byPath.get('/empty.md')).toMatchObject({ text: '', size: 0 });
    expect(snap.requestId).toBe(standin.requestsTo('cogit.snapshot')[0]?.requestId);
  });

  it('sends the branch and reads a branch without commits as empty', async () => {
    const { client, standin, teamId, spaceId } = await rigWithSpace();
    standin.commitFiles(teamId, spaceId, 'feature/x', { 'a.md': 'on feature' });
    const feature = await client.pullSnapshot(teamId, spaceId, { branch: 'feature/x' });
    expect(feature.files.map((f) => f.text)).toEqual(['on feature']);
    const main = await client.pullSnapshot(teamId, spaceId);
    expect(main).toMatchObject({ commitSha: '', files: [] });
    expect(standin.requestsTo('cogit.snapshot').map((r) => [r.service, r.path, r.query.branch])).toEqual([
      ['cogit', `/api/v1/organizations/${teamId}/projects/${spaceId}/git/snapshot`, 'feature/x'],
      ['cogit', `/api/v1/organizations/${teamId}/projects/${spaceId}/git/snapshot`, 'main'],
    ]);
  });

  it('fails with the server code, status, request id and a next step for an unknown space', async () => {
    const { client, standin } = await rig();
    const team = standin.addTeam();
    const err = await rejectionOf(client.pullSnapshot(team.id, 'nope'));
    expect(isByteRoverError(err, 'PROJECT_NOT_FOUND')).toBe(true);
    expect(err).toMatchObject({ status: 404, retryable: false, endpoint: 'cogit.snapshot' });
    expect(err.requestId).toBe(standin.requestsTo('cogit.snapshot')[0]?.requestId);
    expect(err.message).toContain('HTTP 404');
    expect(err.message).toContain('Project nope not found');
    expect(String(err.hint)).toContain('claw-byterover spaces');
  });
});

describe('billingUsage()', () => {
  it('joins usages with tiers, FREE when the tiers endpoint omits an organization', async () => {
    const { client, standin } = await rig();
    const a = standin.addTeam({ display_name: 'Alpha' });
    const b = standin.addTeam({ display_name: 'Beta' });
    standin.setUsage({ organizationId: a.id, limit: 1000, used: 250, addOnRemaining: 500 });
    standin.setTier(a.id, 'PRO', true);
    const usage = await client.billingUsage();
    expect(usage).toEqual([
      {
        organizationId: a.id,
        organizationName: 'Alpha',
        organizationStatus: 'ACTIVE',
        limit: 1000,
        used: 250,
        remaining: 1250,
        addOnRemaining: 500,
        totalLimit: 1500,
        percentUsed: 16.67,
        limitExceeded: false,
        tier: 'PRO',
        isTrialing: true,
      },
      expect.objectContaining({
        organizationId: b.id,
        organizationName: 'Beta',
        tier: 'FREE',
        isTrialing: false,
        remaining: 1000,
      }),
    ]);
    expect(standin.requests.map((r) => [r.service, r.endpoint]).sort()).toEqual([
      ['billing', 'billing.tiers'],
      ['billing', 'billing.usages'],
    ]);
  });
});

describe('legacy memories API', () => {
  it('creates and searches memories with x-api-key and never sends the session key there', async () => {
    const { client, standin } = await rig({ client: { legacy: { apiKey: DEFAULT_LEGACY_API_KEY } } });
    const input = {
      messages: [
        { role: 'user' as const, content: 'We deploy with blue-green releases on Fridays' },
        { role: 'assistant' as const, content: 'Noted: blue-green deploys' },
      ],
      userId: 'user-1',
      provider: 'openai',
      model: 'gpt-4o',
    };
    const created = await client.createMemory(input);
    expect(created).toMatchObject({ success: true, id: expect.any(String) });
    await client.createMemory({
      messages: [{ role: 'user', content: 'Database migrations run with knex' }],
      userId: 'user-1',
    });
    const results = await client.searchMemories('blue-green deploys', 3);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ memory: expect.stringContaining('blue-green'), tags: [] });
    expect(results[0]?.score).toBeGreaterThan(0);
    const legacy = standin.requests.filter((r) => r.service === 'legacy');
    expect(legacy).toHaveLength(3);
    for (const r of legacy) {
      expect(r.apiKey).toBe(DEFAULT_LEGACY_API_KEY);
      expect(r.sessionId).toBeUndefined();
    }
    expect(legacy[0]?.path).toBe('/api/v1/memories');
    expect(legacy[0]?.body).toEqual(input);
    expect(legacy[2]).toMatchObject({
      path: '/api/v1/memories/search',
      body: { query: 'blue-green deploys', limit: 3 },
    });
  });

  it('fails with BYTEROVER_LEGACY_UNAUTHORIZED on a wrong key, without echoing it', async () => {
    const { client } = await rig({ client: { legacy: { apiKey: 'wrong-legacy-key-123456' } } });
    const err = await rejectionOf(client.searchMemories('anything'));
    expect(err).toMatchObject({ code: 'BYTEROVER_LEGACY_UNAUTHORIZED', status: 401 });
    expect(JSON.stringify(err)).not.toContain('wrong-legacy-key-123456');
    expect(err.message).not.toContain('wrong-legacy-key-123456');
  });

  it('is off without legacy.apiKey', async () => {
    const { client, standin } = await rig();
    const err = await rejectionOf(client.searchMemories('x'));
    expect(err.code).toBe('BYTEROVER_LEGACY_NOT_CONFIGURED');
    expect(standin.requests).toHaveLength(0);
  });

  it('checks its arguments before sending', async () => {
    const { client, standin } = await rig({ client: { legacy: { apiKey: DEFAULT_LEGACY_API_KEY } } });
    expect((await rejectionOf(client.searchMemories(' '))).code).toBe('BYTEROVER_INVALID_ARGUMENT');
    expect((await rejectionOf(client.searchMemories('x', 0))).code).toBe('BYTEROVER_INVALID_ARGUMENT');
    expect((await rejectionOf(client.createMemory({ messages: [], userId: 'u' }))).code).toBe(
      'BYTEROVER_INVALID_ARGUMENT',
    );
    expect(standin.requests).toHaveLength(0);
  });
});

describe('headers', () => {
  it('sends x-byterover-session-id on every session call and routes each call to its own service', async () => {
    const { client, standin, teamId, spaceId } = await rigWithSpace();
    await client.me();
    await client.teams();
    await client.spaces(teamId);
    await client.pullSnapshot(teamId, spaceId);
    await client.pushCommit(teamId, spaceId, {
      memories: [{ path: 'a.md', title: 'A', content: 'a', operation: 'add' }],
    });
    await client.billingUsage();
    const seen = standin.requests;
    expect(seen.map((r) => r.endpoint).sort()).toEqual(
      [
        'billing.tiers',
        'billing.usages',
        'cogit.commits',
        'cogit.snapshot',
        'cogit.snapshot',
        'iam.spaces',
        'iam.teams',
        'iam.user.me',
      ].sort(),
    );
    for (const r of seen) {
      expect(r.sessionId).toBe(DEFAULT_SESSION_KEY);
      expect(r.status).toBe(200);
      expect(r.service).toBe(r.endpoint?.split('.')[0]);
      expect(r.headers.authorization).toBeUndefined();
    }
  });
});
