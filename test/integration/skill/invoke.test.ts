/**
 * `POST /skill/invoke` end to end: a real bridge (createBridge) on a real store — SQLite and
 * PostgreSQL — with the skill route mounted over the real actions: LocalMemory on a temp context tree
 * (the native recall engine), MemorySync and the ByteRover client talking to the ByteRover stand-in.
 *
 * Every action, validation (400 with fields), auth (401/400 with WWW-Authenticate, 503 without keys),
 * upstream failures (502 with the stand-in's status, code and request id), unknown failures (500 with
 * an error id, nothing internal), Stripe-style idempotency (replay byte for byte, one side effect,
 * 422 on another request, 409 or replay under concurrency, also across two bridge instances).
 */
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MiniSearchIndex } from '../../../bench/recall/minisearch-index.js';
import { createBridge, parseBridgeConfig, type Bridge, type BridgeStore } from '../../../lib/bridge/index.js';
import {
  SkillConfigSchema,
  callerIdOf,
  idempotencyScope,
  keyDigest,
  keyDigestString,
  mountSkillInvoke,
  openSkillActions,
  requestHash,
  type OnInvoke,
  type SkillConfigInput,
} from '../../../lib/bridge/skill/index.js';
import { createByteRoverClient, type ByteRoverClient } from '../../../lib/byterover/index.js';
import { RetryBudget, createHttpClient, type HttpClient } from '../../../lib/http/index.js';
import { createLogger, type Logger } from '../../../lib/log/index.js';
import { loadNativeRecall } from '../../../lib/memory/native-index.js';
import type { RecallIndexFactory } from '../../../lib/memory/index.js';
import { inCI } from '../../helpers/tools.js';
import { DEFAULT_SESSION_KEY, startByteRoverStandin, type ByteRoverStandin } from '../../standin/byterover.js';
import { postgresBackend, sqliteBackend, type Backend } from '../bridge/backends.js';

const FIXTURE_TREE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'context-tree');
const KEY_A = `skill-key-a-${randomBytes(12).toString('hex')}`;
const KEY_B = `skill-key-b-${randomBytes(12).toString('hex')}`;
const CALLER_A = callerIdOf(keyDigest(KEY_A));

const native = await loadNativeRecall();
if (!native.factory && inCI)
  throw new Error(`CI requires the native recall engine: ${native.reason} (build it with \`npm run build:native\`)`);
/** The native engine (as `serve` uses); outside CI without a built addon, minisearch stands in so the route is still tested. */
const engine: RecallIndexFactory = native.factory ?? (() => new MiniSearchIndex());

let standin: ByteRoverStandin;
let http: HttpClient;
let client: ByteRoverClient;
let teamId: string;
let spaceId: string;
const logs: string[] = [];
const logger: Logger = createLogger({
  level: 'debug',
  destination: new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  }),
});

beforeAll(async () => {
  standin = await startByteRoverStandin();
  teamId = standin.addTeam().id;
  spaceId = standin.addSpace(teamId).id;
  // Jitter-free with its own budget and two attempts, so upstream failures come back at once.
  http = createHttpClient({ logger, budget: new RetryBudget(), random: () => 0, retry: { maxAttempts: 2 } });
  client = createByteRoverClient({
    http,
    session: { sessionKey: async () => DEFAULT_SESSION_KEY },
    config: standin.clientConfig(),
    logger,
  });
});

afterAll(async () => {
  await http?.close();
  await standin?.close();
  // The keys never reach a log line.
  const all = logs.join('');
  expect(all).not.toContain(KEY_A);
  expect(all).not.toContain(KEY_B);
});

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

