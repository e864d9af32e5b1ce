/**
 * Diagnosis probes for `claw-byterover doctor` ("metrics don't appear"):
 * - probeCollector: ONE real export of a small metric (`claw_byterover.doctor.probe`), built by the
 *   SDK's MeterProvider and serialized by the same OTLP serializer, sent to the same URL with the same
 *   headers, compression and timeout as the service's exporter (lib/telemetry/otlp.ts `postExport`),
 *   and the collector's answer classified: auth (401/403), format (400/415), rejected (2xx with a
 *   partial success), unreachable, timeout, other. Header values are never shown, only their names.
 * - probeMetricsEndpoint: GET of a /metrics URL, checked to parse as the Prometheus text format.
 */
import { randomBytes } from 'node:crypto';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { packageVersion } from '../version.js';
import { isClawError } from '../errors.js';
import { createHttpClient, RetryBudget, type HttpClient } from '../http/index.js';
import { createLogger } from '../log/index.js';
import { resolveOtlp, resourceAttributes, safeEndpoint, type OtlpSettings } from './config.js';
import { METER_NAME, PROBE_METRIC } from './instruments.js';
import { postExport, serializerFor, type ExportAttempt } from './otlp.js';
import { parsePrometheusText, PROMETHEUS_CONTENT_TYPE } from './prometheus.js';

export type CollectorProbeCause =
  'not_configured' | 'unreachable' | 'timeout' | 'auth' | 'format' | 'rejected' | 'other';

export interface CollectorProbe {
  ok: boolean;
  /** The URL the test export went to, without credentials or query ('' when none is configured). */
  endpoint: string;
  protocol: string;
  status?: number;
  cause?: CollectorProbeCause;
  message: string;
  hint: string;
  evidence: Record<string, string | number | boolean>;
}

export interface ProbeCollectorOptions {
  /** Replaces the environment's endpoint: a URL without a path is a base (`/v1/metrics` appended), any other is used as is. */
  endpoint?: string;
  /** Extra headers (win over OTEL_EXPORTER_OTLP_*_HEADERS). Values are never shown. */
  headers?: Record<string, string>;
  /** Where OTEL_* variables are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Timeout of the test export (default: OTEL_EXPORTER_OTLP_[METRICS_]TIMEOUT, else 10 s). */
  timeoutMs?: number;
  /** Transport (default: a private lib/http client, closed afterwards). */
  http?: HttpClient;
}

class CollectOnce extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** Serialized export request holding the probe gauge (value 1) on the service's resource. */
export async function probeExportRequest(
  settings: Pick<OtlpSettings, 'protocol'>,
  env: NodeJS.ProcessEnv,
  probeId: string,
): Promise<Uint8Array> {
  const reader = new CollectOnce();
  const resource = defaultResource().merge(
    resourceFromAttributes(resourceAttributes(env, { serviceName: 'claw-byterover', version: packageVersion() })),
  );
  const mp = new MeterProvider({ resource, readers: [reader] });
  try {
    mp.getMeter(METER_NAME, packageVersion())
      .createGauge(PROBE_METRIC.name, { unit: PROBE_METRIC.unit, description: PROBE_METRIC.description })
      .record(1, { 'probe.id': probeId });
    const { resourceMetrics } = await reader.collect();
    const data = serializerFor(settings.protocol).serializeRequest(resourceMetrics);
    if (!data) throw new Error('the OTLP serializer produced no request');
    return data;
  } finally {
    await mp.shutdown();
  }
}

function notConfigured(
  message: string,
  protocol: string,
  evidence: Record<string, string | number | boolean>,
): CollectorProbe {
  return {
    ok: false,
    endpoint: '',
    protocol,
    cause: 'not_configured',
    message,
    hint: "Set OTEL_EXPORTER_OTLP_ENDPOINT to the collector's OTLP/HTTP base URL (e.g. http://collector:4318; /v1/metrics is appended), or OTEL_EXPORTER_OTLP_METRICS_ENDPOINT to the full metrics URL, or pass --collector <url>.",
    evidence,
  };
}

