/**
 * The retry policy of the one transport, modelled on the AWS SDK v3 "standard" retry strategy:
 * - at most `maxAttempts` attempts (3), only for retryable outcomes (408, 429, 500, 502, 503, 504,
 *   network errors, per-attempt timeouts) of requests that are safe to repeat;
 * - full-jitter backoff `random · min(maxWaitMs, base · 2^retry)` with base 100 ms, or 500 ms when
 *   the server throttled us;
 * - `Retry-After` (delta-seconds or HTTP-date) wins when it is larger than the computed wait, and is
 *   never truncated: when it does not fit in the remaining deadline the call fails instead;
 * - a process-wide retry budget (AWS "retry quota"): a token bucket that every retry draws from and
 *   every success refills, so an outage cannot turn into a retry storm.
 * Pure functions and one small class; the client in client.ts applies them.
 */
import type { HttpMethod, RetryPolicy } from './types.js';

/** AWS SDK v3 standard-mode defaults. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 3,
  baseMs: 100,
  throttledBaseMs: 500,
  maxWaitMs: 20_000,
});

/** Statuses worth another attempt: request timeout, throttling and transient server failures. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/** Statuses that mean "slow down" by themselves (the larger throttled base applies). */
export const THROTTLING_STATUSES: ReadonlySet<number> = new Set([429, 503]);

/** Methods RFC 9110 §9.2.2 defines as idempotent (TRACE is never sent by this client). */
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/**
 * Error codes servers use for throttling (AWS SDK v3 `THROTTLING_ERROR_CODES`, plus the common
 * REST spellings). Compared case-insensitively against the body's `code`/`error`/`__type`.
 */
const THROTTLING_CODES: ReadonlySet<string> = new Set(
  [
    'Throttling',
    'ThrottlingException',
    'ThrottledException',
    'RequestThrottledException',
    'TooManyRequestsException',
    'ProvisionedThroughputExceededException',
    'TransactionInProgressException',
    'RequestLimitExceeded',
    'BandwidthLimitExceeded',
    'LimitExceededException',
    'RequestThrottled',
    'SlowDown',
    'PriorRequestNotComplete',
    'EC2ThrottledException',
    'TooManyRequests',
    'too_many_requests',
    'rate_limited',
    'rate_limit_exceeded',
    'RATE_LIMITED',
    'RATE_LIMIT_EXCEEDED',
    'THROTTLED',
  ].map((c) => c.toLowerCase()),
);

export function isIdempotentMethod(method: HttpMethod | string): boolean {
  return IDEMPOTENT_METHODS.has(method);
}

/** True when `code` (from an error body or `x-amzn-errortype`) is a known throttling code. */
export function isThrottlingCode(code: unknown): boolean {
  if (typeof code !== 'string' || code.length === 0) return false;
  // x-amzn-errortype looks like "ThrottlingException:http://internal.amazon.com/..."
  const colon = code.indexOf(':');
  return THROTTLING_CODES.has((colon > 0 ? code.slice(0, colon) : code).toLowerCase());
}

/** Throttling code found in a parsed error body (`code`, `error`, `__type`, `errorCode`), if any. */
export function throttlingCodeOf(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  for (const field of ['code', 'error', '__type', 'errorCode']) {
    const v = b[field];
    if (isThrottlingCode(v)) return v as string;
  }
  return undefined;
}

/**
 * Milliseconds the server asked us to wait, from a `Retry-After` value (RFC 9110 §10.2.3): either
 * delta-seconds (`"120"`; fractional seconds are accepted) or an HTTP-date
 * (`"Wed, 21 Oct 2015 07:28:00 GMT"`, measured against `now`). A date in the past means 0.
 * Returns undefined when the value is absent or unparseable (then only the computed backoff applies).
 */
export function parseRetryAfter(value: string | undefined | null, now: number = Date.now()): number | undefined {
  if (value === undefined || value === null) return undefined;
  const v = value.trim();
  if (v.length === 0) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.ceil(Number(v) * 1000);
  // An HTTP-date always names a weekday and a GMT time; refuse anything else Date.parse might accept.
  if (!/[A-Za-z]{3}/.test(v) || !/\d{1,2}:\d{2}:\d{2}/.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * The server's requested wait from response headers: `retry-after-ms` (milliseconds, used by some
 * APIs for sub-second precision) when valid, else `Retry-After`. `raw` is the value as sent, for
 * messages. Undefined when neither header is present and parseable.
 */
export function retryAfterOf(
  headers: Record<string, string | undefined>,
  now: number = Date.now(),
): { ms: number; raw: string } | undefined {
  const ms = headers['retry-after-ms']?.trim();
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms)) return { ms: Math.ceil(Number(ms)), raw: `${ms} ms` };
  const value = headers['retry-after'];
  const parsed = parseRetryAfter(value, now);
  return parsed === undefined ? undefined : { ms: parsed, raw: (value as string).trim() };
}

