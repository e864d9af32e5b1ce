/**
 * "401 from claw-api", one test per cause of the ordered diagnosis, each with a token the real
 * oidc-provider issued (or a real token made malformed), sent by the real client through lib/http to
 * the stand-in, which verifies it against the provider's JWKS and refuses it the RFC 6750 way. Each
 * asserts the cause and the message, and that neither the error, nor doctor's probe result, nor any
 * log line holds the token.
 */
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ClawError } from '../../../lib/errors.js';
import { createClawApiClient, probeRegistration, type ClawApiClient } from '../../../lib/clawapi/index.js';
import { CLAW_AUDIENCE, OTHER_AUDIENCE, READER_CLIENT, startClawIssuer } from './issuer.js';
import { expectNoToken, node, startEnv, type Env } from './harness.js';

let env: Env;
let good: string;

beforeAll(async () => {
  env = await startEnv();
  good = await env.issuer.clientCredentialsToken({ scope: 'nodes:write' });
});
afterAll(async () => env?.close());
afterEach(() => {
  expect(env.api.contractViolations).toEqual([]);
  env.api.setClockOffset(0);
});

function client(token: string, extra: { audience?: string } = {}): ClawApiClient {
  return createClawApiClient({ url: env.api.url, token, http: env.http, logger: env.logger, ...extra });
}

/** Registers with `token`, expects CLAW_API_UNAUTHORIZED, checks nothing leaked, returns the error. */
async function refused(token: string, extra: { audience?: string } = {}): Promise<ClawError> {
  const e = await client(token, extra)
    .register(node())
    .then(
      () => undefined,
      (err: unknown) => err,
    );
  expect(e).toBeInstanceOf(ClawError);
  const err = e as ClawError;
  expect(err.code).toBe('CLAW_API_UNAUTHORIZED');
  expectNoToken(JSON.stringify({ ...err.toJSON(), stack: err.stack }), token);
  expectNoToken(env.lines.join('\n'), token, { allowEmpty: true });
  return err;
}

