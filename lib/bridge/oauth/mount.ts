/**
 * mountOAuth: plugs the web login into a bridge (before `listen`).
 *
 *   const bridge = await createBridge({ config, dataDir, logger });
 *   const oauth = await mountOAuth(bridge, { config: config.oauth, dataDir, http, logger, onRefresh });
 *   // oauth.sessionProvider → createByteRoverClient({ session: oauth.sessionProvider, … })
 *
 * Routes: GET /auth/login (302 to the issuer), GET /auth/callback, GET /auth/status. Without
 * `bridge.oauth.issuer` the login routes answer 503 OAUTH_NOT_CONFIGURED and status says so.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as oidc from 'openid-client';
import type { UserInfo } from '../../byterover/auth/index.js';
import { discoverAuthorizationServer } from '../../byterover/auth/issuer.js';
import { isClawError } from '../../errors.js';
import type { HttpClient } from '../../http/types.js';
import { logger as defaultLogger, registerSecret, type Logger } from '../../log/index.js';
import { httpError, httpStatusOf, sendJson, type RequestContext } from '../server.js';
import type { Bridge } from '../service.js';
import { CALLBACK_PATH, LOGIN_PATH, STATUS_PATH, redirectUriOf, safeReturnTo, type OAuthConfig } from './config.js';
import { keyMismatch, notConfigured, returnToInvalid } from './errors.js';
import { finishLogin, parseCookies, startLogin, type LoginCookie, type LoginFlow } from './login.js';
import { sendPage, PAGE_HEADERS } from './page.js';
import { KEY_CHECK_KEY, KEY_CHECK_TEXT, LOGIN_INDEX_KEY, SealedKv, tokensKey } from './records.js';
import { loadSealer } from './seal.js';
import {
  createOAuthSessionProvider,
  type OAuthSessionProvider,
  type OAuthStatus,
  type RefreshInfo,
  type RefreshResult,
} from './session.js';

export interface MountOAuthOptions {
  /** The validated `bridge.oauth` settings (OAuthConfigSchema). */
  config: OAuthConfig;
  /** Where the key file lives when no encryptionKey is configured. */
  dataDir: string;
  /** Transport for discovery and token requests. */
  http: HttpClient;
  logger?: Logger;
  /** Called once per refresh attempt of this instance (telemetry). */
  onRefresh?: (result: RefreshResult, info: RefreshInfo) => void;
  /** Optional lookup of the signed-in user with the new session key (e.g. IAM user/me). */
  lookupUser?: (sessionKey: string) => Promise<UserInfo | undefined>;
  /** Clock, ms since the epoch (tests). */
  now?: () => number;
}

export interface OAuthMount {
  readonly configured: boolean;
  /** The session provider backed by the web login; undefined when OAuth is not configured. */
  readonly sessionProvider: OAuthSessionProvider | undefined;
  readonly redirectUri: string | undefined;
  /** What /auth/status answers (no secrets). */
  status(): Promise<OAuthStatusReport>;
}

export type OAuthStatusReport =
  | { configured: false }
  | ({ configured: true; issuer: string; clientId: string; redirectUri: string; loginUrl: string } & OAuthStatus);

type BridgeParts = Pick<Bridge, 'server' | 'store' | 'instanceId'>;

/** How long the fixed endpoints stand in for a failed discovery before discovery is tried again. */
const DISCOVERY_RETRY_MS = 60_000;

