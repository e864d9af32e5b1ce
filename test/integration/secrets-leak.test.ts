/**
 * THE guard against secret leaks. Every auth and error path runs with sentinel secrets, and every
 * byte the project lets out is scanned for them:
 * - all log output (pino at trace level, to a stream we keep);
 * - every thrown object: message, stack, JSON.stringify, util.inspect with getters and hidden
 *   fields, own property values, the whole cause chain;
 * - the CLI's stdout and stderr, human and --json, with --debug, in-process and as a real child
 *   process (which also captures anything written straight to fd 1/2).
 *
 * Sentinels: API keys (good and bad), a client secret (the real one of the OIDC server and a wrong
 * one), everything the real oidc-provider issues (access, refresh and id tokens, session keys,
 * authorization codes), and webhook-style secrets placed where a user might put them. Each is looked
 * for raw, URL-encoded, base64/base64url-encoded, as any 19-character fragment (16-character windows),
 * and client secrets inside an HTTP Basic header.
 *
 * The scanner is checked first against planted leaks (an unregistered value in a log line, a CLI
 * output line, an error field, a getter, a child process's output), so this test can fail.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { run, type CommandModule } from '../../lib/cli/index.js';
import { createLogger, type Logger } from '../../lib/log/index.js';
import { registerSecret } from '../../lib/log/redact.js';
import { ClawError } from '../../lib/errors.js';
import { createHttpClient } from '../../lib/http/index.js';
import { createByteRoverClient } from '../../lib/byterover/index.js';
import {
  createFileTokenStore,
  createSessionProvider,
  iamUserMeValidator,
  loginWithApiKey,
  loginWithClientCredentials,
  loginWithOAuth,
  type FileTokenStore,
} from '../../lib/byterover/auth/index.js';
import { browse, startOidcServer, type OidcServer } from '../servers/oidc.js';
import { memoryIo } from './../unit/cli/memory-io.js';
import { deadPort, startCliEnv, type CliEnv } from './cli/harness.js';

// ---------------------------------------------------------------------------------------------
// Sentinels and the scanner

const rand = (): string => Math.random().toString(36).slice(2, 10);
const S = {
  apiKeyGood: `sntlGoodApiKey${rand()}${rand()}`,
  apiKeyBad: `sntlBadApiKey${rand()}${rand()}`,
  apiKeyFlagTypo: `sntlTypoApiKey${rand()}${rand()}`,
  clientSecretWrong: `sntlWrongClientSecret${rand()}${rand()}`,
  webhookSecret: `whsec_sntl${rand()}${rand()}${rand()}`,
  webhookSignature: `sha256=${'ab'.repeat(8)}${rand()}${rand()}`,
  bridgeHmacSecret: `sntlBridgeHmac${rand()}${rand()}`,
  bridgeDbPassword: `sntlDbPassword${rand()}${rand()}`,
};

/** Every secret value to look for (grows as the OIDC server issues tokens). */
const sentinels = new Map<string, string>(Object.entries(S));
/** Values that must be found only as `<id>:<secret>` in a Basic header: client secrets. */
const clientSecrets: Array<{ id: string; secret: string }> = [];

function addSentinel(label: string, value: string | undefined): void {
  if (value && value.length >= 8) sentinels.set(`${label}#${sentinels.size}`, value);
}

function isJwt(v: string): boolean {
  return /^eyJ[\w-]+\.[\w-]+\.[\w-]*$/.test(v);
}

/** The forms a leaked value can take in text. */
function forms(value: string): string[] {
  const out = new Set<string>([
    value,
    encodeURIComponent(value),
    Buffer.from(value).toString('base64'),
    Buffer.from(value).toString('base64url'),
  ]);
  if (isJwt(value)) {
    // Headers of JWTs are shared by all tokens of an issuer; payload and signature are unique.
    const [, payload, sig] = value.split('.');
    if (payload) out.add(payload);
    if (sig && sig.length >= 16) out.add(sig);
  } else if (value.length >= 24) {
    // Any 16-character window (every 4th start, and the tail): a partial leak of 19+ characters shows.
    for (let i = 0; i + 16 <= value.length; i += 4) out.add(value.slice(i, i + 16));
    out.add(value.slice(-16));
  }
  return [...out];
}

