/**
 * The web login, as two steps any bridge instance sharing the store can run:
 *
 * startLogin (GET /auth/login) — RFC 6749 §4.1.1 with PKCE S256 (RFC 7636 §4.1-4.3), `state`
 * (RFC 6749 §10.12) and, with the `openid` scope, `nonce` (OIDC Core §3.1.2.1). The verifier, nonce
 * and return path are kept server-side, sealed, under a hash of the state, for `loginTtlSeconds`; the
 * browser gets a cookie whose hash is kept beside them, binding the login to the browser that began it
 * (RFC 9700 §4.7.1: no login CSRF through a foreign callback).
 *
 * finishLogin (GET /auth/callback) — checks, in order: state present, known, unused, not expired, same
 * browser; marks it used with a compare-and-set (two racing callbacks: one wins); then the provider's
 * `error` (RFC 6749 §4.1.2.1); exchanges the code with the verifier (§4.1.3, RFC 7636 §4.5), checking
 * `iss` (RFC 9207) and the ID token's nonce; checks allowedSubjects; stores the token set sealed.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as oidc from 'openid-client';
import { buildAuthorizationRequest, type StoredCredential, type UserInfo } from '../../byterover/auth/index.js';
import { credentialFromTokenResponse, type TokenResponseFields } from '../../byterover/auth/credential.js';
import { ClawError, isClawError } from '../../errors.js';
import type { Logger } from '../../log/index.js';
import { registerSecret, safeUrl } from '../../log/redact.js';
import type { OAuthConfig } from './config.js';
import {
  browserMismatch,
  callbackInvalid,
  codeMissing,
  idTokenInvalid,
  OAuthErrorCode,
  providerError,
  stateExpired,
  stateMissing,
  stateUnknown,
  stateUsed,
  subjectNotAllowed,
  tokenExchangeFailed,
  tooManyLogins,
} from './errors.js';
import {
  LOGIN_INDEX_KEY,
  LoginIndexSchema,
  LoginRecordSchema,
  loginKey,
  tokensKey,
  type LoginRecord,
  type SealedKv,
  type TokenRecord,
} from './records.js';

export interface LoginFlow {
  config: OAuthConfig;
  redirectUri: string;
  sealed: SealedKv;
  /** The issuer's openid-client Configuration (discovery or fixed endpoints), memoised by the caller. */
  server: () => Promise<oidc.Configuration>;
  clock: () => number;
  logger: Logger;
  /** Optional lookup of the signed-in user with the new session key (e.g. IAM user/me). */
  lookupUser?: ((sessionKey: string) => Promise<UserInfo | undefined>) | undefined;
}

export interface LoginCookie {
  name: string;
  value: string;
  /** Set-Cookie attributes (Path, Max-Age, HttpOnly, SameSite, Secure). */
  attributes: string;
}

export interface StartedLogin {
  authorizationUrl: URL;
  cookie: LoginCookie;
}

export interface FinishedLogin {
  record: TokenRecord;
  returnTo: string | undefined;
  /** The cookie to clear. */
  cookie: LoginCookie;
}

const b64url = (b: Buffer): string => b.toString('base64url');
const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** The store id of a login: SHA-256 of its state (the state itself is never stored). */
export function loginIdOf(state: string): string {
  return b64url(sha256(`state:${state}`));
}

/** One cookie per login, so two logins in one browser do not undo each other. */
export function cookieNameOf(loginId: string): string {
  return `claw_oauth_${loginId.slice(0, 16).replace(/[^A-Za-z0-9]/g, 'x')}`;
}

function cookieFor(flow: LoginFlow, loginId: string, value: string, maxAgeSeconds: number): LoginCookie {
  const cb = new URL(flow.redirectUri);
  const secure = cb.protocol === 'https:' ? '; Secure' : '';
  return {
    name: cookieNameOf(loginId),
    value,
    attributes: `Path=${cb.pathname}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secure}`,
  };
}

