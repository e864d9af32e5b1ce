/**
 * OTLP/HTTP metric export built from the official SDK pieces (the OTLP serializers of
 * @opentelemetry/otlp-transformer, the export delegate of @opentelemetry/otlp-exporter-base, the
 * metric exporter base of @opentelemetry/exporter-metrics-otlp-http) with one difference: the bytes
 * travel through lib/http, the project's one HTTP transport, so exports get its timeouts, keep-alive
 * pools and redacted logging, and we see the collector's answer (status, body, partial success).
 *
 * A failed export is not retried: with cumulative temporality (the default) the next export carries
 * the totals again, so nothing is lost but resolution. Failures are logged once per state change
 * (ok → failing with status N → ok …), with the collector's status and message and the names (never
 * the values) of the headers sent.
 */
import { gzipSync } from 'node:zlib';
import type { ExportResponse, IExporterTransport } from '@opentelemetry/otlp-exporter-base';
import { createOtlpNetworkExportDelegate, ExporterMetrics, OTLPExporterError } from '@opentelemetry/otlp-exporter-base';
import { OTLPMetricExporterBase, AggregationTemporalityPreference } from '@opentelemetry/exporter-metrics-otlp-http';
import {
  JsonMetricsSerializer,
  MetricsExporterMetricsHelper,
  ProtobufMetricsSerializer,
  type IExportMetricsServiceResponse,
} from '@opentelemetry/otlp-transformer';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { isClawError } from '../errors.js';
import type { HttpClient } from '../http/index.js';
import { redactString, type Logger } from '../log/index.js';
import type { OtlpProtocol, OtlpSettings } from './config.js';

export const OTLP_ENDPOINT_LABEL = 'otlp.metrics';
const USER_AGENT = 'claw-byterover-otlp-exporter';
/** Characters of a collector's error message kept in logs and reports. */
const MESSAGE_CHARS = 300;

export function serializerFor(protocol: OtlpProtocol): typeof ProtobufMetricsSerializer {
  return protocol === 'http/json' ? JsonMetricsSerializer : ProtobufMetricsSerializer;
}

export function contentTypeFor(protocol: OtlpProtocol): string {
  return protocol === 'http/json' ? 'application/json' : 'application/x-protobuf';
}

/** What one POST to the collector gave. */
export interface ExportAttempt {
  /** `ok` (2xx, nothing rejected), `rejected` (2xx with a partial success), `http` (non-2xx), `transport` (no answer). */
  outcome: 'ok' | 'rejected' | 'http' | 'transport';
  status?: number;
  /** Our transport error code (HTTP_TIMEOUT, HTTP_NETWORK, …) when no answer came. */
  errorCode?: string;
  /** The collector's message (partial-success error_message, google.rpc.Status message, or body text), redacted. */
  message?: string;
  rejectedDataPoints?: number;
  contentType?: string;
  durationMs: number;
  bytesSent: number;
  /** The response body, for the SDK's own partial-success handling. */
  body?: Uint8Array;
}

/** POSTs one serialized export request as the exporter does; never throws. */
export async function postExport(
  http: HttpClient,
  s: OtlpSettings,
  data: Uint8Array,
  timeoutMs: number,
): Promise<ExportAttempt> {
  const payload = s.compression === 'gzip' ? gzipSync(data) : data;
  const headers: Record<string, string> = {
    ...s.headers,
    'content-type': contentTypeFor(s.protocol),
    'user-agent': USER_AGENT,
  };
  if (s.compression === 'gzip') headers['content-encoding'] = 'gzip';
  const t0 = performance.now();
  try {
    const res = await http.request<Uint8Array>({
      method: 'POST',
      url: s.url,
      headers,
      body: payload,
      timeoutMs,
      deadlineMs: timeoutMs,
      retry: false,
      endpoint: OTLP_ENDPOINT_LABEL,
      responseType: 'bytes',
    });
    const durationMs = performance.now() - t0;
    const contentType = res.headers['content-type'];
    const body = res.body instanceof Uint8Array ? res.body : new Uint8Array(0);
    const base = {
      status: res.status,
      durationMs,
      bytesSent: payload.byteLength,
      ...(contentType ? { contentType } : {}),
    };
    if (res.status >= 200 && res.status < 300) {
      const partial = partialSuccessOf(s.protocol, body);
      if (partial && ((partial.rejectedDataPoints ?? 0) > 0 || partial.errorMessage)) {
        return {
          outcome: 'rejected',
          ...base,
          rejectedDataPoints: partial.rejectedDataPoints ?? 0,
          ...(partial.errorMessage ? { message: clip(partial.errorMessage) } : {}),
          body,
        };
      }
      return { outcome: 'ok', ...base, body };
    }
    const message = collectorMessage(body, contentType);
    return { outcome: 'http', ...base, ...(message ? { message } : {}) };
  } catch (e) {
    const errorCode = isClawError(e) ? e.code : 'HTTP_NETWORK';
    return {
      outcome: 'transport',
      errorCode,
      message: clip((e as Error).message ?? String(e)),
      durationMs: performance.now() - t0,
      bytesSent: payload.byteLength,
    };
  }
}

