/**
 * Shared set-up for the ByteRover client tests: the stand-in cloud, the real lib/http transport (own
 * retry budget, jitter-free so tests do not sleep on backoff), and a session provider whose keys the
 * test controls.
 */
import { Writable } from 'node:stream';
import { afterEach } from 'vitest';
import {
  createByteRoverClient,
  type ByteRoverClient,
  type ByteRoverClientOptions,
} from '../../../lib/byterover/index.js';
import type { SessionProvider } from '../../../lib/byterover/auth/types.js';
import { RetryBudget, createHttpClient, type HttpClient, type HttpClientOptions } from '../../../lib/http/index.js';
import { createLogger, type Logger } from '../../../lib/log/index.js';
import {
  DEFAULT_SESSION_KEY,
  startByteRoverStandin,
  type ByteRoverStandin,
  type StandinOptions,
} from '../../standin/byterover.js';

/**
 * A SessionProvider over a fixed list of keys: `sessionKey()` gives the current one; `onUnauthorized`
 * records the rejected key and moves to the next key when `renew` allows and one is left.
 */
export class KeyListSession implements SessionProvider {
  index = 0;
  readonly rejected: string[] = [];
  constructor(
    readonly keys: string[],
    readonly renew = true,
  ) {}
  async sessionKey(): Promise<string> {
    return this.keys[this.index] as string;
  }
  async onUnauthorized(rejectedKey: string): Promise<boolean> {
    this.rejected.push(rejectedKey);
    if (!this.renew || this.index + 1 >= this.keys.length) return false;
    this.index++;
    return true;
  }
}

export interface Rig {
  standin: ByteRoverStandin;
  http: HttpClient;
  client: ByteRoverClient;
  session: SessionProvider;
  /** Every log line written through the rig's logger (JSON text). */
  logs: string[];
  logger: Logger;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

export async function rig(
  o: {
    standin?: StandinOptions;
    session?: SessionProvider;
    http?: HttpClientOptions;
    client?: Partial<Omit<ByteRoverClientOptions, 'http' | 'session'>>;
  } = {},
): Promise<Rig> {
  const standin = await startByteRoverStandin(o.standin);
  cleanups.push(() => standin.close());
  const logs: string[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk));
        cb();
      },
    }),
  });
  const http = createHttpClient({ logger, budget: new RetryBudget(), random: () => 0, ...o.http });
  cleanups.push(() => http.close());
  const session = o.session ?? new KeyListSession([DEFAULT_SESSION_KEY]);
  const client = createByteRoverClient({
    http,
    session,
    logger,
    ...o.client,
    config: { ...standin.clientConfig(), ...(o.client?.config ?? {}) },
  });
  return { standin, http, client, session, logs, logger };
}

/** A rig with one team and one space in it. */
export async function rigWithSpace(
  o: Parameters<typeof rig>[0] = {},
): Promise<Rig & { teamId: string; spaceId: string }> {
  const r = await rig(o);
  const team = r.standin.addTeam();
  const space = r.standin.addSpace(team.id);
  return { ...r, teamId: team.id, spaceId: space.id };
}

/** The rejection of `p` (fails the test when it resolves). */
export async function rejectionOf(p: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await p;
  } catch (e) {
    return e as Error & Record<string, unknown>;
  }
  throw new Error('expected the call to fail, but it succeeded');
}