export async function probeCollector(opts: ProbeCollectorOptions = {}): Promise<CollectorProbe> {
  const env = opts.env ?? process.env;
  const override = {
    ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}),
    ...(opts.headers ? { headers: opts.headers } : {}),
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  };
  const r = resolveOtlp(env, override);
  if (!r.enabled) {
    const evidence: Record<string, string | number | boolean> = { reason: r.reason };
    if (r.problems.length) evidence.problems = r.problems.join('; ');
    if (r.reason === 'invalid') {
      return {
        ok: false,
        endpoint: '',
        protocol: r.protocol,
        cause: 'other',
        message: `the OTLP exporter configuration is unusable: ${r.message}`,
        hint:
          r.protocol === 'grpc'
            ? "Use the collector's OTLP/HTTP receiver (port 4318 by default) and set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf."
            : 'Fix the variables named above (an http(s) URL; protocol http/protobuf or http/json).',
        evidence,
      };
    }
    if (r.reason === 'sdk_disabled' || r.reason === 'exporter_not_otlp') {
      return {
        ...notConfigured(`OTLP export is off: ${r.message}`, r.protocol, evidence),
        hint:
          r.reason === 'sdk_disabled'
            ? 'Unset OTEL_SDK_DISABLED to turn telemetry on.'
            : 'Add otlp to OTEL_METRICS_EXPORTER (or unset it) to export over OTLP.',
      };
    }
    return notConfigured(r.message, r.protocol, evidence);
  }

  const s = r.settings;
  const probeId = randomBytes(4).toString('hex');
  const evidence: Record<string, string | number | boolean> = {
    url: s.safeEndpoint,
    endpointFrom: s.endpointSource === 'option' ? '--collector' : s.endpointSource,
    protocol: s.protocol,
    compression: s.compression,
    headerNames: Object.keys(s.headers).join(', ') || '(none)',
    timeoutMs: s.timeoutMs,
    metric: PROBE_METRIC.name,
    probeId,
  };
  if (r.problems.length) evidence.problems = r.problems.join('; ');

  const http =
    opts.http ??
    createHttpClient({ logger: createLogger({ level: 'silent' }), budget: new RetryBudget(), connections: 1 });
  let a: ExportAttempt;
  try {
    const data = await probeExportRequest(s, env, probeId);
    a = await postExport(http, s, data, s.timeoutMs);
  } finally {
    if (!opts.http) await http.close();
  }
  evidence.bytesSent = a.bytesSent;
  evidence.durationMs = Math.round(a.durationMs);
  if (a.contentType) evidence.responseType = a.contentType;
  if (a.message) evidence.collectorMessage = a.message;
  if (a.errorCode) evidence.errorCode = a.errorCode;
  if (a.rejectedDataPoints !== undefined) evidence.rejectedDataPoints = a.rejectedDataPoints;
  return classify(a, s, evidence);
}

function classify(
  a: ExportAttempt,
  s: OtlpSettings,
  evidence: Record<string, string | number | boolean>,
): CollectorProbe {
  const base = {
    endpoint: s.safeEndpoint,
    protocol: s.protocol,
    ...(a.status !== undefined ? { status: a.status } : {}),
    evidence,
  };
  const said = a.message ? `: "${a.message}"` : '';
  const headerNames = Object.keys(s.headers);
  if (a.outcome === 'ok') {
    return {
      ok: true,
      ...base,
      message: `the collector accepted a test export (HTTP ${a.status})`,
      hint: `Look for ${PROBE_METRIC.name} (probe.id=${evidence.probeId}) in the backend behind the collector.`,
    };
  }
  if (a.outcome === 'rejected') {
    return {
      ok: false,
      ...base,
      cause: 'rejected',
      message: `the collector answered HTTP ${a.status} but rejected ${a.rejectedDataPoints ?? 0} data point(s)${said}`,
      hint: "The collector (or its backend) refuses some data: check its message above — label limits, metric name rules, or a processor dropping data — and the collector's own logs.",
    };
  }
  if (a.outcome === 'transport') {
    if (a.errorCode === 'HTTP_TIMEOUT' || a.errorCode === 'HTTP_DEADLINE_EXCEEDED') {
      return {
        ok: false,
        ...base,
        cause: 'timeout',
        message: `the collector did not answer within ${s.timeoutMs} ms`,
        hint: 'Check that the URL points at an OTLP/HTTP receiver (not gRPC on 4317) and that it is not overloaded; raise OTEL_EXPORTER_OTLP_TIMEOUT if it is slow.',
      };
    }
    return {
      ok: false,
      ...base,
      cause: 'unreachable',
      message: `could not reach the collector at ${s.safeEndpoint} (${a.errorCode ?? 'network error'}${a.message ? `: ${a.message}` : ''})`,
      hint: 'Check the host and port (OTLP/HTTP listens on 4318 by default), that the collector runs, and that nothing blocks the connection (firewall, proxy, TLS).',
    };
  }
  const st = a.status as number;
  if (st === 401 || st === 403) {
    return {
      ok: false,
      ...base,
      cause: 'auth',
      message: `the collector refused the credentials (HTTP ${st})${said}`,
      hint:
        headerNames.length > 0
          ? `Headers sent: ${headerNames.join(', ')} (values hidden). Check the token/API key in OTEL_EXPORTER_OTLP_HEADERS (or _METRICS_HEADERS): value, expiry, and the exact header name the collector expects.`
          : "No headers were sent: set the collector's auth header in OTEL_EXPORTER_OTLP_HEADERS, e.g. authorization=Bearer%20<token> (percent-encode spaces).",
    };
  }
  if (st === 400 || st === 415) {
    return {
      ok: false,
      ...base,
      cause: 'format',
      message: `the collector refused the payload format (HTTP ${st}, sent ${s.protocol})${said}`,
      hint: `The collector could not decode ${s.protocol}: check OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf or http/json) matches what it accepts, and that the URL is its OTLP metrics endpoint.`,
    };
  }
  if (st === 404 || st === 405) {
    return {
      ok: false,
      ...base,
      cause: 'other',
      message: `nothing accepts OTLP metrics at ${s.safeEndpoint} (HTTP ${st})${said}`,
      hint:
        s.endpointSource === 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'
          ? 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is used as is: give the full path (usually ending in /v1/metrics), or use OTEL_EXPORTER_OTLP_ENDPOINT with the base URL.'
          : "OTEL_EXPORTER_OTLP_ENDPOINT is a base URL (/v1/metrics is appended): give the collector's root, not a path.",
    };
  }
  return {
    ok: false,
    ...base,
    cause: 'other',
    message: `the collector answered HTTP ${st}${said}`,
    hint:
      st === 429 || st >= 500
        ? 'The collector is overloaded or failing: check its logs and its exporters to the backend.'
        : "Check the collector's logs for why it refused the export.",
  };
}

