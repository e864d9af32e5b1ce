/**
 * The one error type every layer throws. A user-facing failure always carries:
 * - `code`: a stable, SCREAMING_SNAKE identifier (documented in README "Error codes"); callers switch on it;
 * - `message`: what was expected and what was found (never a secret: see lib/log/redact.ts);
 * - `hint`: the next step a user can take.
 * Extra context goes in `details` (plain data, redacted before it is attached).
 * Secrets must never be stored on an error, enumerable or not.
 */
export interface ClawErrorOptions {
  hint?: string;
  details?: Record<string, unknown>;
  cause?: unknown;
  /** Process exit code the CLI uses for this error (see lib/cli/exit.ts). */
  exitCode?: number;
}

export class ClawError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;
  readonly exitCode: number | undefined;

  constructor(code: string, message: string, opts: ClawErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ClawError';
    this.code = code;
    this.hint = opts.hint;
    this.details = opts.details;
    this.exitCode = opts.exitCode;
  }

  /** A plain, JSON-safe view (used by `--json` output and logs). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

export function isClawError(e: unknown, code?: string): e is ClawError {
  return e instanceof ClawError && (code === undefined || e.code === code);
}

/** Message of any thrown value, without assuming it is an Error. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/**
 * Error codes live in registries, one per concern (http/errors.ts, agent/errors.ts, memory/errors.ts,
 * cli/errors.ts, ...); test/unit/errors/registries.test.ts checks that every code thrown is registered
 * and that the README's error tables name only registered codes. The configuration's own codes live
 * here, at the foundation, because every concern validates its part of the one configuration.
 */
export const ConfigErrorCode = {
  INVALID: 'CONFIG_INVALID',
  UNKNOWN_KEY: 'CONFIG_UNKNOWN_KEY',
  SECRET_REFUSED: 'CONFIG_SECRET_REFUSED',
  CLIENT_CREDENTIALS_MISSING: 'CONFIG_CLIENT_CREDENTIALS_MISSING',
} as const;
export type ConfigErrorCode = (typeof ConfigErrorCode)[keyof typeof ConfigErrorCode];
