/**
 * What `serve` assembles around the bridge (lib/bridge) before it listens, in dependency order:
 *
 *   telemetry (one meter; OTLP per OTEL_*, GET /metrics)  ─ observes the transport, the session,
 *   │                                                        webhooks, the queue, recall, skill calls
 *   services (transport, session, ByteRover client)
 *   bridge (store, webhooks, queue worker)
 *   web login (/auth/login, /auth/callback, /auth/status): when bridge.oauth.issuer is set, its
 *   │  session (tokens sealed in the shared store) is the one the bridge's ByteRover client uses
 *   memory (the context tree + recall index; pull/push with the configured team/space)
 *   skill invoke (POST /skill/invoke) over that memory and client
 *   webhook handlers (memory events pull the space when one is configured and a session exists)
 *   after listen: claw-api registration (when bridge.clawApi.url is set), DELETE on shutdown
 *
 * `close()` undoes it in reverse: deregister, close the bridge (requests finish, worker stops, the
 * last metrics export runs, memory closes, the store closes), then stop telemetry.
 */
import { createBridge, type Bridge } from '../../bridge/index.js';
import { mountOAuth, type OAuthMount, type RefreshInfo, type RefreshResult } from '../../bridge/oauth/index.js';
import type { AuthRefreshEvent } from '../../byterover/auth/index.js';
import {
  createSkillActions,
  mountSkillInvoke,
  openSkillActions,
  type OpenedSkillActions,
} from '../../bridge/skill/index.js';
import { isClawError, type ClawError } from '../../errors.js';
import { BYTEROVER_MEMORY_EVENTS, HandlerRegistry, registerByteRoverHandlers } from '../../bridge/webhooks/handlers.js';
import { nativeProtocolSupport } from '../../agent/index.js';
import { createByteRoverClient, type ByteRoverClient } from '../../byterover/index.js';
import {
  registrationEnabled,
  startRegistration,
  type RegistrationHandle,
  type RegistrationStatus,
} from '../../clawapi/index.js';
import { safeUrl, type Logger } from '../../log/index.js';
import { createTelemetry, type Telemetry } from '../../telemetry/index.js';
import { packageVersion } from '../../version.js';
import type { CommandContext } from '../context.js';
import { observeServices, services } from '../services.js';
import { treeLocation } from '../tree.js';

export interface ServeParts {
  readonly bridge: Bridge;
  readonly telemetry: Telemetry;
  readonly oauth: OAuthMount;
  /** Routes served, for the start line. */
  readonly routes: string[];
  /** One line per part: what it does in this configuration and why. */
  readonly parts: Record<'memory' | 'memoryPull' | 'session' | 'skill' | 'oauth' | 'clawApi' | 'telemetry', string>;
  /** Starts what needs the listening URL (claw-api registration). */
  afterListen(url: string): Promise<void>;
  registration(): RegistrationStatus | undefined;
  close(): Promise<void>;
}

export interface AssembleOptions {
  dataDir: string;
  /** Aborted when serve stops (cancels a pull in flight). */
  signal: AbortSignal;
}

