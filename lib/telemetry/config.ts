/**
 * Telemetry settings: a small zod schema for what is ours (the /metrics route, label bounds, the queue
 * stats cache), and the standard OpenTelemetry environment variables for everything about the OTLP
 * exporter and the resource, read with the rules of the OTLP exporter specification
 * (opentelemetry.io/docs/specs/otel/protocol/exporter/) and the SDK environment variable spec:
 *
 * - `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` is used as is (a URL without a path gets `/`);
 *   `OTEL_EXPORTER_OTLP_ENDPOINT` is a base URL: `v1/metrics` is appended to it. The signal-specific
 *   one wins. With neither set the OTLP exporter is off (no default localhost collector).
 * - `OTEL_EXPORTER_OTLP_[METRICS_]HEADERS`: `k=v,k2=v2`, values percent-decoded; the signal-specific
 *   list wins key by key. Values are registered with the log redactor and never printed.
 * - `OTEL_EXPORTER_OTLP_[METRICS_]TIMEOUT` (ms, default 10 000), `…_PROTOCOL` (`http/protobuf`, the
 *   default, or `http/json`; `grpc` is refused), `…_COMPRESSION` (`gzip` | `none`),
 *   `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` (`cumulative` default, `delta`, `lowmemory`).
 * - `OTEL_METRIC_EXPORT_INTERVAL` (ms, default 60 000), `OTEL_METRIC_EXPORT_TIMEOUT` (ms, default 30 000).
 * - `OTEL_METRICS_EXPORTER`: a list; without `otlp` in it (e.g. `none`, `prometheus`) OTLP is off.
 * - `OTEL_SDK_DISABLED=true`: no meter at all (recorders do nothing, /metrics answers 503).
 * - `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` (`k=v,…`, percent-decoded): the resource;
 *   `OTEL_SERVICE_NAME` wins over a `service.name` in the attributes.
 */
import { z } from 'zod';
import { registerSecret, safeUrl } from '../log/index.js';

export const TelemetryConfigSchema = z.strictObject({
  /** Master switch (OTEL_SDK_DISABLED=true also turns everything off). */
  enabled: z.boolean().default(true),
  prometheus: z
    .strictObject({
      /** Serve the Prometheus text format on the bridge's own server. */
      enabled: z.boolean().default(true),
      /** Route path. */
      path: z
        .string()
        .trim()
        .regex(/^\/[A-Za-z0-9._~/-]*$/, 'expected a path starting with /')
        .default('/metrics'),
    })
    .prefault({}),
  otlp: z
    .strictObject({
      /** Export over OTLP/HTTP when an OTEL_EXPORTER_OTLP_* endpoint is set; false ignores those variables. */
      enabled: z.boolean().default(true),
    })
    .prefault({}),
  /** How long one read of the queue stats serves the observable gauges (a scrape storm costs one query). */
  queueStatsCacheMs: z.number().int().min(0).max(60_000).default(1_000),
  /**
   * How long a collection waits for the queue stats (a store that hangs): past it the queue gauges are
   * left out of that collection, and the next one reads again instead of waiting on the hung read.
   */
  queueStatsTimeoutMs: z.number().int().min(10).max(60_000).default(2_000),
  /** Distinct values kept per label before new ones are folded into `other` (bounded cardinality). */
  maxLabelValues: z.number().int().min(1).max(1_000).default(64),
});

export type TelemetryConfig = z.output<typeof TelemetryConfigSchema>;
export type TelemetryConfigInput = z.input<typeof TelemetryConfigSchema>;

/** Config paths holding secrets: none (the collector's headers come from OTEL_* variables only). */
export const TELEMETRY_SECRET_PATHS: readonly string[] = [];

/** Every environment variable telemetry reads. */
export const TELEMETRY_ENV_VARS = [
  'OTEL_SDK_DISABLED',
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_METRICS_EXPORTER',
  'OTEL_METRIC_EXPORT_INTERVAL',
  'OTEL_METRIC_EXPORT_TIMEOUT',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_METRICS_HEADERS',
  'OTEL_EXPORTER_OTLP_TIMEOUT',
  'OTEL_EXPORTER_OTLP_METRICS_TIMEOUT',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL',
  'OTEL_EXPORTER_OTLP_COMPRESSION',
  'OTEL_EXPORTER_OTLP_METRICS_COMPRESSION',
  'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE',
] as const;

/** Header-secret variables: their values are secrets (registered with the redactor). */
export const TELEMETRY_SECRET_ENV_VARS = ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_METRICS_HEADERS'] as const;

export function parseTelemetryConfig(input: unknown = {}): TelemetryConfig {
  return TelemetryConfigSchema.parse(input ?? {});
}

export type OtlpProtocol = 'http/protobuf' | 'http/json';

/** The OTLP/HTTP exporter settings resolved from the environment. */
export interface OtlpSettings {
  /** The URL exports are POSTed to (may carry credentials in userinfo: print `safeEndpoint`). */
  url: string;
  /** `url` without userinfo or query secrets, for logs and reports. */
  safeEndpoint: string;
  /** Which variable gave the URL. */
  endpointSource: 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT' | 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'option';
  protocol: OtlpProtocol;
  /** Header names and values (values are secrets). */
  headers: Record<string, string>;
  timeoutMs: number;
  compression: 'gzip' | 'none';
  temporality: 'cumulative' | 'delta' | 'lowmemory';
  intervalMs: number;
  exportTimeoutMs: number;
}

