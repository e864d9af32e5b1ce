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
import { ClawError, errorMessage } from '../errors.js';
import { createHttpClient, type HttpClient } from '../http/index.js';
import { createByteRoverClient, type ByteRoverClient } from '../byterover/index.js';
import { resolveCredential, type AuthRefreshEvent, type SessionProvider } from '../byterover/auth/index.js';
import { loadConfig, type ClawConfig } from '../config/index.js';
import type { Logger } from '../log/index.js';
import { openMemory, v4, type OpenedMemory, type RecallIndexFactory } from '../memory/index.js';
import { configLayer, describeSecretRef, treeLocation, type PluginConfig, type TreeLocation } from './config.js';
import { OpenClawErrorCode } from './errors.js';

/** `onPath` moved to lib/memory (the opener decides the engine); re-exported for existing importers. */
export { onPath } from '../memory/index.js';

/** The open memory of a context tree: lib/memory's openMemory result (backend, engine, location, how found). */
export type OpenMemory = OpenedMemory;

/**
 * Whose memory: an agent workspace and, when OpenClaw gives it, the agent id (the `agents` map of
 * the plugin config scopes by it). A string is a workspace alone.
 */
export type MemoryScope = string | undefined | { workspaceDir?: string | undefined; agentId?: string | undefined };

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
  /** Called once per credential renewal (telemetry), as the CLI's services pass it. */
  onAuthRefresh?: (e: AuthRefreshEvent) => void;
}

export interface Credential {
  session: SessionProvider;
  /** Where the key comes from (never the key): `openclaw plugins.entries…`, `env BYTEROVER_API_KEY`, `token store`. */
  source: string;
}

