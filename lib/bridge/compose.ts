/**
 * The bridge composed: everything `serve` runs, assembled here in lib/bridge so that the command is
 * thin (it creates telemetry and the shared services, calls composeBridge, listens and reports). In
 * dependency order:
 *
 *   bridge (store, webhook intake, queue worker)                      service.ts
 *   observer (telemetry, injected: bridge/ does not import it)       ─ instruments the bridge, /metrics
 *   web login (/auth/login, /auth/callback, /auth/status): when bridge.oauth.issuer is set, its
 *   │  session (tokens sealed in the shared store) is the one the bridge's ByteRover client uses
 *   memory (the context tree + recall index; pull with the configured team/space)
 *   skill invoke (POST /skill/invoke) over that memory and client
 *   webhook handlers: the one wiring of ByteRover's memory events (webhooks/handlers.ts wireMemoryEvents)
 *   after listen: claw-api registration (when bridge.clawApi.url is set), DELETE on shutdown
 *
 * `close()` undoes it in reverse: deregister, then close the bridge (requests finish, worker stops,
 * memory closes, the store closes). The caller shuts its telemetry down after that.
 */
import type { AuthRefreshEvent } from '../byterover/auth/index.js';
import { createByteRoverClient, type ByteRoverClient, type ByteRoverConfig } from '../byterover/index.js';
import {
  registrationEnabled,
  startRegistration,
  type RegistrationHandle,
  type RegistrationStatus,
} from '../clawapi/index.js';
import { isClawError, type ClawError } from '../errors.js';
import type { HttpClient } from '../http/index.js';
import { safeUrl, type Logger } from '../log/index.js';
import type { BridgeConfig } from './config.js';
import { mountOAuth, type OAuthMount, type RefreshInfo, type RefreshResult } from './oauth/index.js';
import { createBridge, type Bridge } from './service.js';
import {
  createSkillActions,
  mountSkillInvoke,
  openSkillActions,
  type OnInvoke,
  type OpenedSkillActions,
  type OpenSkillActionsOptions,
} from './skill/index.js';
import { HandlerRegistry, wireMemoryEvents } from './webhooks/handlers.js';
import type { WebhookResult } from './webhooks/route.js';

/**
 * What observes the bridge (the CLI passes its telemetry, which has this shape). Every member is
 * optional: without an observer nothing is recorded and /metrics is not mounted.
 */
export interface BridgeObserver {
  recordWebhook?: (r: WebhookResult) => void;
  recordAuthRefresh?: (e: AuthRefreshEvent) => void;
  recordRecall?: OpenSkillActionsOptions['onRecall'];
  recordSkillInvoke?: OnInvoke;
  instrumentBridge?: (bridge: Bridge) => void;
  /** Mounts GET /metrics on the bridge's server. */
  mountMetrics?: (bridge: Bridge) => void;
  /** The /metrics path when that route serves metrics (announced to the claw-api), else undefined. */
  readonly metricsPath?: string | undefined;
}

export interface ComposeBridgeOptions {
  bridge: BridgeConfig;
  /** For the ByteRover client of the web login's session. */
  byterover: ByteRoverConfig;
  /** Directory of the default SQLite database and the claw-api node id. */
  dataDir: string;
  /** The configured space memory pulls fetch, when team and space are set. */
  space?: { teamId: string; spaceId: string; branch: string } | undefined;
  /** Where the context tree is. */
  /**
   * The project and its v3 tree. `configured: false` (the default tree, not named by the user): a
   * project bound to a ByteRover v4 space then serves the space (search, recall, record).
   */
  tree: { projectRoot: string; treeRoot: string; stateDir: string; configured?: boolean };
  /** The one transport, and the ByteRover client over the configured credential. */
  http: HttpClient;
  client: ByteRoverClient;
  /** How the configured credential was found (for the start line). */
  credentialSource: string;
  /** True when a credential is configured or stored (memory pulls need one). */
  loggedIn: () => Promise<boolean>;
  /** The agent-protocol range announced to the claw-api (the agent link's; bridge/ does not import it). */
  protocolRange: () => { min: number; max: number };
  /** This package's version (announced to the claw-api). */
  version: string;
  /** Aborted when the service stops (cancels a pull in flight). */
  signal: AbortSignal;
  logger: Logger;
  observer?: BridgeObserver;
}