async function invoke(
  url: string,
  body: unknown,
  opts: { key?: string | null; headers?: Record<string, string>; path?: string } = {},
): Promise<Reply> {
  const key = opts.key === undefined ? KEY_A : opts.key;
  const r = await fetch(`${url}${opts.path ?? '/skill/invoke'}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...opts.headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, text, json };
}

/** Sends until the answer is not "still running" (the first request's answer is saved just after it is sent). */
async function invokeSettled(url: string, body: unknown, opts: Parameters<typeof invoke>[2] = {}): Promise<Reply> {
  for (let i = 0; ; i++) {
    const r = await invoke(url, body, opts);
    if (r.status !== 409 || i >= 100) return r;
    await new Promise((res) => setTimeout(res, 20));
  }
}

async function notesIn(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile() && e.name.endsWith('.md')) out.push(join(e.parentPath, e.name));
  return out;
}

for (const backend of [sqliteBackend(), postgresBackend()] as Backend[]) {
  describe.skipIf(backend.skip !== undefined)(
    `skill invoke on ${backend.name}${backend.skip ? ` (${backend.skip})` : ''}`,
    () => {
      beforeAll(() => backend.start(), 120_000);
      afterAll(() => backend.stop());

      const cleanups: Array<() => Promise<void>> = [];
      afterEach(async () => {
        for (const c of cleanups.splice(0).reverse()) await c();
      });

      interface Rig {
        url: string;
        bridge: Bridge;
        store: BridgeStore;
        project: string;
        tree: string;
        stateDir: string;
        branch: string;
        invocations: Array<{ action: string; result: string; status: number; code: string }>;
        /** A second bridge instance on the same store and tree. */
        peer(): Promise<string>;
      }

      async function rig(o: { fixture?: boolean; skill?: SkillConfigInput; withSync?: boolean } = {}): Promise<Rig> {
        const project = await mkdtemp(join(tmpdir(), 'claw-skill-'));
        cleanups.push(() => rm(project, { recursive: true, force: true }));
        const tree = join(project, '.brv', 'context-tree');
        if (o.fixture) await cp(FIXTURE_TREE, tree, { recursive: true });
        const branch = `b-${randomBytes(4).toString('hex')}`;
        const { store, openPeer } = await backend.open();
        cleanups.push(() => store.close());
        const invocations: Rig['invocations'] = [];
        const onInvoke: OnInvoke = (action, outcome) => invocations.push({ action, ...outcome });
        const config = SkillConfigSchema.parse({ apiKeys: [KEY_A, keyDigestString(KEY_B)], ...o.skill });

        const start = async (s: BridgeStore): Promise<{ bridge: Bridge; url: string }> => {
          const opened = await openSkillActions({
            projectRoot: project,
            client,
            ...(o.withSync === false ? {} : { space: { teamId, spaceId, branch } }),
            index: engine,
            watch: false,
            logger,
          });
          const bridge = await createBridge({
            config: parseBridgeConfig({}),
            dataDir: project,
            logger,
            store: s,
            worker: false,
          });
          mountSkillInvoke(bridge, { config, actions: opened.actions, close: opened.close, logger, onInvoke });
          cleanups.push(() => bridge.close());
          const { url } = await bridge.listen(0);
          return { bridge, url };
        };
        const first = await start(store);
        return {
          ...first,
          store,
          project,
          tree,
          stateDir: join(project, '.brv', 'claw-byterover'),
          branch,
          invocations,
          async peer() {
            const s = await openPeer();
            cleanups.push(() => s.close());
            return (await start(s)).url;
          },
        };
      }

      describe('actions', () => {
        it("whoami: the bridge's ByteRover user and the caller identity", async () => {
          const r = await rig();
          const before = standin.requestsTo('iam.user.me').length;
          const res = await invoke(r.url, { action: 'whoami' });
          expect(res.status).toBe(200);
          expect(res.headers.get('content-type')).toContain('application/json');
          expect(res.json).toEqual({
            ok: true,
            action: 'whoami',
            result: {
              caller: CALLER_A,
              user: {
                id: standin.user.id,
                email: standin.user.email,
                name: standin.user.name,
                avatarUrl: standin.user.avatar_url,
                hasOnboardedCli: standin.user.hasOnboardedCli,
              },
            },
          });
          expect(standin.requestsTo('iam.user.me').length).toBe(before + 1);
          expect(r.invocations).toEqual([{ action: 'whoami', result: 'ok', status: 200, code: 'OK' }]);
        });

        it("search and recall rank the context tree's notes; recall stays within its token budget", async () => {
          const r = await rig({ fixture: true });
          const s = await invoke(r.url, { action: 'search', payload: { query: 'refresh token rotation', k: 3 } });
          expect(s.status).toBe(200);
          expect(s.json.result.query).toBe('refresh token rotation');
          expect(s.json.result.hits).toHaveLength(3);
          expect(s.json.result.total).toBe(3);
          expect(s.json.result.hits[0].path).toBe('auth/jwt-session-tokens.md');
          const rc = await invoke(r.url, {
            action: 'recall',
            payload: { query: 'PgBouncer transaction pooling', tokenBudget: 200 },
          });
          expect(rc.status).toBe(200);
          expect(rc.json.result.hits[0].path).toBe('database/connection-pooling.md');
          expect(rc.json.result.tokenBudget).toBe(200);
          expect(rc.json.result.tokens).toBeLessThanOrEqual(200);
          expect(rc.json.result.text).toContain('connection-pooling');
          const none = await invoke(r.url, { action: 'search', payload: { query: 'zzqxjv qwxyzv' } });
          expect(none.json.result).toEqual({ query: 'zzqxjv qwxyzv', hits: [], total: 0 });
        });

        it('curate writes a note into the tree (then found by search); push sends it to ByteRover; pull brings remote notes in', async () => {
          const r = await rig();
          const c = await invoke(r.url, {
            action: 'curate',
            payload: {
              content: 'Blue/green deploys flip DNS; rollback is the reverse flip.',
              title: 'Deploy rollback',
              tags: ['deploy'],
              path: 'ops/rollback',
            },
          });
          expect(c.status).toBe(200);
          expect(c.json.result).toMatchObject({ status: 'written', path: 'ops/rollback.md' });
          const text = await readFile(join(r.tree, 'ops', 'rollback.md'), 'utf8');
          expect(text).toContain('Blue/green deploys flip DNS');
          expect(text).toContain(`claw_id: ${c.json.result.id}`);
          const found = await invoke(r.url, { action: 'search', payload: { query: 'rollback DNS flip' } });
          expect(found.json.result.hits[0]?.path).toBe('ops/rollback.md');

          const p = await invoke(r.url, { action: 'push' });
          expect(p.status).toBe(200);
          expect(p.json.result.pushed).toEqual([c.json.result.id]);
          expect(p.json.result.commitSha).toBe(standin.head(teamId, spaceId, r.branch));
          expect(standin.files(teamId, spaceId, r.branch).get('/ops/rollback.md')?.toString('utf8')).toBe(text);

          standin.commitFiles(teamId, spaceId, r.branch, {
            '/remote/cache.md': '---\ntitle: Cache keys\n---\n# Cache keys\nCache keys carry the tenant id.\n',
          });
          const pull = await invoke(r.url, { action: 'pull' });
          expect(pull.status).toBe(200);
          expect(pull.json.result).toMatchObject({
            commitSha: standin.head(teamId, spaceId, r.branch),
            added: ['remote/cache.md'],
          });
          expect(await readFile(join(r.tree, 'remote', 'cache.md'), 'utf8')).toContain('tenant id');
          const again = await invoke(r.url, { action: 'search', payload: { query: 'tenant cache keys' } });
          expect(again.json.result.hits[0]?.path).toBe('remote/cache.md');
        });

        it('pull and push without a configured space: 503 SKILL_ACTION_UNAVAILABLE with a hint, key released', async () => {
          const r = await rig({ withSync: false });
          const res = await invoke(r.url, { action: 'pull', idempotencyKey: 'no-space' });
          expect(res.status).toBe(503);
          expect(res.json).toMatchObject({ ok: false, code: 'SKILL_ACTION_UNAVAILABLE' });
          expect(res.json.hint).toContain('config set team');
          const begun = await r.store.state.idempotency.begin(
            idempotencyScope(CALLER_A, 'no-space'),
            requestHash('pull', {}),
            Date.now(),
            1000,
          );
          expect(begun.state).toBe('acquired');
        });

        it('curate with a path escaping the tree: 400 MEMORY_PATH_ESCAPE with the field and hint, nothing written', async () => {
          const r = await rig();
          const res = await invoke(r.url, {
            action: 'curate',
            payload: { content: 'x marks the spot', path: '../outside' },
          });
          expect(res.status).toBe(400);
          expect(res.json).toMatchObject({ ok: false, code: 'MEMORY_PATH_ESCAPE', fields: [{ path: 'payload.path' }] });
          expect(res.json.hint).toMatch(/relative to the context tree/);
          expect(await notesIn(r.project)).toEqual([]);
        });
      });

      describe('validation and auth', () => {
        it('400 SKILL_INVALID_REQUEST names every field at fault', async () => {
          const r = await rig();
          const res = await invoke(r.url, {
            action: 'search',
            payload: { k: 0, extra: true },
            idempotencyKey: '',
            more: 1,
          });
          expect(res.status).toBe(400);
          expect(res.json.code).toBe('SKILL_INVALID_REQUEST');
          expect(res.json.fields.map((f: { path: string }) => f.path).sort()).toEqual([
            'idempotencyKey',
            'more',
            'payload.extra',
            'payload.k',
            'payload.query',
          ]);
          for (const f of res.json.fields) expect(typeof f.message).toBe('string');
          expect(res.json.message).toContain('payload.query');

          const action = await invoke(r.url, { action: 'forget', payload: {} });
          expect(action.json.fields).toEqual([
            { path: 'action', message: 'expected one of whoami, search, recall, curate, pull, push, record' },
          ]);
          const both = await invoke(
            r.url,
            { action: 'pull', idempotencyKey: 'a' },
            { headers: { 'idempotency-key': 'b' } },
          );
          expect(both.status).toBe(400);
          expect(both.json.fields.map((f: { path: string }) => f.path)).toEqual(['idempotencyKey']);
          const json = await invoke(r.url, '{"action": "whoami",');
          expect(json.status).toBe(400);
          expect(json.json.code).toBe('HTTP_BODY_INVALID_JSON');
          expect(r.invocations.map((i) => i.result)).toEqual(['invalid', 'invalid', 'invalid', 'invalid']);
        });

        it('a body over the limit: 413 without reading it', async () => {
          const r = await rig({ skill: { maxBodyBytes: 1024 } });
          const res = await invoke(r.url, { action: 'curate', payload: { content: 'x'.repeat(4096) } });
          expect(res.status).toBe(413);
          expect(res.json.code).toBe('HTTP_BODY_TOO_LARGE');
        });

        it('401 with WWW-Authenticate for missing and wrong keys, 400 for a malformed header; both rotated keys work', async () => {
          const r = await rig();
          const missing = await invoke(r.url, { action: 'whoami' }, { key: null });
          expect(missing.status).toBe(401);
          expect(missing.json).toMatchObject({ ok: false, code: 'SKILL_AUTH_MISSING' });
          expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="claw-bridge"');

          const wrong = await invoke(r.url, { action: 'whoami' }, { key: 'not-a-configured-key-00000000' });
          expect(wrong.status).toBe(401);
          expect(wrong.json.code).toBe('SKILL_AUTH_INVALID');
          expect(wrong.headers.get('www-authenticate')).toMatch(
            /^Bearer realm="claw-bridge", error="invalid_token", error_description="[^"]+"$/,
          );
          expect(wrong.text).not.toContain('not-a-configured-key');

          const basic = await invoke(
            r.url,
            { action: 'whoami' },
            { key: null, headers: { authorization: `Basic ${Buffer.from(`x:${KEY_A}`).toString('base64')}` } },
          );
          expect(basic.status).toBe(401);
          expect(basic.headers.get('www-authenticate')).toBe('Bearer realm="claw-bridge"');

          const malformed = await invoke(
            r.url,
            { action: 'whoami' },
            { key: null, headers: { authorization: `Bearer ${KEY_A} ${KEY_A}` } },
          );
          expect(malformed.status).toBe(400);
          expect(malformed.json.code).toBe('SKILL_AUTH_MALFORMED');
          expect(malformed.headers.get('www-authenticate')).toContain('error="invalid_request"');

          // Rotation: the plain key and the one configured as a sha256 digest both work, as different callers.
          const a = await invoke(r.url, { action: 'whoami' }, { key: KEY_A });
          const b = await invoke(r.url, { action: 'whoami' }, { key: KEY_B });
          expect([a.status, b.status]).toEqual([200, 200]);
          expect(b.json.result.caller).toBe(callerIdOf(keyDigest(KEY_B)));
          expect(a.json.result.caller).not.toBe(b.json.result.caller);
          expect(r.invocations.slice(0, 4).map((i) => [i.action, i.result, i.status])).toEqual([
            ['unknown', 'unauthorized', 401],
            ['unknown', 'unauthorized', 401],
            ['unknown', 'unauthorized', 401],
            ['unknown', 'unauthorized', 400],
          ]);
        });

        it('no keys configured: 503 SKILL_AUTH_NOT_CONFIGURED saying how to configure them, whatever the caller sends', async () => {
          const r = await rig({ skill: { apiKeys: [] } });
          for (const key of [null, KEY_A]) {
            const res = await invoke(r.url, { action: 'whoami' }, { key });
            expect(res.status).toBe(503);
            expect(res.json.code).toBe('SKILL_AUTH_NOT_CONFIGURED');
            expect(res.json.hint).toContain('CLAW_BYTEROVER_SKILL_API_KEYS');
            expect(res.json.hint).toContain('bridge.skill.apiKeys');
          }
        });

        it('a custom path', async () => {
          const r = await rig({ skill: { path: '/v1/skill' } });
          expect((await invoke(r.url, { action: 'whoami' }, { path: '/v1/skill' })).status).toBe(200);
          expect((await invoke(r.url, { action: 'whoami' })).status).toBe(404);
        });
      });

      describe('failures', () => {
        it('ByteRover failing: 502 with the upstream status, code and request id; a read-only action gives its key back', async () => {
          const r = await rig();
          const fault = standin.inject({ kind: 'status', status: 503, endpoint: 'iam.user.me', times: Infinity });
          const res = await invoke(r.url, { action: 'whoami', idempotencyKey: 'who-1' });
          fault.remove();
          expect(res.status).toBe(502);
          const last = standin.requestsTo('iam.user.me').at(-1);
          expect(res.json).toMatchObject({
            ok: false,
            code: 'SKILL_UPSTREAM_ERROR',
            upstream: { status: 503, code: 'SERVICE_UNAVAILABLE', requestId: last?.requestId, endpoint: 'iam.user.me' },
          });
          expect(typeof res.json.hint).toBe('string');
          expect(r.invocations.at(-1)).toMatchObject({ action: 'whoami', result: 'upstream_error', status: 502 });
          // Released: the same key runs again and now succeeds.
          const again = await invoke(r.url, { action: 'whoami', idempotencyKey: 'who-1' });
          expect(again.status).toBe(200);
          expect(again.headers.get('idempotent-replayed')).toBeNull();
        });

        it('a push failing upstream: 502 saved and replayed for the same key (Stripe saves 5xx), no second commit attempt', async () => {
          const r = await rig();
          const c = await invoke(r.url, { action: 'curate', payload: { content: 'Queue retries use full jitter.' } });
          expect(c.status).toBe(200);
          const fault = standin.inject({ kind: 'status', status: 500, endpoint: 'cogit.commits', times: Infinity });
          const res = await invoke(r.url, { action: 'push', idempotencyKey: 'push-1' });
          fault.remove();
          expect(res.status).toBe(502);
          const commits = standin.requestsTo('cogit.commits');
          expect(res.json.upstream).toEqual({
            status: 500,
            code: 'INTERNAL_SERVER_ERROR',
            requestId: commits.at(-1)?.requestId,
            endpoint: 'cogit.commits',
          });
          expect(res.json.message).toContain('expected ByteRover to accept 1 note(s)');

          const replay = await invoke(r.url, { action: 'push', idempotencyKey: 'push-1' });
          expect(replay.status).toBe(502);
          expect(replay.headers.get('idempotent-replayed')).toBe('true');
          expect(replay.text).toBe(res.text);
          expect(standin.requestsTo('cogit.commits').length).toBe(commits.length);

          const fresh = await invoke(r.url, { action: 'push', idempotencyKey: 'push-2' });
          expect(fresh.status).toBe(200);
          expect(fresh.json.result.pushed).toEqual([c.json.result.id]);
        });

        it('an unknown failure: 500 with an error id and nothing internal; saved and replayed for a mutating action', async () => {
          const r = await rig();
          // The outbox directory replaced by a file: curate meets ENOTDIR, an error no mapping knows.
          await mkdir(r.stateDir, { recursive: true });
          await writeFile(join(r.stateDir, 'outbox'), 'not a directory');
          const res = await invoke(r.url, {
            action: 'curate',
            payload: { content: 'will not be written' },
            idempotencyKey: 'boom-1',
          });
          expect(res.status).toBe(500);
          expect(Object.keys(res.json).sort()).toEqual(['code', 'errorId', 'message', 'ok']);
          expect(res.json.code).toBe('INTERNAL_ERROR');
          expect(res.json.errorId).toMatch(/^[0-9a-f]{12}$/);
          expect(res.text).not.toMatch(/ENOTDIR|outbox|claw-skill-|stack|at /);
          expect(logs.join('')).toContain(res.json.errorId);
          expect(r.invocations.at(-1)).toMatchObject({ action: 'curate', result: 'error', status: 500 });

          const replay = await invokeSettled(r.url, {
            action: 'curate',
            payload: { content: 'will not be written' },
            idempotencyKey: 'boom-1',
          });
          expect(replay.status).toBe(500);
          expect(replay.headers.get('idempotent-replayed')).toBe('true');
          expect(replay.text).toBe(res.text);
        });

        it('an action running past actionTimeoutMs: 503 SKILL_ACTION_TIMEOUT', async () => {
          const r = await rig({ skill: { actionTimeoutMs: 200, idempotencyLockMs: 1000 } });
          const slow = standin.inject({ kind: 'latency', ms: 3000, endpoint: 'iam.user.me' });
          const res = await invoke(r.url, { action: 'whoami' });
          slow.remove();
          expect(res.status).toBe(503);
          expect(res.json).toMatchObject({
            code: 'SKILL_ACTION_TIMEOUT',
            hint: expect.stringContaining('actionTimeoutMs'),
          });
        });

        it('a pull past actionTimeoutMs is cancelled: 503 SKILL_ACTION_TIMEOUT, nothing applied, key freed; the same key then pulls it all', async () => {
          const r = await rig({ skill: { actionTimeoutMs: 200, idempotencyLockMs: 5000 } });
          standin.commitFiles(teamId, spaceId, r.branch, { '/late/one.md': '# One\n', '/late/two.md': '# Two\n' });
          const slow = standin.inject({ kind: 'latency', ms: 3000, endpoint: 'cogit.snapshot' });
          const res = await invoke(r.url, { action: 'pull', idempotencyKey: 'slow-pull' });
          expect(res.status).toBe(503);
          expect(res.json).toMatchObject({
            code: 'SKILL_ACTION_TIMEOUT',
            message: 'expected pull to finish within 200 ms, it did not',
            hint: expect.stringContaining('same Idempotency-Key'),
          });
          expect(r.invocations.at(-1)).toMatchObject({ action: 'pull', result: 'unavailable', status: 503 });
          slow.remove();
          // The cancelled pull frees the key (409 while it winds down); the retry runs and applies everything.
          const again = await invokeSettled(r.url, { action: 'pull', idempotencyKey: 'slow-pull' });
          expect(again.status).toBe(200);
          expect(again.headers.get('idempotent-replayed')).toBeNull();
          expect(again.json.result.added.sort()).toEqual(['late/one.md', 'late/two.md']);
          expect(again.json.result.failed).toEqual([]);
        });
      });

      describe('idempotency', () => {
        it('the same key twice: one note written, the first answer replayed byte for byte (body key or header)', async () => {
          const r = await rig();
          const body = {
            action: 'curate',
            payload: { content: 'Idempotent curate: exactly one note.', tags: ['a', 'b'] },
            idempotencyKey: 'cur-1',
          };
          const first = await invoke(r.url, body);
          expect(first.status).toBe(200);
          expect(first.json.result.status).toBe('written');
          expect(first.headers.get('idempotent-replayed')).toBeNull();
          // Same request with members in another order: the canonical hash matches.
          const second = await invoke(
            r.url,
            JSON.stringify({
              idempotencyKey: 'cur-1',
              payload: { tags: ['a', 'b'], content: 'Idempotent curate: exactly one note.' },
              action: 'curate',
            }),
          );
          expect(second.status).toBe(200);
          expect(second.headers.get('idempotent-replayed')).toBe('true');
          expect(second.text).toBe(first.text);
          expect(second.headers.get('content-type')).toBe(first.headers.get('content-type'));
          const notes = await notesIn(r.tree);
          expect(notes).toHaveLength(1);

          const viaHeader = await invoke(
            r.url,
            { action: 'curate', payload: { content: 'Header keyed note.' } },
            { headers: { 'idempotency-key': 'cur-2' } },
          );
          const viaHeaderAgain = await invoke(
            r.url,
            { action: 'curate', payload: { content: 'Header keyed note.' } },
            { headers: { 'idempotency-key': 'cur-2' } },
          );
          expect(viaHeaderAgain.headers.get('idempotent-replayed')).toBe('true');
          expect(viaHeaderAgain.text).toBe(viaHeader.text);
          // The header key and the same key in the body are one key.
          const inBody = await invoke(r.url, {
            action: 'curate',
            payload: { content: 'Header keyed note.' },
            idempotencyKey: 'cur-2',
          });
          expect(inBody.text).toBe(viaHeader.text);
          expect(await notesIn(r.tree)).toHaveLength(2);
          expect(r.invocations.map((i) => i.result)).toEqual(['ok', 'replayed', 'ok', 'replayed', 'replayed']);
        });

        it('the same key with another request: 422 SKILL_IDEMPOTENCY_MISMATCH, nothing run', async () => {
          const r = await rig();
          expect(
            (await invoke(r.url, { action: 'curate', payload: { content: 'first' }, idempotencyKey: 'mm-1' })).status,
          ).toBe(200);
          for (const other of [
            { action: 'curate', payload: { content: 'second' }, idempotencyKey: 'mm-1' },
            { action: 'curate', payload: { content: 'first', title: 'T' }, idempotencyKey: 'mm-1' },
            { action: 'search', payload: { query: 'first' }, idempotencyKey: 'mm-1' },
          ]) {
            const res = await invoke(r.url, other);
            expect(res.status).toBe(422);
            expect(res.json).toMatchObject({ ok: false, code: 'SKILL_IDEMPOTENCY_MISMATCH' });
          }
          expect(await notesIn(r.tree)).toHaveLength(1);
        });

        it('keys are scoped per caller; keys named as one caller share the scope across rotation', async () => {
          const r = await rig({ skill: { apiKeys: [KEY_A, KEY_B] } });
          const a = await invoke(
            r.url,
            { action: 'curate', payload: { content: 'caller A note' }, idempotencyKey: 'shared' },
            { key: KEY_A },
          );
          const b = await invoke(
            r.url,
            { action: 'curate', payload: { content: 'caller B note' }, idempotencyKey: 'shared' },
            { key: KEY_B },
          );
          expect([a.status, b.status]).toEqual([200, 200]);
          expect(b.headers.get('idempotent-replayed')).toBeNull();

          const named = await rig({
            skill: {
              apiKeys: [
                { key: KEY_A, caller: 'ci' },
                { key: KEY_B, caller: 'ci' },
              ],
            },
          });
          const old = await invoke(
            named.url,
            { action: 'curate', payload: { content: 'rotated' }, idempotencyKey: 'rot-1' },
            { key: KEY_A },
          );
          const rotated = await invoke(
            named.url,
            { action: 'curate', payload: { content: 'rotated' }, idempotencyKey: 'rot-1' },
            { key: KEY_B },
          );
          expect(rotated.headers.get('idempotent-replayed')).toBe('true');
          expect(rotated.text).toBe(old.text);
        });

        it('a key held by a running request: 409 SKILL_IDEMPOTENCY_IN_PROGRESS with Retry-After', async () => {
          const r = await rig();
          const held = await r.store.state.idempotency.begin(
            idempotencyScope(CALLER_A, 'busy-1'),
            requestHash('pull', {}),
            Date.now(),
            60_000,
          );
          expect(held.state).toBe('acquired');
          const before = standin.requestsTo('cogit.snapshot').length;
          const res = await invoke(r.url, { action: 'pull', idempotencyKey: 'busy-1' });
          expect(res.status).toBe(409);
          expect(res.json.code).toBe('SKILL_IDEMPOTENCY_IN_PROGRESS');
          expect(res.headers.get('retry-after')).toBe('1');
          expect(standin.requestsTo('cogit.snapshot').length).toBe(before);
          expect(r.invocations.at(-1)).toMatchObject({ action: 'pull', result: 'idempotency_conflict', status: 409 });
        });

        it('concurrent requests with one key, on one bridge and across two instances: one runs, the others get 409 or its replay', async () => {
          const r = await rig();
          const peerUrl = await r.peer();
          standin.commitFiles(teamId, spaceId, r.branch, { '/c/one.md': '# One\nconcurrency note\n' });
          for (const [label, urls] of [
            ['one bridge', [r.url, r.url, r.url]],
            ['two instances', [r.url, peerUrl, peerUrl]],
          ] as const) {
            const key = `conc-${label}`;
            const before = standin.requestsTo('cogit.snapshot').length;
            // The first snapshot answer is slowed down so the requests overlap.
            const slow = standin.inject({ kind: 'latency', ms: 400, endpoint: 'cogit.snapshot' });
            const replies = await Promise.all(urls.map((u) => invoke(u, { action: 'pull', idempotencyKey: key })));
            slow.remove();
            const ran = replies.filter((x) => x.status === 200 && x.headers.get('idempotent-replayed') === null);
            expect(ran, label).toHaveLength(1);
            for (const x of replies) {
              if (x === ran[0]) continue;
              if (x.status === 409) {
                expect(x.json.code).toBe('SKILL_IDEMPOTENCY_IN_PROGRESS');
                expect(x.headers.get('retry-after')).toBe('1');
              } else {
                expect(x.headers.get('idempotent-replayed')).toBe('true');
                expect(x.text).toBe(ran[0]?.text);
              }
            }
            expect(standin.requestsTo('cogit.snapshot').length - before, label).toBe(1);
            // Once done, every instance replays the one answer.
            for (const u of new Set(urls)) {
              const after = await invokeSettled(u, { action: 'pull', idempotencyKey: key });
              expect(after.headers.get('idempotent-replayed')).toBe('true');
              expect(after.text).toBe(ran[0]?.text);
            }
          }
        });
      });
    },
  );
}
