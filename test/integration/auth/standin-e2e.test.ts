/**
 * End to end through the real pieces: lib/byterover's API client authenticated by this layer's
 * session provider, against the ByteRover stand-in (test/standin/byterover.ts) whose session check
 * verifies the access token with jose against the real oidc-provider's JWKS. Plus API-key login
 * checked with IAM user/me on the stand-in.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isClawError } from '../../../lib/errors.js';
import { createByteRoverClient } from '../../../lib/byterover/index.js';
import {
  createMemoryTokenStore,
  createSessionProvider,
  iamUserMeValidator,
  loginWithApiKey,
  loginWithClientCredentials,
} from '../../../lib/byterover/auth/index.js';
import { DEFAULT_SESSION_KEY, startByteRoverStandin, type ByteRoverStandin } from '../../standin/byterover.js';
import { expireStored, loginPlayingBrowser, startAuthEnv, type AuthEnv } from './setup.js';

describe('session keys accepted by the ByteRover stand-in', () => {
  let env: AuthEnv;
  let standin: ByteRoverStandin;
  const rejectedByServer = new Set<string>();
  beforeEach(async () => {
    env = await startAuthEnv();
    rejectedByServer.clear();
    standin = await startByteRoverStandin({
      sessionKeys: [DEFAULT_SESSION_KEY],
      // A resource server's check: signature against the issuer's JWKS, issuer, audience, typ, exp.
      validateSession: async (key) =>
        !rejectedByServer.has(key) &&
        (await env.oidc.verifyAccessToken(key).then(
          () => true,
          () => false,
        )),
    });
  });
  afterEach(async () => {
    await standin.close();
    await env.close();
  });

  it('API key: checked with IAM user/me, stored, then used as the session key', async () => {
    const summary = await loginWithApiKey({
      apiKey: DEFAULT_SESSION_KEY,
      store: env.store,
      validate: iamUserMeValidator({ http: env.http, iamBaseUrl: standin.urls.iam }),
    });
    expect(summary).toMatchObject({ kind: 'api-key', refreshable: false, user: { id: standin.user.id } });
    expect(standin.requestsTo('iam.user.me')).toHaveLength(1);
    const stored = await env.store.load();
    expect(stored?.sessionKey).toBe(DEFAULT_SESSION_KEY);
    const client = createByteRoverClient({
      http: env.http,
      session: createSessionProvider({ store: env.store, http: env.http }),
      config: standin.clientConfig(),
    });
    expect((await client.me()).id).toBe(standin.user.id);
  });

  it('API key: a key the server rejects is not stored (AUTH_API_KEY_INVALID)', async () => {
    const err = await loginWithApiKey({
      apiKey: 'wrong-key-0123456789',
      store: env.store,
      validate: iamUserMeValidator({ http: env.http, iamBaseUrl: standin.urls.iam }),
    }).catch((e: unknown) => e);
    expect(isClawError(err, 'AUTH_API_KEY_INVALID')).toBe(true);
    expect((err as Error).message).not.toContain('wrong-key-0123456789');
    expect(await env.store.load()).toBeUndefined();
  });

  it('API key: an unexpected answer from user/me is AUTH_API_KEY_CHECK_FAILED', async () => {
    standin.inject({ kind: 'body', endpoint: 'iam.user.me', body: { data: { nothing: true } } });
    const err = await loginWithApiKey({
      apiKey: DEFAULT_SESSION_KEY,
      store: env.store,
      validate: iamUserMeValidator({ http: env.http, iamBaseUrl: standin.urls.iam }),
    }).catch((e: unknown) => e);
    expect(isClawError(err, 'AUTH_API_KEY_CHECK_FAILED')).toBe(true);
  });

  it('OAuth: the access token from the PKCE login opens the API; an expired one is refreshed on the way', async () => {
    await loginPlayingBrowser(env);
    const session = createSessionProvider({ store: env.store, http: env.http });
    const client = createByteRoverClient({ http: env.http, session, config: standin.clientConfig() });
    expect((await client.me()).id).toBe(standin.user.id);

    await expireStored(env.store);
    const later = createByteRoverClient({
      http: env.http,
      session: createSessionProvider({ store: env.store, http: env.http }),
      config: standin.clientConfig(),
    });
    expect((await later.me()).id).toBe(standin.user.id);
    expect(env.oidc.refreshCount()).toBe(1);
    const sent = standin.requestsTo('iam.user.me').at(-1)!;
    expect(sent.sessionId).toBe((await env.store.load())!.sessionKey);
  });

  it('OAuth: a 401 for a key the server stopped accepting triggers one refresh and the call succeeds', async () => {
    await loginPlayingBrowser(env);
    const session = createSessionProvider({ store: env.store, http: env.http });
    const client = createByteRoverClient({ http: env.http, session, config: standin.clientConfig() });
    const first = await session.sessionKey();
    rejectedByServer.add(first);
    const results = await Promise.all(Array.from({ length: 10 }, () => client.me()));
    expect(results.every((u) => u.id === standin.user.id)).toBe(true);
    expect(env.oidc.refreshCount()).toBe(1);
    expect(await session.sessionKey()).not.toBe(first);
  });

  it('client credentials: a service token (JWT for the API resource) opens the API and is renewed when expired', async () => {
    const settings = {
      issuer: env.oidc.issuer,
      clientId: env.oidc.service.clientId,
      clientSecret: env.oidc.service.clientSecret,
      resource: env.oidc.resource,
      scope: 'read write',
    };
    const store = createMemoryTokenStore();
    const session = createSessionProvider({ store, http: env.http, clientCredentials: settings });
    const client = createByteRoverClient({ http: env.http, session, config: standin.clientConfig() });
    expect((await client.me()).id).toBe(standin.user.id);
    expect(env.oidc.stats.success.client_credentials).toBe(1);
    const claims = await env.oidc.verifyAccessToken((await store.load())!.sessionKey);
    expect(claims.client_id).toBe(env.oidc.service.clientId);
    expect(claims.aud).toBe(env.oidc.resource);

    await expireStored(store);
    const again = createByteRoverClient({
      http: env.http,
      session: createSessionProvider({ store, http: env.http, clientCredentials: settings }),
      config: standin.clientConfig(),
    });
    expect((await again.me()).id).toBe(standin.user.id);
    expect(env.oidc.stats.success.client_credentials).toBe(2);
  });

  it('client credentials: login stores the token; a wrong secret is AUTH_TOKEN_REQUEST_FAILED (invalid_client) without the secret anywhere', async () => {
    const summary = await loginWithClientCredentials({
      settings: {
        issuer: env.oidc.issuer,
        clientId: env.oidc.service.clientId,
        clientSecret: env.oidc.service.clientSecret,
        resource: env.oidc.resource,
      },
      store: env.store,
      http: env.http,
    });
    expect(summary).toMatchObject({
      kind: 'client-credentials',
      clientId: env.oidc.service.clientId,
      refreshable: true,
    });
    const wrong = 'wrong-secret-SENTINEL-42424242';
    const err = await loginWithClientCredentials({
      settings: {
        issuer: env.oidc.issuer,
        clientId: env.oidc.service.clientId,
        clientSecret: wrong,
        authMethod: 'client_secret_post',
      },
      store: env.store,
      http: env.http,
      logger: env.logger,
    }).catch((e: unknown) => e);
    expect(isClawError(err, 'AUTH_TOKEN_REQUEST_FAILED')).toBe(true);
    expect((err as { details?: { error?: string } }).details?.error).toBe('invalid_client');
    expect(JSON.stringify({ m: (err as Error).message, e: err, c: String((err as Error).cause) })).not.toContain(wrong);
    expect(env.logs()).not.toContain(wrong);
  });
});
