/**
 * createTelemetry: one OpenTelemetry MeterProvider with one Meter (`claw-byterover`), read by up to
 * two readers: the Prometheus pull reader behind `GET /metrics` on the bridge's server, and a
 * periodic OTLP/HTTP push reader when an OTEL_EXPORTER_OTLP_* endpoint is set. Everything the
 * service records goes through the recorders here, each a plain function other parts take as an
 * option (lib/http observer, createBridge's onWebhookResult, the session provider's onRefresh,
 * LocalMemory's onRecall, the agent link's onHandshake, the skill route's onInvoke).
 *
 *   const telemetry = createTelemetry({ config: cfg.telemetry, version, logger });
 *   http.addObserver(telemetry.httpObserver);
 *   const bridge = await createBridge({ …, onWebhookResult: telemetry.recordWebhook });
 *   telemetry.instrumentBridge(bridge);      // queue gauges (cached reads of bridge.status())
 *   telemetry.mountMetrics(bridge);          // GET /metrics
 *   …
 *   await telemetry.shutdown();              // final export, then stop
 */
import {
  createNoopMeter,
  diag,
  DiagLogLevel,
  type Attributes,
  type BatchObservableCallback,
  type Meter,
  type Observable,
} from '@opentelemetry/api';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type IMetricReader } from '@opentelemetry/sdk-metrics';
import type { ServerResponse, IncomingMessage } from 'node:http';
import type { HandshakeEvent } from '../agent/link.js';
import type { BridgeStatus } from '../bridge/service.js';
import type { WebhookResult } from '../bridge/webhooks/route.js';
import type { AuthRefreshEvent } from '../byterover/auth/session.js';
import { createHttpClient, RetryBudget, type HttpClient, type HttpObserver } from '../http/index.js';
import { logger as rootLogger, type Logger } from '../log/index.js';
import { packageVersion } from '../version.js';
import type { RecallEvent } from '../memory/local.js';
import {
  isSdkDisabled,
  parseTelemetryConfig,
  resolveOtlp,
  resourceAttributes,
  type OtlpResolution,
  type TelemetryConfig,
  type TelemetryConfigInput,
} from './config.js';
import { createSyncInstruments, METER_NAME, METRICS, type SyncInstruments } from './instruments.js';
import { LabelGuard } from './labels.js';
import { createOtlpMetricExporter, ExportStatusTracker, type ExportStatus } from './otlp.js';
import { createPrometheusReader, metricsRouteHandler, scrapeText } from './prometheus.js';

export interface TelemetryOptions {
  /** Our settings (TelemetryConfigSchema); OTEL_* variables come from `env`. */
  config?: TelemetryConfigInput | TelemetryConfig;
  /** Default `service.name` (OTEL_SERVICE_NAME wins). Default `claw-byterover`. */
  serviceName?: string;
  /** `service.version` and the meter's version. Default: the package version. */
  version?: string;
  /** `deployment.environment.name` on the resource (e.g. `production`), when given. */
  environment?: string;
  /** `service.instance.id` on the resource (e.g. the bridge's instanceId), when given. */
  instanceId?: string;
  /** Where OTEL_* variables are read. Default process.env. */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Transport for OTLP exports. Default: a private lib/http client (closed by shutdown()). */
  http?: HttpClient;
}

/** The outcome the skill route reports (lib/bridge/skill/route.ts SkillOutcome). */
export interface SkillOutcomeLike {
  result: string;
  status?: number;
  code?: string;
}

/** What `instrumentBridge` reads: a bridge (or anything with the same `status()`), and its server for the close hook. */
export interface InstrumentableBridge {
  status(): Promise<Pick<BridgeStatus, 'queue' | 'worker'>>;
  server?: { onClose(fn: () => Promise<void> | void): unknown };
}

/** Where `/metrics` is mounted: a bridge (its `server`) or the server itself. */
export type MetricsMountTarget =
  | {
      server: {
        route(
          method: string,
          path: string,
          handler: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void,
        ): unknown;
      };
    }
  | {
      route(
        method: string,
        path: string,
        handler: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void,
      ): unknown;
    };

