/**
 * The bridge queue's one retry schedule: the transport's full-jitter backoff (http/retry.ts
 * fullJitterMs), a uniformly random delay in [0, min(cap, base·2^(attempt-1))], so retries of many
 * failed jobs spread out instead of hitting a recovering dependency together.
 */
import { fullJitterMs } from '../../http/index.js';
import type { QueuePolicy } from '../store/types.js';

/** Delay before delivery `attempt + 1` after delivery `attempt` (1-based) failed, in ms. */
export function retryDelayMs(
  attempt: number,
  policy: Pick<QueuePolicy, 'retryBaseMs' | 'retryCapMs'>,
  random: () => number = Math.random,
): number {
  return fullJitterMs(policy.retryBaseMs, policy.retryCapMs, attempt - 1, random);
}

/** True when a job that just failed its `attempt`-th delivery has no delivery left. */
export function exhausted(attempt: number, policy: Pick<QueuePolicy, 'maxAttempts'>): boolean {
  return attempt >= policy.maxAttempts;
}