export type BridgePart = 'memory' | 'memoryPull' | 'session' | 'skill' | 'oauth' | 'clawApi';

export interface ComposedBridge {
  readonly bridge: Bridge;
  readonly oauth: OAuthMount;
  /** Routes served, for the start line. */
  readonly routes: string[];
  /** One line per part: what it does in this configuration and why. */
  readonly parts: Record<BridgePart, string>;
  /** Starts what needs the listening URL (claw-api registration). */
  afterListen(url: string): Promise<void>;
  registration(): RegistrationStatus | undefined;
  /** Deregisters and closes the bridge (the observer is the caller's to shut down). */
  close(): Promise<void>;
}

export async function composeBridge(o: ComposeBridgeOptions): Promise<ComposedBridge> {
  const bc = o.bridge;
  const logger = o.logger;
  const observer = o.observer ?? {};
  const handlers = new HandlerRegistry();
  const bridge = await createBridge({
    config: bc,
    dataDir: o.dataDir,
    logger,
    handlers,
    ...(observer.recordWebhook ? { onWebhookResult: observer.recordWebhook } : {}),
  });
  let opened: OpenedSkillActions | undefined;
  try {
    observer.instrumentBridge?.(bridge);
    observer.mountMetrics?.(bridge);

    const oauth = await mountOAuth(bridge, {
      config: bc.oauth,
      dataDir: o.dataDir,
      http: o.http,
      logger,
      onRefresh: (result, info) => observer.recordAuthRefresh?.(oauthRefreshEvent(result, info)),
    });
    const client: ByteRoverClient = oauth.sessionProvider
      ? createByteRoverClient({ http: o.http, session: oauth.sessionProvider, config: o.byterover, logger })
      : o.client;
    const session = oauth.sessionProvider
      ? `web login at ${oauth.redirectUri ? new URL('/auth/login', oauth.redirectUri).href : '/auth/login'}`
      : o.credentialSource;
    const loggedIn = oauth.sessionProvider ? true : await o.loggedIn();

    let engineError: ClawError | undefined;
    try {
      opened = await openSkillActions({
        projectRoot: o.tree.projectRoot,
        ...(o.tree.configured === false ? {} : { treeRoot: o.tree.treeRoot, stateDir: o.tree.stateDir }),
        client,
        ...(o.space ? { space: o.space } : {}),
        logger,
        ...(observer.recordRecall ? { onRecall: observer.recordRecall } : {}),
      });
    } catch (e) {
      // Without the native engine the bridge still verifies and queues webhooks; the memory actions
      // answer 503 with the loader's reason, and memory pulls are off.
      if (!isClawError(e) || e.code !== 'MEMORY_ENGINE_UNAVAILABLE') throw e;
      engineError = e;
      logger.error(
        { code: e.code, err: e.message },
        'serve: the native recall engine did not load; skill search/recall/curate and memory pulls are off (run `claw-byterover doctor`)',
      );
    }
    const memory = opened;
    if (memory) bridge.server.onClose(() => memory.close());
    const actions =
      memory?.actions ??
      createSkillActions({
        memory: {
          search: () => Promise.reject(engineError),
          recall: () => Promise.reject(engineError),
          curate: () => Promise.reject(engineError),
        },
        client,
      });

    const skill = mountSkillInvoke(bridge, {
      config: bc.skill,
      actions,
      logger,
      ...(observer.recordSkillInvoke ? { onInvoke: observer.recordSkillInvoke } : {}),
    });

    const memoryPull = wireMemoryHandlers(handlers, {
      sync: memory?.sync,
      where: o.space ? `${o.space.teamId}/${o.space.spaceId}@${o.space.branch}` : undefined,
      loggedIn,
      treeRoot: o.tree.treeRoot,
      signal: o.signal,
      logger,
    });

    const metricsPath = observer.metricsPath;
    const routes = [
      'GET /healthz',
      'GET /readyz',
      ...(metricsPath ? [`GET ${metricsPath}`] : []),
      `POST ${bc.webhooks.path}`,
      `POST ${skill.path}`,
      'GET /auth/login',
      'GET /auth/callback',
      'GET /auth/status',
    ];

    let registration: RegistrationHandle | undefined;
    const clawApi = registrationEnabled(bc.clawApi)
      ? `registers with ${safeUrl(bc.clawApi.url)} every ${bc.clawApi.heartbeatSeconds}s`
      : 'off (no bridge.clawApi.url / CLAW_API_URL)';
    return {
      bridge,
      oauth,
      routes,
      parts: {
        memory: engineError ? `unavailable (${engineError.message})` : o.tree.treeRoot,
        memoryPull,
        session,
        skill:
          skill.keys > 0
            ? `on (${skill.keys} API key(s))`
            : 'answers 503 (no API key: set CLAW_BYTEROVER_SKILL_API_KEYS)',
        oauth: oauth.configured ? `on (callback ${oauth.redirectUri ?? '?'})` : 'off (no bridge.oauth.issuer)',
        clawApi,
      },
      async afterListen(url: string) {
        if (!registrationEnabled(bc.clawApi)) return;
        const { min, max } = o.protocolRange();
        registration = await startRegistration({
          config: bc.clawApi,
          dataDir: o.dataDir,
          http: o.http,
          logger,
          node: {
            version: o.version,
            capabilities: [
              'byterover.memory',
              'skill.invoke',
              'webhooks.byterover',
              ...(oauth.configured ? ['auth.web-login'] : []),
            ],
            protocol: { min, max },
            endpoints: endpointsOf(bc.clawApi.publicUrl ?? url, {
              skillPath: skill.path,
              webhookPath: bc.webhooks.path,
              metricsPath,
            }),
          },
        });
      },
      registration: () => registration?.status(),
      async close() {
        await registration?.stop();
        await bridge.close();
      },
    };
  } catch (e) {
    await bridge.close().catch(() => undefined);
    await opened?.close().catch(() => undefined);
    throw e;
  }
}

