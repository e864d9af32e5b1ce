/**
 * The auth layer's failures, one constructor per stable code. Messages name what was expected and
 * what was found; hints name the next step. No constructor takes a secret: callers pass only
 * non-secret context (paths, profile names, OAuth error codes, HTTP statuses).
 */
import { ClawError } from '../../errors.js';
import { redactString } from '../../log/redact.js';

export const LOGIN_HINT = 'run `claw-byterover login` (or `claw-byterover login --api-key <key>`)';

export const AuthErrorCode = {
  NOT_LOGGED_IN: 'AUTH_NOT_LOGGED_IN',
  REAUTH_REQUIRED: 'AUTH_REAUTH_REQUIRED',
  STATE_MISMATCH: 'AUTH_STATE_MISMATCH',
  LOGIN_TIMEOUT: 'AUTH_LOGIN_TIMEOUT',
  LOGIN_DENIED: 'AUTH_LOGIN_DENIED',
  LOGIN_CANCELLED: 'AUTH_LOGIN_CANCELLED',
  CALLBACK_LISTEN_FAILED: 'AUTH_CALLBACK_LISTEN_FAILED',
  INSECURE_ISSUER: 'AUTH_INSECURE_ISSUER',
  TOKEN_REQUEST_FAILED: 'AUTH_TOKEN_REQUEST_FAILED',
  API_KEY_INVALID: 'AUTH_API_KEY_INVALID',
  API_KEY_CHECK_FAILED: 'AUTH_API_KEY_CHECK_FAILED',
  STORE_CORRUPT: 'AUTH_STORE_CORRUPT',
  LOCK_TIMEOUT: 'AUTH_LOCK_TIMEOUT',
  PROFILE_INVALID: 'AUTH_PROFILE_INVALID',
  CONFIG_INVALID: 'AUTH_CONFIG_INVALID',
  ABORTED: 'AUTH_ABORTED',
} as const;

export type AuthErrorCodeValue = (typeof AuthErrorCode)[keyof typeof AuthErrorCode];

export function notLoggedIn(profile: string): ClawError {
  return new ClawError(
    AuthErrorCode.NOT_LOGGED_IN,
    `Expected a stored ByteRover credential for profile "${profile}", found none.`,
    { hint: LOGIN_HINT, details: { profile } },
  );
}

export function reauthRequired(profile: string, reason: string, cause?: unknown): ClawError {
  return new ClawError(
    AuthErrorCode.REAUTH_REQUIRED,
    `The stored credential for profile "${profile}" can no longer be refreshed: ${reason}.`,
    { hint: 'run `claw-byterover login` to sign in again', details: { profile, reason }, cause: scrubCause(cause) },
  );
}

export function stateMismatch(): ClawError {
  return new ClawError(
    AuthErrorCode.STATE_MISMATCH,
    'The login callback carried a `state` different from the one this login sent (RFC 6749 §10.12); the response was rejected.',
    { hint: 'start the login again and finish it in the browser tab it opens; close older login tabs first' },
  );
}

export function loginTimeout(timeoutMs: number): ClawError {
  return new ClawError(
    AuthErrorCode.LOGIN_TIMEOUT,
    `Expected the browser to return to the login callback within ${Math.round(timeoutMs / 1000)} s, it did not.`,
    {
      hint: 'run `claw-byterover login` again and open the printed URL; or use `claw-byterover login --api-key <key>`',
      details: { timeoutMs },
    },
  );
}

export function loginDenied(error: string, description: string | undefined): ClawError {
  return new ClawError(
    AuthErrorCode.LOGIN_DENIED,
    `The authorization server answered the login with error "${error}"${description ? ` (${description})` : ''} instead of a code.`,
    {
      hint: 'approve the request in the browser, or check the account has access; then run `claw-byterover login` again',
      details: { error },
    },
  );
}

export function loginCancelled(): ClawError {
  return new ClawError(
    AuthErrorCode.LOGIN_CANCELLED,
    'The login was cancelled before the browser returned to the callback.',
    {
      hint: 'run `claw-byterover login` again when ready',
    },
  );
}