export async function assembleServe(ctx: CommandContext, o: AssembleOptions): Promise<ServeParts> {
  const { config } = await ctx.config();
  const logger = await ctx.logger();
  const bc = config.bridge;
  const version = packageVersion();

  const telemetry = createTelemetry({ config: config.telemetry, version, env: ctx.io.env, logger });
  observeServices(ctx, { http: [telemetry.httpObserver], onAuthRefresh: telemetry.recordAuthRefresh });
  const s = await services(ctx);

  const handlers = new HandlerRegistry();
  let bridge: Bridge;
  try {
    bridge = await createBridge({
      config: bc,
      dataDir: o.dataDir,
      logger,
      handlers,
      onWebhookResult: telemetry.recordWebhook,
    });
  } catch (e) {
    await telemetry.shutdown();
    throw e;
  }
  let opened: OpenedSkillActions | undefined;
  const fail = async (e: unknown): Promise<never> => {
    await bridge.close().catch(() => undefined);
    await opened?.close().catch(() => undefined);
    await telemetry.shutdown();
    throw e;
  };

  try {
    telemetry.instrumentBridge(bridge);
    telemetry.mountMetrics(bridge);

    const oauth = await mountOAuth(bridge, {
      config: bc.oauth,
      dataDir: o.dataDir,
      http: s.http,
      logger,
      onRefresh: (result, info) => telemetry.recordAuthRefresh(oauthRefreshEvent(result, info)),
    });
    const client: ByteRoverClient = oauth.sessionProvider
      ? createByteRoverClient({ http: s.http, session: oauth.sessionProvider, config: config.byterover, logger })
      : s.client;
    const session = oauth.sessionProvider
      ? `web login at ${oauth.redirectUri ? new URL('/auth/login', oauth.redirectUri).href : '/auth/login'}`
      : s.credentialSource;
    const loggedIn = oauth.sessionProvider
      ? true
      : config.apiKey !== undefined ||
        config.clientCredentials !== undefined ||
        (await s.describeCredential()) !== undefined;

    const where = await treeLocation(ctx);
    const space =
      config.team && config.space ? { teamId: config.team, spaceId: config.space, branch: config.branch } : undefined;
    let engineError: ClawError | undefined;
    try {
      opened = await openSkillActions({
        projectRoot: where.projectRoot,
        treeRoot: where.treeRoot,
        stateDir: where.stateDir,
        client,
        ...(space ? { space } : {}),
        logger,
        onRecall: telemetry.recordRecall,
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
      onInvoke: telemetry.recordSkillInvoke,
    });

    const memoryPull = registerMemoryHandlers(handlers, {
      sync: memory?.sync,
      where: space ? `${space.teamId}/${space.spaceId}@${space.branch}` : undefined,
      loggedIn,
      treeRoot: where.treeRoot,
      signal: o.signal,
      logger,
    });

    // /metrics serves metrics only with telemetry on (off, the route answers 503 TELEMETRY_DISABLED).
    const metricsPath =
      telemetry.enabled && telemetry.config.prometheus.enabled ? telemetry.config.prometheus.path : undefined;
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
    const otlp = telemetry.otlp;
    return {
      bridge,
      telemetry,
      oauth,
      routes,
      parts: {
        memory: engineError ? `unavailable (${engineError.message})` : where.treeRoot,
        memoryPull,
        session,
        skill:
          skill.keys > 0
            ? `on (${skill.keys} API key(s))`
            : 'answers 503 (no API key: set CLAW_BYTEROVER_SKILL_API_KEYS)',
        oauth: oauth.configured ? `on (callback ${oauth.redirectUri ?? '?'})` : 'off (no bridge.oauth.issuer)',
        clawApi,
        telemetry: !telemetry.enabled
          ? 'off'
          : otlp.enabled
            ? `OTLP to ${otlp.settings.safeEndpoint} every ${otlp.settings.intervalMs / 1000}s`
            : `OTLP off (${otlp.message})`,
      },
      async afterListen(url: string) {
        if (!registrationEnabled(bc.clawApi)) return;
        const { min, max } = nativeProtocolSupport();
        registration = await startRegistration({
          config: bc.clawApi,
          dataDir: o.dataDir,
          http: s.http,
          logger,
          node: {
            version,
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
        await telemetry.shutdown();
      },
    };
  } catch (e) {
    return fail(e);
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
 * The ByteRover memory events: with a space configured and a session, each pulls the space into the
 * tree; otherwise each is acknowledged with a log line saying why nothing was pulled.
 */
function registerMemoryHandlers(
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
  if (sync && o.where && o.loggedIn) {
    const where = o.where;
    registerByteRoverHandlers(registry, {
      pullMemory: async (reason) => {
        const r = await sync.pull({ signal: o.signal });
        o.logger.info(
          {
            eventId: reason.eventId,
            type: reason.type,
            commitSha: r.commitSha,
            added: r.added.length,
            updated: r.updated.length,
            deleted: r.deleted.length,
          },
          `serve: memory pulled from ${where}`,
        );
      },
    });
    return description;
  }
  for (const type of BYTEROVER_MEMORY_EVENTS) {
    registry.on(type, (event) => {
      o.logger.info(
        { id: event.id, type },
        `webhook: memory pull is not configured, event acknowledged without a pull: ${description}`,
      );
    });
  }
  return description;
}
