/**
 * The registration lifecycle against the stand-in and the real issuer: 201 then 200 on the same id,
 * heartbeats, re-registration after the claw-api forgot the node (404), DELETE on stop, the node id
 * kept in the data dir, client-credentials tokens cached until near expiry, backoff on refusals, a
 * bounded stop against a claw-api that never answers; and the stand-in refusing requests that do not
 * match docs/claw-api.yaml.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ClawApiConfigSchema,
  clientCredentialsTokenSource,
  createClawApiClient,
  functionTokenSource,
  NODE_ID_FILE,
  startRegistration,
  type NodeDescription,
} from '../../../lib/clawapi/index.js';
import { ClawError } from '../../../lib/errors.js';
import { CLAW_AUDIENCE } from './issuer.js';
import { expectNoToken, failingFirstDiscovery, node, startEnv, until, type Env } from './harness.js';

let env: Env;
let dataDir: string;

beforeAll(async () => {
  env = await startEnv();
  dataDir = await mkdtemp(join(tmpdir(), 'clawapi-reg-'));
});
afterAll(async () => {
  await env?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});
afterEach(() => expect(env.api.contractViolations).toEqual([]));

const description: NodeDescription = {
  version: '0.1.0',
  capabilities: ['memory.recall', 'skill.invoke'],
  protocol: { min: 3, max: 3 },
  endpoints: [{ kind: 'skill-invoke', url: 'http://127.0.0.1:8787/skill/invoke' }],
};

function ccConfig(extra: Record<string, unknown> = {}) {
  return ClawApiConfigSchema.parse({
    url: env.api.url,
    issuer: env.issuer.issuer,
    clientId: env.issuer.node.clientId,
    clientSecret: env.issuer.node.clientSecret,
    audience: CLAW_AUDIENCE,
    ...extra,
  });
}

describe('registration lifecycle', () => {
  it('registers (201), heartbeats, re-registers after a 404 heartbeat, and DELETEs on stop', async () => {
    const grantsBefore = env.issuer.grants.client_credentials ?? 0;
    const from = env.api.requests.length;
    const reg = await startRegistration({
      config: ccConfig(),
      dataDir,
      node: description,
      http: env.http,
      logger: env.logger,
      heartbeatMs: 20,
    });
    await until(() => reg.status().heartbeats >= 2, 'two heartbeats');
    const id = reg.status().nodeId;
    expect((await readFile(join(dataDir, NODE_ID_FILE), 'utf8')).trim()).toBe(id);
    expect(env.api.nodes.get(id)?.node).toMatchObject({
      id,
      name: 'claw-byterover bridge',
      clientId: env.issuer.node.clientId,
      protocol: { min: 3, max: 3 },
    });
    const mine = () => env.api.requests.slice(from).filter((r) => r.operationId !== 'getProtectedResourceMetadata');
    expect(mine()[0]).toMatchObject({
      operationId: 'registerNode',
      status: 201,
      auth: 'bearer',
      clientId: 'claw-node',
    });
    expect(mine()[0]?.idempotencyKey).toMatch(/\S/);
    expect(
      mine()
        .slice(1, 3)
        .map((r) => `${r.operationId} ${r.status}`),
    ).toEqual(['heartbeatNode 204', 'heartbeatNode 204']);

    // The claw-api loses the node: the next heartbeat gets 404 and the client registers again.
    expect(env.api.forget(id)).toBe(true);
    await until(() => reg.status().reRegistrations === 1 && reg.status().state === 'registered', 're-registration');
    const seq = mine().map((r) => `${r.operationId} ${r.status}`);
    const i404 = seq.indexOf('heartbeatNode 404');
    expect(i404).toBeGreaterThan(0);
    expect(seq[i404 + 1]).toBe('registerNode 201');
    expect(env.api.nodes.has(id)).toBe(true);

    await reg.stop();
    expect(reg.status()).toMatchObject({
      state: 'stopped',
      deregistered: 'deleted',
      registrations: 2,
      reRegistrations: 1,
    });
    expect(mine().at(-1)).toMatchObject({ method: 'DELETE', operationId: 'deregisterNode', status: 204 });
    expect(env.api.nodes.has(id)).toBe(false);
    // One client-credentials token served the whole run (cached until near expiry).
    expect((env.issuer.grants.client_credentials ?? 0) - grantsBefore).toBe(1);
    await reg.stop(); // idempotent

    // A restart keeps the node id from the data dir.
    const again = await startRegistration({
      config: ccConfig(),
      dataDir,
      node: description,
      http: env.http,
      logger: env.logger,
      heartbeatMs: 1000,
    });
    await until(() => again.status().state === 'registered', 'second registration');
    expect(again.status().nodeId).toBe(id);
    await again.stop();
    expect(env.api.nodes.size).toBe(0);
  });

  it('POST /v1/nodes is idempotent on the id: 201, then 200 with the same registeredAt and updated fields', async () => {
    const token = clientCredentialsTokenSource({
      issuer: env.issuer.issuer,
      clientId: env.issuer.node.clientId,
      clientSecret: env.issuer.node.clientSecret,
      audience: CLAW_AUDIENCE,
      scopes: ['nodes:write'],
      http: env.http,
    });
    const client = createClawApiClient({ url: env.api.url, token, http: env.http, logger: env.logger });
    const first = await client.register(node('cb-idem'));
    const second = await client.register({ ...node('cb-idem'), version: '0.2.0' });
    expect(first).toMatchObject({ created: true, status: 201 });
    expect(second).toMatchObject({ created: false, status: 200 });
    expect(second.node.registeredAt).toBe(first.node.registeredAt);
    expect(second.node.version).toBe('0.2.0');
    expect(await client.heartbeat('cb-idem')).toBe('ok');
    expect(await client.deregister('cb-idem')).toBe('deleted');
    expect(await client.deregister('cb-idem')).toBe('unknown');
    expect(await client.heartbeat('cb-idem')).toBe('unknown');
  });

  it('client-credentials tokens are renewed shortly before expiry, not before', async () => {
    let skew = 0;
    const now = () => Date.now() + skew;
    const source = clientCredentialsTokenSource({
      issuer: env.issuer.issuer,
      clientId: env.issuer.node.clientId,
      clientSecret: env.issuer.node.clientSecret,
      audience: CLAW_AUDIENCE,
      scopes: ['nodes:write'],
      http: env.http,
      now,
    });
    const a = await source.token();
    expect(await source.token()).toBe(a);
    skew = 500_000; // 500 s later: still more than 60 s before the 600 s expiry
    expect(await source.token()).toBe(a);
    skew = 550_000; // within 60 s of expiry
    const b = await source.token();
    expect(b).not.toBe(a);
    expect(source.requests).toBe(2);
  });

  it('a failed discovery of the token issuer is tried again a minute later, not kept until a restart', async () => {
    let skew = 0;
    const now = (): number => Date.now() + skew;
    const { http, discoveries } = failingFirstDiscovery(env.http);
    const source = clientCredentialsTokenSource({
      issuer: env.issuer.issuer,
      clientId: env.issuer.node.clientId,
      clientSecret: env.issuer.node.clientSecret,
      audience: CLAW_AUDIENCE,
      scopes: ['nodes:write'],
      http,
      now,
    });
    // This issuer's token endpoint happens to be {issuer}/token, so the fallback serves meanwhile.
    const a = await source.token();
    expect(discoveries).toHaveLength(1);
    source.invalidate(a);
    const b = await source.token();
    expect(discoveries).toHaveLength(1);
    skew = 61_000;
    source.invalidate(b);
    await source.token();
    expect(discoveries).toHaveLength(2);
    // A discovery that worked is kept.
    skew = 3_600_000;
    expect(await source.token()).toBeTruthy();
    expect(discoveries).toHaveLength(2);
    expect(source.requests).toBe(4);
  });

  it('backs off on refusals and registers once the token is right; the last error names the cause', async () => {
    const good = await env.issuer.clientCredentialsToken({ scope: 'nodes:write' });
    const idToken = await env.issuer.idToken();
    let calls = 0;
    const seen: string[] = [];
    const reg = await startRegistration({
      config: ClawApiConfigSchema.parse({ url: env.api.url, token: 'placeholder', nodeId: 'cb-backoff' }),
      dataDir,
      node: description,
      http: env.http,
      logger: env.logger,
      token: functionTokenSource(async () => (++calls <= 2 ? idToken : good)),
      backoffBaseMs: 5,
      heartbeatMs: 1000,
      onChange: (s) => seen.push(s.state),
    });
    await until(() => reg.status().state === 'registered', 'registered after refusals');
    const s = reg.status();
    expect(s).toMatchObject({ failures: 2, registrations: 1 });
    expect(s.lastError).toMatchObject({ code: 'CLAW_API_UNAUTHORIZED', cause: 'id_token', status: 401 });
    expect(seen.slice(0, 3)).toEqual(['retrying', 'retrying', 'registered']);
    await reg.stop();
    expectNoToken(env.lines.join('\n'), idToken);
    expectNoToken(env.lines.join('\n'), good, { allowEmpty: true });
    expectNoToken(JSON.stringify(s), idToken, { allowEmpty: true });
  });

  it('stop() is bounded against a claw-api that accepts connections and never answers', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const reg = await startRegistration({
        config: ClawApiConfigSchema.parse({
          url: `http://127.0.0.1:${port}`,
          token: 'abcdefghijklmnop',
          nodeId: 'cb-silent',
          deregisterTimeoutMs: 200,
        }),
        dataDir,
        node: description,
        http: env.http,
        logger: env.logger,
      });
      await until(() => sockets.size > 0, 'the registration attempt connected');
      await reg.stop();
      expect(reg.status()).toMatchObject({ state: 'stopped', deregistered: 'failed' });
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});

describe('the stand-in enforces docs/claw-api.yaml', () => {
  async function post(body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
    const token = await env.issuer.clientCredentialsToken({ scope: 'nodes:write' });
    const res = await fetch(`${env.api.url}/v1/nodes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, json: await res.json() };
  }

  it('refuses a body that violates the schema, naming each field', async () => {
    const r = await post({ ...node('cb-bad'), protocol: { min: '3', max: 3 }, extra: true });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ title: 'Bad Request', status: 400 });
    const where = (r.json.errors as Array<{ where: string }>).map((e) => e.where);
    expect(where).toEqual(expect.arrayContaining(['body/protocol/min', 'body']));
    expect(JSON.stringify(r.json.errors)).toMatch(/additionalProperty.*extra/);
    expect(env.api.requests.at(-1)?.violations.length).toBeGreaterThan(0);
    expect(env.api.nodes.has('cb-bad')).toBe(false);
  });

  it('refuses a non-JSON body (415), invalid JSON (400), min > max (422), a bad path id (400), an Idempotency-Key too long (400)', async () => {
    expect((await post(JSON.stringify(node('cb-x')), { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post('{"id":')).status).toBe(400);
    expect((await post({ ...node('cb-x'), protocol: { min: 4, max: 3 } })).status).toBe(422);
    expect((await post(node('cb-x'), { 'idempotency-key': 'k'.repeat(300) })).json.errors[0].where).toBe(
      'header/Idempotency-Key',
    );
    const token = await env.issuer.clientCredentialsToken({ scope: 'nodes:write' });
    const res = await fetch(`${env.api.url}/v1/nodes/${encodeURIComponent('-bad id')}/heartbeat`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: Array<{ where: string }> }).errors[0]?.where).toBe('path/id');
  });

  it('the client reports a refused body as CLAW_API_REJECTED with the fields', async () => {
    const token = await env.issuer.clientCredentialsToken({ scope: 'nodes:write' });
    const client = createClawApiClient({ url: env.api.url, token, http: env.http, logger: env.logger });
    const e = await client.register({ ...node('cb-y'), protocol: { min: 5, max: 1 } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ClawError);
    expect(e).toMatchObject({ code: 'CLAW_API_REJECTED', details: { status: 422 } });
    expect((e as ClawError).message).toMatch(
      /protocol\.min \(5\) is greater than protocol\.max \(1\); fields: body\/protocol min must not exceed max/,
    );
  });
});