describe('401 from claw-api: the ordered diagnosis', () => {
  it('a. header shape: "Bearer Bearer …" and a trailing newline are refused before sending; the claw-api refuses them too', async () => {
    const before = env.api.requests.length;
    const doubled = await refused(`Bearer ${good}`);
    expect(doubled.details).toMatchObject({ cause: 'header_shape', check: 'header_shape' });
    expect(doubled.message).toBe(
      'claw-api was not called: the Authorization header is malformed: the header reads "Bearer Bearer …": the configured token itself starts with "Bearer " (expected "Bearer <token>": the scheme Bearer, one space, then the token in RFC 6750 b64token characters).',
    );
    expect(doubled.hint).toMatch(/without the "Bearer " prefix/);
    const newline = await refused(`${good}\n`);
    expect(newline.details?.cause).toBe('header_shape');
    expect(newline.message).toMatch(/the token ends with a newline/);
    expect(env.api.requests.length).toBe(before);
    // What the claw-api would have said (RFC 6750 §3.1: 400 invalid_request).
    const res = await fetch(`${env.api.url}/v1/nodes`, {
      method: 'POST',
      headers: { authorization: `Bearer Bearer ${good}`, 'content-type': 'application/json' },
      body: JSON.stringify(node()),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_request"/);
    expect(env.api.requests.at(-1)).toMatchObject({ auth: 'malformed', error: 'invalid_request' });
  });

  it("b. the WWW-Authenticate error: a token the claw-api does not trust (another issuer) is named by the server's description", async () => {
    const stranger = await startClawIssuer();
    try {
      const token = await stranger.clientCredentialsToken({ scope: 'nodes:write' });
      const e = await refused(token, { audience: CLAW_AUDIENCE });
      expect(e.details).toMatchObject({ cause: 'server_error', check: 'challenge', status: 401 });
      expect(e.message).toBe(
        'claw-api answered 401 (invalid_token: "the token signature does not verify with the trusted issuer keys"): the claw-api refused the token and the local checks passed (expiry, type, audience, scope): the claw-api does not trust the token\'s issuer or signature, or the token was revoked.',
      );
      expect(e.hint).toMatch(/authorization_servers/);
    } finally {
      await stranger.close();
    }
  });

  it('c. expired against the local clock: a token the provider issued two hours ago', async () => {
    // Rewind the provider's clock (Date only) while it issues the token: a real, genuinely old token.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() - 2 * 3600_000);
    let old: string;
    try {
      old = await env.issuer.clientCredentialsToken({ scope: 'nodes:write' });
    } finally {
      vi.useRealTimers();
    }
    const e = await refused(old);
    expect(e.details).toMatchObject({ cause: 'expired', check: 'expiry', status: 401 });
    expect(e.message).toMatch(
      /^claw-api answered 401 \(invalid_token: "the access token expired \(exp \S+Z\)"\): the access token expired at \S+Z, 1\d\d min before the local clock \(\S+Z\); the claw-api's clock agrees with the local clock\.$/,
    );
    expect(e.hint).toMatch(/get a new token/);
    const evidence = (e.details as { evidence: Record<string, unknown> }).evidence;
    expect(evidence).toMatchObject({ typ: 'at+jwt', aud: CLAW_AUDIENCE, scope: 'nodes:write' });
    expect(typeof evidence.exp).toBe('number');
  });

  it('c. clock skew: a fresh token refused by a claw-api whose clock runs two hours ahead', async () => {
    env.api.setClockOffset(2 * 3600);
    const e = await refused(good);
    expect(e.details).toMatchObject({ cause: 'clock_skew', check: 'expiry' });
    expect(e.message).toMatch(
      /the access token is valid by the local clock until \S+Z, but the claw-api's clock \(Date: \S+Z\) is 120 min ahead of the local clock/,
    );
    expect(e.hint).toMatch(/NTP/);
  });

  it('d. an ID token from a real code + PKCE login instead of an access token', async () => {
    const idToken = await env.issuer.idToken();
    const e = await refused(idToken);
    expect(e.details).toMatchObject({ cause: 'id_token', check: 'token_type' });
    expect(e.message).toMatch(
      /^claw-api answered 401 \(invalid_token: "the token is not an access token \(typ must be at\+jwt\)"\): the token is an OpenID Connect ID token, not an access token: its typ is absent \(an access token has "at\+jwt", RFC 9068\) and it carries nonce; its aud is "claw-cli"\.$/,
    );
    expect(e.hint).toMatch(/access_token of the token response, not the id_token/);
  });

  it('e. wrong audience: a token for another resource; the expected audience comes from the claw-api metadata', async () => {
    const other = await env.issuer.clientCredentialsToken({ resource: OTHER_AUDIENCE, scope: 'other:read' });
    const e = await refused(other);
    expect(e.details).toMatchObject({ cause: 'audience', check: 'audience' });
    expect(e.message).toBe(
      `claw-api answered 401 (invalid_token: "the token audience is not this claw-api (expected ${CLAW_AUDIENCE})"): the token's aud is "${OTHER_AUDIENCE}", the claw-api expects "${CLAW_AUDIENCE}".`,
    );
    expect(e.hint).toContain(`resource=${CLAW_AUDIENCE}`);
    expect(env.api.requests.some((r) => r.operationId === 'getProtectedResourceMetadata' && r.status === 200)).toBe(
      true,
    );
  });

  it('f. missing scope: a client allowed only nodes:read gets 403 insufficient_scope', async () => {
    const reader = await env.issuer.clientCredentialsToken({ clientId: READER_CLIENT, scope: 'nodes:read' });
    const e = await refused(reader);
    expect(e.details).toMatchObject({ cause: 'scope', check: 'scope', status: 403 });
    expect(e.message).toBe(
      'claw-api answered 403 (insufficient_scope: "requires nodes:write"): the token\'s scope is "nodes:read", the claw-api requires "nodes:write" (missing "nodes:write").',
    );
  });
});

describe('probeRegistration (what doctor runs)', () => {
  it('healthy: one real registration of a probe node, deleted afterwards', async () => {
    const p = await probeRegistration({ url: env.api.url, token: async () => good, http: env.http });
    expect(p).toMatchObject({ ok: true, status: 201, code: 'CLAW_API_REGISTERED' });
    expect(p.evidence).toMatchObject({ created: true, probeNode: true, probeDeleted: true });
    expect(env.api.nodes.size).toBe(0);
    // With the node's own id the call is the idempotent registration itself (201 then 200).
    const own = node('cb-probe-own');
    expect((await probeRegistration({ url: env.api.url, token: good, node: own, http: env.http })).status).toBe(201);
    const again = await probeRegistration({ url: env.api.url, token: good, node: own, http: env.http });
    expect(again).toMatchObject({ ok: true, status: 200 });
    expect(env.api.nodes.has('cb-probe-own')).toBe(true);
    env.api.forget('cb-probe-own');
  });

  it('a claw-api that accepts connections and never answers: the probe fails within its bound with the transport code', async () => {
    const silent = createServer((sock) => sock.on('data', () => undefined));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    try {
      let guard: NodeJS.Timeout | undefined;
      // Before the bound existed the probe went through every retry of the transport (30 s by default).
      const p = await Promise.race([
        probeRegistration({
          url: `http://127.0.0.1:${port}`,
          token: good,
          http: env.http,
          logger: env.logger,
          timeoutMs: 300,
        }),
        new Promise<'hung'>((r) => (guard = setTimeout(() => r('hung'), 20_000))),
      ]);
      clearTimeout(guard);
      expect(p).not.toBe('hung');
      if (p === 'hung') return;
      expect(p.ok).toBe(false);
      expect(p.code).toMatch(/^HTTP_(TIMEOUT|DEADLINE_EXCEEDED)$/);
      expectNoToken(JSON.stringify(p), good);
    } finally {
      silent.close();
    }
  });

  it('refused: cause, status, evidence and hint, and no field holds the token', async () => {
    const reader = await env.issuer.clientCredentialsToken({ clientId: READER_CLIENT, scope: 'nodes:read' });
    const p = await probeRegistration({
      url: env.api.url,
      token: reader,
      http: env.http,
      audience: CLAW_AUDIENCE,
      requiredScopes: ['nodes:write'],
      logger: env.logger,
    });
    expect(p).toMatchObject({ ok: false, status: 403, cause: 'scope', code: 'CLAW_API_UNAUTHORIZED' });
    expect(p.evidence).toMatchObject({
      scope: 'nodes:read',
      requiredScope: 'nodes:write',
      typ: 'at+jwt',
      aud: CLAW_AUDIENCE,
      error: 'insufficient_scope',
    });
    expect(p.hint).toMatch(/scope "nodes:write"/);
    expectNoToken(JSON.stringify(p), reader);
    expect(env.lines.some((l) => l.includes('insufficient_scope'))).toBe(true);
    expectNoToken(env.lines.join('\n'), reader);

    const doubled = await probeRegistration({ url: env.api.url, token: `Bearer ${good}`, http: env.http });
    expect(doubled).toMatchObject({ ok: false, cause: 'header_shape', code: 'CLAW_API_UNAUTHORIZED' });
    expect(doubled.status).toBeUndefined();
    expectNoToken(JSON.stringify(doubled), good);
  });
});
