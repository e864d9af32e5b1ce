/**
 * The ordered 401/403 diagnosis as a pure function: each cause from its inputs, the order between
 * causes, the challenge parser, and that no output field ever holds the token or a piece of it.
 * JWTs here are signed locally with jose (the diagnosis never verifies; the integration tests use
 * tokens from the real oidc-provider).
 */
import { describe, expect, it } from 'vitest';
import { generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import {
  checkAuthorizationHeader,
  diagnoseAuthFailure,
  parseWwwAuthenticate,
  type AuthFailureInput,
  type Diagnosis,
} from '../../../lib/clawapi/diagnose.js';
import { ClawApiConfigSchema } from '../../../lib/clawapi/config.js';

const NOW = Date.parse('2026-11-24T12:00:00Z');
const AUD = 'urn:claw:api';
const { privateKey } = await generateKeyPair('ES256');

async function jwt(claims: JWTPayload, typ: string | null = 'at+jwt'): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', ...(typ ? { typ } : {}) }).sign(privateKey);
}

function accessClaims(extra: JWTPayload = {}): JWTPayload {
  const s = Math.floor(NOW / 1000);
  return {
    iss: 'http://127.0.0.1:1',
    sub: 'claw-node',
    client_id: 'claw-node',
    aud: AUD,
    scope: 'nodes:write',
    iat: s - 10,
    exp: s + 600,
    jti: 'j1',
    ...extra,
  };
}

const challenge = (error?: string, description?: string): string =>
  `Bearer realm="claw-api", scope="nodes:write"${error ? `, error="${error}"` : ''}${description ? `, error_description="${description}"` : ''}`;

function run(token: string, over: Partial<AuthFailureInput> = {}): Diagnosis {
  return diagnoseAuthFailure({
    status: 401,
    authorization: `Bearer ${token}`,
    wwwAuthenticate: challenge('invalid_token', 'the access token is not valid'),
    serverDate: new Date(NOW).toUTCString(),
    now: NOW,
    expectedAudience: AUD,
    requiredScopes: ['nodes:write'],
    ...over,
  });
}

/** Nothing in the diagnosis holds the token or any 12-character piece of it. */
function expectNoToken(d: Diagnosis, token: string): void {
  const text = JSON.stringify(d);
  for (let i = 0; i + 12 <= token.length; i += 6) expect(text).not.toContain(token.slice(i, i + 12));
}

describe('a. header shape', () => {
  const cases: Array<[string, string | undefined, RegExp]> = [
    ['no header', undefined, /no Authorization header/],
    ['empty token', 'Bearer ', /token is empty/],
    ['double Bearer', 'Bearer Bearer abcdefghijkl', /Bearer Bearer/],
    ['two spaces', 'Bearer  abcdefghijkl', /more than one space/],
    ['trailing newline', 'Bearer abcdefghijkl\n', /ends with a newline/],
    ['quotes', 'Bearer "abcdefghijkl"', /wrapped in quotes/],
    ['inner space', 'Bearer abcdef ghijkl', /contains whitespace/],
    ['bad characters', 'Bearer abc%2Fdef,ghi', /2 character\(s\) outside .* first at position 4/],
    ['lowercase scheme', 'bearer abcdefghijkl', /written "bearer"/],
    ['other scheme', 'Basic abcdefghijkl', /not "Bearer"/],
  ];
  it.each(cases)('%s', (_name, header, message) => {
    const d = diagnoseAuthFailure({
      status: 401,
      authorization: header,
      wwwAuthenticate: challenge('invalid_token'),
      now: NOW,
    });
    expect(d.cause).toBe('header_shape');
    expect(d.check).toBe('header_shape');
    expect(d.message).toMatch(message);
    expect(d.message).toMatch(/expected "Bearer <token>"/);
    expect(d.hint.length).toBeGreaterThan(10);
    if (header) expectNoToken(d, header.replace(/^\S+\s/, ''));
  });

  it('wins over every later check, and a good header passes', async () => {
    const expired = await jwt(accessClaims({ exp: Math.floor(NOW / 1000) - 100 }));
    expect(diagnoseAuthFailure({ status: 401, authorization: `Bearer ${expired}\n`, now: NOW }).cause).toBe(
      'header_shape',
    );
    expect(checkAuthorizationHeader(`Bearer ${expired}`)).toEqual({ ok: true, token: expired });
    expect(checkAuthorizationHeader('Bearer abc+/~-._==')).toMatchObject({ ok: true });
  });

  it('the hint for "Bearer Bearer" says to drop the prefix', () => {
    const d = diagnoseAuthFailure({ authorization: 'Bearer Bearer abcdefghijkl', now: NOW });
    expect(d.message).toMatch(/^claw-api was not called/);
    expect(d.hint).toMatch(/without the "Bearer " prefix/);
  });
});

