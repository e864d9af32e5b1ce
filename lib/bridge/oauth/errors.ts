/**
 * The web login's failures, one constructor per stable code, each carrying the HTTP status the
 * bridge answers with (server.ts's httpError). None takes a secret: callers pass OAuth error codes,
 * profile names, paths and statuses only.
 */
import { ClawError } from '../../errors.js';
import { redactString } from '../../log/redact.js';
import { AuthErrorCode } from '../../byterover/auth/index.js';
import { httpError } from '../server.js';
import { LOGIN_PATH, STATUS_PATH } from './config.js';

export const OAuthErrorCode = {
  NOT_CONFIGURED: 'OAUTH_NOT_CONFIGURED',
  RETURN_TO_INVALID: 'OAUTH_RETURN_TO_INVALID',
  TOO_MANY_LOGINS: 'OAUTH_TOO_MANY_LOGINS',
  STATE_MISSING: 'OAUTH_STATE_MISSING',
  STATE_UNKNOWN: 'OAUTH_STATE_UNKNOWN',
  STATE_EXPIRED: 'OAUTH_STATE_EXPIRED',
  STATE_USED: 'OAUTH_STATE_USED',
  BROWSER_MISMATCH: 'OAUTH_BROWSER_MISMATCH',
  PROVIDER_ERROR: 'OAUTH_PROVIDER_ERROR',
  CODE_MISSING: 'OAUTH_CODE_MISSING',
  CALLBACK_INVALID: 'OAUTH_CALLBACK_INVALID',
  TOKEN_EXCHANGE_FAILED: 'OAUTH_TOKEN_EXCHANGE_FAILED',
  ID_TOKEN_INVALID: 'OAUTH_ID_TOKEN_INVALID',
  SUBJECT_NOT_ALLOWED: 'OAUTH_SUBJECT_NOT_ALLOWED',
  KEY_FILE_INVALID: 'OAUTH_KEY_FILE_INVALID',
  KEY_MISMATCH: 'OAUTH_KEY_MISMATCH',
  STORE_CORRUPT: 'OAUTH_STORE_CORRUPT',
  REFRESH_TIMEOUT: 'OAUTH_REFRESH_TIMEOUT',
  STATE_COLLISION: 'OAUTH_STATE_COLLISION',
  STORE_BUSY: 'OAUTH_STORE_BUSY',
  REFRESH_LEASE_LOST: 'OAUTH_REFRESH_LEASE_LOST',
} as const;

const RESTART = `start again from ${LOGIN_PATH}`;

export function notConfigured(): ClawError {
  return httpError(
    503,
    OAuthErrorCode.NOT_CONFIGURED,
    'Expected bridge.oauth.issuer to be set for the web login, found no OAuth configuration.',
    {
      hint: 'set bridge.oauth.issuer, clientId and redirectUri (or publicUrl) — e.g. CLAW_BYTEROVER_BRIDGE_OAUTH_ISSUER — register the redirect URI with the issuer, and restart the bridge',
    },
  );
}

export function returnToInvalid(): ClawError {
  return httpError(
    400,
    OAuthErrorCode.RETURN_TO_INVALID,
    'Expected return_to to be a path on this bridge (starting with a single "/"), found something else.',
    {
      hint: `omit return_to, or pass a path such as /auth/status to ${LOGIN_PATH}`,
    },
  );
}

export function tooManyLogins(max: number): ClawError {
  return httpError(
    429,
    OAuthErrorCode.TOO_MANY_LOGINS,
    `Expected at most ${max} logins in progress, found the limit reached.`,
    {
      hint: `finish or abandon the open logins (they expire after bridge.oauth.loginTtlSeconds), then ${RESTART}`,
      details: { max },
    },
  );
}

export function stateMissing(): ClawError {
  return httpError(
    400,
    OAuthErrorCode.STATE_MISSING,
    'Expected the callback to carry the `state` this bridge sent (RFC 6749 §4.1.2), found none.',
    {
      hint: `open the callback only through the issuer's redirect; ${RESTART}`,
    },
  );
}

export function stateUnknown(): ClawError {
  return httpError(
    400,
    OAuthErrorCode.STATE_UNKNOWN,
    'Expected the callback `state` to name a login this bridge started, found an unknown one.',
    {
      hint: `the login may have been started by another bridge with another store, or it was cleaned up; ${RESTART}`,
    },
  );
}

export function stateExpired(ttlSeconds: number): ClawError {
  return httpError(
    400,
    OAuthErrorCode.STATE_EXPIRED,
    `Expected the login to come back within ${ttlSeconds} s of ${LOGIN_PATH}, it came back later.`,
    {
      hint: `${RESTART} and finish the sign-in without a long pause`,
      details: { ttlSeconds },
    },
  );
}

export function stateUsed(): ClawError {
  return httpError(
    400,
    OAuthErrorCode.STATE_USED,
    'Expected a login callback used once, found one already used (a reload, a back button or a replay).',
    {
      hint: `check ${STATUS_PATH}: the first callback may have logged you in; otherwise ${RESTART}`,
    },
  );
}

export function browserMismatch(redirectOrigin: string): ClawError {
  return httpError(
    400,
    OAuthErrorCode.BROWSER_MISMATCH,
    'Expected the browser that started this login (its login cookie), found a request without it.',
    {
      hint: `${RESTART} at ${redirectOrigin}${LOGIN_PATH} (the same address as the redirect URI) and finish in the same browser`,
    },
  );
}