/** The web login's refresh outcome as the auth-refresh metric records it (joined = another instance renewed). */
function oauthRefreshEvent(result: RefreshResult, info: RefreshInfo): AuthRefreshEvent {
  return {
    kind: 'oauth',
    result: result === 'ok' || result === 'joined' ? 'renewed' : result === 'reauth' ? 'reauth_required' : 'failed',
    reason: info.reason,
    durationMs: info.durationMs,
  };
}

/** The endpoints announced to the claw-api: only routes that serve (no metrics endpoint while /metrics is off). */
function endpointsOf(
  base: string,
  p: { skillPath: string; webhookPath: string; metricsPath: string | undefined },
): Array<{ kind: string; url: string }> {
  const at = (path: string): string => new URL(path, base.endsWith('/') ? base : `${base}/`).href;
  return [
    { kind: 'skill', url: at(p.skillPath.replace(/^\//, '')) },
    { kind: 'webhook', url: at(p.webhookPath.replace(/^\//, '')) },
    ...(p.metricsPath ? [{ kind: 'metrics', url: at(p.metricsPath.replace(/^\//, '')) }] : []),
    { kind: 'health', url: at('healthz') },
  ];
}

/**
 * The ByteRover memory events in this configuration: with a space configured, a session and the
 * engine, each pulls the space into the tree (logged); otherwise each is acknowledged with a log line
 * saying why nothing was pulled. Returns that description.
 */
function wireMemoryHandlers(
  registry: HandlerRegistry,
  o: {
    sync: OpenedSkillActions['sync'];
    where: string | undefined;
    loggedIn: boolean;
    treeRoot: string;
    signal: AbortSignal;
    logger: Logger;
  },
): string {
  const description = !o.where
    ? 'off (no team and space configured: `claw-byterover config set team <id>` and `config set space <id>`)'
    : !o.loggedIn
      ? 'off (not logged in: run `claw-byterover login`, set BYTEROVER_API_KEY, or use the bridge web login)'
      : `on (${o.where} into ${o.treeRoot})`;
  const sync = o.sync;
  const where = o.where;
  wireMemoryEvents(registry, {
    description,
    logger: o.logger,
    ...(sync && where && o.loggedIn
      ? {
          pullMemory: async (reason: { eventId: string; type: string }) => {
            const r = await sync.pull({ signal: o.signal });
            o.logger.info(
              {
                eventId: reason.eventId,
                type: reason.type,
                commitSha: r.commitSha,
                added: r.added.length,
                updated: r.updated.length,
                deleted: r.deleted.length,
                // Entries this tree cannot hold (each also logged by the sync with its message).
                failed: r.failed.map((f) => ({ path: f.path, code: f.code })),
              },
              `serve: memory pulled from ${where}`,
            );
          },
        }
      : {}),
  });
  return description;
}
