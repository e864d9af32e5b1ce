/**
 * What one registration of the plugin shares between its context engine instances and tools: the
 * open memory of each context tree, the ByteRover client for sync, and the logger.
 *
 * OpenClaw creates (and disposes) context engine instances per logical turn and tool instances per
 * run, so nothing expensive may live in them: a context tree is opened (read and indexed) once per
 * process here and reused; `close()` (the plugin service's stop) releases everything.
 *
 * Backend choice (`backend` in the plugin config):
 * - `native`: lib/memory's LocalMemory over the native recall index (lib/native.ts createRecallIndex);
 * - `brv`: lib/memory's BrvMemory (`brv search`, ByteRover's own CLI and daemon);
 * - `auto` (default): native when the addon loads, else `brv` when it is on PATH (logged once, with
 *   the reason the native engine did not load), else recall is unavailable and every call says why.
 * A failed open is remembered for 30 s, so a broken setup costs one attempt per 30 s, not one per turn.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { ClawError, errorMessage } from '../errors.js';
import { createHttpClient, type HttpClient } from '../http/index.js';
import { createByteRoverClient, type ByteRoverClient } from '../byterover/index.js';
import { createFileTokenStore, createSessionProvider, type SessionProvider } from '../byterover/auth/index.js';
import { loadConfig, type ClawConfig } from '../config/index.js';
import type { Logger } from '../log/index.js';
import {
  BrvMemory,
  LocalMemory,
  loadNativeRecall,
  type MemoryBackend,
  type RecallIndexFactory,
} from '../memory/index.js';
import { configLayer, describeSecretRef, treeLocation, type PluginConfig, type TreeLocation } from './config.js';

export interface OpenMemory {
  backend: MemoryBackend;
  /** `native` (LocalMemory + native index), `injected` (LocalMemory + a caller's index), or `brv`. */
  engine: 'native' | 'injected' | 'brv';
  location: TreeLocation;
  /** The LocalMemory behind `backend` (sync needs it); undefined for brv. */
  local: LocalMemory | undefined;
}

export interface RuntimeOptions {
  config: PluginConfig;
  logger: Logger;
  /** Watch trees for changes (full gateway runs) or rescan before a stale query (short-lived loads). */
  watch: boolean;
  /** Environment read for the API key and lib/config (default process.env, read at each call). */
  env?: () => NodeJS.ProcessEnv;
  /** A recall engine to use instead of the native one (tests, embedders). */
  recallIndex?: RecallIndexFactory;
  /** Where `definePluginEntry` came from, for `byterover_sync status`. */
  sdkSource?: 'host' | 'local';
}

export interface Credential {
  session: SessionProvider;
  /** Where the key comes from (never the key): `openclaw plugins.entries…`, `env BYTEROVER_API_KEY`, `token store`. */
  source: string;
}

const RETRY_FAILED_OPEN_MS = 30_000;

