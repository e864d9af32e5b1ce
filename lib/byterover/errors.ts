/**
 * ByteRover's error bodies turned into one typed error.
 *
 * The services answer errors as `{statusCode, code, message, timestamp, details?}`; some endpoints
 * (CoGit commits among them) put the text in `error` instead of `message`. `ByteRoverError` keeps the
 * server's `code` when it is a stable SCREAMING_SNAKE identifier, else `BYTEROVER_HTTP_<status>`.
 */
import { ClawError, type ClawErrorOptions } from '../errors.js';
import { ByteRoverConfigErrorCode } from './config.js';
import { redact, redactString } from '../log/index.js';

export interface ByteRoverErrorOptions extends ClawErrorOptions {
  /** HTTP status, when the failure came with a response. */
  status?: number;
  /** The server's request id (x-request-id), to quote to ByteRover support. */
  requestId?: string;
  /** True when trying the same call again later can succeed (429, 408, 5xx). */
  retryable?: boolean;
  /** Endpoint label, e.g. `cogit.commits`. */
  endpoint?: string;
}

export class ByteRoverError extends ClawError {
  readonly status: number | undefined;
  readonly requestId: string | undefined;
  readonly retryable: boolean;
  readonly endpoint: string | undefined;

  constructor(code: string, message: string, opts: ByteRoverErrorOptions = {}) {
    super(code, message, opts);
    this.name = 'ByteRoverError';
    this.status = opts.status;
    this.requestId = opts.requestId;
    this.retryable = opts.retryable ?? false;
    this.endpoint = opts.endpoint;
  }

  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      ...(this.status !== undefined ? { status: this.status } : {}),
      ...(this.requestId ? { requestId: this.requestId } : {}),
      retryable: this.retryable,
      ...(this.endpoint ? { endpoint: this.endpoint } : {}),
    };
  }
}

export function isByteRoverError(e: unknown, code?: string): e is ByteRoverError {
  return e instanceof ByteRoverError && (code === undefined || e.code === code);
}

/** The parts of an error body the client understands; everything else is ignored. */
export interface ParsedErrorBody {
  code: string | undefined;
  /** `message`, else `error`, else undefined. */
  message: string | undefined;
  /** `error` when it differs from `message` (some endpoints carry the detail there). */
  error: string | undefined;
  details: unknown;
}

export function parseErrorBody(body: unknown): ParsedErrorBody {
  if (typeof body === 'string') {
    const trimmed = body.trim();
    if (trimmed.startsWith('{')) {
      try {
        return parseErrorBody(JSON.parse(trimmed));
      } catch {
        // not JSON: fall through to text
      }
    }
    return {
      code: undefined,
      message: trimmed ? trimmed.slice(0, 500) : undefined,
      error: undefined,
      details: undefined,
    };
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return { code: undefined, message: undefined, error: undefined, details: undefined };
  }
  const o = body as Record<string, unknown>;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v : undefined);
  const message = str(o.message);
  const error = str(o.error);
  return {
    code: typeof o.code === 'string' ? o.code : undefined,
    message: message ?? error,
    error: error !== undefined && error !== message ? error : undefined,
    details: o.details,
  };
}

const STABLE_CODE = /^[A-Z][A-Z0-9_]{1,63}$/;

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || (status >= 500 && status <= 599);
}

export const LOGIN_HINT = 'Run `claw-byterover login` (or `claw-byterover login --api-key <key>`) and try again.';

export function hintForStatus(status: number, requestId: string | undefined): string {
  const quote = requestId ? ` Quote request id ${requestId} if you report it.` : '';
  if (status === 401) return LOGIN_HINT;
  if (status === 403)
    return 'Your account cannot access this team or space: check `claw-byterover teams` and `claw-byterover spaces`, or ask the team owner for access.';
  if (status === 404)
    return 'Check the team and space ids with `claw-byterover teams` and `claw-byterover spaces`, and the branch name.';
  if (status === 409 || status === 412) return 'Someone else changed the same data: pull, then try again.';
  if (status === 429) return `ByteRover is rate-limiting this account: wait a minute, then try again.${quote}`;
  if (status >= 500) return `ByteRover's service failed: try again in a few minutes.${quote}`;
  return `ByteRover rejected the request: check its arguments.${quote}`;
}

/** A ByteRoverError from an HTTP error response. */
export function errorFromResponse(
  res: { status: number; body: unknown; requestId: string | undefined },
  endpoint: string,
  what: string,
): ByteRoverError {
  const parsed = parseErrorBody(res.body);
  const code = parsed.code && STABLE_CODE.test(parsed.code) ? parsed.code : `BYTEROVER_HTTP_${res.status}`;
  const serverText = parsed.message ? redactString(parsed.message) : undefined;
  const extra = parsed.error ? ` (${redactString(parsed.error)})` : '';
  const message =
    `${what}: expected a successful response from ByteRover (${endpoint}), found HTTP ${res.status}` +
    (serverText ? `: ${serverText}${extra}` : extra);
  const details: Record<string, unknown> = { endpoint, status: res.status };
  if (parsed.code !== undefined) details.serverCode = parsed.code;
  if (serverText !== undefined) details.serverMessage = serverText;
  if (parsed.error !== undefined) details.serverError = redactString(parsed.error);
  if (parsed.details !== undefined) details.serverDetails = redact(parsed.details);
  return new ByteRoverError(code, message, {
    status: res.status,
    requestId: res.requestId,
    retryable: isRetryableStatus(res.status),
    endpoint,
    hint: hintForStatus(res.status, res.requestId),
    details,
  });
}

/** Error codes of the ByteRover client itself (API failures carry ByteRover's codes, see above). */
export const ByteRoverErrorCode = {
  ...ByteRoverConfigErrorCode,
  INVALID_ARGUMENT: 'BYTEROVER_INVALID_ARGUMENT',
  INVALID_MEMORY: 'BYTEROVER_INVALID_MEMORY',
  COMMIT_REJECTED: 'BYTEROVER_COMMIT_REJECTED',
  CONFLICT: 'BYTEROVER_CONFLICT',
  UNAUTHORIZED: 'BYTEROVER_UNAUTHORIZED',
  NO_SESSION: 'BYTEROVER_NO_SESSION',
  LEGACY_NOT_CONFIGURED: 'BYTEROVER_LEGACY_NOT_CONFIGURED',
  LEGACY_UNAUTHORIZED: 'BYTEROVER_LEGACY_UNAUTHORIZED',
  BAD_RESPONSE: 'BYTEROVER_BAD_RESPONSE',
} as const;
export type ByteRoverErrorCode = (typeof ByteRoverErrorCode)[keyof typeof ByteRoverErrorCode];