describe('b. the WWW-Authenticate challenge', () => {
  it('parses several challenges, quoted values with escapes and commas', () => {
    expect(
      parseWwwAuthenticate(
        'Basic realm="proxy", Bearer realm="claw-api", error="invalid_token", error_description="a, \\"b\\"", scope=nodes:write',
      ),
    ).toEqual([
      { scheme: 'Basic', params: { realm: 'proxy' } },
      {
        scheme: 'Bearer',
        params: { realm: 'claw-api', error: 'invalid_token', error_description: 'a, "b"', scope: 'nodes:write' },
      },
    ]);
    expect(parseWwwAuthenticate('Bearer')).toEqual([{ scheme: 'Bearer', params: {} }]);
    expect(parseWwwAuthenticate(undefined)).toEqual([]);
  });

  it('a non-Bearer challenge means something in front of the claw-api answered', async () => {
    const d = run(await jwt(accessClaims()), { wwwAuthenticate: 'Basic realm="corp-proxy"' });
    expect(d).toMatchObject({ cause: 'server_error', check: 'challenge' });
    expect(d.message).toMatch(/"Basic" challenge, not "Bearer": .*proxy/);
  });

  it('invalid_request with a well-formed header names the server error', async () => {
    const d = run(await jwt(accessClaims()), {
      status: 400,
      wwwAuthenticate: challenge('invalid_request', 'more than one Authorization header'),
    });
    expect(d).toMatchObject({ cause: 'server_error', check: 'challenge' });
    expect(d.message).toContain('claw-api answered 400 (invalid_request: "more than one Authorization header")');
  });

  it('a challenge without error after sending credentials: the header was dropped on the way', async () => {
    const d = run(await jwt(accessClaims()), { wwwAuthenticate: 'Bearer realm="claw-api", scope="nodes:write"' });
    expect(d.cause).toBe('header_missing');
    expect(d.message).toMatch(/received no credentials, although the client sent an Authorization header/);
  });

  it('invalid_token that no local check explains is the server error, with its description', async () => {
    const token = await jwt(accessClaims());
    const d = run(token, { wwwAuthenticate: challenge('invalid_token', 'the token signature does not verify') });
    expect(d).toMatchObject({ cause: 'server_error', check: 'challenge' });
    expect(d.message).toContain('(invalid_token: "the token signature does not verify")');
    expect(d.message).toMatch(/local checks passed \(expiry, type, audience, scope\)/);
    expect(d.checks.map((c) => `${c.id}:${c.outcome}`)).toEqual([
      'header_shape:pass',
      'challenge:note',
      'expiry:pass',
      'token_type:pass',
      'audience:pass',
      'scope:pass',
    ]);
  });

  it('a server that echoes the token in its description does not leak it', async () => {
    const token = await jwt(accessClaims());
    const d = run(token, {
      wwwAuthenticate: challenge('invalid_token', `bad token ${token}`),
      problemDetail: `bad ${token.split('.')[1]}`,
    });
    expect(d.evidence.errorDescription).toContain('[REDACTED]');
    expectNoToken(d, token);
  });
});