export async function mountOAuth(bridge: BridgeParts, o: MountOAuthOptions): Promise<OAuthMount> {
  const { config } = o;
  const log = (o.logger ?? defaultLogger).child({ component: 'bridge-oauth' });
  const redirectUri = redirectUriOf(config);
  if (!config.issuer || !redirectUri) {
    const off = (): never => {
      throw notConfigured();
    };
    bridge.server.route('GET', LOGIN_PATH, off);
    bridge.server.route('GET', CALLBACK_PATH, off);
    bridge.server.route('GET', STATUS_PATH, (_req, res) => sendJson(res, 200, { ok: true, configured: false }));
    return {
      configured: false,
      sessionProvider: undefined,
      redirectUri: undefined,
      status: async () => ({ configured: false }),
    };
  }
  const issuer = config.issuer;
  registerSecret(config.clientSecret);
  registerSecret(config.encryptionKey);
  const clock = o.now ?? Date.now;

  const sealer = await loadSealer({ encryptionKey: config.encryptionKey, dataDir: o.dataDir });
  const sealed = new SealedKv(bridge.store.state.kv, sealer);
  await checkKey(sealed, config, clock(), log);

  // The issuer's configuration, memoised. When discovery fails, discoverAuthorizationServer falls back to
  // the fixed `{issuer}/authorize` and `{issuer}/token`: right for ByteRover, wrong for an issuer with
  // other endpoints. That fallback (recognised by the absence of `response_types_supported`, which RFC
  // 8414 and OIDC Discovery both require) is kept for DISCOVERY_RETRY_MS only, so one failed discovery
  // (the issuer restarting when the first login came) does not pin the wrong endpoints until a restart.
  let server: Promise<oidc.Configuration> | undefined;
  let fallbackSince: number | undefined;
  const serverConfig = (): Promise<oidc.Configuration> => {
    if (server && fallbackSince !== undefined && clock() - fallbackSince >= DISCOVERY_RETRY_MS) {
      server = undefined;
      fallbackSince = undefined;
    }
    server ??= discoverAuthorizationServer({
      issuer,
      clientId: config.clientId,
      clientAuth: config.clientSecret
        ? config.clientAuthMethod === 'client_secret_post'
          ? oidc.ClientSecretPost(config.clientSecret)
          : oidc.ClientSecretBasic(config.clientSecret)
        : oidc.None(),
      http: o.http,
      logger: log,
      skipDiscovery: config.skipDiscovery,
    }).then((c) => {
      if (!config.skipDiscovery && c.serverMetadata().response_types_supported === undefined) fallbackSince ??= clock();
      return c;
    });
    server.catch(() => (server = undefined));
    return server;
  };

  const sessionProvider = createOAuthSessionProvider({
    sealed,
    locks: bridge.store.state.locks,
    profile: config.profile,
    owner: `${bridge.instanceId}-${process.pid}`,
    server: serverConfig,
    clock,
    skewSeconds: config.refreshSkewSeconds,
    leaseMs: config.refreshLeaseMs,
    waitMs: config.refreshWaitMs,
    logger: log,
    onRefresh: o.onRefresh,
  });

  const flow: LoginFlow = {
    config,
    redirectUri,
    sealed,
    server: serverConfig,
    clock,
    logger: log,
    lookupUser: o.lookupUser,
  };

  const status = async (): Promise<OAuthStatusReport> => ({
    configured: true,
    issuer,
    clientId: config.clientId,
    redirectUri,
    loginUrl: LOGIN_PATH,
    ...(await sessionProvider.status()),
  });

  // HEAD would otherwise fall back to the GET handler and start (and store) a login for nothing.
  bridge.server.route('HEAD', LOGIN_PATH, (_req, res) => {
    res.writeHead(405, { allow: 'GET', 'cache-control': 'no-store' }).end();
  });
  bridge.server.route('GET', LOGIN_PATH, async (_req, res, ctx) => {
    const raw = ctx.url.searchParams.get('return_to');
    const returnTo = raw === null ? undefined : safeReturnTo(raw);
    if (raw !== null && returnTo === undefined) throw returnToInvalid();
    const started = await startLogin(flow, { returnTo });
    res.writeHead(302, {
      ...PAGE_HEADERS,
      location: started.authorizationUrl.href,
      'set-cookie': setCookie(started.cookie),
      'content-length': 0,
    });
    res.end();
  });

  bridge.server.route('GET', CALLBACK_PATH, async (req, res, ctx) => callback(req, res, ctx, flow, sessionProvider));

  bridge.server.route('GET', STATUS_PATH, async (_req, res) => sendJson(res, 200, { ok: true, ...(await status()) }));

  log.info(
    { issuer, clientId: config.clientId, redirectUri, profile: config.profile, key: sealer.source },
    'bridge oauth: web login mounted',
  );
  return { configured: true, sessionProvider, redirectUri, status };
}