function scan(text: string): string[] {
  const hits: string[] = [];
  for (const [label, value] of sentinels) {
    for (const f of forms(value))
      if (text.includes(f)) hits.push(`${label} (${f === value ? 'raw' : `form ${f.slice(0, 6)}…`})`);
  }
  for (const { id, secret } of clientSecrets) {
    const basic = Buffer.from(`${id}:${secret}`).toString('base64');
    const basicEnc = Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');
    if (text.includes(basic) || text.includes(basicEnc)) hits.push(`client secret of ${id} in a Basic header`);
  }
  return hits;
}

/** Everything observable about a thrown value. */
function dumpThrown(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 8; depth++) {
    parts.push(String(cur));
    try {
      parts.push(JSON.stringify(cur));
    } catch {
      // circular: inspect below still shows it
    }
    parts.push(inspect(cur, { getters: true, showHidden: true, depth: 10 }));
    if (cur instanceof Error) {
      parts.push(cur.message, cur.stack ?? '');
      for (const name of Object.getOwnPropertyNames(cur)) {
        const v = (cur as unknown as Record<string, unknown>)[name];
        parts.push(typeof v === 'string' ? v : inspect(v, { getters: true, depth: 10 }));
      }
      cur = cur.cause;
    } else cur = undefined;
  }
  return parts.join('\n');
}

/** Everything captured in this file, for the final full-set rescan. */
const captured: Array<{ where: string; text: string }> = [];

function expectClean(where: string, text: string): void {
  captured.push({ where, text });
  expect(scan(text), `sentinel found in ${where}`).toEqual([]);
}

/** A pino logger at trace level whose output we keep. */
function capturingLogger(): { logger: Logger; text: () => string } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: createLogger({ level: 'trace', destination: sink }), text: () => lines.join('') };
}

// ---------------------------------------------------------------------------------------------

describe('the scanner and the capture can fail (planted leaks are found)', () => {
  const planted = `sntlPlanted${rand()}${rand()}${rand()}`;
  beforeAll(() => addSentinel('planted', planted));
  afterAll(() => {
    for (const [k, v] of sentinels) if (v === planted) sentinels.delete(k);
  });

  it('finds a planted value raw, encoded, as a fragment and in a Basic header', () => {
    expect(scan(`x ${planted} y`)).not.toEqual([]);
    expect(scan(encodeURIComponent(planted))).not.toEqual([]);
    expect(scan(Buffer.from(planted).toString('base64'))).not.toEqual([]);
    expect(scan(`…${planted.slice(3, 21)}…`)).not.toEqual([]);
    clientSecrets.push({ id: 'planted-client', secret: planted });
    expect(scan(`Authorization: Basic ${Buffer.from(`planted-client:${planted}`).toString('base64')}`)).not.toEqual([]);
    clientSecrets.pop();
    expect(scan('nothing to see here')).toEqual([]);
  });

  it('finds one in a log line (an unregistered value in a plain field) captured from pino', () => {
    const { logger, text } = capturingLogger();
    logger.info({ note: planted }, 'plain field');
    expect(scan(text())).not.toEqual([]);
  });

  it('finds one in an error field, a getter and a cause', () => {
    const e = new ClawError('X', 'm', { details: { note: planted } });
    expect(scan(dumpThrown(e))).not.toEqual([]);
    const g = new Error('m');
    Object.defineProperty(g, 'hidden', { get: () => planted, enumerable: false });
    expect(scan(dumpThrown(g))).not.toEqual([]);
    expect(scan(dumpThrown(new Error('outer', { cause: new Error(planted) })))).not.toEqual([]);
  });

  it('finds one in the CLI output captured in-process (a command that logs and prints it)', async () => {
    const leaky: CommandModule = (program, rt) =>
      program.command('leak').action(
        rt.action(async (ctx) => {
          (await ctx.logger()).info({ note: planted }, 'leaking on purpose');
          return { data: { note: planted }, human: planted };
        }),
      );
    const io = memoryIo({ env: { CLAW_BYTEROVER_LOG_LEVEL: 'info' } });
    expect(await run(['leak'], io, { commands: [leaky] })).toBe(0);
    expect(scan(io.out())).not.toEqual([]);
    expect(scan(io.err())).not.toEqual([]);
  });

  it('finds one in a child process output (config show prints a non-secret value)', async () => {
    const e = await startCliEnv({ env: { CLAW_BYTEROVER_TEAM: planted } });
    try {
      const r = await e.spawnCli(['config', 'show']);
      expect(r.code).toBe(0);
      expect(scan(r.out + r.err)).not.toEqual([]);
    } finally {
      await e.close();
    }
  });
});