/** Why OTLP is off, or the settings. `problems` lists variables that were set but unusable. */
export type OtlpResolution =
  | { enabled: true; settings: OtlpSettings; problems: string[] }
  | {
      enabled: false;
      reason: 'sdk_disabled' | 'not_configured' | 'exporter_not_otlp' | 'invalid';
      message: string;
      problems: string[];
      protocol: string;
    };

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_INTERVAL_MS = 60_000;
const DEFAULT_EXPORT_TIMEOUT_MS = 30_000;

function str(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

export function isSdkDisabled(env: NodeJS.ProcessEnv): boolean {
  return str(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true';
}

/**
 * `k=v,k2=v2` (W3C Baggage-like, as the OTel spec uses for headers and resource attributes): keys
 * trimmed, values trimmed and percent-decoded; malformed entries are skipped and reported.
 */
export function parseKeyValueList(
  raw: string | undefined,
  problems?: string[],
  what = 'entry',
): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const part of raw.split(',')) {
    if (!part.trim()) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) {
      problems?.push(`ignored a malformed ${what} (expected key=value)`);
      continue;
    }
    const key = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      problems?.push(`ignored a ${what} whose value is not valid percent-encoding (key ${key})`);
      continue;
    }
    if (key) out[key] = value;
  }
  return out;
}

function positiveMs(env: NodeJS.ProcessEnv, names: string[], fallback: number, problems: string[]): number {
  for (const n of names) {
    const raw = str(env, n);
    if (raw === undefined) continue;
    const v = Number(raw);
    if (Number.isFinite(v) && v > 0) return Math.round(v);
    problems.push(`${n}=${JSON.stringify(raw)} is not a positive number of milliseconds; ignored`);
  }
  return fallback;
}

/** `OTEL_EXPORTER_OTLP_ENDPOINT` semantics: the base URL with `v1/metrics` appended. */
export function metricsUrlFromBase(base: string): string {
  const u = new URL(base);
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  u.pathname += 'v1/metrics';
  return u.toString();
}

/** Signal-specific endpoint semantics: used as is (a missing path becomes `/`). */
export function metricsUrlAsIs(url: string): string {
  return new URL(url).toString();
}

/**
 * Resolves the OTLP exporter from `env`. `endpoint`, when given, replaces the environment's: a URL
 * without a path (or `/`) is a base endpoint (`/v1/metrics` appended), any other path is used as is.
 */