/**
 * "Full jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter"): a uniformly random delay
 * in [0, min(capMs, baseMs · 2^exponent)), in whole ms; the exponent is clamped to 0..30. The one
 * backoff of the project: the transport's retries (backoffMs) and the bridge queue's redeliveries
 * (bridge/queue/retry.ts) both use it.
 */
export function fullJitterMs(
  baseMs: number,
  capMs: number,
  exponent: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, Math.min(exponent, 30)));
  return Math.floor(random() * ceiling);
}

/**
 * Full-jitter backoff before retry number `retry` (0 for the first retry):
 * `random · min(maxWaitMs, base · 2^retry)`, base = throttledBaseMs when throttled.
 */
export function backoffMs(
  policy: RetryPolicy,
  retry: number,
  throttled: boolean,
  random: () => number = Math.random,
): number {
  return fullJitterMs(throttled ? policy.throttledBaseMs : policy.baseMs, policy.maxWaitMs, retry, random);
}

/**
 * The wait before the next attempt: the computed backoff, or the server's Retry-After when that is
 * larger (never truncated to maxWaitMs: a server that says "come back in 120 s" means it).
 */
export function retryWaitMs(backoff: number, retryAfterMs: number | undefined): number {
  return retryAfterMs !== undefined && retryAfterMs > backoff ? retryAfterMs : backoff;
}

export interface RetryBudgetOptions {
  /** Tokens in a full bucket (AWS: 500). */
  capacity?: number;
  /** Tokens a retry costs (AWS: 5). */
  retryCost?: number;
  /** Tokens a retry after a timeout costs (AWS: 10). */
  timeoutRetryCost?: number;
  /** Tokens a success without retry refunds (AWS: 1). */
  successRefund?: number;
}

/**
 * A token bucket shared by every call that uses it (AWS SDK "retry quota"). A retry draws
 * `retryCost` (or `timeoutRetryCost` after a timeout); when the bucket cannot pay, the retry does not
 * happen and the call fails fast. A call that succeeds after retrying refunds what its last retry
 * cost; a call that succeeds at once refunds `successRefund`. Never above capacity.
 *
 * So under a fully failing upstream a full bucket pays for at most `capacity / retryCost` retries
 * (100 with the defaults) before every further call makes exactly one attempt, until successes
 * refill it.
 */
export class RetryBudget {
  readonly capacity: number;
  readonly retryCost: number;
  readonly timeoutRetryCost: number;
  readonly successRefund: number;
  #tokens: number;

  constructor(opts: RetryBudgetOptions = {}) {
    this.capacity = opts.capacity ?? 500;
    this.retryCost = opts.retryCost ?? 5;
    this.timeoutRetryCost = opts.timeoutRetryCost ?? 10;
    this.successRefund = opts.successRefund ?? 1;
    for (const [name, v] of Object.entries({
      capacity: this.capacity,
      retryCost: this.retryCost,
      timeoutRetryCost: this.timeoutRetryCost,
      successRefund: this.successRefund,
    })) {
      if (!Number.isFinite(v) || v < 0)
        throw new RangeError(`RetryBudget ${name} must be a finite number ≥ 0, got ${v}`);
    }
    this.#tokens = this.capacity;
  }

  /** Tokens currently available. */
  get available(): number {
    return this.#tokens;
  }

  /**
   * Takes the tokens for one retry. Returns the cost taken, or `false` when the bucket cannot pay
   * (the caller must then not retry; compare with `=== false`, a zero-cost budget returns 0).
   */
  acquire(afterTimeout: boolean): number | false {
    const cost = afterTimeout ? this.timeoutRetryCost : this.retryCost;
    if (cost > this.#tokens) return false;
    this.#tokens -= cost;
    return cost;
  }

  /**
   * Records a successful call. `lastRetryCost` is what its last retry cost (refunded in full), or
   * undefined for a success at the first attempt (refunds `successRefund`).
   */
  recordSuccess(lastRetryCost: number | undefined): void {
    const refund = lastRetryCost ?? this.successRefund;
    this.#tokens = Math.min(this.capacity, this.#tokens + refund);
  }

  /** Refills the bucket (tests, or after an operator confirmed an outage is over). */
  reset(): void {
    this.#tokens = this.capacity;
  }
}

const BUDGET_KEY = Symbol.for('claw-byterover.http.defaultRetryBudget');

/**
 * The process-wide budget every client uses unless given its own. Kept on globalThis so two copies
 * of this module in one process (a bundled and an unbundled one) still share one bucket.
 */
export const defaultRetryBudget: RetryBudget = (() => {
  const g = globalThis as Record<symbol, unknown>;
  const existing = g[BUDGET_KEY];
  if (existing instanceof RetryBudget) return existing;
  if (existing && typeof existing === 'object' && 'acquire' in existing) return existing as RetryBudget;
  const created = new RetryBudget();
  g[BUDGET_KEY] = created;
  return created;
})();