export interface MetricsEndpointProbe {
  ok: boolean;
  status?: number;
  /** Samples (series) in the scrape. */
  series?: number;
  message: string;
  hint: string;
}

/** Fetches a /metrics URL and checks that it parses as the Prometheus text format. */
export async function probeMetricsEndpoint(
  url: string,
  opts: { timeoutMs?: number; http?: HttpClient } = {},
): Promise<MetricsEndpointProbe> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const shown = safeEndpoint(url);
  const http =
    opts.http ??
    createHttpClient({ logger: createLogger({ level: 'silent' }), budget: new RetryBudget(), connections: 1 });
  let res;
  try {
    res = await http.request<string>({
      method: 'GET',
      url,
      headers: { accept: PROMETHEUS_CONTENT_TYPE },
      timeoutMs,
      deadlineMs: timeoutMs,
      retry: false,
      endpoint: 'metrics.scrape',
      responseType: 'text',
    });
  } catch (e) {
    const code = isClawError(e) ? e.code : 'HTTP_NETWORK';
    return {
      ok: false,
      message: `could not fetch ${shown} (${code}: ${(e as Error).message})`,
      hint:
        code === 'HTTP_TIMEOUT' || code === 'HTTP_DEADLINE_EXCEEDED'
          ? 'The bridge did not answer in time: check that it runs and is not stuck.'
          : 'Start the bridge (`claw-byterover serve`) and check its address and port.',
    };
  } finally {
    if (!opts.http) await http.close();
  }
  if (res.status !== 200) {
    const hint =
      res.status === 404
        ? 'The bridge does not serve metrics at this path: check telemetry.prometheus.enabled and telemetry.prometheus.path.'
        : res.status === 503
          ? 'Telemetry is turned off in this bridge (OTEL_SDK_DISABLED or telemetry.enabled=false).'
          : 'Check the bridge log for the failure.';
    return { ok: false, status: res.status, message: `expected HTTP 200 from ${shown}, found ${res.status}`, hint };
  }
  const text = typeof res.body === 'string' ? res.body : String(res.body ?? '');
  try {
    const parsed = parsePrometheusText(text);
    if (parsed.samples.length === 0) {
      return {
        ok: false,
        status: 200,
        series: 0,
        message: `${shown} answered but holds no samples`,
        hint: 'The endpoint is not a metrics endpoint, or nothing was recorded yet.',
      };
    }
    return {
      ok: true,
      status: 200,
      series: parsed.samples.length,
      message: `${shown} serves ${parsed.samples.length} series in the Prometheus text format`,
      hint: `Point a Prometheus scrape job at ${shown}.`,
    };
  } catch (e) {
    return {
      ok: false,
      status: 200,
      message: `${shown} does not parse as the Prometheus text format (${(e as Error).message})`,
      hint: 'Something else answers at this URL (a proxy page, an HTML error): check the address.',
    };
  }
}