describe('c. expiry and clocks', () => {
  it('expired by the local clock (and the server agrees)', async () => {
    const token = await jwt(accessClaims({ exp: Math.floor(NOW / 1000) - 3600 }));
    const d = run(token, { wwwAuthenticate: challenge('invalid_token', 'the access token expired') });
    expect(d).toMatchObject({ cause: 'expired', check: 'expiry' });
    expect(d.message).toBe(
      `claw-api answered 401 (invalid_token: "the access token expired"): the access token expired at 2026-11-24T11:00:00Z, 60 min before the local clock (2026-11-24T12:00:00Z); the claw-api's clock agrees with the local clock.`,
    );
    expect(d.evidence).toMatchObject({
      exp: Math.floor(NOW / 1000) - 3600,
      expAt: '2026-11-24T11:00:00Z',
      clockOffsetSeconds: 0,
    });
    expect(d.hint).toMatch(/issue a new token/);
    expect(run(token, { tokenOrigin: 'client_credentials' }).hint).toMatch(/fetches a new token by itself/);
  });

  it('valid locally but expired by a server clock that runs ahead: clock skew', async () => {
    const token = await jwt(accessClaims());
    const d = run(token, { serverDate: new Date(NOW + 2 * 3600_000).toUTCString() });
    expect(d).toMatchObject({ cause: 'clock_skew', check: 'expiry' });
    expect(d.message).toMatch(
      /valid by the local clock until 2026-11-24T12:10:00Z, but the claw-api's clock \(Date: 2026-11-24T14:00:00Z\) is 120 min ahead of the local clock/,
    );
    expect(d.hint).toMatch(/NTP/);
    expect(d.evidence.clockOffsetSeconds).toBe(7200);
  });

  it('a token from an issuer whose clock runs ahead (nbf in the future): clock skew', async () => {
    const s = Math.floor(NOW / 1000);
    const d = run(await jwt(accessClaims({ nbf: s + 600, iat: s + 600, exp: s + 1200 })));
    expect(d.cause).toBe('clock_skew');
    expect(d.message).toMatch(
      /not valid before 2026-11-24T12:10:00Z \(nbf\), 10 min after the local clock \(2026-11-24T12:00:00Z\): the issuer's clock runs ahead/,
    );
  });

  it('expiry comes before type, audience and scope', async () => {
    const s = Math.floor(NOW / 1000);
    const d = run(await jwt({ aud: 'other', exp: s - 5, nonce: 'n' }, null));
    expect(d.cause).toBe('expired');
  });
});

describe('d. token type', () => {
  it('an ID token (no at+jwt, nonce, aud = client id) is named as such', async () => {
    const s = Math.floor(NOW / 1000);
    const token = await jwt(
      { iss: 'http://127.0.0.1:1', sub: 'u', aud: 'claw-cli', nonce: 'abc', at_hash: 'x', iat: s, exp: s + 600 },
      null,
    );
    const d = run(token, { clientId: 'claw-cli' });
    expect(d).toMatchObject({ cause: 'id_token', check: 'token_type' });
    expect(d.message).toMatch(
      /OpenID Connect ID token, not an access token: its typ is absent .* carries nonce, at_hash, aud is the client id "claw-cli"/,
    );
    expect(d.hint).toMatch(/access_token .* not the id_token/);
  });

  it('a JWT with another typ and no ID-token signs: token type', async () => {
    const d = run(await jwt(accessClaims(), 'JWT'));
    expect(d).toMatchObject({ cause: 'token_type', check: 'token_type' });
    expect(d.message).toMatch(/typ is "JWT"; the claw-api accepts JWT access tokens with typ "at\+jwt"/);
  });
});