export interface Telemetry {
  /** False when turned off by config or OTEL_SDK_DISABLED=true: recorders do nothing. */
  readonly enabled: boolean;
  readonly config: TelemetryConfig;
  /** The one meter (a no-op meter when disabled). */
  readonly meter: Meter;
  readonly meterProvider: MeterProvider | undefined;
  /** Whether and where OTLP exports go (and why not). */
  readonly otlp: OtlpResolution;
  /** lib/http observer: attach with `transport.addObserver(telemetry.httpObserver)` or `observers: [...]`. */
  readonly httpObserver: HttpObserver;
  /** createBridge's `onWebhookResult`. */
  readonly recordWebhook: (r: WebhookResult) => void;
  /** createSessionProvider's `onRefresh`. */
  readonly recordAuthRefresh: (e: AuthRefreshEvent) => void;
  /** LocalMemory's `onRecall`. */
  readonly recordRecall: (e: RecallEvent) => void;
  /** AgentLink's / probeHandshake's `onHandshake`. */
  readonly recordHandshake: (e: HandshakeEvent) => void;
  /**
   * The skill route's `onInvoke(action, outcome, ms)` (lib/bridge/skill OnInvoke): `outcome` is its
   * `{result, status, code}` (or a plain result string).
   */
  readonly recordSkillInvoke: (action: string, outcome: string | SkillOutcomeLike, ms: number) => void;
  /**
   * Queue gauges and worker counters read from `bridge.status()` (one read per `queueStatsCacheMs`,
   * shared by concurrent collections). With `bridge.server`, a close hook exports once more while
   * the store is still open. Returns a function that stops observing.
   */
  instrumentBridge(bridge: InstrumentableBridge): () => void;
  /** Registers `GET <prometheus.path>` on the bridge's server (503 TELEMETRY_DISABLED when telemetry is off). */
  mountMetrics(target: MetricsMountTarget): void;
  /** The Prometheus text of a collection now ('' when Prometheus is off). */
  scrape(): Promise<string>;
  /** OTLP export state (undefined when OTLP is off). */
  exportStatus(): ExportStatus | undefined;
  /** Exports now (OTLP); resolves when done. */
  forceFlush(): Promise<void>;
  /** Final export, then stops readers and closes the private transport. Idempotent. */
  shutdown(): Promise<void>;
}

/** lib/bridge/skill's actions, plus `unknown` (a request that named none). */
const SKILL_ACTIONS = new Set(['whoami', 'search', 'recall', 'curate', 'pull', 'push', 'unknown']);

