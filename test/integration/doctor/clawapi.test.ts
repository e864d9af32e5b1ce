/**
 * Failure 3, "401 from claw-api", created for real: the claw-api stand-in (docs/claw-api.yaml,
 * tokens verified against a real oidc-provider's JWKS) and tokens that real issuer minted — one
 * that has expired, one from a client allowed only `nodes:read` (the wrong scope) — given to doctor
 * the way the bridge gets them (CLAW_API_TOKEN). Doctor must name the cause from the ordered
 * diagnosis, show the evidence, give the next step, and never print the token. A good token, and the
 * bridge's client-credentials configuration (CLAW_API_ISSUER/CLIENT_ID/CLIENT_SECRET), pass.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClawApiStandin, type ClawApiStandin } from '../../standin/claw-api.js';
import { CLAW_AUDIENCE, READER_CLIENT, startClawIssuer, type ClawIssuer } from '../clawapi/issuer.js';
import { startCliEnv, type CliEnv } from '../cli/harness.js';
import { doctorJson } from './harness.js';

let e: CliEnv;
let issuer: ClawIssuer;
let api: ClawApiStandin;

beforeAll(async () => {
  e = await startCliEnv();
  issuer = await startClawIssuer();
  api = await startClawApiStandin({ issuer: issuer.issuer, jwksUri: issuer.jwksUri, audience: CLAW_AUDIENCE });
});

afterAll(async () => {
  await api?.close();
  await issuer?.close();
  await e?.close();
});

/** Resolves once the token's `exp` (seconds) is in the past on this clock. */
async function untilExpired(token: string): Promise<void> {
  const exp = (JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as { exp: number }).exp;
  while (Date.now() / 1000 <= exp + 1) await new Promise((r) => setTimeout(r, 200));
}

describe('doctor: "401 from claw-api"', () => {
  it('an expired token: the 401 is diagnosed as expiry, with the expiry time and the next step; the token never printed', async () => {
    issuer.setAccessTokenTTL(1);
    const token = await issuer.clientCredentialsToken();
    issuer.setAccessTokenTTL(600);
    await untilExpired(token);
    const r = await doctorJson(e, ['--claw-api', api.url], { CLAW_API_TOKEN: token, CLAW_API_AUDIENCE: CLAW_AUDIENCE });
    const c = r.check('clawapi.registration');
    expect(c).toMatchObject({ status: 'fail', symptom: '401 from claw-api', data: { status: 401, cause: 'expired' } });
    expect(c.code).toBe('CLAW_API_UNAUTHORIZED');
    const expiredAt = new Date(
      (JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as { exp: number }).exp * 1000,
    )
      .toISOString()
      .replace('.000Z', 'Z');
    expect(c.summary).toMatch(
      new RegExp(`: the access token expired at ${expiredAt.replace(/\./g, '\\.')}, \\d+ s before the local clock`),
    );
    const ev = Object.fromEntries(c.evidence.map((x) => [x.label, x.value]));
    expect(ev).toMatchObject({
      answer: 'HTTP 401',
      cause: 'expired',
      'token source': 'env CLAW_API_TOKEN',
      'claw-api': api.url,
    });
    expect(c.next[0]).toMatch(/^get a new token: /);
    // each fact once: the probe's url/status are the check's own claw-api/answer lines
    expect(c.evidence.map((x) => x.label).filter((l) => l === 'url' || l === 'status')).toEqual([]);
    expect(r.code).toBe(7);
    expect(r.all).not.toContain(token);
    expect(r.all).not.toContain(token.split('.')[2] as string);
  });

  it('a token with the wrong scope: the refusal is diagnosed as a scope problem naming the scope needed', async () => {
    const token = await issuer.clientCredentialsToken({ clientId: READER_CLIENT, scope: 'nodes:read' });
    const r = await doctorJson(e, ['--claw-api', api.url], { CLAW_API_TOKEN: token, CLAW_API_AUDIENCE: CLAW_AUDIENCE });
    const c = r.check('clawapi.registration');
    expect(c).toMatchObject({ status: 'fail', code: 'CLAW_API_UNAUTHORIZED', data: { status: 403, cause: 'scope' } });
    expect(c.summary).toContain('nodes:write');
    expect(c.summary).toContain('nodes:read');
    expect(Object.fromEntries(c.evidence.map((x) => [x.label, x.value]))).toMatchObject({
      answer: 'HTTP 403',
      cause: 'scope',
    }); // RFC 6750 insufficient_scope
    expect(c.next[0]).toContain('nodes:write');
    expect(r.code).toBe(7);
    expect(r.all).not.toContain(token);
  });

  it("a good token passes; so does the bridge's client-credentials configuration, the secret never printed", async () => {
    const token = await issuer.clientCredentialsToken({ scope: 'nodes:write' });
    const good = (await doctorJson(e, ['--claw-api', api.url], { CLAW_API_TOKEN: token })).check(
      'clawapi.registration',
    );
    expect(good.status, JSON.stringify(good)).toBe('pass');
    const cc = await doctorJson(e, [], {
      CLAW_API_URL: api.url,
      CLAW_API_ISSUER: issuer.issuer,
      CLAW_API_CLIENT_ID: issuer.node.clientId,
      CLAW_API_CLIENT_SECRET: issuer.node.clientSecret,
      CLAW_API_AUDIENCE: CLAW_AUDIENCE,
      CLAW_API_SCOPES: 'nodes:write',
    });
    const c = cc.check('clawapi.registration');
    expect(c.status, JSON.stringify(c)).toBe('pass');
    expect(c.evidence.find((x) => x.label === 'token source')?.value).toBe(
      `client credentials (${issuer.node.clientId} at ${issuer.issuer})`,
    );
    expect(cc.all).not.toContain(issuer.node.clientSecret);
    expect(api.contractViolations).toEqual([]);
  });
});
