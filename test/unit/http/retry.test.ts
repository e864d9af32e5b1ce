/** The retry policy's pure parts: Retry-After parsing, full-jitter backoff, the retry budget. */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_POLICY,
  RetryBudget,
  backoffMs,
  defaultRetryBudget,
  isIdempotentMethod,
  isThrottlingCode,
  parseRetryAfter,
  retryAfterOf,
  retryWaitMs,
} from '../../../lib/http/index.js';

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  it('reads delta-seconds, including fractional ones', () => {
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
  });
  it('reads an HTTP-date relative to now, never negative', () => {
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now)).toBe(0);
  });
  it('ignores absent and unparseable values', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('2025', now)).toBe(2_025_000); // digits are seconds, not a year
    expect(parseRetryAfter('Wed, 99 Foo 2025 00:00:30 GMT', now)).toBeUndefined();
  });
});

describe('retryAfterOf', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  it('prefers a valid retry-after-ms, falls back to Retry-After, keeps the raw value', () => {
    expect(retryAfterOf({ 'retry-after-ms': '250', 'retry-after': '9' }, now)).toEqual({ ms: 250, raw: '250 ms' });
    expect(retryAfterOf({ 'retry-after-ms': 'soon', 'retry-after': '9' }, now)).toEqual({ ms: 9000, raw: '9' });
    expect(retryAfterOf({ 'retry-after': 'Wed, 01 Jan 2025 00:00:05 GMT' }, now)).toEqual({
      ms: 5000,
      raw: 'Wed, 01 Jan 2025 00:00:05 GMT',
    });
    expect(retryAfterOf({}, now)).toBeUndefined();
  });
});

describe('full-jitter backoff (AWS standard mode)', () => {
  const p = DEFAULT_RETRY_POLICY;
  it('has the AWS defaults', () => {
    expect(p).toEqual({ maxAttempts: 3, baseMs: 100, throttledBaseMs: 500, maxWaitMs: 20_000 });
  });
  it('is random · min(cap, base · 2^retry)', () => {
    expect(backoffMs(p, 0, false, () => 0.5)).toBe(50);
    expect(backoffMs(p, 1, false, () => 0.5)).toBe(100);
    expect(backoffMs(p, 3, false, () => 0.999)).toBe(799);
    expect(backoffMs(p, 0, true, () => 0.5)).toBe(250);
    expect(backoffMs(p, 2, true, () => 0.5)).toBe(1000);
    expect(backoffMs(p, 0, false, () => 0)).toBe(0);
  });
  it('caps each computed wait at maxWaitMs', () => {
    expect(backoffMs(p, 20, true, () => 0.999)).toBeLessThan(20_000);
    expect(backoffMs(p, 20, true, () => 0.5)).toBe(10_000);
  });
  it('spreads waits over the whole interval (jitter, not a fixed delay)', () => {
    const waits = Array.from({ length: 2000 }, () => backoffMs(p, 2, false));
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...waits)).toBeLessThan(400);
    expect(new Set(waits).size).toBeGreaterThan(100);
    expect(waits.filter((w) => w < 200).length).toBeGreaterThan(600);
    expect(waits.filter((w) => w >= 200).length).toBeGreaterThan(600);
  });
  it('lets a larger Retry-After win, untruncated, and a smaller one lose', () => {
    expect(retryWaitMs(40, 120_000)).toBe(120_000);
    expect(retryWaitMs(400, 100)).toBe(400);
    expect(retryWaitMs(400, undefined)).toBe(400);
  });
});

describe('retryable methods and throttling codes', () => {
  it('treats GET/HEAD/OPTIONS/PUT/DELETE as idempotent, POST/PATCH not', () => {
    for (const m of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']) expect(isIdempotentMethod(m)).toBe(true);
    for (const m of ['POST', 'PATCH']) expect(isIdempotentMethod(m)).toBe(false);
  });
  it('knows the AWS throttling codes and x-amzn-errortype form', () => {
    expect(isThrottlingCode('ThrottlingException')).toBe(true);
    expect(isThrottlingCode('slowdown')).toBe(true);
    expect(isThrottlingCode('ThrottlingException:http://internal.amazon.com/coral/')).toBe(true);
    expect(isThrottlingCode('ValidationException')).toBe(false);
    expect(isThrottlingCode(42)).toBe(false);
  });
});

describe('RetryBudget (AWS retry quota)', () => {
  it('starts full with the AWS costs', () => {
    const b = new RetryBudget();
    expect([b.capacity, b.retryCost, b.timeoutRetryCost, b.successRefund, b.available]).toEqual([500, 5, 10, 1, 500]);
  });
  it('pays capacity/retryCost retries, then refuses', () => {
    const b = new RetryBudget({ capacity: 500 });
    let paid = 0;
    while (b.acquire(false) !== false) paid++;
    expect(paid).toBe(100);
    expect(b.available).toBe(0);
    expect(b.acquire(false)).toBe(false);
  });
  it('charges timeouts double', () => {
    const b = new RetryBudget({ capacity: 25 });
    expect(b.acquire(true)).toBe(10);
    expect(b.acquire(true)).toBe(10);
    expect(b.acquire(true)).toBe(false);
    expect(b.acquire(false)).toBe(5);
    expect(b.available).toBe(0);
  });
  it('refunds the last retry cost after a retried success, 1 after a clean one, never above capacity', () => {
    const b = new RetryBudget({ capacity: 20 });
    b.acquire(true);
    expect(b.available).toBe(10);
    b.recordSuccess(10);
    expect(b.available).toBe(20);
    b.recordSuccess(undefined);
    expect(b.available).toBe(20);
    b.acquire(false);
    b.recordSuccess(undefined);
    expect(b.available).toBe(16);
  });
  it('rejects nonsense settings', () => {
    expect(() => new RetryBudget({ capacity: -1 })).toThrow(RangeError);
    expect(() => new RetryBudget({ retryCost: Number.NaN })).toThrow(RangeError);
  });
  it('has one process-wide default instance', async () => {
    const again = await import('../../../lib/http/retry.js');
    expect(again.defaultRetryBudget).toBe(defaultRetryBudget);
    expect((globalThis as Record<symbol, unknown>)[Symbol.for('claw-byterover.http.defaultRetryBudget')]).toBe(
      defaultRetryBudget,
    );
  });
});