let diagInstalled = false;
/** Routes the SDK's own warnings and errors to our logger (once per process). */
function installDiag(log: Logger): void {
  if (diagInstalled) return;
  diagInstalled = true;
  const l = log.child({ component: 'otel' });
  const fmt = (m: string, a: unknown[]): string =>
    [m, ...a.map((x) => (x instanceof Error ? x.message : typeof x === 'string' ? x : safeJson(x)))].join(' ');
  diag.setLogger(
    {
      error: (m, ...a) => l.error(fmt(m, a)),
      warn: (m, ...a) => l.warn(fmt(m, a)),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
}

function safeJson(x: unknown): string {
  try {
    return JSON.stringify(x)?.slice(0, 300) ?? String(x);
  } catch {
    return String(x);
  }
}

/**
 * Caches one async read for `ttlMs`; concurrent callers share the read in flight. Each caller waits at
 * most `timeoutMs` (then rejects); a read still in flight after `timeoutMs` is no longer shared, so one
 * hung read (a store that never answers) cannot hold every later collection: the next caller reads again.
 */
class CachedRead<T> {
  private value: { v: T; at: number } | undefined;
  private pending: { p: Promise<T>; at: number } | undefined;
  constructor(
    private readonly read: () => Promise<T>,
    private readonly ttlMs: number,
    private readonly timeoutMs: number,
  ) {}
  reads = 0;
  get(): Promise<T> {
    const now = performance.now();
    if (this.value && now - this.value.at < this.ttlMs) return Promise.resolve(this.value.v);
    if (!this.pending || now - this.pending.at >= this.timeoutMs) {
      const entry: { p: Promise<T>; at: number } = { at: now, p: Promise.resolve() as Promise<T> };
      entry.p = (async () => {
        this.reads++;
        try {
          const v = await this.read();
          this.value = { v, at: performance.now() };
          return v;
        } finally {
          if (this.pending === entry) this.pending = undefined;
        }
      })();
      entry.p.catch(() => undefined); // a caller that gave up must not leave an unhandled rejection
      this.pending = entry;
    }
    return withTimeout(this.pending.p, this.timeoutMs);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the queue stats did not come back within ${ms} ms (telemetry.queueStatsTimeoutMs)`)),
      ms,
    );
    timer.unref?.();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export function createTelemetry(opts: TelemetryOptions = {}): Telemetry {
  const config = parseTelemetryConfig(opts.config ?? {});
  const env = opts.env ?? process.env;
  const log = (opts.logger ?? rootLogger).child({ component: 'telemetry' });
  const version = opts.version ?? packageVersion();
  const enabled = config.enabled && !isSdkDisabled(env);
  const otlp: OtlpResolution = enabled
    ? config.otlp.enabled
      ? resolveOtlp(env)
      : {
          enabled: false,
          reason: 'not_configured',
          message: 'OTLP export is turned off in the telemetry configuration (telemetry.otlp.enabled=false)',
          problems: [],
          protocol: 'http/protobuf',
        }
    : {
        enabled: false,
        reason: 'sdk_disabled',
        message: config.enabled
          ? 'OTEL_SDK_DISABLED=true turns telemetry off'
          : 'telemetry is turned off in the configuration (telemetry.enabled=false)',
        problems: [],
        protocol: 'http/protobuf',
      };
  for (const p of otlp.problems) log.warn({ event: 'telemetry.config' }, `telemetry: ${p}`);

  if (!enabled) return disabledTelemetry(config, otlp, log);
  installDiag(opts.logger ?? rootLogger);

  const resourceProblems: string[] = [];
  const resource = defaultResource().merge(
    resourceFromAttributes(
      resourceAttributes(
        env,
        {
          serviceName: opts.serviceName ?? 'claw-byterover',
          version,
          environment: opts.environment,
          instanceId: opts.instanceId,
        },
        resourceProblems,
      ),
    ),
  );
  for (const p of resourceProblems) log.warn({ event: 'telemetry.config' }, `telemetry: ${p}`);

  const readers: IMetricReader[] = [];
  let prom: PrometheusExporter | undefined;
  if (config.prometheus.enabled) {
    prom = createPrometheusReader();
    readers.push(prom);
  }
  let ownHttp: HttpClient | undefined;
  let tracker: ExportStatusTracker | undefined;
  if (otlp.enabled) {
    const s = otlp.settings;
    // lib/http logs every failed call at warn; for exports the tracker logs once per state change instead.
    const httpLog = (opts.logger ?? rootLogger).child({ component: 'telemetry.http' }, { level: 'error' });
    const http =
      opts.http ?? (ownHttp = createHttpClient({ logger: httpLog, budget: new RetryBudget(), connections: 2 }));
    tracker = new ExportStatusTracker(s, log);
    const t = tracker;
    const exporter = createOtlpMetricExporter(http, s, (a) => t.record(a));
    readers.push(
      new PeriodicExportingMetricReader({
        exporter,
        exportIntervalMillis: s.intervalMs,
        exportTimeoutMillis: s.exportTimeoutMs,
      }),
    );
    log.info(
      {
        event: 'telemetry.otlp',
        endpoint: s.safeEndpoint,
        source: s.endpointSource,
        protocol: s.protocol,
        intervalMs: s.intervalMs,
        headerNames: Object.keys(s.headers),
      },
      'telemetry: OTLP/HTTP metric export on',
    );
  } else if (otlp.reason === 'invalid') {
    log.error({ event: 'telemetry.otlp', reason: otlp.reason }, `telemetry: OTLP export off: ${otlp.message}`);
  } else {
    log.debug({ event: 'telemetry.otlp', reason: otlp.reason }, `telemetry: OTLP export off: ${otlp.message}`);
  }

  const meterProvider = new MeterProvider({ resource, readers });
  const meter = meterProvider.getMeter(METER_NAME, version);
  const inst = createSyncInstruments(meter);
  const serializer = new PrometheusSerializer();
  const scrape = async (): Promise<string> => (prom ? scrapeText(prom, serializer, log) : '');

  const rec = recorders(inst, config.maxLabelValues);

  // Observable instruments for the bridge (created once; instrumentBridge attaches the callback).
  const gauge = (s: { name: string; unit: string; description: string }): Observable =>
    meter.createObservableGauge(s.name, { unit: s.unit, description: s.description });
  const qDepth = gauge(METRICS.queueDepth);
  const qInFlight = gauge(METRICS.queueInFlight);
  const qRetrying = gauge(METRICS.queueRetrying);
  const qDead = gauge(METRICS.queueDead);
  const qAge = gauge(METRICS.queueOldestAge);
  const qJobs = meter.createObservableCounter(METRICS.queueJobs.name, {
    unit: METRICS.queueJobs.unit,
    description: METRICS.queueJobs.description,
  });
  const queueObservables = [qDepth, qInFlight, qRetrying, qDead, qAge, qJobs];

  let shut: Promise<void> | undefined;
  const forceFlush = async (): Promise<void> => {
    if (shut) return;
    await meterProvider.forceFlush();
  };

  return {
    enabled: true,
    config,
    meter,
    meterProvider,
    otlp,
    ...rec,
    instrumentBridge(bridge) {
      const cache = new CachedRead(() => bridge.status(), config.queueStatsCacheMs, config.queueStatsTimeoutMs);
      let failing = false;
      const cb: BatchObservableCallback = async (o) => {
        let s: Pick<BridgeStatus, 'queue' | 'worker'>;
        try {
          s = await cache.get();
        } catch (e) {
          if (!failing)
            log.warn(
              { event: 'telemetry.queue_stats', err: (e as Error).message },
              'telemetry: reading the queue stats failed; the queue gauges are missing until it works again',
            );
          failing = true;
          return;
        }
        if (failing) log.info({ event: 'telemetry.queue_stats' }, 'telemetry: reading the queue stats works again');
        failing = false;
        const a: Attributes = { 'queue.kind': s.queue.kind };
        o.observe(qDepth, s.queue.depth, a);
        o.observe(qInFlight, s.queue.inFlight, a);
        o.observe(qRetrying, s.queue.retrying, a);
        o.observe(qDead, s.queue.dead, a);
        o.observe(qAge, s.queue.oldestAgeMs / 1000, a);
        if (s.worker) {
          o.observe(qJobs, s.worker.processed, { ...a, result: 'processed' });
          o.observe(qJobs, s.worker.retried, { ...a, result: 'retried' });
          o.observe(qJobs, s.worker.deadLettered, { ...a, result: 'dead_lettered' });
          o.observe(qJobs, s.worker.stale, { ...a, result: 'stale' });
        }
      };
      meter.addBatchObservableCallback(cb, queueObservables);
      let attached = true;
      const detach = (): void => {
        if (!attached) return;
        attached = false;
        meter.removeBatchObservableCallback(cb, queueObservables);
      };
      bridge.server?.onClose(async () => {
        // One more export while the store is still open, so the last queue figures reach the collector.
        if (otlp.enabled)
          await forceFlush().catch((e: unknown) =>
            log.warn({ err: (e as Error).message }, 'telemetry: final export before the bridge closed failed'),
          );
        detach();
      });
      return detach;
    },
    mountMetrics(target) {
      if (!config.prometheus.enabled) return;
      const server = mountServer(target);
      const handler = metricsRouteHandler(scrape, log);
      server.route('GET', config.prometheus.path, handler);
    },
    scrape,
    exportStatus: () => (tracker ? { ...tracker.status } : undefined),
    forceFlush,
    shutdown() {
      shut ??= (async () => {
        try {
          await meterProvider.shutdown();
        } catch (e) {
          log.warn({ err: (e as Error).message }, 'telemetry: shutting the meter provider down failed');
        }
        await ownHttp?.close();
      })();
      return shut;
    },
  };
}

function mountServer(target: MetricsMountTarget): {
  route(
    method: string,
    path: string,
    handler: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void,
  ): unknown;
} {
  return 'route' in target && typeof target.route === 'function'
    ? target
    : (target as { server: ReturnType<typeof mountServer> }).server;
}

type Recorders = Pick<
  Telemetry,
  'httpObserver' | 'recordWebhook' | 'recordAuthRefresh' | 'recordRecall' | 'recordHandshake' | 'recordSkillInvoke'
>;

/** The recorders over the sync instruments, with bounded label values. */
function recorders(inst: SyncInstruments, maxLabelValues: number): Recorders {
  const endpoints = new LabelGuard(maxLabelValues);
  const errorTypes = new LabelGuard(maxLabelValues);
  const webhookCodes = new LabelGuard(maxLabelValues);
  const handshakeResults = new LabelGuard(maxLabelValues);
  const skillActions = new LabelGuard(maxLabelValues, SKILL_ACTIONS);
  const skillOutcomes = new LabelGuard(maxLabelValues);

  const httpAttrs = (
    i: { endpoint: string; method: string; status: number | undefined; errorCode: string | undefined },
    withError = true,
  ): Attributes => {
    const a: Attributes = { endpoint: endpoints.value(i.endpoint), 'http.request.method': i.method };
    if (i.status !== undefined) a['http.response.status_code'] = i.status;
    if (withError) {
      const et = i.errorCode ?? (i.status !== undefined && i.status >= 400 ? String(i.status) : undefined);
      if (et !== undefined) a['error.type'] = errorTypes.value(et);
    }
    return a;
  };

  return {
    httpObserver: {
      onAttempt(i) {
        inst.httpAttempt.record(i.durationMs / 1000, httpAttrs(i));
      },
      onCall(i) {
        const a = httpAttrs(i);
        inst.requests.add(1, a);
        inst.requestDuration.record(i.durationMs / 1000, a);
        inst.retries.add(Math.max(0, i.attempts - 1), httpAttrs(i, false));
      },
    },
    recordWebhook: (r) => {
      const result =
        r.code === 'WEBHOOK_ACCEPTED'
          ? 'accepted'
          : r.code === 'WEBHOOK_DUPLICATE'
            ? 'duplicate'
            : r.code === 'WEBHOOK_QUEUE_UNAVAILABLE'
              ? 'unavailable'
              : r.status >= 500
                ? 'error'
                : 'rejected';
      inst.webhooks.add(1, {
        result,
        code: webhookCodes.value(r.code),
        scheme: r.scheme ?? 'none',
        'http.response.status_code': r.status,
      });
    },
    recordAuthRefresh: (e) => {
      inst.authRefreshes.add(1, { 'auth.kind': e.kind, reason: e.reason, result: e.result });
    },
    recordRecall: (e) => {
      inst.recallDuration.record(e.durationMs / 1000, { op: e.op, result: e.ok ? 'ok' : 'error' });
    },
    recordHandshake: (e) => {
      const a: Attributes = { result: handshakeResults.value(e.result) };
      if (e.result === 'ok' && e.protocol !== undefined) a['agent.protocol'] = e.protocol;
      inst.handshakes.add(1, a);
    },
    recordSkillInvoke: (action, outcome, ms) => {
      const o = typeof outcome === 'string' ? { result: outcome } : outcome;
      const a: Attributes = { action: skillActions.value(action), outcome: skillOutcomes.value(o.result) };
      if (o.status !== undefined) a['http.response.status_code'] = o.status;
      inst.skillInvocations.add(1, a);
      inst.skillDuration.record(ms / 1000, a);
    },
  };
}

/** Telemetry turned off: no-op recorders, no readers; /metrics answers 503 so a scraper sees why. */
function disabledTelemetry(config: TelemetryConfig, otlp: OtlpResolution, log: Logger): Telemetry {
  const noop = (): void => undefined;
  const message = otlp.enabled ? 'telemetry is off' : otlp.message;
  log.info({ event: 'telemetry.disabled' }, `telemetry: off (${message})`);
  return {
    enabled: false,
    config,
    meter: createNoopMeter(),
    meterProvider: undefined,
    otlp,
    httpObserver: {},
    recordWebhook: noop,
    recordAuthRefresh: noop,
    recordRecall: noop,
    recordHandshake: noop,
    recordSkillInvoke: noop,
    instrumentBridge: () => noop,
    mountMetrics(target) {
      if (!config.prometheus.enabled) return;
      const server = mountServer(target);
      server.route('GET', config.prometheus.path, (_req, res) => {
        const body = JSON.stringify({
          ok: false,
          code: 'TELEMETRY_DISABLED',
          message: `expected metrics, found telemetry turned off (${message})`,
          hint: 'unset OTEL_SDK_DISABLED and set telemetry.enabled=true',
        });
        res.writeHead(503, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(body),
          'cache-control': 'no-store',
        });
        res.end(body);
      });
    },
    scrape: async () => '',
    exportStatus: () => undefined,
    forceFlush: async () => undefined,
    shutdown: async () => undefined,
  };
}
