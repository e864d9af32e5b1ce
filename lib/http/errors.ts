/**
 * The transport's error codes. Every one is thrown as a ClawError whose message names what was
 * expected and what was found, whose hint says what to do next, and whose fields carry no secret:
 * URLs appear without their query string, no header value or request body is ever attached, and
 * every message passes through the call's scrubber (see client.ts `Call.scrub`).
 */
import { ClawError } from '../errors.js';

export const HttpErrorCode = {
  /** One attempt took longer than its per-attempt timeout (after any retries it was allowed). */
  TIMEOUT: 'HTTP_TIMEOUT',
  /** The overall deadline across all attempts and waits passed. */
  DEADLINE_EXCEEDED: 'HTTP_DEADLINE_EXCEEDED',
  /** The server's Retry-After asks for a wait longer than the time left before the deadline. */
  RETRY_AFTER_EXCEEDS_DEADLINE: 'HTTP_RETRY_AFTER_EXCEEDS_DEADLINE',
  /** A retry was needed but the process-wide retry budget is empty and no response was received. */
  RETRY_BUDGET_EXHAUSTED: 'HTTP_RETRY_BUDGET_EXHAUSTED',
  /** Connection refused/reset, DNS failure, TLS failure, socket closed mid-response. */
  NETWORK: 'HTTP_NETWORK',
  /** The caller's AbortSignal fired. */
  ABORTED: 'HTTP_ABORTED',
  /** The request could not be built (bad URL, bad header, unsupported body). Never retried. */
  INVALID_REQUEST: 'HTTP_INVALID_REQUEST',
  /** A 2xx response announced JSON but its body is not valid JSON. */
  INVALID_RESPONSE: 'HTTP_INVALID_RESPONSE',
  /** The response body exceeded `maxResponseBytes`. */
  RESPONSE_TOO_LARGE: 'HTTP_RESPONSE_TOO_LARGE',
  /** `request()` was called after `close()`. */
  CLIENT_CLOSED: 'HTTP_CLIENT_CLOSED',
} as const;
export type HttpErrorCode = (typeof HttpErrorCode)[keyof typeof HttpErrorCode];

/** The next step for each code (also documented in docs/readme/http.md). */
export const HTTP_ERROR_HINTS: Readonly<Record<HttpErrorCode, string>> = Object.freeze({
  HTTP_TIMEOUT:
    'The server did not answer in time. Check that it is up and not overloaded, or raise the per-attempt timeout (timeoutMs).',
  HTTP_DEADLINE_EXCEEDED:
    'The call ran out of its overall time budget. Retry later, or raise deadlineMs if the operation is legitimately slow.',
  HTTP_RETRY_AFTER_EXCEEDS_DEADLINE:
    'The server asked us to come back later than this call can wait. Wait for the Retry-After period before trying again, or raise deadlineMs.',
  HTTP_RETRY_BUDGET_EXHAUSTED:
    'Too many recent requests failed, so retries are paused process-wide to avoid a retry storm. Check the upstream service status; retries resume as calls succeed.',
  HTTP_NETWORK:
    'Could not reach the server. Check the URL, your network, proxy and DNS settings, and that the service is running.',
  HTTP_ABORTED: 'The operation was cancelled by the caller; nothing to fix unless the cancellation was unexpected.',
  HTTP_INVALID_REQUEST:
    'The request could not be built. Check the URL (http/https, no credentials in it), header names and values, and the body type.',
  HTTP_INVALID_RESPONSE:
    'The server answered with a body that does not match its content type. Check that the base URL points at the right service.',
  HTTP_RESPONSE_TOO_LARGE:
    'The response was larger than allowed. Raise maxResponseBytes if the size is expected, or request a smaller page.',
  HTTP_CLIENT_CLOSED: 'The HTTP client was closed. Create a new client (createHttpClient) for further requests.',
});

export function httpError(
  code: HttpErrorCode,
  message: string,
  details: Record<string, unknown>,
  cause?: unknown,
): ClawError {
  return new ClawError(code, message, {
    hint: HTTP_ERROR_HINTS[code],
    details,
    ...(cause === undefined ? {} : { cause }),
  });
}