export function callbackListenFailed(host: string, cause: unknown): ClawError {
  return new ClawError(
    AuthErrorCode.CALLBACK_LISTEN_FAILED,
    `Expected to listen for the login callback on ${host} (random port), the listen failed: ${scrubMessage(cause)}.`,
    { hint: 'check that loopback networking works here, or log in with `claw-byterover login --api-key <key>`' },
  );
}

export function insecureIssuer(issuer: string): ClawError {
  return new ClawError(
    AuthErrorCode.INSECURE_ISSUER,
    `Expected an https:// issuer (http:// is allowed only on loopback), found ${issuer}.`,
    { hint: 'set the IAM / issuer URL to its https:// form', details: { issuer } },
  );
}

export interface TokenErrorInfo {
  grant: string;
  error?: string | undefined;
  description?: string | undefined;
  status?: number | undefined;
}

export function tokenRequestFailed(info: TokenErrorInfo, cause?: unknown): ClawError {
  const what = info.error
    ? `error "${info.error}"${info.description ? ` (${info.description})` : ''}${info.status ? ` with HTTP ${info.status}` : ''}`
    : scrubMessage(cause);
  const hint =
    info.error === 'invalid_client' || info.error === 'unauthorized_client'
      ? 'check the client id and secret configured for this grant'
      : info.error === 'invalid_scope' || info.error === 'invalid_target'
        ? 'check the configured scopes / resource against what the issuer allows'
        : 'check that the issuer is reachable and retry; run with CLAW_BYTEROVER_LOG_LEVEL=debug for the request log';
  return new ClawError(
    AuthErrorCode.TOKEN_REQUEST_FAILED,
    `Expected tokens from the token endpoint (${info.grant} grant), got ${what}.`,
    { hint, details: { grant: info.grant, error: info.error, status: info.status }, cause: scrubCause(cause) },
  );
}

export function apiKeyInvalid(status: number): ClawError {
  return new ClawError(
    AuthErrorCode.API_KEY_INVALID,
    `Expected IAM GET /api/v1/user/me to accept the API key, it answered HTTP ${status}.`,
    {
      hint: 'create a new key in the ByteRover web app (Settings → API keys) and run `claw-byterover login --api-key <key>`',
      details: { status },
    },
  );
}

export function apiKeyCheckFailed(what: string, status?: number): ClawError {
  return new ClawError(
    AuthErrorCode.API_KEY_CHECK_FAILED,
    `Expected IAM GET /api/v1/user/me to answer 200 with the user, got ${what}.`,
    { hint: 'check BRV_IAM_BASE_URL and the network, then retry', details: status === undefined ? {} : { status } },
  );
}

export function storeCorrupt(path: string, what: string): ClawError {
  return new ClawError(
    AuthErrorCode.STORE_CORRUPT,
    `Expected an intact encrypted credential at ${path}, found ${what}.`,
    {
      hint: `the file was modified or its key (.token-key) changed; delete ${path} and run \`claw-byterover login\` again`,
      details: { path },
    },
  );
}

export function lockTimeout(lockPath: string, waitedMs: number): ClawError {
  return new ClawError(
    AuthErrorCode.LOCK_TIMEOUT,
    `Expected to take the credential lock ${lockPath} within ${waitedMs} ms, another process still holds it.`,
    {
      hint: `wait for the other claw-byterover process to finish; if none is running, remove the directory ${lockPath}`,
      details: { lockPath, waitedMs },
    },
  );
}

export function profileInvalid(profile: string): ClawError {
  return new ClawError(
    AuthErrorCode.PROFILE_INVALID,
    `Expected a profile name of 1-64 letters, digits, '.', '_' or '-' (not starting with '.'), found "${profile.slice(0, 80)}".`,
    { hint: 'pick a simple profile name such as "default" or "work"' },
  );
}

export function configInvalid(what: string, hint: string): ClawError {
  return new ClawError(AuthErrorCode.CONFIG_INVALID, what, { hint });
}

/** A cause safe to attach: only its name and scrubbed message survive (never a response object). */
function scrubCause(cause: unknown): Error | undefined {
  if (cause === undefined) return undefined;
  const e = new Error(scrubMessage(cause));
  e.name = cause instanceof Error ? cause.name : 'Error';
  return e;
}

function scrubMessage(cause: unknown): string {
  return redactString(cause instanceof Error ? cause.message : String(cause));
}