/** `error`/`error_description` are the provider's words (RFC 6749 §4.1.2.1); trimmed to safe characters. */
export function providerError(error: string, description: string | undefined): ClawError {
  const e = oauthToken(error);
  const d = description ? description.replace(/[^\x20-\x7e]/g, '').slice(0, 300) : undefined;
  return httpError(
    400,
    OAuthErrorCode.PROVIDER_ERROR,
    `The issuer answered the login with error "${e}"${d ? ` (${d})` : ''} instead of a code.`,
    {
      hint:
        e === 'access_denied'
          ? `approve the request at the issuer, then ${RESTART}`
          : `check the client registration (redirect URI, scopes) at the issuer, then ${RESTART}`,
      details: { error: e },
    },
  );
}

export function codeMissing(): ClawError {
  return httpError(
    400,
    OAuthErrorCode.CODE_MISSING,
    'Expected the callback to carry an authorization `code`, found none.',
    { hint: RESTART },
  );
}

export function callbackInvalid(what: string): ClawError {
  return httpError(
    400,
    OAuthErrorCode.CALLBACK_INVALID,
    `Expected a valid authorization response, found ${scrub(what)}.`,
    { hint: RESTART },
  );
}

export function tokenExchangeFailed(
  info: { error?: string | undefined; description?: string | undefined; status?: number | undefined },
  cause?: unknown,
): ClawError {
  const what = info.error
    ? `error "${oauthToken(info.error)}"${info.description ? ` (${scrub(info.description)})` : ''}${info.status ? ` with HTTP ${info.status}` : ''}`
    : scrub(errText(cause));
  return httpError(
    502,
    OAuthErrorCode.TOKEN_EXCHANGE_FAILED,
    `Expected tokens for the authorization code from the token endpoint, got ${what}.`,
    {
      hint:
        info.error === 'invalid_client' || info.error === 'unauthorized_client'
          ? 'check bridge.oauth.clientId / clientSecret against the client registered at the issuer'
          : info.error === 'invalid_grant'
            ? `the code was already used, expired, or its redirect URI differs from the registered one; ${RESTART}`
            : `check that the issuer is reachable, then ${RESTART}`,
      details: { error: info.error, status: info.status },
    },
  );
}

export function idTokenInvalid(what: string): ClawError {
  return httpError(
    400,
    OAuthErrorCode.ID_TOKEN_INVALID,
    `Expected an ID token bound to this login (OIDC Core §3.1.3.7), found ${scrub(what)}.`,
    {
      hint: `${RESTART}; if it keeps failing, the issuer or a proxy is altering the response`,
    },
  );
}

export function subjectNotAllowed(): ClawError {
  return httpError(
    403,
    OAuthErrorCode.SUBJECT_NOT_ALLOWED,
    'Expected an account listed in bridge.oauth.allowedSubjects, found another one; its tokens were discarded.',
    {
      hint: `sign in with an allowed account (${RESTART}), or add the account's subject or e-mail to bridge.oauth.allowedSubjects`,
    },
  );
}

export function keyFileInvalid(path: string, what: string): ClawError {
  return new ClawError(OAuthErrorCode.KEY_FILE_INVALID, `Expected a 32-byte key in ${path}, found ${what}.`, {
    hint: `restore the key file, or delete it (stored OAuth logins are then lost: log in again at ${LOGIN_PATH})`,
    details: { path },
  });
}

export function keyMismatch(source: string): ClawError {
  return new ClawError(
    OAuthErrorCode.KEY_MISMATCH,
    `Expected the store's OAuth data to open with this bridge's key (${source}), it was sealed with another key.`,
    {
      hint: 'give every bridge instance the same bridge.oauth.encryptionKey (CLAW_BYTEROVER_BRIDGE_OAUTH_ENCRYPTION_KEY); if the old key is lost, start once with bridge.oauth.resetOnKeyMismatch=true and log in again',
      details: { source },
    },
  );
}

export function storeCorrupt(what: string): ClawError {
  return new ClawError(
    OAuthErrorCode.STORE_CORRUPT,
    `Expected an intact sealed OAuth record in the bridge store, found ${what}.`,
    {
      hint: `log in again at ${LOGIN_PATH} (it overwrites the record)`,
    },
  );
}

export function refreshTimeout(profile: string, waitedMs: number): ClawError {
  return new ClawError(
    OAuthErrorCode.REFRESH_TIMEOUT,
    `Expected another bridge instance to finish refreshing profile "${profile}" within ${waitedMs} ms, it did not.`,
    {
      hint: 'check the other instances can reach the issuer and the store; the lease expires on its own and the next call retries',
      details: { profile, waitedMs },
    },
  );
}

export function notLoggedIn(profile: string): ClawError {
  return new ClawError(
    AuthErrorCode.NOT_LOGGED_IN,
    `Expected a web login for profile "${profile}" in the bridge store, found none.`,
    {
      hint: `open the bridge's ${LOGIN_PATH} in a browser and sign in`,
      details: { profile },
    },
  );
}

export function reauthRequired(profile: string, reason: string): ClawError {
  return new ClawError(
    AuthErrorCode.REAUTH_REQUIRED,
    `The bridge's login for profile "${profile}" can no longer be refreshed: ${scrub(reason)}.`,
    {
      hint: `open the bridge's ${LOGIN_PATH} in a browser and sign in again`,
      details: { profile },
    },
  );
}

/** An OAuth error code is `%x20-21 / %x23-5B / %x5D-7E` (RFC 6749 §5.2); anything else is cut. */
function oauthToken(s: string): string {
  return s.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '').slice(0, 80) || 'unknown_error';
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function scrub(s: string): string {
  return redactString(s).slice(0, 300);
}