export function resolveOtlp(
  env: NodeJS.ProcessEnv = process.env,
  override: { endpoint?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): OtlpResolution {
  const problems: string[] = [];
  const protocolRaw = (
    str(env, 'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL') ??
    str(env, 'OTEL_EXPORTER_OTLP_PROTOCOL') ??
    'http/protobuf'
  ).toLowerCase();
  if (isSdkDisabled(env)) {
    return {
      enabled: false,
      reason: 'sdk_disabled',
      message: 'OTEL_SDK_DISABLED=true turns telemetry off',
      problems,
      protocol: protocolRaw,
    };
  }
  const exporters = str(env, 'OTEL_METRICS_EXPORTER');
  if (
    override.endpoint === undefined &&
    exporters !== undefined &&
    !exporters
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .includes('otlp')
  ) {
    return {
      enabled: false,
      reason: 'exporter_not_otlp',
      message: `OTEL_METRICS_EXPORTER=${JSON.stringify(exporters)} does not list otlp`,
      problems,
      protocol: protocolRaw,
    };
  }

  let url: string | undefined;
  let endpointSource: OtlpSettings['endpointSource'] | undefined;
  const tryUrl = (make: () => string, source: OtlpSettings['endpointSource'], raw: string): void => {
    try {
      const u = make();
      const p = new URL(u).protocol;
      if (p !== 'http:' && p !== 'https:') throw new Error('not http(s)');
      url = u;
      endpointSource = source;
    } catch {
      problems.push(
        `${source === 'option' ? 'the collector URL' : source}=${JSON.stringify(safeUrlOrRaw(raw))} is not an http(s) URL`,
      );
    }
  };
  if (override.endpoint !== undefined) {
    const e = override.endpoint;
    tryUrl(() => (/^[a-z]+:\/\/[^/]+\/?$/i.test(e) ? metricsUrlFromBase(e) : metricsUrlAsIs(e)), 'option', e);
  } else {
    const specific = str(env, 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT');
    const base = str(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
    if (specific !== undefined) tryUrl(() => metricsUrlAsIs(specific), 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', specific);
    if (url === undefined && base !== undefined)
      tryUrl(() => metricsUrlFromBase(base), 'OTEL_EXPORTER_OTLP_ENDPOINT', base);
  }

  if (protocolRaw !== 'http/protobuf' && protocolRaw !== 'http/json') {
    const message =
      protocolRaw === 'grpc'
        ? 'OTLP protocol grpc is not supported: this exporter speaks OTLP/HTTP (http/protobuf or http/json)'
        : `expected OTEL_EXPORTER_OTLP_PROTOCOL http/protobuf or http/json, found ${JSON.stringify(protocolRaw)}`;
    return { enabled: false, reason: 'invalid', message, problems, protocol: protocolRaw };
  }
  if (url === undefined || endpointSource === undefined) {
    if (problems.length > 0)
      return { enabled: false, reason: 'invalid', message: problems.join('; '), problems, protocol: protocolRaw };
    return {
      enabled: false,
      reason: 'not_configured',
      message:
        'no OTLP endpoint is configured (OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_METRICS_ENDPOINT are unset)',
      problems,
      protocol: protocolRaw,
    };
  }

  const headers = {
    ...parseKeyValueList(str(env, 'OTEL_EXPORTER_OTLP_HEADERS'), problems, 'OTEL_EXPORTER_OTLP_HEADERS entry'),
    ...parseKeyValueList(
      str(env, 'OTEL_EXPORTER_OTLP_METRICS_HEADERS'),
      problems,
      'OTEL_EXPORTER_OTLP_METRICS_HEADERS entry',
    ),
    ...(override.headers ?? {}),
  };
  // Credentials in the URL become Basic auth (as Node's http does for the stock exporter); the URL
  // itself is kept without them so it can be logged.
  const u = new URL(url);
  if (u.username || u.password) {
    const user = decodeURIComponent(u.username);
    const pass = decodeURIComponent(u.password);
    registerSecret(pass);
    const hasAuth = Object.keys(headers).some((k) => k.toLowerCase() === 'authorization');
    if (!hasAuth) headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    u.username = '';
    u.password = '';
    url = u.toString();
  }
  for (const v of Object.values(headers)) registerSecret(v);

  const compressionRaw = (
    str(env, 'OTEL_EXPORTER_OTLP_METRICS_COMPRESSION') ??
    str(env, 'OTEL_EXPORTER_OTLP_COMPRESSION') ??
    'none'
  ).toLowerCase();
  let compression: 'gzip' | 'none' = 'none';
  if (compressionRaw === 'gzip') compression = 'gzip';
  else if (compressionRaw !== 'none')
    problems.push(`OTLP compression ${JSON.stringify(compressionRaw)} is not gzip or none; sending uncompressed`);

  const tRaw = (str(env, 'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE') ?? 'cumulative').toLowerCase();
  let temporality: OtlpSettings['temporality'] = 'cumulative';
  if (tRaw === 'delta' || tRaw === 'lowmemory') temporality = tRaw;
  else if (tRaw !== 'cumulative')
    problems.push(
      `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=${JSON.stringify(tRaw)} is not cumulative, delta or lowmemory; using cumulative`,
    );

  const timeoutMs =
    override.timeoutMs ??
    positiveMs(env, ['OTEL_EXPORTER_OTLP_METRICS_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT'], DEFAULT_TIMEOUT_MS, problems);
  const intervalMs = positiveMs(env, ['OTEL_METRIC_EXPORT_INTERVAL'], DEFAULT_INTERVAL_MS, problems);
  // The reader requires the export timeout not to exceed the interval.
  const exportTimeoutMs = Math.min(
    positiveMs(env, ['OTEL_METRIC_EXPORT_TIMEOUT'], DEFAULT_EXPORT_TIMEOUT_MS, problems),
    intervalMs,
  );

  return {
    enabled: true,
    settings: {
      url,
      safeEndpoint: safeEndpoint(url),
      endpointSource,
      protocol: protocolRaw,
      headers,
      timeoutMs,
      compression,
      temporality,
      intervalMs,
      exportTimeoutMs,
    },
    problems,
  };
}

/** A URL for display: no userinfo, query values redacted (lib/log's safeUrl). */
export function safeEndpoint(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return safeUrl(u.toString());
  } catch {
    return '(invalid URL)';
  }
}

function safeUrlOrRaw(raw: string): string {
  try {
    return safeEndpoint(raw);
  } catch {
    return raw.length > 80 ? `${raw.slice(0, 80)}…` : raw;
  }
}

/** The resource attributes: defaults, then OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME. */
export function resourceAttributes(
  env: NodeJS.ProcessEnv,
  defaults: {
    serviceName: string;
    version?: string | undefined;
    environment?: string | undefined;
    instanceId?: string | undefined;
  },
  problems?: string[],
): Record<string, string> {
  const attrs: Record<string, string> = { 'service.name': defaults.serviceName };
  if (defaults.version) attrs['service.version'] = defaults.version;
  if (defaults.environment) attrs['deployment.environment.name'] = defaults.environment;
  if (defaults.instanceId) attrs['service.instance.id'] = defaults.instanceId;
  Object.assign(
    attrs,
    parseKeyValueList(str(env, 'OTEL_RESOURCE_ATTRIBUTES'), problems, 'OTEL_RESOURCE_ATTRIBUTES entry'),
  );
  const name = str(env, 'OTEL_SERVICE_NAME');
  if (name) attrs['service.name'] = name;
  return attrs;
}