/** The partial success of a 2xx answer (an empty body means full success). */
export function partialSuccessOf(
  protocol: OtlpProtocol,
  body: Uint8Array,
): { rejectedDataPoints?: number; errorMessage?: string } | undefined {
  if (body.byteLength === 0) return undefined;
  try {
    const r: IExportMetricsServiceResponse = serializerFor(protocol).deserializeResponse(body);
    const p = r.partialSuccess;
    if (!p) return undefined;
    const rejected = Number(p.rejectedDataPoints ?? 0);
    return {
      rejectedDataPoints: Number.isFinite(rejected) ? rejected : 0,
      ...(p.errorMessage ? { errorMessage: p.errorMessage } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * The message of a collector's error answer: a google.rpc.Status (protobuf field 2, or JSON
 * `message`), else the body as text. Redacted and clipped.
 */
export function collectorMessage(body: Uint8Array, contentType: string | undefined): string | undefined {
  if (body.byteLength === 0) return undefined;
  const ct = (contentType ?? '').toLowerCase();
  if (ct.includes('protobuf')) {
    const m = statusMessageFromProtobuf(body);
    if (m !== undefined) return clip(m);
  }
  const text = Buffer.from(body).toString('utf8');
  if (ct.includes('json') || text.trimStart().startsWith('{')) {
    try {
      const j = JSON.parse(text) as { message?: unknown; error?: unknown };
      if (typeof j.message === 'string' && j.message) return clip(j.message);
      if (typeof j.error === 'string' && j.error) return clip(j.error);
    } catch {
      // not JSON after all: use the text
    }
  }
  const printable = text.replace(/[^\x09\x0a\x0d\x20-\x7e\u00a0-\uffff]/g, '').trim();
  return printable ? clip(printable) : undefined;
}

/** Field 2 (`message`, a string) of a google.rpc.Status message, read from the protobuf wire format. */
export function statusMessageFromProtobuf(buf: Uint8Array): string | undefined {
  let i = 0;
  const varint = (): number => {
    let v = 0;
    let shift = 0;
    for (;;) {
      if (i >= buf.length || shift > 49) throw new Error('truncated varint');
      const b = buf[i++] as number;
      v += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return v;
      shift += 7;
    }
  };
  try {
    while (i < buf.length) {
      const key = varint();
      const field = Math.floor(key / 8);
      const wire = key & 7;
      if (wire === 0) varint();
      else if (wire === 1) i += 8;
      else if (wire === 5) i += 4;
      else if (wire === 2) {
        const len = varint();
        if (i + len > buf.length) return undefined;
        if (field === 2) return Buffer.from(buf.subarray(i, i + len)).toString('utf8');
        i += len;
      } else return undefined;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

function clip(s: string): string {
  const r = redactString(s);
  return r.length > MESSAGE_CHARS ? `${r.slice(0, MESSAGE_CHARS)}…` : r;
}

/** Where exports stand, for `serve` status and doctor. */
export interface ExportStatus {
  endpoint: string;
  protocol: OtlpProtocol;
  /** `idle` before the first export; then the last outcome's state key (`ok`, `rejected`, `http_401`, `HTTP_NETWORK`…). */
  state: string;
  exports: number;
  failures: number;
  lastStatus?: number;
  lastMessage?: string;
  lastSuccessAt?: string;
  lastFailureAt?: string;
}

/** Tracks export outcomes and logs each change of state once. */
export class ExportStatusTracker {
  readonly status: ExportStatus;
  constructor(
    private readonly settings: OtlpSettings,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.status = {
      endpoint: settings.safeEndpoint,
      protocol: settings.protocol,
      state: 'idle',
      exports: 0,
      failures: 0,
    };
  }

  record(a: ExportAttempt): void {
    const st = this.status;
    st.exports++;
    const key =
      a.outcome === 'ok'
        ? 'ok'
        : a.outcome === 'rejected'
          ? 'rejected'
          : a.outcome === 'http'
            ? `http_${a.status}`
            : (a.errorCode ?? 'transport');
    const at = new Date(this.now()).toISOString();
    if (a.outcome === 'ok') st.lastSuccessAt = at;
    else {
      st.failures++;
      st.lastFailureAt = at;
    }
    if (a.status !== undefined) st.lastStatus = a.status;
    if (a.message !== undefined) st.lastMessage = a.message;
    else delete st.lastMessage;
    const previous = st.state;
    st.state = key;
    if (key === previous) return;
    const fields = {
      event: 'telemetry.export',
      endpoint: this.settings.safeEndpoint,
      protocol: this.settings.protocol,
      state: key,
      previous,
      ...(a.status !== undefined ? { status: a.status } : {}),
      ...(a.errorCode ? { errorCode: a.errorCode } : {}),
      ...(a.message ? { collectorMessage: a.message } : {}),
      ...(a.rejectedDataPoints !== undefined ? { rejectedDataPoints: a.rejectedDataPoints } : {}),
      headerNames: Object.keys(this.settings.headers),
    };
    if (key === 'ok') {
      this.log.info(
        fields,
        previous === 'idle'
          ? 'telemetry: exporting metrics to the OTLP collector'
          : 'telemetry: exports to the OTLP collector work again',
      );
    } else {
      this.log.warn(fields, `telemetry: metric export to the OTLP collector ${describeFailure(a)}`);
    }
  }
}

function describeFailure(a: ExportAttempt): string {
  switch (a.outcome) {
    case 'rejected':
      return `was partly rejected (${a.rejectedDataPoints ?? 0} data points${a.message ? `: ${a.message}` : ''})`;
    case 'http':
      return `failed with HTTP ${a.status}${a.message ? `: ${a.message}` : ''}`;
    default:
      return `failed without an answer (${a.errorCode ?? 'transport error'}${a.message ? `: ${a.message}` : ''})`;
  }
}

/** The SDK's transport interface over lib/http; reports every attempt to `onAttempt`. */
export class LibHttpOtlpTransport implements IExporterTransport {
  constructor(
    private readonly http: HttpClient,
    private readonly settings: OtlpSettings,
    private readonly onAttempt: (a: ExportAttempt) => void,
  ) {}

  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    const a = await postExport(this.http, this.settings, data, timeoutMillis);
    this.onAttempt(a);
    if (a.outcome === 'ok' || a.outcome === 'rejected') {
      // `rejected` is still a delivered export (the SDK's own handler sees the partial success too).
      return a.body && a.body.byteLength > 0 ? { status: 'success', data: a.body } : { status: 'success' };
    }
    if (a.outcome === 'http')
      return { status: 'failure', error: new OTLPExporterError(a.message ?? `HTTP ${a.status}`, a.status, a.message) };
    return { status: 'failure', error: new Error(`${a.errorCode ?? 'transport error'}: ${a.message ?? ''}`) };
  }

  shutdown(): void {
    // the lib/http client is owned (and closed) by the caller
  }
}

const TEMPORALITY: Record<OtlpSettings['temporality'], AggregationTemporalityPreference> = {
  cumulative: AggregationTemporalityPreference.CUMULATIVE,
  delta: AggregationTemporalityPreference.DELTA,
  lowmemory: AggregationTemporalityPreference.LOWMEMORY,
};

/** A PushMetricExporter (for a PeriodicExportingMetricReader) that exports over lib/http. */
export function createOtlpMetricExporter(
  http: HttpClient,
  settings: OtlpSettings,
  onAttempt: (a: ExportAttempt) => void,
): OTLPMetricExporterBase {
  const serializer = serializerFor(settings.protocol);
  const exporterMetrics = new ExporterMetrics<ResourceMetrics>({
    componentType: 'otlp_http_metric_exporter',
    metricsHelper: MetricsExporterMetricsHelper,
    url: settings.safeEndpoint,
    meterProvider: undefined,
    responseAttributesFromError: () => ({}),
  });
  const delegate = createOtlpNetworkExportDelegate(
    { timeoutMillis: settings.timeoutMs, concurrencyLimit: 2, compression: 'none' },
    serializer,
    exporterMetrics,
    new LibHttpOtlpTransport(http, settings, onAttempt),
  );
  return new OTLPMetricExporterBase(delegate, { temporalityPreference: TEMPORALITY[settings.temporality] });
}