function setCookie(c: LoginCookie): string {
  return `${c.name}=${c.value}; ${c.attributes}`;
}

async function callback(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RequestContext,
  flow: LoginFlow,
  sp: OAuthSessionProvider,
): Promise<void> {
  let done;
  try {
    done = await finishLogin(flow, ctx.url.searchParams, parseCookies(req.headers.cookie));
  } catch (e) {
    // A transport failure towards the issuer is the issuer's side: 502 with its code, not a 500.
    const err =
      isClawError(e) && httpStatusOf(e) === undefined
        ? httpError(502, e.code, e.message, { ...(e.hint ? { hint: e.hint } : {}) })
        : e;
    const status = httpStatusOf(err);
    if (status === undefined || !isClawError(err)) throw err;
    ctx.log.warn({ code: err.code, requestId: ctx.requestId }, 'bridge oauth: login callback refused');
    sendPage(
      req,
      res,
      status,
      { title: 'Login failed', lines: [err.message], hint: err.hint },
      { ok: false, code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) },
    );
    return;
  }
  sp.forget();
  const cred = done.record.cred;
  const clear = setCookie(done.cookie);
  if (done.returnTo) {
    res.writeHead(303, { ...PAGE_HEADERS, location: done.returnTo, 'set-cookie': clear, 'content-length': 0 });
    res.end();
    return;
  }
  const who = cred.user ? (cred.user.email ?? cred.user.name ?? cred.user.id) : undefined;
  const expiresAt = cred.expiresAt !== undefined ? new Date(cred.expiresAt * 1000).toISOString() : undefined;
  sendPage(
    req,
    res,
    200,
    {
      title: 'Logged in to ByteRover',
      lines: [
        who ? `The bridge is now signed in as ${who}.` : 'The bridge is now signed in.',
        ...(expiresAt ? [`The access token is valid until ${expiresAt}; the bridge refreshes it on its own.`] : []),
      ],
      hint: 'You can close this tab.',
    },
    {
      ok: true,
      code: 'OAUTH_LOGGED_IN',
      profile: flow.config.profile,
      ...(cred.user ? { user: cred.user } : {}),
      ...(cred.scope ? { scopes: cred.scope.split(' ') } : {}),
      ...(expiresAt ? { expiresAt } : {}),
      refreshable: Boolean(cred.refreshToken),
    },
    { 'set-cookie': clear },
  );
}

/**
 * Proves this instance seals with the key the store's OAuth data was sealed with (a known text under
 * KEY_CHECK_KEY, written by the first instance). A mismatch refuses to start, or with
 * resetOnKeyMismatch discards the unreadable records.
 */
async function checkKey(sealed: SealedKv, config: OAuthConfig, now: number, log: Logger): Promise<void> {
  const write = (expect?: number): Promise<{ ok: boolean; version: number }> =>
    sealed.set(KEY_CHECK_KEY, { text: KEY_CHECK_TEXT }, now, expect);
  let entry = await sealed.kv.get(KEY_CHECK_KEY);
  if (!entry) {
    if ((await write(0)).ok) return;
    entry = await sealed.kv.get(KEY_CHECK_KEY);
    if (!entry) return;
  }
  const plain = sealed.sealer.open(KEY_CHECK_KEY, entry.value);
  if (plain && plain.toString('utf8').includes(KEY_CHECK_TEXT)) return;
  if (!config.resetOnKeyMismatch) throw keyMismatch(sealed.sealer.source);
  log.warn(
    { key: sealed.sealer.source, profile: config.profile },
    'bridge oauth: the store held OAuth data sealed with another key; discarding it (resetOnKeyMismatch) — log in again',
  );
  await sealed.delete(tokensKey(config.profile));
  await sealed.delete(LOGIN_INDEX_KEY);
  await write();
}
