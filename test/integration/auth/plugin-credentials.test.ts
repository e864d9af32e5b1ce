/**
 * The OpenClaw plugin resolves its ByteRover credential exactly as the CLI does (one resolver,
 * lib/byterover/auth/resolve.ts), against the REAL oidc-provider as the issuer:
 * - client credentials from the configuration (no login): both fetch a session key with the
 *   client_credentials grant; before the one resolver the plugin answered AUTH_NOT_LOGGED_IN;
 * - the profile (CLAW_BYTEROVER_PROFILE) picks the same token-store slot;
 * - the refresh observer (telemetry) sees the renewal in both.
 */
import { PassThrough } from 'node:stream';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileTokenStore, type AuthRefreshEvent } from '../../../lib/byterover/auth/index.js';
import { CommandContext } from '../../../lib/cli/context.js';
import { Output } from '../../../lib/cli/output.js';
import { observeServices, services } from '../../../lib/cli/services.js';
import { parsePluginConfig } from '../../../lib/openclaw/config.js';
import { PluginRuntime } from '../../../lib/openclaw/runtime.js';
import { createLogger } from '../../../lib/log/index.js';
import { startOidcServer, type OidcServer } from '../../servers/oidc.js';

let oidc: OidcServer;
let home: string;
beforeAll(async () => {
  oidc = await startOidcServer({ sessionKeys: true });
  home = await mkdtemp(join(tmpdir(), 'claw-plugin-cred-'));
});
afterAll(async () => {
  await oidc?.close();
  await rm(home, { recursive: true, force: true });
});

function envFor(extra: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'xdg-config'),
    XDG_DATA_HOME: join(home, 'xdg-data'),
    CLAW_BYTEROVER_OAUTH_ISSUER: oidc.issuer,
    ...extra,
  };
}

const sink = { write: () => true };

/** The CLI's services for one command run with `env` (in-process, as the CLI builds them). */
async function cliSession(env: Record<string, string | undefined>, events: AuthRefreshEvent[]) {
  const io = { stdout: sink, stderr: sink, stdin: new PassThrough(), env, cwd: home };
  const ctx = new CommandContext(io, new Output(sink, sink, { json: true, debug: false }), {
    json: true,
    debug: false,
  });
  observeServices(ctx, { onAuthRefresh: (e) => events.push(e) });
  const s = await services(ctx);
  return { s, close: () => ctx.close() };
}

function pluginRuntime(env: Record<string, string | undefined>, events: AuthRefreshEvent[]): PluginRuntime {
  return new PluginRuntime({
    config: parsePluginConfig({ projectDir: home }),
    logger: createLogger({ level: 'error', destination: sink }),
    watch: false,
    env: () => env,
    onAuthRefresh: (e) => events.push(e),
  });
}

describe('the plugin resolves credentials as the CLI does', () => {
  it('client credentials from the configuration: the CLI fetches with the grant, the plugin resolves the same profile to the same key', async () => {
    const env = envFor({
      CLAW_BYTEROVER_CLIENT_ID: oidc.service.clientId,
      CLAW_BYTEROVER_CLIENT_SECRET: oidc.service.clientSecret,
      CLAW_BYTEROVER_PROFILE: 'svc-cc',
    });
    const before = oidc.stats.success.client_credentials ?? 0;

    const cliEvents: AuthRefreshEvent[] = [];
    const cli = await cliSession(env, cliEvents);
    const cliKey = await cli.s.session.sessionKey();
    await cli.close();

    const pluginEvents: AuthRefreshEvent[] = [];
    const rt = pluginRuntime(env, pluginEvents);
    try {
      const { config, sources, profile } = await rt.clawConfig();
      expect(profile).toBe('svc-cc');
      const cred = await rt.credential(config, sources, profile);
      const pluginKey = await cred.session.sessionKey();

      expect(oidc.issuedSessionKeys.has(cliKey)).toBe(true);
      expect(oidc.issuedSessionKeys.has(pluginKey)).toBe(true);
      // The CLI fetched and stored the client-credentials token in profile svc-cc; the plugin,
      // resolving the same profile, reads that stored credential instead of fetching another.
      expect(pluginKey).toBe(cliKey);
      expect(oidc.stats.success.client_credentials).toBe(before + 1);
      expect(cred.source).toBe('token store, else client credentials');
      expect(cliEvents).toMatchObject([{ kind: 'client-credentials', result: 'renewed', reason: 'expiry' }]);
    } finally {
      await rt.close();
    }
  });

  it('a profile without a stored credential: the plugin fetches with the client-credentials grant itself and reports the renewal', async () => {
    const env = envFor({
      CLAW_BYTEROVER_CLIENT_ID: oidc.service.clientId,
      CLAW_BYTEROVER_CLIENT_SECRET: oidc.service.clientSecret,
      CLAW_BYTEROVER_PROFILE: 'plugin-only',
    });
    const before = oidc.stats.success.client_credentials ?? 0;
    const events: AuthRefreshEvent[] = [];
    const rt = pluginRuntime(env, events);
    try {
      const { client } = await rt.client();
      expect(client).toBeDefined();
      const { config, sources, profile } = await rt.clawConfig();
      const key = await (await rt.credential(config, sources, profile)).session.sessionKey();
      expect(oidc.issuedSessionKeys.has(key)).toBe(true);
      expect(oidc.stats.success.client_credentials).toBe(before + 1);
      expect(events).toMatchObject([{ kind: 'client-credentials', result: 'renewed', reason: 'expiry' }]);
      // Stored in the profile's slot, exactly where the CLI would have put it.
      const store = createFileTokenStore({ env });
      expect(await store.load('plugin-only')).toMatchObject({ kind: 'client-credentials', sessionKey: key });
      expect(await store.load('default')).toBeUndefined();
    } finally {
      await rt.close();
    }
  });

  it('without any credential both say AUTH_NOT_LOGGED_IN for the same profile', async () => {
    const env = envFor({ CLAW_BYTEROVER_PROFILE: 'nobody' });
    const cli = await cliSession(env, []);
    const cliErr = await cli.s.session.sessionKey().catch((e: unknown) => e);
    await cli.close();
    const rt = pluginRuntime(env, []);
    try {
      const { config, sources, profile } = await rt.clawConfig();
      const pluginErr = await (
        await rt.credential(config, sources, profile)
      ).session
        .sessionKey()
        .catch((e: unknown) => e);
      expect((cliErr as { code?: string }).code).toBe('AUTH_NOT_LOGGED_IN');
      expect((pluginErr as { code?: string }).code).toBe('AUTH_NOT_LOGGED_IN');
      expect((pluginErr as Error).message).toBe((cliErr as Error).message);
    } finally {
      await rt.close();
    }
  });
});
