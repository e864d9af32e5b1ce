/**
 * Interactive login: OAuth 2.0 authorization code grant (RFC 6749 §4.1) for a native public client
 * (RFC 8252) with PKCE S256 (RFC 7636), a loopback redirect (RFC 8252 §7.3) and `state` (RFC 6749
 * §10.12). The credential is stored under the profile's lock so it cannot interleave with a refresh.
 */
import * as oidc from 'openid-client';
import { ClawError, isClawError } from '../../errors.js';
import { HttpErrorCode } from '../../http/errors.js';
import type { HttpClient } from '../../http/types.js';
import type { Logger } from '../../log/index.js';
import { registerSecret, safeUrl } from '../../log/redact.js';
import { openBrowser as openSystemBrowser } from './browser.js';
import { currentVersion } from './account.js';
import {
  credentialFromTokenResponse,
  describeCredential,
  sessionKeyFrom,
  type CredentialSummary,
  type UserInfo,
} from './credential.js';
import { exchangeAuthorizationCode } from './grants.js';
import { checkIssuerUrl, discoverAuthorizationServer } from './issuer.js';
import { DEFAULT_LOGIN_TIMEOUT_MS, startLoopbackReceiver } from './loopback.js';
import { checkProfile } from './paths.js';
import type { TokenStore } from './types.js';

/** ByteRover's public CLI client (RFC 8252 §8.4: no secret). */
export const BYTEROVER_CLI_CLIENT_ID = 'byterover-cli-client';
export const DEFAULT_SCOPES: readonly string[] = ['read', 'write'];

export interface OAuthLoginOptions {
  /** Issuer, e.g. `${BRV_IAM_BASE_URL}/api/v1/oidc` (see issuerForIam). */
  issuer: string;
  clientId?: string;
  /** Scopes to request (default `read write`). */
  scopes?: readonly string[];
  /**
   * Ask for a refresh token the OpenID Connect way (OIDC Core §11): adds the `offline_access` scope
   * and `prompt=consent`. Needed by issuers such as oidc-provider; ByteRover's IAM issues refresh
   * tokens for `read write` without it.
   */
  offlineAccess?: boolean;
  /** Resource indicator (RFC 8707) to request the access token for. */
  resource?: string;
  /** Extra authorization request parameters. */
  extraParams?: Record<string, string>;
  store: TokenStore;
  profile?: string;
  http: HttpClient;
  logger?: Logger;
  /** Called once with the URL to show the user (always called, browser or not). */
  onAuthorizationUrl?: (url: string, info: { redirectUri: string; browserOpened: boolean }) => void;
  /** `false`: never open a browser; a function: custom opener; default: open one when one exists. */
  openBrowser?: boolean | ((url: string) => Promise<boolean>);
  /** How long to wait for the browser to come back (default 5 minutes). */
  timeoutMs?: number;
  signal?: AbortSignal;
  redirectHost?: 'localhost' | '127.0.0.1';
  callbackPort?: number;
  /** Use the fixed /authorize and /token endpoints without trying discovery. */
  skipDiscovery?: boolean;
  /** Optional lookup of the signed-in user (e.g. IAM user/me) stored beside the tokens. */
  lookupUser?: (sessionKey: string) => Promise<UserInfo | undefined>;
  clock?: () => number;
}

/** The issuer identifier ByteRover's IAM serves: `{IAM}/api/v1/oidc`. */
export function issuerForIam(iamBaseUrl: string): string {
  return `${iamBaseUrl.replace(/\/+$/, '')}/api/v1/oidc`;
}

/** RFC 6749 §4.1.1 + RFC 7636 §4.3: the authorization request URL. */
export function buildAuthorizationRequest(
  config: oidc.Configuration,
  p: {
    redirectUri: string;
    scopes: readonly string[];
    offlineAccess: boolean;
    codeChallenge: string;
    state: string;
    resource?: string | undefined;
    extra?: Record<string, string> | undefined;
  },
): URL {
  const scopes = [...p.scopes];
  if (p.offlineAccess && !scopes.includes('offline_access')) scopes.push('offline_access');
  const params: Record<string, string> = {
    ...(p.extra ?? {}),
    redirect_uri: p.redirectUri,
    response_type: 'code',
    scope: scopes.join(' '),
    code_challenge: p.codeChallenge,
    code_challenge_method: 'S256',
    state: p.state,
  };
  if (p.offlineAccess) params.prompt = 'consent';
  if (p.resource) params.resource = p.resource;
  return oidc.buildAuthorizationUrl(config, params);
}

/** How long the login server may take to answer the reachability check before login gives up (ms). */
export const LOGIN_REACHABILITY_TIMEOUT_MS = 10_000;

/**
 * Fails fast, with HTTP_NETWORK naming the host, when the login server (the issuer) cannot be
 * reached, instead of opening a login page that cannot load and waiting minutes for a callback.
 * One GET of the issuer URL, no retry: any HTTP answer, whatever its status, means reachable.
 */
