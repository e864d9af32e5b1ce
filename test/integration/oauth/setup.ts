/**
 * Shared setup of the bridge OAuth tests: a REAL oidc-provider (test/servers/oidc.ts) with web clients
 * registered for the bridges' callback URLs, bridges made by createBridge + mountOAuth on a real
 * store, a test clock (offset from the real one, advanced instead of waiting), and the auth tests'
 * environment (test/integration/auth/setup.ts: temp dir, lib/http, a log sink that tests
 * scan for leaked secrets).
 *
 * The browser is played two ways: `browse()` from test/servers/oidc.ts for a login end to end, or
 * step by step (beginLogin → authorize → callback) to tamper, replay or delay the callback.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createBridge, parseBridgeConfig, type Bridge, type BridgeStore } from '../../../lib/bridge/index.js';
import {
  mountOAuth,
  parseOAuthConfig,
  type OAuthConfigInput,
  type OAuthMount,
  type RefreshInfo,
  type RefreshResult,
} from '../../../lib/bridge/oauth/index.js';
import type { HttpClient } from '../../../lib/http/types.js';
import type { Logger } from '../../../lib/log/index.js';
import { startAuthEnv } from '../auth/setup.js';
import { browse, type OidcServer, type OidcServerOptions } from '../../servers/oidc.js';

export const WEB_CLIENT_ID = 'bridge-web';
export const CONFIDENTIAL_CLIENT_ID = 'bridge-web-confidential';

/** A clock that tests move forward instead of waiting. */
export class TestClock {
  offsetMs = 0;
  readonly now = (): number => Date.now() + this.offsetMs;
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface OAuthEnv {
  oidc: OidcServer;
  dir: string;
  http: HttpClient;
  logger: Logger;
  clock: TestClock;
  encryptionKey: string;
  confidentialSecret: string;
  logs(): string;
  /** Registers the web clients at the provider for these callback URLs (dynamic clients, oidc-provider's adapter). */
  registerRedirects(uris: string[]): Promise<void>;
  close(): Promise<void>;
}

export async function startOAuthEnv(o: OidcServerOptions = {}): Promise<OAuthEnv> {
  const base = await startAuthEnv(o);
  const { oidc } = base;
  const confidentialSecret = `conf-${randomBytes(24).toString('base64url')}`;
  const redirects = new Set<string>();
  return {
    oidc,
    dir: base.dir,
    http: base.http,
    logger: base.logger,
    logs: base.logs,
    clock: new TestClock(),
    encryptionKey: randomBytes(32).toString('base64'),
    confidentialSecret,
    async registerRedirects(uris) {
      for (const u of uris) redirects.add(u);
      const common = {
        application_type: 'web',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [...redirects],
        id_token_signed_response_alg: 'ES256',
      };
      const adapter = (
        oidc.provider.Client as unknown as {
          adapter: { upsert(id: string, payload: object, exp?: number): Promise<void> };
        }
      ).adapter;
      await adapter.upsert(WEB_CLIENT_ID, { ...common, client_id: WEB_CLIENT_ID, token_endpoint_auth_method: 'none' });
      await adapter.upsert(CONFIDENTIAL_CLIENT_ID, {
        ...common,
        client_id: CONFIDENTIAL_CLIENT_ID,
        client_secret: confidentialSecret,
        token_endpoint_auth_method: 'client_secret_basic',
      });
    },
    close: () => base.close(),
  };
}

export interface BridgeUnderTest {
  bridge: Bridge;
  url: string;
  oauth: OAuthMount;
  refreshes: RefreshResult[];
  refreshInfo: RefreshInfo[];
  close(): Promise<void>;
}

export interface StartBridgeOptions {
  /** OAuth settings over the defaults (issuer, web client, openid + offline access, the env's key). */
  oauth?: OAuthConfigInput | null;
  /** The SQLite file (default `<env.dir>/bridge.db`), or an open store to use instead. */
  dbPath?: string;
  store?: BridgeStore;
  /** The redirect URI to configure (default: this bridge's own callback). */
  redirectUri?: string;
  dataDir?: string;
  /** The transport the web login uses (default the env's). */
  http?: HttpClient;
}

/** A bridge on 127.0.0.1:0 with the web login mounted; its callback is registered at the provider. */
export async function startBridge(env: OAuthEnv, o: StartBridgeOptions = {}): Promise<BridgeUnderTest> {
  const config = parseBridgeConfig({ store: { kind: 'sqlite', path: o.dbPath ?? join(env.dir, 'bridge.db') } });
  const dataDir = o.dataDir ?? env.dir;
  const bridge = await createBridge({
    config,
    dataDir,
    worker: false,
    logger: env.logger,
    ...(o.store ? { store: o.store } : {}),
    now: env.clock.now,
  });
  const { url } = await bridge.listen(0, '127.0.0.1');
  const redirectUri = o.redirectUri ?? `${url}/auth/callback`;
  await env.registerRedirects([redirectUri]);
  const refreshes: RefreshResult[] = [];
  const refreshInfo: RefreshInfo[] = [];
  const oauthConfig =
    o.oauth === null
      ? parseOAuthConfig({})
      : parseOAuthConfig({
          issuer: env.oidc.issuer,
          clientId: WEB_CLIENT_ID,
          redirectUri,
          scopes: ['openid', 'read', 'write'],
          offlineAccess: true,
          encryptionKey: env.encryptionKey,
          ...o.oauth,
        });
  let oauth: OAuthMount;
  try {
    oauth = await mountOAuth(bridge, {
      config: oauthConfig,
      dataDir,
      http: o.http ?? env.http,
      logger: env.logger,
      now: env.clock.now,
      onRefresh: (r, info) => {
        refreshes.push(r);
        refreshInfo.push(info);
      },
    });
  } catch (e) {
    await bridge.close();
    throw e;
  }
  return { bridge, url, oauth, refreshes, refreshInfo, close: () => bridge.close() };
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

async function reply(res: Response): Promise<Reply> {
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* an HTML page or an empty body */
  }
  return { status: res.status, headers: res.headers, text, json };
}

export interface BegunLogin {
  /** `name=value` of the login cookie the bridge set. */
  cookie: string;
  setCookie: string;
  authorizationUrl: URL;
  state: string;
}

/** GET /auth/login without following the redirect. */
export async function beginLogin(bridgeUrl: string, query = ''): Promise<BegunLogin> {
  const res = await fetch(`${bridgeUrl}/auth/login${query}`, { redirect: 'manual' });
  await res.arrayBuffer();
  if (res.status !== 302) throw new Error(`/auth/login answered ${res.status}`);
  const setCookie = res.headers.getSetCookie()[0] ?? '';
  const authorizationUrl = new URL(res.headers.get('location') ?? '');
  return {
    cookie: setCookie.split(';')[0] ?? '',
    setCookie,
    authorizationUrl,
    state: authorizationUrl.searchParams.get('state') ?? '',
  };
}

/** Plays the user at the provider (login + consent) and returns the callback URL it redirects to, without requesting it. */
export async function authorize(env: OAuthEnv, authorizationUrl: URL): Promise<URL> {
  let captured: URL | undefined;
  const page = await browse(authorizationUrl.href, {
    rewrite: (u) => {
      if (u.pathname.endsWith('/auth/callback')) {
        captured = new URL(u.href);
        return new URL(`${env.oidc.origin}/captured-callback`);
      }
      return u;
    },
  });
  if (!captured)
    throw new Error(
      `the provider did not redirect to the callback; the browser ended at ${page.url} (${page.status}): ${page.body.slice(0, 300)}`,
    );
  return captured;
}

/** GET the callback (as the browser would, with its cookie), optionally on another bridge instance. */
export async function callback(
  url: URL,
  o: { cookie?: string; at?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const target = new URL(url.href);
  if (o.at) {
    const other = new URL(o.at);
    target.host = other.host;
  }
  const res = await fetch(target, {
    redirect: 'manual',
    headers: { ...(o.cookie ? { cookie: o.cookie } : {}), ...o.headers },
  });
  return reply(res);
}

/** The whole login, step by step: begin at `bridgeUrl`, authorize, come back (by default to the same bridge). */
export async function login(env: OAuthEnv, bridgeUrl: string, o: { at?: string; query?: string } = {}): Promise<Reply> {
  const begun = await beginLogin(bridgeUrl, o.query ?? '');
  const cb = await authorize(env, begun.authorizationUrl);
  return callback(cb, { cookie: begun.cookie, ...(o.at ? { at: o.at } : {}) });
}

export async function getJson(url: string): Promise<Reply> {
  return reply(await fetch(url));
}