describe('e. audience and f. scope', () => {
  it('wrong audience', async () => {
    const d = run(await jwt(accessClaims({ aud: 'urn:other:api' })));
    expect(d).toMatchObject({ cause: 'audience', check: 'audience' });
    expect(d.message).toMatch(/the token's aud is "urn:other:api", the claw-api expects "urn:claw:api"/);
    expect(d.hint).toMatch(/resource=urn:claw:api/);
  });

  it('unknown expected audience: the check is skipped, not failed', async () => {
    const d = run(await jwt(accessClaims({ aud: 'urn:other:api' })), { expectedAudience: undefined });
    expect(d.checks.find((c) => c.id === 'audience')?.outcome).toBe('skip');
  });

  it('missing scope (scope claim, or scp array)', async () => {
    const d = run(await jwt(accessClaims({ scope: 'nodes:read' })), {
      status: 403,
      wwwAuthenticate: challenge('insufficient_scope', 'requires nodes:write'),
    });
    expect(d).toMatchObject({ cause: 'scope', check: 'scope' });
    expect(d.message).toBe(
      'claw-api answered 403 (insufficient_scope: "requires nodes:write"): the token\'s scope is "nodes:read", the claw-api requires "nodes:write" (missing "nodes:write").',
    );
    const scp = run(await jwt(accessClaims({ scope: undefined, scp: ['nodes:write'] })));
    expect(scp.cause).toBe('server_error');
  });

  it('audience is checked before scope', async () => {
    expect(run(await jwt(accessClaims({ aud: 'x', scope: '' }))).cause).toBe('audience');
  });
});

describe('opaque tokens', () => {
  it('skip c–f with a note; insufficient_scope from the server is still named', () => {
    const d = run('opaque-token-value-123', { status: 403, wwwAuthenticate: challenge('insufficient_scope') });
    expect(d.evidence.tokenFormat).toBe('opaque');
    expect(d.checks.filter((c) => c.outcome === 'skip').map((c) => c.id)).toEqual([
      'expiry',
      'token_type',
      'audience',
      'scope',
    ]);
    expect(d).toMatchObject({ cause: 'scope', check: 'challenge' });
    expect(d.message).toMatch(/lacks the scope the claw-api requires \("nodes:write"\) \(the token is opaque/);
  });

  it('invalid_token on an opaque token: server error; no challenge at all: unknown', () => {
    expect(run('opaque-token-value-123').cause).toBe('server_error');
    const d = run('opaque-token-value-123', { wwwAuthenticate: undefined, problemDetail: 'nope' });
    expect(d.cause).toBe('unknown');
    expect(d.message).toMatch(/none of the checks/);
  });
});

describe('ClawApiConfigSchema', () => {
  it('defaults, token sources and their conflicts', () => {
    expect(ClawApiConfigSchema.parse({})).toMatchObject({
      scopes: ['nodes:write'],
      heartbeatSeconds: 30,
      name: 'claw-byterover bridge',
    });
    expect(ClawApiConfigSchema.parse({ url: 'http://127.0.0.1:1', token: 'abc\n' }).token).toBe('abc\n');
    const issues = (input: unknown): string[] => {
      const r = ClawApiConfigSchema.safeParse(input);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues({ url: 'http://127.0.0.1:1' })).toEqual([
      'token: a claw-api url needs a token source: token, or issuer/clientId/clientSecret',
    ]);
    expect(
      issues({ url: 'http://127.0.0.1:1', token: 't', issuer: 'http://127.0.0.1:2', clientId: 'c', clientSecret: 's' }),
    ).toEqual(['token: set either token or issuer/clientId/clientSecret, not both']);
    expect(issues({ issuer: 'http://127.0.0.1:2', clientId: 'c' })).toEqual([
      'clientSecret: client credentials need issuer, clientId and clientSecret (missing clientSecret)',
    ]);
    expect(issues({ nodeId: '-bad' })[0]).toMatch(/^nodeId: expected 1-128 characters/);
    expect(issues({ url: 'ftp://x' })[0]).toMatch(/^url: expected an http\(s\) URL/);
  });
});