export async function checkLoginServerReachable(
  http: HttpClient,
  issuer: string,
  o: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  // A malformed or insecure issuer is refused before any request (AUTH_INSECURE_ISSUER, …).
  const url = checkIssuerUrl(issuer);
  const timeoutMs = o.timeoutMs ?? LOGIN_REACHABILITY_TIMEOUT_MS;
  try {
    await http.request({
      method: 'GET',
      url,
      endpoint: 'iam.login.reachability',
      responseType: 'text',
      retry: false,
      timeoutMs,
      deadlineMs: timeoutMs,
      ...(o.signal ? { signal: o.signal } : {}),
    });
  } catch (e) {
    if (!isClawError(e) || !['HTTP_NETWORK', 'HTTP_TIMEOUT', 'HTTP_DEADLINE_EXCEEDED'].includes(e.code)) throw e;
    throw new ClawError(
      HttpErrorCode.NETWORK,
      `Cannot reach the login server ${url.host}: expected an HTTP answer from ${safeUrl(url)} within ${Math.round(timeoutMs / 1000)} s, found ${e.code} (${e.message}). No login page was opened.`,
      {
        hint: `Check your network, proxy and DNS for ${url.host} (curl -sI ${safeUrl(url)}), or point the CLI at the right IAM (BRV_IAM_BASE_URL, config byterover.iamBaseUrl or oauth.issuer).`,
        details: { host: url.host, url: safeUrl(url), found: e.code },
        cause: e,
      },
    );
  }
}

/** Runs the whole interactive login and stores the credential; returns a secret-free summary. */
export async function loginWithOAuth(o: OAuthLoginOptions): Promise<CredentialSummary> {
  const profile = checkProfile(o.profile);
  const clock = o.clock ?? Date.now;
  const clientId = o.clientId ?? BYTEROVER_CLI_CLIENT_ID;
  // Reachable first (seconds); only then the browser wait (DEFAULT_LOGIN_TIMEOUT_MS, 5 min).
  await checkLoginServerReachable(o.http, o.issuer, o.signal ? { signal: o.signal } : {});
  const config = await discoverAuthorizationServer({
    issuer: o.issuer,
    clientId,
    http: o.http,
    ...(o.logger ? { logger: o.logger } : {}),
    ...(o.skipDiscovery ? { skipDiscovery: true } : {}),
  });
  const receiver = await startLoopbackReceiver({
    ...(o.redirectHost ? { redirectHost: o.redirectHost } : {}),
    ...(o.callbackPort !== undefined ? { port: o.callbackPort } : {}),
  });
  try {
    const verifier = oidc.randomPKCECodeVerifier();
    registerSecret(verifier);
    const state = oidc.randomState();
    const url = buildAuthorizationRequest(config, {
      redirectUri: receiver.redirectUri,
      scopes: o.scopes ?? DEFAULT_SCOPES,
      offlineAccess: o.offlineAccess ?? false,
      codeChallenge: await oidc.calculatePKCECodeChallenge(verifier),
      state,
      resource: o.resource,
      extra: o.extraParams,
    });
    const callback = receiver.waitForCallback(state, {
      timeoutMs: o.timeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS,
      signal: o.signal,
    });
    callback.catch(() => undefined); // handled below; avoid an unhandled rejection while the browser opens
    const opener =
      o.openBrowser === false
        ? undefined
        : typeof o.openBrowser === 'function'
          ? o.openBrowser
          : (u: string) => openSystemBrowser(u);
    const browserOpened = opener ? await opener(url.href).catch(() => false) : false;
    o.onAuthorizationUrl?.(url.href, { redirectUri: receiver.redirectUri, browserOpened });
    o.logger?.info(
      { authorizationEndpoint: safeUrl(url), redirectUri: receiver.redirectUri, browserOpened },
      'waiting for the login callback',
    );
    const callbackUrl = await callback;
    const tokens = await exchangeAuthorizationCode(config, callbackUrl, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    let user: UserInfo | undefined;
    if (o.lookupUser) {
      user = await o.lookupUser(sessionKeyFrom(tokens)).catch((e: unknown) => {
        o.logger?.warn(
          { err: e instanceof Error ? e.message : String(e) },
          'could not look up the signed-in user; storing the login without it',
        );
        return undefined;
      });
    }
    const saved = await o.store.withLock(async () => {
      const version = await currentVersion(o.store, profile);
      const cred = credentialFromTokenResponse(
        tokens,
        { kind: 'oauth', issuer: config.serverMetadata().issuer, clientId },
        undefined,
        clock,
      );
      cred.version = version + 1;
      if (user) cred.user = user;
      await o.store.save(cred, profile);
      return cred;
    }, profile);
    return describeCredential(saved, profile);
  } finally {
    await receiver.close();
  }
}
