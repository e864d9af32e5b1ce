/**
 * No secret of the auth layer reaches a log line or an error: every token the real provider issued
 * (access, refresh, session key), the authorization code, the client secret and an API key are
 * collected and searched for in the trace-level log and in every error thrown along the way.
 */
import { describe, expect, it } from 'vitest';
import {
  createSessionProvider,
  iamUserMeValidator,
  loginWithApiKey,
  loginWithClientCredentials,
  type StoredCredential,
} from '../../../lib/byterover/auth/index.js';
import { loginPlayingBrowser, startAuthEnv } from './setup.js';

function errorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const own = Object.getOwnPropertyNames(e).map((k) => {
    try {
      return JSON.stringify((e as unknown as Record<string, unknown>)[k]);
    } catch {
      return String((e as unknown as Record<string, unknown>)[k]);
    }
  });
  return [e.message, e.stack ?? '', JSON.stringify(e), ...own, errorText((e as { cause?: unknown }).cause ?? '')].join(
    '\n',
  );
}

describe('auth secrets never reach logs or errors', () => {
  it('login, refresh, invalid_grant, bad client secret, failed API key check: zero hits', async () => {
    const env = await startAuthEnv({ sessionKeys: true });
    env.logger.level = 'trace';
    const secrets = new Set<string>();
    const errors: unknown[] = [];
    const keep = (c: StoredCredential | undefined): void => {
      for (const v of [c?.accessToken, c?.refreshToken, c?.idToken, c?.sessionKey]) if (v) secrets.add(v);
    };
    try {
      const { page } = await loginPlayingBrowser(env);
      secrets.add(new URL(page.url).searchParams.get('code')!);
      keep(await env.store.load());

      // A forced refresh (rotation), then the old refresh token reused → invalid_grant → reauth.
      const sp = createSessionProvider({ store: env.store, http: env.http, logger: env.logger });
      const before = (await env.store.load())!;
      await sp.onUnauthorized!(await sp.sessionKey());
      keep(await env.store.load());
      const now = Math.floor(Date.now() / 1000);
      await env.store.save({ ...before, issuedAt: now - 700, expiresAt: now - 100, version: before.version + 10 });
      const sp2 = createSessionProvider({ store: env.store, http: env.http, logger: env.logger });
      errors.push(await sp2.sessionKey().catch((e: unknown) => e)); // AUTH_REAUTH_REQUIRED after invalid_grant
      expect(await sp2.onUnauthorized!(before.sessionKey)).toBe(false);

      secrets.add(env.oidc.service.clientSecret);
      await loginWithClientCredentials({
        settings: {
          issuer: env.oidc.issuer,
          clientId: env.oidc.service.clientId,
          clientSecret: env.oidc.service.clientSecret,
        },
        store: env.store,
        profile: 'svc',
        http: env.http,
        logger: env.logger,
      });
      keep(await env.store.load('svc'));
      const wrongSecret = 'svc-wrong-secret-SENTINEL-9f8e7d';
      secrets.add(wrongSecret);
      errors.push(
        await loginWithClientCredentials({
          settings: { issuer: env.oidc.issuer, clientId: env.oidc.service.clientId, clientSecret: wrongSecret },
          store: env.store,
          http: env.http,
          logger: env.logger,
        }).catch((e: unknown) => e),
      );

      const apiKey = 'brv-api-key-SENTINEL-1234567890';
      secrets.add(apiKey);
      errors.push(
        await loginWithApiKey({
          apiKey,
          store: env.store,
          validate: iamUserMeValidator({ http: env.http, iamBaseUrl: env.oidc.origin }),
        }).catch((e: unknown) => e),
      );

      expect(secrets.size).toBeGreaterThanOrEqual(8);
      expect(errors.map((e) => (e as { code?: string }).code)).toEqual([
        'AUTH_REAUTH_REQUIRED',
        'AUTH_TOKEN_REQUEST_FAILED',
        'AUTH_API_KEY_CHECK_FAILED',
      ]);
      const logs = env.logs();
      expect(logs.length).toBeGreaterThan(0);
      for (const s of secrets) {
        expect(logs.includes(s), `a secret (${s.slice(0, 6)}…) is in the log`).toBe(false);
        for (const e of errors)
          expect(errorText(e).includes(s), `a secret (${s.slice(0, 6)}…) is in an error`).toBe(false);
      }
    } finally {
      await env.close();
    }
  });
});
