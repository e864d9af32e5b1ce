/**
 * `claw-byterover` end to end against the ByteRover stand-in (real loopback HTTP through lib/http,
 * the real encrypted token store, the real context tree on disk): API-key login, whoami, teams,
 * spaces, pull, push, logout and the failure paths with their exit codes — in-process and as a
 * real child process.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SESSION_KEY } from '../../standin/byterover.js';
import { deadPort, startCliEnv, type CliEnv } from './harness.js';

const KEY = DEFAULT_SESSION_KEY;

describe('claw-byterover against the ByteRover stand-in', () => {
  let e: CliEnv;
  let teamId: string;
  let spaceId: string;
  let otherSpace: string;

  beforeAll(async () => {
    e = await startCliEnv();
    const team = e.standin.addTeam({ name: 'acme', display_name: 'Acme Inc', is_default: true });
    e.standin.addTeam({ name: 'side', display_name: 'Side Project' });
    teamId = team.id;
    spaceId = e.standin.addSpace(teamId, { name: 'main-space', is_default: true }).id;
    otherSpace = e.standin.addSpace(teamId, { name: 'other' }).id;
    e.standin.commitFiles(teamId, spaceId, 'main', {
      '/auth/jwt.md': '# JWT\nAccess tokens live 24h.\n',
      '/db/postgres.md': '---\ntitle: Database\ntags: [db]\n---\nWe use Postgres 16.\n',
    });
  });
  afterAll(async () => e?.close());
  afterEach(() => e.standin.clearFaults());

  it('whoami before login: AUTH_NOT_LOGGED_IN, exit 3, with the next step', async () => {
    const r = await e.cli(['whoami']);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/^error AUTH_NOT_LOGGED_IN: .*profile "default"/);
    expect(r.err).toContain('next: run `claw-byterover login`');
    const j = await e.cli(['whoami', '--json']);
    expect(j.code).toBe(3);
    expect(j.json().error).toMatchObject({ code: 'AUTH_NOT_LOGGED_IN', exitCode: 3 });
    expect(j.json().error.hint).toContain('claw-byterover login');
  });

  it('login --api-key with a rejected key: AUTH_API_KEY_INVALID, exit 3, nothing stored', async () => {
    const r = await e.cli(['login', '--api-key', 'not-a-valid-key-123']);
    expect(r.code).toBe(3);
    expect(r.err).toContain('error AUTH_API_KEY_INVALID');
    expect(r.err).toContain('HTTP 401');
    expect(r.err).not.toContain('not-a-valid-key-123');
    expect(existsSync(join(e.dataDir, 'profiles', 'default.cred'))).toBe(false);
  });

  it('login --api-key <key> stores an encrypted 0600 credential; whoami, teams and spaces use it', async () => {
    const login = await e.cli(['login', '--api-key', KEY, '--json']);
    expect(login.code).toBe(0);
    expect(login.json()).toMatchObject({
      profile: 'default',
      via: 'flag --api-key',
      user: { id: 'user-1' },
      credential: { kind: 'api-key', refreshable: false },
    });
    const credPath = join(e.dataDir, 'profiles', 'default.cred');
    expect(login.json().path).toBe(credPath);
    expect((await stat(credPath)).mode & 0o777).toBe(0o600);
    expect(await readFile(credPath, 'utf8')).not.toContain(KEY);

    const who = await e.cli(['whoami']);
    expect(who.code).toBe(0);
    expect(who.out).toBe('Ada Lovelace <ada@example.com> (id user-1)\nprofile: default · credential: API key\n');
    const meCall = e.standin.requestsTo('iam.user.me').at(-1);
    expect(meCall?.sessionId).toBe(KEY);

    const teams = await e.cli(['teams', '--json']);
    expect(teams.code).toBe(0);
    expect(teams.json().total).toBe(2);
    expect(teams.json().teams[0]).toMatchObject({ id: teamId, displayName: 'Acme Inc', isDefault: true });
    const human = await e.cli(['teams']);
    expect(human.out.split('\n')[0]).toMatch(/^\s+ID\s+NAME\s+SLUG\s+ACTIVE$/);
    expect(human.out).toMatch(new RegExp(`^\\*\\s+${teamId}\\s+Acme Inc`, 'm'));

    const spaces = await e.cli(['spaces', '--team', teamId, '--json']);
    expect(spaces.code).toBe(0);
    expect(spaces.json().spaces.map((s: { id: string }) => s.id)).toEqual([spaceId, otherSpace]);
    expect(e.standin.requestsTo('iam.spaces').at(-1)?.query.team_id).toBe(teamId);
  });

  it('login --api-key with no value reads BYTEROVER_API_KEY, else piped stdin', async () => {
    const fromEnv = await e.cli(['login', '--api-key', '--json', '--profile', 'envkey'], {
      env: { BYTEROVER_API_KEY: KEY },
    });
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.json().via).toBe('env BYTEROVER_API_KEY');
    const fromBrv = await e.cli(['login', '--api-key', '--json', '--profile', 'brvkey'], { env: { BRV_API_KEY: KEY } });
    expect(fromBrv.json().via).toBe('env BRV_API_KEY');
    const piped = await e.cli(['login', '--api-key', '-', '--json', '--profile', 'piped'], { stdin: `${KEY}\n` });
    expect(piped.code).toBe(0);
    expect(piped.json().via).toBe('stdin');
    const empty = await e.cli(['login', '--api-key', '--profile', 'empty'], { stdin: '' });
    expect(empty.code).toBe(2);
    expect(empty.err).toContain('CLI_SECRET_EMPTY');
    const both = await e.cli(['login', '--api-key', KEY, '--client-credentials']);
    expect(both.code).toBe(2);
    expect(both.err).toContain('error CLI_USAGE: Expected one login mode');
  });

  it('pull downloads the default space into ./.brv/context-tree, then is up to date', async () => {
    const r = await e.cli(['pull', '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({
      team: teamId,
      space: spaceId,
      branch: 'main',
      dir: join(e.project, '.brv', 'context-tree'),
    });
    expect(r.json().added.sort()).toEqual(['auth/jwt.md', 'db/postgres.md']);
    expect(await readFile(join(e.project, '.brv/context-tree/auth/jwt.md'), 'utf8')).toBe(
      '# JWT\nAccess tokens live 24h.\n',
    );
    const again = await e.cli(['pull']);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/^Already up to date with team-\S+@main/);
  });

  it('a long pull shows a progress line on a TTY stderr and erases it; none without a TTY', async () => {
    e.standin.inject({ kind: 'latency', ms: 300, endpoint: 'cogit.snapshot', times: 2 });
    const tty = await e.cli(['pull', '--dir', 'progress-tree'], { stderrTTY: true, progressDelayMs: 0 });
    expect(tty.code).toBe(0);
    expect(tty.err).toMatch(new RegExp(`\\r. pulling ${teamId}/${spaceId}@main \\d+s`));
    expect(tty.err.endsWith('\r')).toBe(true);
    expect(tty.out).toMatch(/^Pulled /);
    const plain = await e.cli(['pull', '--dir', 'progress-tree-2'], { stderrTTY: false, progressDelayMs: 0 });
    expect(plain.code).toBe(0);
    expect(plain.err).toBe('');
  });

  it('pull honours --space/--branch/--dir and config defaults', async () => {
    e.standin.commitFiles(teamId, otherSpace, 'dev', { '/x.md': '# X\n' });
    const r = await e.cli(['pull', '--space', otherSpace, '--branch', 'dev', '--dir', 'other-tree', '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ space: otherSpace, branch: 'dev', added: ['x.md'] });
    expect(await readFile(join(e.project, 'other-tree', 'x.md'), 'utf8')).toBe('# X\n');
    expect(e.standin.requestsTo('cogit.snapshot').at(-1)?.query.branch).toBe('dev');

    expect((await e.cli(['config', 'set', 'space', otherSpace])).code).toBe(0);
    expect((await e.cli(['config', 'set', 'branch', 'dev'])).code).toBe(0);
    const viaConfig = await e.cli(['pull', '--dir', 'other-tree', '--json']);
    expect(viaConfig.json()).toMatchObject({ space: otherSpace, branch: 'dev' });
    expect((await e.cli(['config', 'unset', 'space'])).code).toBe(0);
    expect((await e.cli(['config', 'unset', 'branch'])).code).toBe(0);
  });

  it('pull lists the snapshot entries it could not apply, one escaped line each, and applies the rest (issue 13)', async () => {
    const hostile = e.standin.addSpace(teamId, { name: 'hostile' }).id;
    const long = `\u001b[2J${'n'.repeat(300)}.md`;
    e.standin.commitFiles(teamId, hostile, 'main', {
      [`/${long}`]: '# long\n',
      '/x.md': '# x\n',
      '/x.md/y.md': '# y\n',
      '/ok.md': '# ok\n',
    });
    const r = await e.cli(['pull', '--space', hostile, '--dir', 'hostile-tree']);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^Pulled team-\S+\/space-\S+@main at [0-9a-f]{12} into .*hostile-tree: 2 added, 0 updated/,
    );
    const notApplied = lines.filter((l) => l.startsWith('  not applied '));
    expect(notApplied).toHaveLength(2);
    expect(notApplied.find((l) => l.includes('MEMORY_PULL_NAME_TOO_LONG'))).toMatch(
      /^ {2}not applied \\x1b\[2Jn{300}\.md: MEMORY_PULL_NAME_TOO_LONG: expected file and folder names of at most 255 bytes/,
    );
    expect(notApplied.find((l) => l.includes('MEMORY_PULL_PATH_CONFLICT'))).toMatch(
      /^ {2}not applied x\.md\/y\.md: MEMORY_PULL_PATH_CONFLICT: expected x\.md to be a folder/,
    );
    expect(r.out).not.toContain('\u001b');
    const j = await e.cli(['pull', '--space', hostile, '--dir', 'hostile-tree', '--json']);
    expect(j.code).toBe(0);
    expect(
      j
        .json()
        .failed.map((f: { code: string }) => f.code)
        .sort(),
    ).toEqual(['MEMORY_PULL_NAME_TOO_LONG', 'MEMORY_PULL_PATH_CONFLICT']);
    expect(await readFile(join(e.project, 'hostile-tree', 'ok.md'), 'utf8')).toBe('# ok\n');
  });

  it('push sends changed tree files; the remote has them; nothing left afterwards', async () => {
    const tree = join(e.project, '.brv', 'context-tree');
    await writeFile(join(tree, 'db/postgres.md'), '---\ntitle: Database\ntags: [db]\n---\nWe use Postgres 17.\n');
    await mkdir(join(tree, 'ops'), { recursive: true });
    await writeFile(join(tree, 'ops/deploy.md'), '# Deploy\nBlue/green on Fridays never.\n');
    const r = await e.cli([
      'push',
      '.brv/context-tree/db/postgres.md',
      '.brv/context-tree/ops/deploy.md',
      '.brv/context-tree/auth/jwt.md',
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(r.json().pushed).toHaveLength(2);
    expect(r.json().commits).toHaveLength(1);
    expect(r.json().files).toEqual([
      { path: 'db/postgres.md', status: 'queued' },
      { path: 'ops/deploy.md', status: 'queued' },
      { path: 'auth/jwt.md', status: 'unchanged' },
    ]);
    expect(r.json().commitSha).toBe(e.standin.head(teamId, spaceId));
    const remote = e.standin.files(teamId, spaceId);
    expect(remote.get('/db/postgres.md')?.toString()).toContain('Postgres 17');
    expect(remote.get('/ops/deploy.md')?.toString()).toContain('Blue/green');
    const commit = e.standin.requestsTo('cogit.commits').at(-1);
    expect(commit?.idempotencyKey).toBeTruthy();
    const nothing = await e.cli(['push']);
    expect(nothing.code).toBe(0);
    expect(nothing.out).toMatch(/^Nothing to push/);
  });

  it('push of a file outside the tree is a usage error (2); a missing one is not found (6)', async () => {
    const outside = await e.cli(['push', '/etc/hostname']);
    expect(outside.code).toBe(2);
    expect(outside.err).toContain('CLI_PATH_OUTSIDE_TREE');
    const missing = await e.cli(['push', '.brv/context-tree/nope.md', '--json']);
    expect(missing.code).toBe(6);
    expect(missing.json().error.code).toBe('CLI_FILE_NOT_FOUND');
  });

  it('a push whose branch keeps moving is a conflict: exit 5, the cause named, the note kept queued', async () => {
    await writeFile(join(e.project, '.brv/context-tree/ops/deploy.md'), '# Deploy\nCanary first.\n');
    e.standin.inject({ kind: 'concurrentCommit', endpoint: 'cogit.commits', times: 2 });
    const r = await e.cli(['push', '.brv/context-tree/ops/deploy.md', '--json']);
    expect(r.code).toBe(5);
    expect(r.json().error).toMatchObject({ code: 'MEMORY_PUSH_FAILED', causeCode: 'BYTEROVER_CONFLICT', exitCode: 5 });
    expect(r.json().error.hint).toContain('pull');
    e.standin.clearFaults();
    const retry = await e.cli(['push', '--json']);
    expect(retry.code).toBe(0);
    expect(retry.json().pushed).toHaveLength(1);
    expect(e.standin.files(teamId, spaceId).get('/ops/deploy.md')?.toString()).toContain('Canary first');
  });

  it('an unknown space is not found (6) with the server status and request id', async () => {
    const r = await e.cli(['pull', '--space', 'no-such-space']);
    expect(r.code).toBe(6);
    expect(r.err).toMatch(/^error \w+: Pulling from ByteRover: .*HTTP 404/);
    expect(r.err).toMatch(/server: HTTP 404, request id [0-9a-f-]{36}/);
    expect(r.err).toContain('next: Check the team and space ids');
  });

  it('a server answering 503 after retries is unavailable (4)', async () => {
    e.standin.inject({ kind: 'status', status: 503, endpoint: 'iam.teams', times: Infinity });
    const r = await e.cli(['teams', '--json']);
    expect(r.code).toBe(4);
    expect(r.json().error).toMatchObject({ status: 503, exitCode: 4 });
    expect(e.standin.requestsTo('iam.teams').filter((q) => q.status === 503).length).toBeGreaterThan(1);
  });

  it('a Retry-After beyond the deadline fails fast as unavailable (4)', async () => {
    e.standin.inject({ kind: 'rateLimit', retryAfter: 3600, endpoint: 'iam.user.me', times: Infinity });
    const r = await e.cli(['whoami', '--json']);
    expect(r.code).toBe(4);
    expect(r.json().error.code).toMatch(/RETRY_AFTER|RATE|429/);
  });

  it('a revoked key (401 on every call) is an auth failure (3) telling the user to log in again', async () => {
    e.standin.inject({ kind: 'unauthorized', endpoint: 'iam.user.me', times: Infinity });
    const r = await e.cli(['whoami']);
    expect(r.code).toBe(3);
    expect(r.err).toContain('error BYTEROVER_UNAUTHORIZED');
    expect(r.err).toContain('claw-byterover login');
  });

  it('a server that is down is unavailable (4): connection refused, after retries', async () => {
    const port = await deadPort();
    const r = await e.cli(['teams', '--json'], { env: { BRV_IAM_BASE_URL: `http://127.0.0.1:${port}` } });
    expect(r.code).toBe(4);
    expect(r.json().error.code).toBe('HTTP_NETWORK');
    expect(r.json().error.hint).toContain('Could not reach the server');
  });

  it('no default team and no --team: a usage error listing the teams', async () => {
    const env2 = await startCliEnv({ env: { BYTEROVER_API_KEY: KEY } });
    try {
      env2.standin.addTeam({ name: 'a', is_default: false });
      env2.standin.addTeam({ name: 'b' });
      const r = await env2.cli(['pull']);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/error CLI_TEAM_REQUIRED: Expected a default team or --team, found 2 teams/);
      expect(r.err).toContain('config set team');
    } finally {
      await env2.close();
    }
  });

  it('logout removes the credential; a second logout is a no-op; commands then need a login', async () => {
    const r = await e.cli(['logout', '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ profile: 'default', removed: true });
    expect(existsSync(join(e.dataDir, 'profiles', 'default.cred'))).toBe(false);
    const again = await e.cli(['logout']);
    expect(again.code).toBe(0);
    expect(again.out).toContain('Not logged in');
    expect((await e.cli(['teams'])).code).toBe(3);
    // An API key in the environment is used without a stored login, and logout says so.
    const envKey = await e.cli(['whoami', '--json'], { env: { BYTEROVER_API_KEY: KEY } });
    expect(envKey.code).toBe(0);
    expect(envKey.json().credential).toEqual({ source: 'env BYTEROVER_API_KEY', kind: 'api-key' });
    const note = await e.cli(['logout'], { env: { BYTEROVER_API_KEY: KEY } });
    expect(note.out).toContain('an API key is still configured (env BYTEROVER_API_KEY)');
  });
});

describe('claw-byterover as a real child process (node --import tsx lib/cli/index.ts)', () => {
  let e: CliEnv;
  beforeAll(async () => {
    e = await startCliEnv();
    const team = e.standin.addTeam({ is_default: true });
    const space = e.standin.addSpace(team.id, { is_default: true });
    e.standin.commitFiles(team.id, space.id, 'main', { '/hello.md': '# Hello\nFrom the cloud.\n' });
  });
  afterAll(async () => e?.close());

  it('login from a stdin pipe, whoami --json, pull, and real exit codes; the process exits on its own', async () => {
    const bad = await e.spawnCli(['login', '--api-key', '-'], { stdin: 'wrong-key-abcdef\n' });
    expect(bad.code).toBe(3);
    expect(bad.err).toContain('error AUTH_API_KEY_INVALID');
    expect(bad.err).not.toContain('wrong-key-abcdef');

    const login = await e.spawnCli(['login', '--api-key', '-'], { stdin: `${KEY}\n` });
    expect(login.code).toBe(0);
    expect(login.out).toMatch(/^Logged in as Ada Lovelace <ada@example.com> \(id user-1\) with API key/);

    const who = await e.spawnCli(['--json', 'whoami']);
    expect(who.code).toBe(0);
    expect(who.json().user).toEqual({ id: 'user-1', email: 'ada@example.com', name: 'Ada Lovelace' });
    expect(who.err).toBe('');

    const pull = await e.spawnCli(['pull']);
    expect(pull.code).toBe(0);
    expect(await readFile(join(e.project, '.brv/context-tree/hello.md'), 'utf8')).toBe('# Hello\nFrom the cloud.\n');

    const usage = await e.spawnCli(['pull', '--nope']);
    expect(usage.code).toBe(2);
    expect(usage.err).toContain("error CLI_USAGE: unknown option '--nope'");

    const port = await deadPort();
    const down = await e.spawnCli(['whoami', '--json'], { env: { BRV_IAM_BASE_URL: `http://127.0.0.1:${port}` } });
    expect(down.code).toBe(4);
    expect(down.json().error.code).toBe('HTTP_NETWORK');
    expect(down.err).toBe('');

    const out = await e.spawnCli(['logout']);
    expect(out.code).toBe(0);
    const after = await e.spawnCli(['whoami']);
    expect(after.code).toBe(3);
  });
});