const RETRY_FAILED_OPEN_MS = 30_000;

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

  /**
   * Where an agent's memory is: the `agents.<agentId>` entry of the plugin config over the top-level
   * projectDir/contextTree/v4Space, resolved against the agent's workspace. A bare string is a
   * workspace with no agent id (the top-level keys).
   */
  scoped(scope: MemoryScope): { workspaceDir: string | undefined; config: PluginConfig; agentId: string | undefined } {
    const s = typeof scope === 'object' && scope !== null ? scope : { workspaceDir: scope };
    const own = s.agentId !== undefined ? this.config.agents?.[s.agentId] : undefined;
    const config = own
      ? {
          ...this.config,
          // an agent entry replaces the top-level location as a whole (a projectDir alone is not
          // combined with a top-level contextTree meant for another project)
          projectDir: own.projectDir,
          contextTree: own.contextTree,
          v4Space: own.v4Space,
        }
      : this.config;
    return { workspaceDir: s.workspaceDir, config, agentId: s.agentId };
  }

  location(scope: MemoryScope): TreeLocation {
    const s = this.scoped(scope);
    return treeLocation(s.config, s.workspaceDir);
  }

  /** The cache key of a scope's memory (its tree, and its v4 space when one is named). */
  private key(scope: MemoryScope): string {
    const s = this.scoped(scope);
    return `${treeLocation(s.config, s.workspaceDir).treeRoot}\u0000${s.config.v4Space ?? ''}`;
  }

  /** True once the memory of this scope is open and indexed. */
  isReady(scope: MemoryScope): boolean {
    return this.ready.has(this.key(scope));
  }

  /** The open memory of an agent (workspace + agent id; opened on first use, then shared). */
  memory(scope: MemoryScope): Promise<OpenMemory> {
    if (this.closed)
      return Promise.reject(
        new ClawError(
          OpenClawErrorCode.PLUGIN_STOPPED,
          'expected the claw-byterover plugin to be running, found it stopped',
          {
            hint: 'The gateway is shutting down or reloading the plugin; try again.',
          },
        ),
      );
    const scoped = this.scoped(scope);
    const loc = treeLocation(scoped.config, scoped.workspaceDir);
    const key = this.key(scope);
    let p = this.memories.get(key);
    if (!p) {
      const started = Date.now();
      p = this.open(loc, scoped.config).then(
        (m) => {
          this.ready.add(key);
          this.log.info({ engine: m.engine, tree: loc.treeRoot, ms: Date.now() - started }, 'context tree open');
          return m;
        },
        (e: unknown) => {
          this.log.warn({ tree: loc.treeRoot, err: e }, 'context tree could not be opened');
          setTimeout(() => this.memories.delete(key), RETRY_FAILED_OPEN_MS).unref();
          throw e;
        },
      );
      this.memories.set(key, p);
    }
    return p;
  }

  private async open(loc: TreeLocation, cfg: PluginConfig = this.config): Promise<OpenMemory> {
    // The one opener (lib/memory/open.ts) picks the engine: `auto` falls back to brv on PATH, and
    // "no engine" is its MEMORY_ENGINE_UNAVAILABLE with the native loader's error as the cause.
    const m = await openMemory({
      projectRoot: loc.projectRoot,
      // `dir` only when configured: a project bound to a ByteRover v4 space then opens the space
      // (lib/memory/open.ts resolveMemory); `v4Space` names one explicitly.
      ...(cfg.contextTree ? { dir: loc.treeRoot } : {}),
      ...(cfg.v4Space && !cfg.contextTree ? { space: cfg.v4Space } : {}),
      dataDir: v4.dataDir({ env: this.env() }),
      stateDir: loc.stateDir,
      engine: this.config.backend,
      ...(this.o.recallIndex ? { index: this.o.recallIndex } : {}),
      brv: { path: this.config.brv.path, timeouts: { search: this.config.brv.timeoutMs }, env: this.env() },
      watch: this.o.watch,
      logger: this.log,
    });
    if (m.fallbackReason !== undefined) {
      if (!this.fallbackLogged)
        this.log.warn(
          { reason: m.fallbackReason, brv: this.config.brv.path },
          'native recall engine unavailable; using `brv search` instead',
        );
      this.fallbackLogged = true;
    }
    return m;
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
  async clawConfig(): Promise<{ config: ClawConfig; sources: Record<string, string>; profile: string }> {
    const loaded = await loadConfig({ env: this.env(), layers: [configLayer(this.config)] });
    return { config: loaded.config, sources: loaded.sources, profile: loaded.profile };
  }

  /**
   * The session for ByteRover calls, resolved exactly as the CLI resolves it (lib/byterover/auth's
   * resolveCredential): a configured API key, else the profile's stored credential, else the
   * configured client credentials; renewals reported to `onAuthRefresh`.
   */
  async credential(cfg: ClawConfig, sources: Record<string, string>, profile?: string): Promise<Credential> {
    const cred = resolveCredential({
      settings: cfg,
      apiKeySource: sources.apiKey,
      profile,
      http: this.httpClient(),
      env: this.env(),
      logger: this.log,
      onRefresh: this.o.onAuthRefresh,
    });
    if (cred.kind === 'api-key') return { session: cred.session, source: cred.source };
    const ref = this.config.unresolvedApiKeyRef;
    // OpenClaw leaves the SecretRef object in place when it cannot resolve it (the manifest declares
    // the path with ownerKind "capability", so a missing variable never blocks the gateway): sync then
    // falls back to the token store, and without a stored login says what was expected and why.
    if (ref && !cred.clientCredentials && !(await cred.describe())) {
      throw new ClawError(
        OpenClawErrorCode.API_KEY_UNAVAILABLE,
        `expected the ByteRover API key from ${describeSecretRef(ref)}, found it unresolved (OpenClaw could not resolve it when the gateway started${ref.source === 'env' ? `: ${ref.id} is not in the gateway's environment` : ''}) and no \`claw-byterover login\` credential`,
        {
          hint: `Only sync needs the key (search, recall, curate and the context engine work without it). ${ref.source === 'env' ? `Set ${ref.id} in the gateway's environment and restart the gateway` : 'Make the SecretRef resolvable and restart the gateway'}, or run \`claw-byterover login\`.`,
        },
      );
    }
    const via = cred.clientCredentials ? 'token store, else client credentials' : 'token store';
    return {
      session: cred.session,
      source: ref ? `${via} (${describeSecretRef(ref)} was not resolved in this load)` : via,
    };
  }

  httpClient(): HttpClient {
    this.http ??= createHttpClient({ logger: this.log });
    return this.http;
  }

  async client(): Promise<{ client: ByteRoverClient; config: ClawConfig; credentialSource: string }> {
    const { config, sources, profile } = await this.clawConfig();
    const cred = await this.credential(config, sources, profile);
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
