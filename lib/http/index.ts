/**
 * lib/http: the one HTTP transport every outgoing call uses (ByteRover, claw-api, collectors).
 * See docs/readme/http.md for the behaviour (retries, budget, Retry-After, idempotency, timeouts,
 * logging) and the error codes.
 */
export { createHttpClient } from './client.js';
export {
  DEFAULT_RETRY_POLICY,
  RETRYABLE_STATUSES,
  THROTTLING_STATUSES,
  RetryBudget,
  defaultRetryBudget,
  backoffMs,
  fullJitterMs,
  isIdempotentMethod,
  isThrottlingCode,
  parseRetryAfter,
  retryAfterOf,
  retryWaitMs,
  type RetryBudgetOptions,
} from './retry.js';
export { HttpErrorCode, HTTP_ERROR_HINTS } from './errors.js';
export type {
  HttpClient,
  HttpClientOptions,
  HttpMethod,
  HttpObserver,
  HttpRequest,
  HttpResponse,
  HttpTransport,
  RetryPolicy,
} from './types.js';
