/**
 * Shared setup of the auth integration tests: a real oidc-provider (test/servers/oidc.ts), a temp
 * data dir with the encrypted file store, lib/http as transport, and a logger whose output is kept
 * so tests can scan it for leaked secrets.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createHttpClient } from '../../../lib/http/index.js';
import type { HttpClient } from '../../../lib/http/types.js';
import { createLogger, type Logger } from '../../../lib/log/index.js';
import {
  createFileTokenStore,
  type FileTokenStore,
  type StoredCredential,
  type TokenStore,
} from '../../../lib/byterover/auth/index.js';
import { loginWithOAuth } from '../../../lib/byterover/auth/index.js';
import {
  browse,
  startOidcServer,
  type BrowseResult,
  type OidcServer,
  type OidcServerOptions,
} from '../../servers/oidc.js';

export interface AuthEnv {
  oidc: OidcServer;
  dir: string;
  store: FileTokenStore;
  http: HttpClient;
  logger: Logger;
  /** Everything logged so far (JSON lines). */
  logs(): string;
  close(): Promise<void>;
}

export async function startAuthEnv(o: OidcServerOptions = {}): Promise<AuthEnv> {
  const oidc = await startOidcServer(o);
  const dir = await mkdtemp(join(tmpdir(), 'claw-auth-'));
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({ level: 'debug', destination: sink });
  const http = createHttpClient({ logger });
  const store = createFileTokenStore({ dir, logger, lockStaleMs: 2_000 });
  return {
    oidc,
    dir,
    store,
    http,
    logger,
    logs: () => lines.join(''),
    async close() {
      await http.close();
      await oidc.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Runs loginWithOAuth with the test playing the browser; returns the login summary and the browser's last page. */
export async function loginPlayingBrowser(
  env: AuthEnv,
  extra: Partial<Parameters<typeof loginWithOAuth>[0]> = {},
): Promise<{ summary: Awaited<ReturnType<typeof loginWithOAuth>>; page: BrowseResult; authorizationUrl: string }> {
  let browsing: Promise<BrowseResult> | undefined;
  let authorizationUrl = '';
  let stray: BrowseResult | undefined;
  const ac = new AbortController();
  const login = loginWithOAuth({
    issuer: env.oidc.issuer,
    offlineAccess: true,
    store: env.store,
    http: env.http,
    logger: env.logger,
    openBrowser: false,
    signal: ac.signal,
    onAuthorizationUrl: (url) => {
      authorizationUrl = url;
      browsing = browse(url);
      // A browser that ends anywhere but the loopback callback would leave the login waiting for
      // minutes: stop it and say where the browser ended instead.
      browsing.then(
        (page) => {
          if (!/\/callback\?/.test(page.url)) {
            stray = page;
            ac.abort();
          }
        },
        () => ac.abort(),
      );
    },
    ...extra,
  });
  const summary = await login.catch((e: unknown) => {
    if (stray)
      throw new Error(
        `the browser ended at ${stray.url} (HTTP ${stray.status}): ${stray.body
          .replace(/<style>[\s\S]*<\/style>/, '')
          .replace(/<[^>]+>/g, ' ')
          .replace(/\s+/g, ' ')
          .slice(0, 400)}`,
      );
    throw e;
  });
  if (!browsing) throw new Error('onAuthorizationUrl was not called');
  return { summary, page: await browsing, authorizationUrl };
}

/** A store that behaves like `base` except for the given methods (to observe or disturb it). */
export function wrapStore(base: TokenStore, over: Partial<TokenStore>): TokenStore {
  return {
    load: over.load ?? ((p) => base.load(p)),
    save: over.save ?? ((c, p) => base.save(c, p)),
    delete: over.delete ?? ((p) => base.delete(p)),
    withLock: over.withLock ?? ((f, p) => base.withLock(f, p)),
  };
}

/**
 * Makes the stored access token look expired, as if obtained long ago (the tokens themselves are
 * untouched and still valid at the provider). Returns what was written.
 */
export async function expireStored(store: TokenStore, profile?: string): Promise<StoredCredential> {
  const c = await store.load(profile);
  if (!c) throw new Error('nothing stored to expire');
  const now = Math.floor(Date.now() / 1000);
  const expired = { ...c, issuedAt: now - 700, expiresAt: now - 100, version: c.version + 1 };
  await store.save(expired, profile);
  return expired;
}
