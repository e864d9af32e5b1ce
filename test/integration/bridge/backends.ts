/**
 * The store backends every bridge store test runs against, on real servers: SQLite (a temp file),
 * PostgreSQL (test/servers/postgres.ts) and PostgreSQL state + Redis queue through BullMQ
 * (test/servers/redis.ts). Each `open` gives a fresh, isolated store (new file / schema / queue name);
 * `openPeer` opens a second instance on the same data, as a second bridge process would.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BullMqQueue,
  composeStore,
  PostgresStore,
  SqliteStore,
  type BridgeStore,
  type QueuePolicy,
} from '../../../lib/bridge/store/index.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../../servers/postgres.js';
import { redisMissing, startRedis, type RedisServer } from '../../servers/redis.js';

export interface Backend {
  name: string;
  /** Reason to skip (tool missing locally); in CI a missing tool throws instead. */
  skip: string | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A fresh store; `openPeer()` opens another instance over the same data. */
  open(policy?: Partial<QueuePolicy>): Promise<{ store: BridgeStore; openPeer(): Promise<BridgeStore> }>;
}

const uniq = (): string => randomBytes(5).toString('hex');

export function sqliteBackend(): Backend {
  let dir = '';
  return {
    name: 'sqlite',
    skip: undefined,
    async start() {
      dir = mkdtempSync(join(tmpdir(), 'claw-bridge-store-'));
    },
    async stop() {
      rmSync(dir, { recursive: true, force: true });
    },
    async open(policy) {
      const path = join(dir, `${uniq()}.db`);
      const opts = { path, ...(policy ? { policy } : {}) };
      return { store: await SqliteStore.open(opts), openPeer: () => SqliteStore.open(opts) };
    },
  };
}

let pgServer: PostgresServer | undefined;
let pgUsers = 0;
async function sharedPostgres(): Promise<PostgresServer> {
  pgUsers++;
  pgServer ??= await startPostgres();
  return pgServer;
}
async function releasePostgres(): Promise<void> {
  if (--pgUsers === 0 && pgServer) {
    await pgServer.close();
    pgServer = undefined;
  }
}

export function postgresBackend(): Backend {
  let url = '';
  return {
    name: 'postgres',
    skip: postgresMissing(),
    async start() {
      url = (await sharedPostgres()).url;
    },
    stop: releasePostgres,
    async open(policy) {
      const opts = { url, schema: `t_${uniq()}`, ...(policy ? { policy } : {}) };
      return { store: await PostgresStore.open(opts), openPeer: () => PostgresStore.open(opts) };
    },
  };
}

export function postgresRedisBackend(): Backend {
  let url = '';
  let redis: RedisServer | undefined;
  return {
    name: 'postgres+redis',
    skip: postgresMissing() ?? redisMissing(),
    async start() {
      url = (await sharedPostgres()).url;
      redis = await startRedis();
    },
    async stop() {
      await redis?.close();
      await releasePostgres();
    },
    async open(policy) {
      const schema = `t_${uniq()}`;
      const name = `q-${uniq()}`;
      const make = async (): Promise<BridgeStore> => {
        const pg = await PostgresStore.open({ url, schema, ...(policy ? { policy } : {}) });
        const queue = await BullMqQueue.open({
          url: redis!.url,
          dedupe: pg.dedupe,
          name,
          ...(policy ? { policy } : {}),
        });
        return composeStore(pg, queue);
      };
      return { store: await make(), openPeer: make };
    },
  };
}

export const allBackends = (): Backend[] => [sqliteBackend(), postgresBackend(), postgresRedisBackend()];
