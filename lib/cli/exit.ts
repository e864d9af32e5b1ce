/**
 * Process exit codes of `claw-byterover`, one per kind of failure a script may want to branch on.
 * The table is the contract (documented in docs/readme/cli.md); codes never change meaning.
 *
 * An error picks its exit code in this order: `ClawError.exitCode` when the thrower set one, then
 * its stable `code` by pattern, then the HTTP status it carries (`status` / `details.status`), then
 * its `cause`'s exit code.
 */
import { isClawError } from '../errors.js';

export const ExitCode = {
  /** Success. */
  OK: 0,
  /** Any failure not covered below (a bug, an unexpected server answer, a local I/O error). */
  FAILURE: 1,
  /** The command line is wrong: unknown command or option, missing or invalid argument. */
  USAGE: 2,
  /** Not logged in, or the credential was rejected / expired and cannot be refreshed. */
  AUTH: 3,
  /** The server could not be reached or is unavailable: network error, timeout, 5xx, rate limit. */
  UNAVAILABLE: 4,
  /** The server refused a change because the remote moved on (stale SHA) or a local change would be lost. */
  CONFLICT: 5,
  /** Something named does not exist (team, space, branch, file), or the configuration is invalid. */
  NOT_FOUND: 6,
  /** `doctor`: at least one check failed (the report says which and what to do). */
  CHECK_FAILED: 7,
  /** Interrupted by the user (Ctrl-C / SIGINT), or the operation was aborted. */
  INTERRUPTED: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Each exit code with a short label (help text) and its meaning, in the documented order. */
export const EXIT_CODE_TABLE: ReadonlyArray<{
  code: ExitCodeValue;
  name: keyof typeof ExitCode;
  short: string;
  meaning: string;
}> = [
  { code: 0, name: 'OK', short: 'ok', meaning: 'success' },
  { code: 1, name: 'FAILURE', short: 'failure', meaning: 'generic failure (unexpected answer, local I/O error, bug)' },
  {
    code: 2,
    name: 'USAGE',
    short: 'usage',
    meaning: 'usage error: unknown command/option, missing or invalid argument',
  },
  { code: 3, name: 'AUTH', short: 'auth', meaning: 'authentication required, invalid, expired or not refreshable' },
  {
    code: 4,
    name: 'UNAVAILABLE',
    short: 'network/unavailable',
    meaning: 'network error, timeout, server unavailable (5xx) or rate limited',
  },
  {
    code: 5,
    name: 'CONFLICT',
    short: 'conflict',
    meaning: 'conflict: the remote changed (stale SHA) or local work would be overwritten',
  },
  {
    code: 6,
    name: 'NOT_FOUND',
    short: 'not found/config',
    meaning: 'not found (team, space, branch, file) or invalid configuration',
  },
  { code: 7, name: 'CHECK_FAILED', short: 'check failed', meaning: '`doctor`: at least one check failed' },
  { code: 130, name: 'INTERRUPTED', short: 'interrupted', meaning: 'interrupted (SIGINT) or aborted' },
];

/** Codes whose family pattern below would pick the wrong exit code. */
const EXACT: Record<string, ExitCodeValue> = {
  AUTH_LOCK_TIMEOUT: ExitCode.FAILURE,
  AUTH_CALLBACK_LISTEN_FAILED: ExitCode.FAILURE,
  AUTH_PROFILE_INVALID: ExitCode.USAGE,
  AUTH_INSECURE_ISSUER: ExitCode.NOT_FOUND,
  AUTH_CONFIG_INVALID: ExitCode.NOT_FOUND,
  AUTH_API_KEY_CHECK_FAILED: ExitCode.UNAVAILABLE,
};

/** Families of codes, first match wins. */
const BY_PATTERN: Array<[RegExp, ExitCodeValue]> = [
  [/^CLI_USAGE$|^CLI_INVALID_ARGUMENT$/, ExitCode.USAGE],
  [/ABORTED$|INTERRUPTED$|CANCELL?ED$/, ExitCode.INTERRUPTED],
  [/(^|_)CONFIG_|NOT_FOUND$/, ExitCode.NOT_FOUND],
  [/^AUTH_|UNAUTHORI[SZ]ED|FORBIDDEN|INVALID_TOKEN|NO_SESSION|NOT_LOGGED_IN/, ExitCode.AUTH],
  [/CONFLICT|STALE/, ExitCode.CONFLICT],
  [
    /^HTTP_(NETWORK|TIMEOUT|DEADLINE_EXCEEDED|RETRY_AFTER_EXCEEDS_DEADLINE|RETRY_BUDGET_EXHAUSTED)$|UNAVAILABLE|RATE_LIMITED|TOO_MANY_REQUESTS|NETWORK/,
    ExitCode.UNAVAILABLE,
  ],
];

function statusOf(e: unknown): number | undefined {
  if (!e || typeof e !== 'object') return undefined;
  const direct = (e as { status?: unknown }).status;
  if (typeof direct === 'number') return direct;
  const details = (e as { details?: unknown }).details;
  if (details && typeof details === 'object') {
    const s = (details as { status?: unknown }).status;
    if (typeof s === 'number') return s;
  }
  return undefined;
}

/** Exit code for an HTTP status a server answered with, or undefined for one that says nothing. */
export function exitCodeForStatus(status: number): ExitCodeValue | undefined {
  if (status === 401 || status === 403) return ExitCode.AUTH;
  if (status === 404) return ExitCode.NOT_FOUND;
  if (status === 409 || status === 412) return ExitCode.CONFLICT;
  if (status === 408 || status === 429 || status >= 500) return ExitCode.UNAVAILABLE;
  return undefined;
}

/** Exit code for a stable error code (see the table above). */
export function exitCodeForErrorCode(code: string): ExitCodeValue {
  const exact = EXACT[code];
  if (exact !== undefined) return exact;
  for (const [re, exit] of BY_PATTERN) if (re.test(code)) return exit;
  return ExitCode.FAILURE;
}

/**
 * The exit code a thrown value maps to. A wrapper error whose own code says nothing specific (e.g.
 * MEMORY_PUSH_FAILED around BYTEROVER_CONFLICT) takes the exit code of its `cause`.
 */
export function exitCodeFor(e: unknown, depth = 0): ExitCodeValue {
  if (isClawError(e) && e.exitCode !== undefined) return e.exitCode as ExitCodeValue;
  const code = e && typeof e === 'object' ? (e as { code?: unknown }).code : undefined;
  if (typeof code === 'string') {
    const byCode = exitCodeForErrorCode(code);
    if (byCode !== ExitCode.FAILURE) return byCode;
  }
  const status = statusOf(e);
  const byStatus = status === undefined ? undefined : exitCodeForStatus(status);
  if (byStatus !== undefined) return byStatus;
  const cause = e instanceof Error ? e.cause : undefined;
  if (cause !== undefined && depth < 5) return exitCodeFor(cause, depth + 1);
  return ExitCode.FAILURE;
}
