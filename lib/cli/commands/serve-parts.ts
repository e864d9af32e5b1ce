/**
 * What `serve` brings to the bridge: telemetry (one meter; OTLP per OTEL_*, GET /metrics) and the
 * shared services (transport, credential, ByteRover client), then the bridge composes itself
 * (lib/bridge/compose.ts: store, webhooks, queue worker, web login, memory, skill invoke, the memory
 * event handlers, claw-api registration after listen).
 *
 * `close()` closes the composed bridge, then stops telemetry.
 */
import { protocolSupport } from '../../agent/index.js';
import { composeBridge, type BridgePart, type ComposedBridge } from '../../bridge/compose.js';
import { createTelemetry, type Telemetry } from '../../telemetry/index.js';
import { packageVersion } from '../../version.js';
import type { CommandContext } from '../context.js';
import { observeServices, services } from '../services.js';
import { treeLocation } from '../tree.js';

export interface ServeParts extends Omit<ComposedBridge, 'parts'> {
  readonly telemetry: Telemetry;
  /** One line per part: what it does in this configuration and why. */
  readonly parts: Record<BridgePart | 'telemetry', string>;
}

export interface AssembleOptions {
  dataDir: string;
  /** Aborted when serve stops (cancels a pull in flight). */
  signal: AbortSignal;
}

export async function assembleServe(ctx: CommandContext, o: AssembleOptions): Promise<ServeParts> {
  const { config, sources } = await ctx.config();
  const logger = await ctx.logger();
  const version = packageVersion();
  const telemetry = createTelemetry({ config: config.telemetry, version, env: ctx.io.env, logger });
  try {
    observeServices(ctx, { http: [telemetry.httpObserver], onAuthRefresh: telemetry.recordAuthRefresh });
    const s = await services(ctx);
    const tree = await treeLocation(ctx);
    const composed = await composeBridge({
      bridge: config.bridge,
      byterover: config.byterover,
      dataDir: o.dataDir,
      space:
        config.team && config.space ? { teamId: config.team, spaceId: config.space, branch: config.branch } : undefined,
      tree: { ...tree, configured: sources.contextTree !== undefined && sources.contextTree !== 'default' },
      http: s.http,
      client: s.client,
      credentialSource: s.credentialSource,
      loggedIn: async () =>
        config.apiKey !== undefined ||
        config.clientCredentials !== undefined ||
        (await s.describeCredential()) !== undefined,
      protocolRange: () => protocolSupport(),
      version,
      signal: o.signal,
      logger,
      observer: {
        recordWebhook: telemetry.recordWebhook,
        recordAuthRefresh: telemetry.recordAuthRefresh,
        recordRecall: telemetry.recordRecall,
        recordSkillInvoke: telemetry.recordSkillInvoke,
        instrumentBridge: (b) => telemetry.instrumentBridge(b),
        mountMetrics: (b) => telemetry.mountMetrics(b),
        // /metrics serves metrics only with telemetry on (off, the route answers 503 TELEMETRY_DISABLED).
        metricsPath:
          telemetry.enabled && telemetry.config.prometheus.enabled ? telemetry.config.prometheus.path : undefined,
      },
    });
    const otlp = telemetry.otlp;
    return {
      ...composed,
      telemetry,
      parts: {
        ...composed.parts,
        telemetry: !telemetry.enabled
          ? 'off'
          : otlp.enabled
            ? `OTLP to ${otlp.settings.safeEndpoint} every ${otlp.settings.intervalMs / 1000}s`
            : `OTLP off (${otlp.message})`,
      },
      async close() {
        await composed.close();
        await telemetry.shutdown();
      },
    };
  } catch (e) {
    await telemetry.shutdown();
    throw e;
  }
}
