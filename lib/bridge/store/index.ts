/**
 * lib/bridge/store: the one storage interface of the bridge (types.ts) and its backends.
 * `openStore` turns the validated `bridge.store` config into a BridgeStore:
 *   - `sqlite` (default): state and queue in one SQLite file (one machine, one bridge);
 *   - `postgres`: state and queue in PostgreSQL (several bridges);
 *   - `postgres` + `redisUrl`: state in PostgreSQL, queue in Redis through BullMQ (several bridges,
 *     queue throughput beyond what one database takes).
 */
import { join } from 'node:path';
import type { Logger } from '../../log/index.js';
import type { StoreConfig } from '../config.js';
import { BullMqQueue } from './bullmq.js';
import { PostgresStore } from './postgres.js';
import { SqliteStore } from './sqlite.js';
import type { BridgeStore, JobQueue, QueuePolicy, StateStore } from './types.js';

export * from './types.js';
export { SqliteStore, type SqliteStoreOptions } from './sqlite.js';
export { PostgresStore, type PostgresStoreOptions } from './postgres.js';
export { BullMqQueue, bullJobId, type BullMqQueueOptions } from './bullmq.js';

export interface OpenStoreOptions {
  /** Directory for the default SQLite file (`bridge.db`). */
  dataDir: string;
  policy?: Partial<QueuePolicy>;
  logger?: Logger;
  now?: () => number;
}

export async function openStore(config: StoreConfig, opts: OpenStoreOptions): Promise<BridgeStore> {
  if (config.kind === 'sqlite') {
    return SqliteStore.open({
      path: config.path ?? join(opts.dataDir, 'bridge.db'),
      durability: config.durability,
      ...(opts.policy ? { policy: opts.policy } : {}),
      ...(opts.now ? { now: opts.now } : {}),
    });
  }
  const log = opts.logger;
  const pg = await PostgresStore.open({
    url: config.url,
    schema: config.schema,
    ...(opts.policy ? { policy: opts.policy } : {}),
    onPoolError: (e) => log?.warn({ err: e.message }, 'bridge store: PostgreSQL connection error'),
  });
  if (!config.redisUrl) return pg;
  let queue: BullMqQueue;
  try {
    queue = await BullMqQueue.open({
      url: config.redisUrl,
      dedupe: pg.dedupe,
      name: config.queueName,
      prefix: config.redisPrefix,
      ...(opts.policy ? { policy: opts.policy } : {}),
      ...(opts.now ? { now: opts.now } : {}),
      onError: (e) => log?.warn({ err: e.message }, 'bridge queue: Redis error'),
    });
  } catch (e) {
    await pg.close();
    throw e;
  }
  return composeStore(pg, queue);
}

/** A BridgeStore from a state store and a queue held elsewhere. */
export function composeStore(state: StateStore, queue: JobQueue): BridgeStore {
  return {
    state,
    queue,
    async close() {
      await queue.close();
      await state.close();
    },
  };
}