/** Is `cmd` an executable file (absolute) or on PATH? */
export function onPath(cmd: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const candidates =
    isAbsolute(cmd) || cmd.includes('/')
      ? [cmd]
      : (env.PATH ?? '')
          .split(delimiter)
          .filter(Boolean)
          .map((d) => join(d, cmd));
  return candidates.some((c) => {
    try {
      accessSync(c, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export class PluginRuntime {
  readonly config: PluginConfig;
  readonly log: Logger;
  readonly sdkSource: 'host' | 'local' | undefined;
  private readonly o: RuntimeOptions;
  private readonly memories = new Map<string, Promise<OpenMemory>>();
  private readonly ready = new Set<string>();
  /** Set once the host called `commitTurn` (durable turn advancement): afterTurn then curates nothing. */
  hostCommitsTurns = false;
  private readonly chains = new Map<string, Promise<unknown>>();
  private http: HttpClient | undefined;
  private closed = false;
  private fallbackLogged = false;

  constructor(o: RuntimeOptions) {
    this.o = o;
    this.config = o.config;
    this.log = o.logger;
    this.sdkSource = o.sdkSource;
  }

  env(): NodeJS.ProcessEnv {
    return this.o.env?.() ?? process.env;
  }

  location(workspaceDir: string | undefined): TreeLocation {
    return treeLocation(this.config, workspaceDir);
  }

  /** True once the tree of this workspace is open and indexed. */
  isReady(workspaceDir: string | undefined): boolean {
    return this.ready.has(this.location(workspaceDir).treeRoot);
  }

  /** The open memory of an agent workspace's tree (opened on first use, then shared). */
  memory(workspaceDir: string | undefined): Promise<OpenMemory> {
    if (this.closed)
      return Promise.reject(
        new ClawError('OPENCLAW_PLUGIN_STOPPED', 'expected the claw-byterover plugin to be running, found it stopped', {
          hint: 'The gateway is shutting down or reloading the plugin; try again.',
        }),
      );
    const loc = this.location(workspaceDir);
    let p = this.memories.get(loc.treeRoot);
    if (!p) {
      const started = Date.now();
      p = this.open(loc).then(
        (m) => {
          this.ready.add(loc.treeRoot);
          this.log.info({ engine: m.engine, tree: loc.treeRoot, ms: Date.now() - started }, 'context tree open');
          return m;
        },
        (e: unknown) => {
          this.log.warn({ tree: loc.treeRoot, err: e }, 'context tree could not be opened');
          setTimeout(() => this.memories.delete(loc.treeRoot), RETRY_FAILED_OPEN_MS).unref();
          throw e;
        },
      );
      this.memories.set(loc.treeRoot, p);
    }
    return p;
  }

  private async open(loc: TreeLocation): Promise<OpenMemory> {
    const local = (index: RecallIndexFactory, engine: OpenMemory['engine']) =>
      LocalMemory.open({ ...loc, index, watch: this.o.watch, logger: this.log }).then((m) => ({
        backend: m,
        engine,
        location: loc,
        local: m,
      }));
    const brv = (): OpenMemory => ({
      backend: new BrvMemory({
        projectRoot: loc.projectRoot,
        brvPath: this.config.brv.path,
        timeouts: { search: this.config.brv.timeoutMs },
        env: this.env(),
        logger: this.log,
      }),
      engine: 'brv',
      location: loc,
      local: undefined,
    });
    if (this.o.recallIndex) return local(this.o.recallIndex, 'injected');
    if (this.config.backend === 'brv') return brv();
    const native = await loadNativeRecall();
    if (native.factory) return local(native.factory, 'native');
    if (this.config.backend === 'native') {
      throw new ClawError(
        'MEMORY_ENGINE_UNAVAILABLE',
        `expected the native recall engine (backend "native"), found none: ${native.reason ?? 'unknown reason'}`,
        {
          hint: 'Reinstall the plugin so its prebuilt addon is present (`openclaw plugins install claw-byterover --force`), or set backend to "brv" or "auto".',
        },
      );
    }
    if (onPath(this.config.brv.path, this.env())) {
      if (!this.fallbackLogged)
        this.log.warn(
          { reason: native.reason, brv: this.config.brv.path },
          'native recall engine unavailable; using `brv search` instead',
        );
      this.fallbackLogged = true;
      return brv();
    }
    throw new ClawError(
      'MEMORY_ENGINE_UNAVAILABLE',
      `expected a recall engine, found none: the native engine did not load (${native.reason ?? 'unknown reason'}) and \`${this.config.brv.path}\` is not on PATH`,
      {
        hint: "Reinstall the plugin so its prebuilt addon is present, or install ByteRover's CLI (`npm install -g byterover-cli`) and set brv.path.",
      },
    );
  }

  /** Runs `fn` after every earlier call with the same key has settled (one writer per file). */
  exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.chains.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
    });
    return run;
  }

  /** lib/config's resolved settings: config file and environment, with the plugin config on top. */
  async clawConfig(): Promise<{ config: ClawConfig; sources: Record<string, string> }> {
    const loaded = await loadConfig({ env: this.env(), layers: [configLayer(this.config)] });
    return { config: loaded.config, sources: loaded.sources };
  }

  /** The session for ByteRover calls: a configured API key, else the token store (`claw-byterover login`). */
  async credential(cfg: ClawConfig, sources: Record<string, string>): Promise<Credential> {
    if (cfg.apiKey) {
      const key = cfg.apiKey;
      return {
        session: { sessionKey: async () => key, onUnauthorized: async () => false },
        source: sources.apiKey ?? 'config apiKey',
      };
    }
    const store = createFileTokenStore({
      ...(cfg.dataDir ? { dir: cfg.dataDir } : {}),
      env: this.env(),
      logger: this.log,
    });
    const session = createSessionProvider({ store, http: this.httpClient(), logger: this.log });
    const ref = this.config.unresolvedApiKeyRef;
    return {
      session,
      source: ref ? `token store (${describeSecretRef(ref)} was not resolved in this load)` : 'token store',
    };
  }

  httpClient(): HttpClient {
    this.http ??= createHttpClient({ logger: this.log });
    return this.http;
  }

  async client(): Promise<{ client: ByteRoverClient; config: ClawConfig; credentialSource: string }> {
    const { config, sources } = await this.clawConfig();
    const cred = await this.credential(config, sources);
    return {
      client: createByteRoverClient({
        http: this.httpClient(),
        session: cred.session,
        config: config.byterover,
        logger: this.log,
      }),
      config,
      credentialSource: cred.source,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const open = [...this.memories.values()];
    this.memories.clear();
    for (const p of open) {
      try {
        await (await p).backend.close();
      } catch (e) {
        this.log.debug({ err: errorMessage(e) }, 'closing a context tree failed');
      }
    }
    await this.http?.close();
  }
}