describe('no sentinel leaks from any auth or error path', () => {
  let e: CliEnv;
  let oidc: OidcServer;
  let teamId: string;
  let spaceId: string;

  beforeAll(async () => {
    oidc = await startOidcServer({ sessionKeys: true });
    clientSecrets.push(
      { id: oidc.service.clientId, secret: oidc.service.clientSecret },
      { id: oidc.service.clientId, secret: S.clientSecretWrong },
    );
    addSentinel('oidc client secret', oidc.service.clientSecret);
    e = await startCliEnv({
      standin: { sessionKeys: [S.apiKeyGood], validateSession: (k) => oidc.issuedSessionKeys.has(k) },
      env: { CLAW_BYTEROVER_OAUTH_ISSUER: oidc.issuer, CLAW_BYTEROVER_OAUTH_OFFLINE_ACCESS: 'true' },
    });
    const team = e.standin.addTeam({ is_default: true });
    teamId = team.id;
    spaceId = e.standin.addSpace(team.id, { is_default: true }).id;
    e.standin.commitFiles(teamId, spaceId, 'main', { '/a.md': '# A\nalpha\n' });
  });
  afterAll(async () => {
    await e?.close();
    await oidc?.close();
  });
  afterEach(() => e.standin.clearFaults());

  /** Runs the CLI in-process in every output mode with trace logs; scans each run. */
  async function cliAllModes(label: string, argv: string[], io: Parameters<CliEnv['cli']>[1] = {}): Promise<number[]> {
    const codes: number[] = [];
    for (const mode of [[], ['--json'], ['--debug'], ['--json', '--debug']]) {
      const r = await e.cli([...argv, ...mode, '--log-level', 'trace'], io);
      expectClean(`cli ${label} ${mode.join(' ')} stdout`, r.out);
      expectClean(`cli ${label} ${mode.join(' ')} stderr`, r.err);
      codes.push(r.code);
    }
    return codes;
  }

  async function harvestStore(store: FileTokenStore, profile: string): Promise<void> {
    const c = await store.load(profile).catch(() => undefined);
    if (!c) return;
    for (const [k, v] of Object.entries(c))
      if (['sessionKey', 'accessToken', 'refreshToken', 'idToken'].includes(k))
        addSentinel(`${profile}.${k}`, v as string);
  }

  it('API-key login, bad and good: flag, env, stdin; typo and extra-argument usage errors', async () => {
    expect(await cliAllModes('login bad flag', ['login', '--api-key', S.apiKeyBad])).toEqual([3, 3, 3, 3]);
    expect(
      await cliAllModes('login bad env', ['login', '--api-key'], { env: { BYTEROVER_API_KEY: S.apiKeyBad } }),
    ).toEqual([3, 3, 3, 3]);
    expect(await cliAllModes('login bad stdin', ['login', '--api-key', '-'], { stdin: `${S.apiKeyBad}\n` })).toEqual([
      3, 3, 3, 3,
    ]);
    expect(await cliAllModes('login typo', ['login', '--api-kye', S.apiKeyFlagTypo])).toEqual([2, 2, 2, 2]);
    expect((await cliAllModes('login extra arg', ['login', `--api-key=${S.apiKeyBad}`, 'extra']))[0]).toBe(2);
    expect(await cliAllModes('login good flag', ['login', '--api-key', S.apiKeyGood])).toEqual([0, 0, 0, 0]);
    expect(await cliAllModes('login good stdin', ['login', '--api-key', '-'], { stdin: S.apiKeyGood })).toEqual([
      0, 0, 0, 0,
    ]);
  });

  it('commands with a good key and every server failure: 401, 5xx and 4xx echoing the key, 429, network', async () => {
    expect(await cliAllModes('whoami', ['whoami'])).toEqual([0, 0, 0, 0]);
    // The paths really ran with the sentinel: it reached the server, and trace logs were captured.
    expect(e.standin.requestsTo('iam.user.me').at(-1)?.sessionId).toBe(S.apiKeyGood);
    const traced = await e.cli(['whoami', '--log-level', 'trace']);
    expect(traced.err).toMatch(/trace: http attempt|debug: http call|http call/);
    expect(await cliAllModes('pull', ['pull'])).toEqual([0, 0, 0, 0]);
    await writeFile(join(e.project, '.brv/context-tree/a.md'), '# A\nalpha two\n');
    expect((await cliAllModes('push', ['push', '.brv/context-tree/a.md']))[0]).toBe(0);

    e.standin.inject({ kind: 'unauthorized', endpoint: 'iam.user.me', times: Infinity });
    expect(await cliAllModes('whoami 401', ['whoami'])).toEqual([3, 3, 3, 3]);
    e.standin.clearFaults();

    // The server echoing what the client sent, in the forms servers use. (A value the client never
    // held, e.g. a webhook signature, cannot be known to the redactor; see the webhook cases below.)
    const echo = `invalid session ${S.apiKeyGood}; x-byterover-session-id: ${S.apiKeyGood}; Authorization: Bearer ${S.apiKeyGood}; key=${S.apiKeyGood}`;
    e.standin.inject({ kind: 'status', status: 503, endpoint: 'iam.teams', message: echo, times: Infinity });
    expect(await cliAllModes('teams 503 echo', ['teams'])).toEqual([4, 4, 4, 4]);
    e.standin.clearFaults();
    e.standin.inject({
      kind: 'status',
      status: 400,
      endpoint: 'iam.spaces',
      message: echo,
      errorField: 'error',
      times: Infinity,
    });
    expect(await cliAllModes('spaces 400 echo', ['spaces'])).toEqual([1, 1, 1, 1]);
    e.standin.clearFaults();
    // The key straddling the 512-character log excerpt boundary of lib/http.
    const straddle = `${'x'.repeat(500)}${S.apiKeyGood}${'y'.repeat(100)}`;
    e.standin.inject({
      kind: 'malformed',
      status: 502,
      body: straddle,
      contentType: 'text/plain',
      endpoint: 'iam.teams',
      times: Infinity,
    });
    expect((await cliAllModes('teams 502 straddle', ['teams']))[0]).toBe(4);
    e.standin.clearFaults();
    e.standin.inject({
      kind: 'body',
      status: 500,
      body: {
        statusCode: 500,
        code: 'INTERNAL',
        message: echo,
        details: { apiKey: S.apiKeyGood, session_key: S.apiKeyGood },
      },
      endpoint: 'iam.teams',
      times: Infinity,
    });
    expect((await cliAllModes('teams 500 details', ['teams']))[0]).toBe(4);
    e.standin.clearFaults();

    e.standin.inject({ kind: 'rateLimit', retryAfter: 3600, endpoint: 'iam.user.me', times: Infinity });
    expect(await cliAllModes('whoami 429', ['whoami'])).toEqual([4, 4, 4, 4]);
    e.standin.clearFaults();

    e.standin.inject({ kind: 'concurrentCommit', endpoint: 'cogit.commits', times: Infinity });
    await writeFile(join(e.project, '.brv/context-tree/a.md'), '# A\nalpha three\n');
    expect((await cliAllModes('push conflict', ['push', '.brv/context-tree/a.md']))[0]).toBe(5);
    e.standin.clearFaults();

    const port = await deadPort();
    expect(
      await cliAllModes('teams down', ['teams'], { env: { BRV_IAM_BASE_URL: `http://127.0.0.1:${port}` } }),
    ).toEqual([4, 4, 4, 4]);
    expect(
      await cliAllModes('login down', ['login', '--api-key', S.apiKeyGood], {
        env: { BRV_IAM_BASE_URL: `http://127.0.0.1:${port}` },
      }),
    ).toEqual([4, 4, 4, 4]);
    expect(await cliAllModes('whoami env key', ['whoami'], { env: { BYTEROVER_API_KEY: S.apiKeyGood } })).toEqual([
      0, 0, 0, 0,
    ]);
    expect(await cliAllModes('logout', ['logout'])).toEqual([0, 0, 0, 0]);
  });

  it('configuration paths: secrets in env, a refused config set, secrets on bad YAML and unknown-key lines', async () => {
    const env = {
      BYTEROVER_API_KEY: S.apiKeyGood,
      CLAW_BYTEROVER_CLIENT_ID: 'svc',
      CLAW_BYTEROVER_CLIENT_SECRET: S.clientSecretWrong,
    };
    expect(await cliAllModes('config show', ['config', 'show'], { env })).toEqual([0, 0, 0, 0]);
    expect(await cliAllModes('config set secret', ['config', 'set', 'apiKey', S.apiKeyBad])).toEqual([2, 2, 2, 2]);
    const dir = join(e.root, 'cfg');
    await mkdir(dir, { recursive: true });
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, `team: t\napiKey: "${S.apiKeyGood}\nwebhookSecret: ${S.webhookSecret}\n`);
    expect(await cliAllModes('yaml error', ['config', 'show'], { env: { CLAW_BYTEROVER_CONFIG: bad } })).toEqual([
      6, 6, 6, 6,
    ]);
    const unknown = join(dir, 'unknown.yaml');
    await writeFile(
      unknown,
      `bridge:\n  webhookSecret: ${S.webhookSecret}\nclientCredentials:\n  clientId: svc\n  clientSecret: ${S.clientSecretWrong}\n  signature: ${S.webhookSignature}\n`,
    );
    expect(await cliAllModes('unknown keys', ['teams'], { env: { CLAW_BYTEROVER_CONFIG: unknown } })).toEqual([
      6, 6, 6, 6,
    ]);
    const bridge = join(dir, 'bridge.yaml');
    await writeFile(
      bridge,
      `bridge:\n  webhooks:\n    byteroverSecrets: ["${S.bridgeHmacSecret}"]\n  store:\n    kind: postgres\n    url: postgres://claw:${S.bridgeDbPassword}@127.0.0.1:1/claw\n`,
    );
    expect(await cliAllModes('bridge secrets', ['config', 'show'], { env: { CLAW_BYTEROVER_CONFIG: bridge } })).toEqual(
      [0, 0, 0, 0],
    );
    expect(
      await cliAllModes(
        'bridge secret set',
        ['config', 'set', 'bridge.store.url', `postgres://x:${S.bridgeDbPassword}@h/d`],
        { env: { CLAW_BYTEROVER_CONFIG: bridge } },
      ),
    ).toEqual([2, 2, 2, 2]);
    const wrongType = join(dir, 'type.yaml');
    await writeFile(wrongType, `apiKey: [${S.apiKeyGood}]\nlogLevel: ${S.webhookSecret}\n`);
    expect(await cliAllModes('wrong types', ['whoami'], { env: { CLAW_BYTEROVER_CONFIG: wrongType } })).toEqual([
      6, 6, 6, 6,
    ]);
  });

  it('OAuth login (real oidc-provider), refresh on 401, invalid_grant after revocation, a denied login', async () => {
    const codes: string[] = [];
    const openUrl = async (url: string): Promise<boolean> => {
      browse(url).then(
        (p) => {
          for (const v of p.visited) {
            const code = new URL(v).searchParams.get('code');
            if (code && v.includes('/callback')) codes.push(code);
          }
        },
        () => undefined,
      );
      return true;
    };
    const login = await e.cli(['login', '--log-level', 'trace', '--debug'], { openUrl });
    expect(login.code).toBe(0);
    const store = createFileTokenStore({ dir: e.dataDir });
    await harvestStore(store, 'default');
    for (const c of codes) addSentinel('authorization code', c);
    for (const k of oidc.issuedSessionKeys) addSentinel('session key', k);
    expect(codes.length).toBe(1);
    expectClean('oauth login stdout', login.out);
    // stderr shows the authorization URL on purpose; it carries no sentinel (state and challenge are not secrets).
    expectClean('oauth login stderr', login.err);

    const json = await e.cli(['login', '--json', '--log-level', 'trace', '--profile', 'second'], { openUrl });
    expect(json.code).toBe(0);
    await harvestStore(store, 'second');
    expectClean('oauth login --json', json.out + json.err);

    expect(await cliAllModes('whoami oauth', ['whoami'])).toEqual([0, 0, 0, 0]);
    e.standin.inject({ kind: 'unauthorized', endpoint: 'iam.teams', times: 1 });
    expect((await cliAllModes('teams refresh', ['teams']))[0]).toBe(0);
    e.standin.clearFaults();
    await harvestStore(store, 'default');
    for (const k of oidc.issuedSessionKeys) addSentinel('session key', k);
    expect(oidc.refreshCount()).toBeGreaterThanOrEqual(1);

    const cred = await store.load('default');
    const rt = await oidc.provider.RefreshToken.find(cred!.refreshToken!);
    await oidc.revokeGrant(rt!.grantId!);
    e.standin.inject({ kind: 'unauthorized', endpoint: 'iam.user.me', times: Infinity });
    expect(await cliAllModes('whoami invalid_grant', ['whoami'])).toEqual([3, 3, 3, 3]);
    e.standin.clearFaults();
    expect(oidc.stats.errors.some((x) => x.error === 'invalid_grant')).toBe(true);

    oidc.denyNextLogin('access_denied');
    const denied = await e.cli(['login', '--debug', '--log-level', 'trace', '--profile', 'denied'], { openUrl });
    expect(denied.code).toBe(3);
    expectClean('oauth denied', denied.out + denied.err);
  });

  it('client credentials: good and wrong secret, via login and via the session provider', async () => {
    const good = {
      CLAW_BYTEROVER_CLIENT_ID: oidc.service.clientId,
      CLAW_BYTEROVER_CLIENT_SECRET: oidc.service.clientSecret,
    };
    expect(await cliAllModes('cc login', ['login', '--client-credentials', '--profile', 'svc'], { env: good })).toEqual(
      [0, 0, 0, 0],
    );
    await harvestStore(createFileTokenStore({ dir: e.dataDir }), 'svc');
    for (const k of oidc.issuedSessionKeys) addSentinel('session key', k);
    expect((await cliAllModes('cc auto', ['teams', '--profile', 'svc-auto'], { env: good }))[0]).toBe(0);
    const wrong = { ...good, CLAW_BYTEROVER_CLIENT_SECRET: S.clientSecretWrong };
    expect(
      await cliAllModes('cc wrong', ['login', '--client-credentials', '--profile', 'svc-bad'], { env: wrong }),
    ).toEqual([3, 3, 3, 3]);
    expect((await cliAllModes('cc wrong auto', ['whoami', '--profile', 'svc-bad-auto'], { env: wrong }))[0]).toBe(3);
  });

  it('library level: logs at trace and every thrown object, for API key, OAuth, refresh, invalid_grant, client credentials, 401/5xx/network', async () => {
    const { logger, text } = capturingLogger();
    const http = createHttpClient({ logger });
    const store = createFileTokenStore({ dir: join(e.root, 'lib-store'), logger });
    const iam = e.standin.urls.iam;
    const thrown: unknown[] = [];
    const attempt = async (fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        thrown.push(err);
      }
    };
    try {
      const validate = iamUserMeValidator({ http, iamBaseUrl: iam });
      await attempt(() => loginWithApiKey({ apiKey: S.apiKeyBad, store, validate }));
      await loginWithApiKey({ apiKey: S.apiKeyGood, store, validate });
      const port = await deadPort();
      await attempt(() => iamUserMeValidator({ http, iamBaseUrl: `http://127.0.0.1:${port}` })(S.apiKeyGood));

      const session = createSessionProvider({ store, http, logger });
      const client = createByteRoverClient({ http, session, config: e.standin.clientConfig(), logger });
      await client.me();
      e.standin.inject({ kind: 'unauthorized', endpoint: 'iam.user.me', times: Infinity });
      await attempt(() => client.me());
      e.standin.clearFaults();
      e.standin.inject({
        kind: 'status',
        status: 503,
        endpoint: 'iam.teams',
        message: `bad ${S.apiKeyGood}`,
        times: Infinity,
      });
      await attempt(() => client.teams());
      e.standin.clearFaults();

      // OAuth with the real provider, then a refresh and an invalid_grant.
      const codes: string[] = [];
      await loginWithOAuth({
        issuer: oidc.issuer,
        offlineAccess: true,
        store,
        profile: 'lib-oauth',
        http,
        logger,
        openBrowser: false,
        onAuthorizationUrl: (url) => {
          browse(url).then(
            (p) =>
              p.visited.forEach(
                (v) => new URL(v).searchParams.get('code') && codes.push(new URL(v).searchParams.get('code')!),
              ),
            () => undefined,
          );
        },
      });
      for (const c of codes) addSentinel('authorization code', c);
      await harvestStore(store, 'lib-oauth');
      const oauthSession = createSessionProvider({ store, profile: 'lib-oauth', http, logger });
      const key = await oauthSession.sessionKey();
      expect(await oauthSession.onUnauthorized!(key)).toBe(true);
      await harvestStore(store, 'lib-oauth');
      const cred = await store.load('lib-oauth');
      const rt = await oidc.provider.RefreshToken.find(cred!.refreshToken!);
      await oidc.revokeGrant(rt!.grantId!);
      const after = await oauthSession.sessionKey();
      await attempt(async () => {
        if (!(await oauthSession.onUnauthorized!(after)))
          throw new ClawError('TEST_REAUTH', 'renewal refused as expected');
      });

      await loginWithClientCredentials({
        settings: { issuer: oidc.issuer, clientId: oidc.service.clientId, clientSecret: oidc.service.clientSecret },
        store,
        profile: 'lib-cc',
        http,
        logger,
      });
      await harvestStore(store, 'lib-cc');
      await attempt(() =>
        loginWithClientCredentials({
          settings: { issuer: oidc.issuer, clientId: oidc.service.clientId, clientSecret: S.clientSecretWrong },
          store,
          profile: 'lib-cc-bad',
          http,
          logger,
        }),
      );
      for (const k of oidc.issuedSessionKeys) addSentinel('session key', k);
    } finally {
      await http.close();
    }
    expect(thrown.length).toBeGreaterThanOrEqual(6);
    expect(text()).toContain('iam.user.me');
    expect(text()).toContain('oauth.token');
    thrown.forEach((t, i) => expectClean(`thrown #${i} (${(t as { code?: string }).code})`, dumpThrown(t)));
    expectClean('library logs (trace)', text());
  });

  it('as real child processes (all of fd 1 and 2): login bad/good, trace logs, 5xx echo, network error, config', async () => {
    const runs = [
      await e.spawnCli(['login', '--api-key', S.apiKeyBad, '--log-level', 'trace', '--debug']),
      await e.spawnCli(['login', '--api-key', '-', '--log-level', 'trace', '--json'], { stdin: S.apiKeyGood }),
      await e.spawnCli(['whoami', '--log-level', 'trace', '--debug']),
    ];
    e.standin.inject({
      kind: 'status',
      status: 503,
      endpoint: 'iam.teams',
      message: `invalid session ${S.apiKeyGood}`,
      times: Infinity,
    });
    runs.push(await e.spawnCli(['teams', '--log-level', 'trace', '--debug']));
    e.standin.clearFaults();
    const port = await deadPort();
    runs.push(
      await e.spawnCli(['whoami', '--log-level', 'trace', '--debug'], {
        env: { BRV_IAM_BASE_URL: `http://127.0.0.1:${port}` },
      }),
    );
    runs.push(
      await e.spawnCli(['config', 'show', '--json'], {
        env: {
          BYTEROVER_API_KEY: S.apiKeyGood,
          CLAW_BYTEROVER_CLIENT_ID: 'x',
          CLAW_BYTEROVER_CLIENT_SECRET: S.clientSecretWrong,
        },
      }),
    );
    runs.push(await e.spawnCli(['logout', '--log-level', 'trace']));
    expect(runs.map((r) => r.code)).toEqual([3, 0, 0, 4, 4, 0, 0]);
    runs.forEach((r, i) => expectClean(`child #${i}`, r.out + r.err));
  });

  it('rescans everything captured against the complete sentinel set (tokens issued later included)', () => {
    expect(sentinels.size).toBeGreaterThan(Object.keys(S).length + 8);
    const hits = captured.flatMap((c) => scan(c.text).map((h) => `${c.where}: ${h}`));
    expect(hits).toEqual([]);
  });
});

// A registered value is the redactor's job; make sure the redactor is not what hides the planted
// leaks above (they are never registered), and that registration itself works.
describe('registration', () => {
  it('a registered secret is redacted from CLI output', async () => {
    const v = `sntlRegistered${rand()}${rand()}`;
    registerSecret(v);
    const echo: CommandModule = (program, rt) =>
      program.command('echo').action(rt.action(async () => ({ data: { v }, human: v })));
    const io = memoryIo();
    await run(['echo'], io, { commands: [echo] });
    expect(io.out()).toBe('[REDACTED]\n');
  });
});
