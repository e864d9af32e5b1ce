/**
 * Auth refreshes by result against the real oidc-provider: a session provider wired with
 * `onRefresh: telemetry.recordAuthRefresh` renews an expired OAuth credential (rotating refresh
 * token), then meets a revoked grant; the counter shows `renewed` and `reauth_required`, and the
 * ByteRover-side 401 path (`reason="rejected"`) is counted apart from expiry.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as oidc from 'openid-client';
import { createSessionProvider } from '../../../lib/byterover/auth/index.js';
import { createLogger } from '../../../lib/log/index.js';
import { createTelemetry, type Telemetry } from '../../../lib/telemetry/index.js';
import { value } from '../../unit/telemetry/helpers.js';
import { expireStored, loginPlayingBrowser, startAuthEnv, type AuthEnv } from '../auth/setup.js';

describe('claw_byterover.auth.refreshes with a real oidc-provider', () => {
  let env: AuthEnv;
  let telemetry: Telemetry;
  beforeEach(async () => {
    env = await startAuthEnv();
    await loginPlayingBrowser(env);
    telemetry = createTelemetry({ env: {}, logger: createLogger({ level: 'silent' }) });
  });
  afterEach(async () => {
    await telemetry.shutdown();
    await env.close();
  });

  it('renewed on expiry and on a rejected key; reauth_required once the grant is revoked', async () => {
    await expireStored(env.store);
    const sp = createSessionProvider({
      store: env.store,
      http: env.http,
      logger: env.logger,
      onRefresh: telemetry.recordAuthRefresh,
    });
    const key = await sp.sessionKey();
    expect(env.oidc.refreshCount()).toBe(1);
    expect(
      await value(telemetry, 'claw_byterover_auth_refreshes_total', {
        auth_kind: 'oauth',
        reason: 'expiry',
        result: 'renewed',
      }),
    ).toBe(1);

    // The API rejects the key (e.g. revoked server-side): a forced renewal.
    expect(await sp.onUnauthorized?.(key)).toBe(true);
    expect(env.oidc.refreshCount()).toBe(2);
    expect(
      await value(telemetry, 'claw_byterover_auth_refreshes_total', {
        auth_kind: 'oauth',
        reason: 'rejected',
        result: 'renewed',
      }),
    ).toBe(1);

    // Spend the stored refresh token outside the provider: the grant rotates away from us.
    const cred = await env.store.load();
    const raw = await oidc.discovery(new URL(env.oidc.issuer), 'byterover-cli-client', undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    await oidc.refreshTokenGrant(raw, cred!.refreshToken!);
    await oidc.refreshTokenGrant(raw, cred!.refreshToken!).catch(() => undefined); // reuse revokes the grant
    await expireStored(env.store);
    sp.forget();
    await expect(sp.sessionKey()).rejects.toMatchObject({ code: 'AUTH_REAUTH_REQUIRED' });
    expect(
      await value(telemetry, 'claw_byterover_auth_refreshes_total', {
        auth_kind: 'oauth',
        reason: 'expiry',
        result: 'reauth_required',
      }),
    ).toBe(1);
  });
});
