/** lib/bridge/queue: group commit, the retry schedule and the worker over any JobQueue (store/). */
export { Batcher, type BatcherOptions, type BatcherStats } from './batcher.js';
export { retryDelayMs, exhausted } from './retry.js';
export { QueueWorker, type QueueWorkerOptions, type WorkerStats } from './worker.js';