export async function startLogin(flow: LoginFlow, o: { returnTo?: string | undefined }): Promise<StartedLogin> {
  const { config } = flow;
  const server = await flow.server();
  const state = oidc.randomState();
  const verifier = oidc.randomPKCECodeVerifier();
  const wantsIdToken = config.scopes.includes('openid');
  const nonce = wantsIdToken ? oidc.randomNonce() : undefined;
  const browserSecret = b64url(randomBytes(32));
  // The verifier and the cookie are not registered with the redactor (an unauthenticated /auth/login
  // must not grow a process-wide set); they are never logged: URLs are logged without their query, and
  // lib/log redacts `code_verifier=` and Cookie headers by pattern.
  const loginId = loginIdOf(state);
  const now = flow.clock();
  const expiresAt = now + config.loginTtlSeconds * 1000;
  const record: LoginRecord = {
    kind: 'pending',
    profile: config.profile,
    verifier,
    ...(nonce ? { nonce } : {}),
    browser: b64url(sha256(browserSecret)),
    redirectUri: flow.redirectUri,
    ...(o.returnTo ? { returnTo: o.returnTo } : {}),
    createdAt: now,
    expiresAt,
  };
  await indexLogin(flow, loginId, expiresAt);
  const w = await flow.sealed.set(loginKey(loginId), record, now, 0);
  if (!w.ok)
    throw new ClawError(
      OAuthErrorCode.STATE_COLLISION,
      'Expected a fresh login id, found one in use (a 256-bit random state collided).',
      { hint: 'start the login again' },
    );
  const authorizationUrl = buildAuthorizationRequest(server, {
    redirectUri: flow.redirectUri,
    scopes: config.scopes,
    offlineAccess: config.offlineAccess,
    codeChallenge: await oidc.calculatePKCECodeChallenge(verifier),
    state,
    resource: config.resource,
    extra: nonce ? { nonce } : undefined,
  });
  flow.logger.info(
    { authorizationEndpoint: safeUrl(authorizationUrl), redirectUri: flow.redirectUri, profile: config.profile },
    'bridge oauth: login started',
  );
  return { authorizationUrl, cookie: cookieFor(flow, loginId, browserSecret, config.loginTtlSeconds) };
}

/**
 * Adds the login to the index (compare-and-set, retried on contention) and deletes records whose
 * expiry lies more than one TTL back (kept that long so a late replay still reads "expired"/"used").
 */
async function indexLogin(flow: LoginFlow, loginId: string, expiresAt: number): Promise<void> {
  const graceMs = flow.config.loginTtlSeconds * 1000;
  for (let attempt = 0; attempt < 50; attempt++) {
    const cur = await flow.sealed.get(LOGIN_INDEX_KEY, LoginIndexSchema);
    const now = flow.clock();
    const entries = cur?.value.entries ?? [];
    const keep = entries.filter(([, e]) => e + graceMs > now);
    const drop = entries.filter(([, e]) => e + graceMs <= now);
    if (keep.filter(([, e]) => e > now).length >= flow.config.maxPendingLogins)
      throw tooManyLogins(flow.config.maxPendingLogins);
    const w = await flow.sealed.set(
      LOGIN_INDEX_KEY,
      { entries: [...keep, [loginId, expiresAt]] },
      now,
      cur?.version ?? 0,
    );
    if (w.ok) {
      for (const [id] of drop) await flow.sealed.delete(loginKey(id));
      return;
    }
    await sleep(2 + Math.floor(Math.random() * Math.min(100, 5 * 2 ** Math.min(attempt, 5))));
  }
  throw new ClawError(
    OAuthErrorCode.STORE_BUSY,
    'Expected to record the login in the shared store, found it updated by other logins on every attempt.',
    {
      hint: 'start the login again in a moment',
    },
  );
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'base64url');
  const y = Buffer.from(b, 'base64url');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** Parses a Cookie header into name → value (first occurrence wins). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (name && !out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}

export async function finishLogin(
  flow: LoginFlow,
  query: URLSearchParams,
  cookies: Map<string, string>,
): Promise<FinishedLogin> {
  const state = query.get('state');
  const error = query.get('error');
  if (!state) {
    if (error) throw providerError(error, query.get('error_description') ?? undefined);
    throw stateMissing();
  }
  const loginId = loginIdOf(state);
  let found;
  try {
    found = await flow.sealed.get(loginKey(loginId), LoginRecordSchema);
  } catch (e) {
    if (!isClawError(e, OAuthErrorCode.STORE_CORRUPT)) throw e;
    flow.logger.warn(
      { err: e.message },
      'bridge oauth: a login record failed to open; treating the callback as unknown',
    );
    throw stateUnknown();
  }
  if (!found) throw stateUnknown();
  const rec = found.value;
  if (rec.kind === 'used') throw stateUsed();
  const now = flow.clock();
  if (now >= rec.expiresAt) throw stateExpired(flow.config.loginTtlSeconds);
  const presented = cookies.get(cookieNameOf(loginId));
  if (!presented || !sameHash(b64url(sha256(presented)), rec.browser))
    throw browserMismatch(new URL(rec.redirectUri).origin);
  const spent = await flow.sealed.set(
    loginKey(loginId),
    { kind: 'used', usedAt: now, expiresAt: rec.expiresAt },
    now,
    found.version,
  );
  if (!spent.ok) throw stateUsed();
  const clear = cookieFor(flow, loginId, '', 0);

  if (error) throw providerError(error, query.get('error_description') ?? undefined);
  const code = query.get('code');
  if (!code) throw codeMissing();
  registerSecret(code);

  const server = await flow.server();
  // The URL the issuer redirected to, rebuilt on the registered redirect URI (a proxy in front of the
  // bridge may have changed host or path): openid-client derives `redirect_uri` for the exchange from it.
  const callbackUrl = new URL(rec.redirectUri);
  callbackUrl.search = query.toString();
  let response: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
  try {
    response = await oidc.authorizationCodeGrant(server, callbackUrl, {
      pkceCodeVerifier: rec.verifier,
      expectedState: state,
      ...(rec.nonce ? { expectedNonce: rec.nonce, idTokenExpected: true } : { idTokenExpected: false }),
    });
  } catch (e) {
    throw mapExchangeError(e);
  }
  const tokens = response as unknown as TokenResponseFields;
  const issuer = server.serverMetadata().issuer;
  const cred: StoredCredential = credentialFromTokenResponse(
    tokens,
    { kind: 'oauth', issuer, clientId: flow.config.clientId },
    undefined,
    flow.clock,
  );
  const { user, verifiedEmail } = await whoIs(flow, response, cred.sessionKey);
  if (user) cred.user = user;
  if (flow.config.allowedSubjects.length > 0 && !subjectAllowed(flow.config.allowedSubjects, user, verifiedEmail)) {
    flow.logger.warn(
      { profile: flow.config.profile },
      'bridge oauth: a login by an account not in allowedSubjects was refused',
    );
    throw subjectNotAllowed();
  }
  const record: TokenRecord = { cred };
  await flow.sealed.set(tokensKey(flow.config.profile), record, flow.clock());
  flow.logger.info(
    { profile: flow.config.profile, subject: user?.id, scope: cred.scope },
    'bridge oauth: login finished, tokens stored',
  );
  return { record, returnTo: rec.returnTo, cookie: clear };
}

/**
 * Who signed in: the ID token's claims, then the lookupUser hook. `verifiedEmail` is the address an
 * allowlist may match: the ID token's `email` only with `email_verified: true` (OIDC Core §5.1, §5.7: an
 * unverified address is whatever the account holder typed), or the address the issuer's own user
 * record gives through lookupUser.
 */
async function whoIs(
  flow: LoginFlow,
  response: oidc.TokenEndpointResponseHelpers,
  sessionKey: string,
): Promise<{ user: UserInfo | undefined; verifiedEmail: string | undefined }> {
  const claims = response.claims();
  let user: UserInfo | undefined;
  let verifiedEmail: string | undefined;
  if (claims && typeof claims.sub === 'string') {
    user = { id: claims.sub };
    if (typeof claims.email === 'string') {
      user.email = claims.email;
      if (claims.email_verified === true) verifiedEmail = claims.email;
    }
    if (typeof claims.name === 'string') user.name = claims.name;
  }
  if (flow.lookupUser) {
    const looked = await flow.lookupUser(sessionKey).catch((e: unknown) => {
      flow.logger.warn(
        { err: e instanceof Error ? e.message : String(e) },
        'bridge oauth: could not look up the signed-in user',
      );
      return undefined;
    });
    if (looked) {
      user = { ...user, ...looked };
      if (looked.email !== undefined) verifiedEmail = looked.email;
    }
  }
  return { user, verifiedEmail };
}

/** allowedSubjects: the subject itself, or a verified e-mail address (case-insensitive). */
export function subjectAllowed(
  list: readonly string[],
  user: UserInfo | undefined,
  verifiedEmail: string | undefined,
): boolean {
  if (!user) return false;
  return list.some(
    (s) => s === user.id || (verifiedEmail !== undefined && s.toLowerCase() === verifiedEmail.toLowerCase()),
  );
}

/** openid-client failures → stable codes; a transport ClawError (lib/http) is passed on as is. */
function mapExchangeError(e: unknown): Error {
  for (let cur: unknown = e, i = 0; i < 5 && cur; i++, cur = (cur as { cause?: unknown }).cause) {
    if (isClawError(cur)) return cur;
  }
  if (e instanceof oidc.ResponseBodyError)
    return tokenExchangeFailed({ error: e.error, description: e.error_description, status: e.status }, e);
  if (e instanceof oidc.AuthorizationResponseError)
    return callbackInvalid(`error "${e.error}" in the authorization response`);
  const msg = messageChain(e);
  const code = (e as { code?: unknown }).code;
  if (/id[ _]token|nonce/i.test(msg) || (typeof code === 'string' && code.startsWith('OAUTH_JWT')))
    return idTokenInvalid(msg);
  if (/"iss"|issuer/i.test(msg)) return callbackInvalid(msg);
  return tokenExchangeFailed({}, e);
}

/** openid-client wraps oauth4webapi's specific message ("unexpected ID Token \"nonce\" claim value") as the cause of a generic one: keep both (messages only, never the attached claims). */
function messageChain(e: unknown): string {
  const parts: string[] = [];
  for (let cur: unknown = e, i = 0; i < 3 && cur instanceof Error; i++, cur = cur.cause) {
    if (!parts.includes(cur.message)) parts.push(cur.message);
  }
  return parts.length > 0 ? parts.join(': ') : String(e);
}
