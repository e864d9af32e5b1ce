/**
 * An OTLP/HTTP metrics receiver for the telemetry tests: node:http on 127.0.0.1 (port 0) that keeps
 * every request (path, headers, raw and gunzipped body) and DECODES it, protobuf with protobufjs over
 * the OTLP message definitions (opentelemetry-proto: collector/metrics/v1, metrics/v1, common/v1,
 * resource/v1 — field numbers as published) or OTLP/JSON, into one normalized shape.
 * The answer is scripted per request (`respond`): status, headers, body — so tests can play a healthy
 * collector, one that answers 401/400/415, one that reports a partial success, or one that hangs.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';

const rep = (type: string, id: number): { rule: 'repeated'; type: string; id: number } => ({
  rule: 'repeated',
  type,
  id,
});
const f = (type: string, id: number): { type: string; id: number } => ({ type, id });

/** OTLP metrics protocol messages (opentelemetry-proto v1), plus google.rpc.Status for error bodies. */
export const OTLP = protobuf.Root.fromJSON({
  nested: {
    otlp: {
      nested: {
        AnyValue: {
          oneofs: {
            value: {
              oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'],
            },
          },
          fields: {
            stringValue: f('string', 1),
            boolValue: f('bool', 2),
            intValue: f('int64', 3),
            doubleValue: f('double', 4),
            arrayValue: f('ArrayValue', 5),
            kvlistValue: f('KeyValueList', 6),
            bytesValue: f('bytes', 7),
          },
        },
        ArrayValue: { fields: { values: rep('AnyValue', 1) } },
        KeyValueList: { fields: { values: rep('KeyValue', 1) } },
        KeyValue: { fields: { key: f('string', 1), value: f('AnyValue', 2) } },
        InstrumentationScope: {
          fields: {
            name: f('string', 1),
            version: f('string', 2),
            attributes: rep('KeyValue', 3),
            droppedAttributesCount: f('uint32', 4),
          },
        },
        Resource: { fields: { attributes: rep('KeyValue', 1), droppedAttributesCount: f('uint32', 2) } },
        ExportMetricsServiceRequest: { fields: { resourceMetrics: rep('ResourceMetrics', 1) } },
        ResourceMetrics: {
          fields: { resource: f('Resource', 1), scopeMetrics: rep('ScopeMetrics', 2), schemaUrl: f('string', 3) },
        },
        ScopeMetrics: {
          fields: { scope: f('InstrumentationScope', 1), metrics: rep('Metric', 2), schemaUrl: f('string', 3) },
        },
        Metric: {
          oneofs: { data: { oneof: ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] } },
          fields: {
            name: f('string', 1),
            description: f('string', 2),
            unit: f('string', 3),
            gauge: f('Gauge', 5),
            sum: f('Sum', 7),
            histogram: f('Histogram', 9),
            exponentialHistogram: f('bytes', 10),
            summary: f('bytes', 11),
            metadata: rep('KeyValue', 12),
          },
        },
        Gauge: { fields: { dataPoints: rep('NumberDataPoint', 1) } },
        Sum: {
          fields: {
            dataPoints: rep('NumberDataPoint', 1),
            aggregationTemporality: f('AggregationTemporality', 2),
            isMonotonic: f('bool', 3),
          },
        },
        Histogram: {
          fields: { dataPoints: rep('HistogramDataPoint', 1), aggregationTemporality: f('AggregationTemporality', 2) },
        },
        AggregationTemporality: {
          values: {
            AGGREGATION_TEMPORALITY_UNSPECIFIED: 0,
            AGGREGATION_TEMPORALITY_DELTA: 1,
            AGGREGATION_TEMPORALITY_CUMULATIVE: 2,
          },
        },
        NumberDataPoint: {
          oneofs: { value: { oneof: ['asDouble', 'asInt'] } },
          fields: {
            attributes: rep('KeyValue', 7),
            startTimeUnixNano: f('fixed64', 2),
            timeUnixNano: f('fixed64', 3),
            asDouble: f('double', 4),
            asInt: f('sfixed64', 6),
            exemplars: rep('bytes', 5),
            flags: f('uint32', 8),
          },
        },
        HistogramDataPoint: {
          fields: {
            attributes: rep('KeyValue', 9),
            startTimeUnixNano: f('fixed64', 2),
            timeUnixNano: f('fixed64', 3),
            count: f('fixed64', 4),
            sum: f('double', 5),
            bucketCounts: rep('fixed64', 6),
            explicitBounds: rep('double', 7),
            exemplars: rep('bytes', 8),
            flags: f('uint32', 10),
            min: f('double', 11),
            max: f('double', 12),
          },
        },
        ExportMetricsServiceResponse: { fields: { partialSuccess: f('ExportMetricsPartialSuccess', 1) } },
        ExportMetricsPartialSuccess: { fields: { rejectedDataPoints: f('int64', 1), errorMessage: f('string', 2) } },
        Status: { fields: { code: f('int32', 1), message: f('string', 2) } },
      },
    },
  },
});

const RequestType = OTLP.lookupType('otlp.ExportMetricsServiceRequest');
const ResponseType = OTLP.lookupType('otlp.ExportMetricsServiceResponse');
const StatusType = OTLP.lookupType('otlp.Status');

export type AttrValue = string | number | boolean;

export interface Point {
  attributes: Record<string, AttrValue>;
  /** Sum/gauge value. */
  value?: number;
  /** Histogram fields. */
  count?: number;
  sum?: number;
  bucketCounts?: number[];
  explicitBounds?: number[];
}

export interface DecodedMetric {
  name: string;
  unit: string;
  description: string;
  kind: 'gauge' | 'sum' | 'histogram' | 'other';
  monotonic?: boolean;
  temporality?: 'delta' | 'cumulative' | 'unspecified';
  points: Point[];
  scope: { name: string; version: string };
}

export interface DecodedExport {
  resource: Record<string, AttrValue>;
  metrics: DecodedMetric[];
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  contentType: string;
  /** Body as sent (possibly gzipped). */
  raw: Buffer;
  /** Body after Content-Encoding. */
  body: Buffer;
  /** The decoded export, or why it could not be decoded. */
  decoded?: DecodedExport;
  decodeError?: string;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Never answer (the client must time out). */
  hang?: boolean;
}

function anyValue(v: any): AttrValue {
  if (v == null) return '';
  if (v.stringValue !== undefined) return String(v.stringValue);
  if (v.boolValue !== undefined) return Boolean(v.boolValue);
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return Number(v.doubleValue);
  return JSON.stringify(v);
}

function attrs(list: any[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of list ?? []) out[String(kv.key)] = anyValue(kv.value);
  return out;
}

const TEMPORALITY: Record<string, DecodedMetric['temporality']> = {
  AGGREGATION_TEMPORALITY_DELTA: 'delta',
  AGGREGATION_TEMPORALITY_CUMULATIVE: 'cumulative',
  AGGREGATION_TEMPORALITY_UNSPECIFIED: 'unspecified',
  '1': 'delta',
  '2': 'cumulative',
  '0': 'unspecified',
};

/** Normalizes an ExportMetricsServiceRequest object (from protobufjs toObject or OTLP/JSON). */
export function normalize(req: any): DecodedExport {
  const out: DecodedExport = { resource: {}, metrics: [] };
  for (const rm of req.resourceMetrics ?? []) {
    Object.assign(out.resource, attrs(rm.resource?.attributes));
    for (const sm of rm.scopeMetrics ?? []) {
      const scope = { name: String(sm.scope?.name ?? ''), version: String(sm.scope?.version ?? '') };
      for (const m of sm.metrics ?? []) {
        const base = {
          name: String(m.name),
          unit: String(m.unit ?? ''),
          description: String(m.description ?? ''),
          scope,
        };
        if (m.sum) {
          out.metrics.push({
            ...base,
            kind: 'sum',
            monotonic: Boolean(m.sum.isMonotonic),
            temporality: TEMPORALITY[String(m.sum.aggregationTemporality)] ?? 'unspecified',
            points: (m.sum.dataPoints ?? []).map((p: any) => ({
              attributes: attrs(p.attributes),
              value: Number(p.asDouble ?? p.asInt ?? 0),
            })),
          });
        } else if (m.gauge) {
          out.metrics.push({
            ...base,
            kind: 'gauge',
            points: (m.gauge.dataPoints ?? []).map((p: any) => ({
              attributes: attrs(p.attributes),
              value: Number(p.asDouble ?? p.asInt ?? 0),
            })),
          });
        } else if (m.histogram) {
          out.metrics.push({
            ...base,
            kind: 'histogram',
            temporality: TEMPORALITY[String(m.histogram.aggregationTemporality)] ?? 'unspecified',
            points: (m.histogram.dataPoints ?? []).map((p: any) => ({
              attributes: attrs(p.attributes),
              count: Number(p.count ?? 0),
              sum: Number(p.sum ?? 0),
              bucketCounts: (p.bucketCounts ?? []).map(Number),
              explicitBounds: (p.explicitBounds ?? []).map(Number),
            })),
          });
        } else out.metrics.push({ ...base, kind: 'other', points: [] });
      }
    }
  }
  return out;
}

export function decodeExport(contentType: string, body: Buffer): DecodedExport {
  if (contentType.includes('json')) return normalize(JSON.parse(body.toString('utf8')));
  const msg = RequestType.decode(body);
  return normalize(RequestType.toObject(msg, { longs: Number, enums: String, defaults: false, arrays: true }));
}

/** ExportMetricsServiceResponse with a partial success, protobuf-encoded. */
export function partialSuccessBody(rejectedDataPoints: number, errorMessage: string): Buffer {
  return Buffer.from(
    ResponseType.encode(ResponseType.fromObject({ partialSuccess: { rejectedDataPoints, errorMessage } })).finish(),
  );
}

/** google.rpc.Status, protobuf-encoded (the OTLP/HTTP error body). */
export function statusBody(code: number, message: string): Buffer {
  return Buffer.from(StatusType.encode(StatusType.fromObject({ code, message })).finish());
}

export class OtlpReceiver {
  readonly requests: ReceivedRequest[] = [];
  respond: (r: ReceivedRequest) => Answer = () => ({
    status: 200,
    headers: { 'content-type': 'application/x-protobuf' },
    body: Buffer.alloc(0),
  });
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<OtlpReceiver> {
    let self: OtlpReceiver | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r = self as OtlpReceiver;
        const raw = Buffer.concat(chunks);
        const contentType = String(req.headers['content-type'] ?? '');
        const rec: ReceivedRequest = {
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          contentType,
          raw,
          body: raw,
        };
        try {
          rec.body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
          rec.decoded = decodeExport(contentType, rec.body);
        } catch (e) {
          rec.decodeError = (e as Error).message;
        }
        r.requests.push(rec);
        const a = r.respond(rec);
        if (a.hang) return;
        res.writeHead(a.status, a.headers ?? {});
        res.end(a.body ?? '');
      });
    });
    server.on('connection', (s: Socket) => {
      self?.sockets.add(s);
      s.once('close', () => self?.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    self = new OtlpReceiver(server, `http://127.0.0.1:${port}`);
    return self;
  }

  /** The last decoded export (throws when none decoded). */
  last(): DecodedExport {
    for (let i = this.requests.length - 1; i >= 0; i--) {
      const d = this.requests[i]?.decoded;
      if (d) return d;
    }
    throw new Error(
      `no decodable export received (${this.requests.length} requests: ${this.requests.map((r) => r.decodeError ?? 'ok').join(', ')})`,
    );
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Metric by name in an export (throws with the names present when missing). */
export function metric(d: DecodedExport, name: string): DecodedMetric {
  const m = d.metrics.find((x) => x.name === name);
  if (!m) throw new Error(`metric ${name} not in the export; found: ${d.metrics.map((x) => x.name).join(', ')}`);
  return m;
}

/** Data points whose attributes include `match`. */
export function points(m: DecodedMetric, match: Record<string, AttrValue> = {}): Point[] {
  return m.points.filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v));
}

/** A loopback port nothing listens on now (bound, then closed): for "unreachable" and for servers we start. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Polls `fn` until it returns a truthy value, at most `timeoutMs` (a bounded wait; never asserts time). */
export async function until<T>(
  fn: () => T | Promise<T>,
  what: string,
  timeoutMs = 15_000,
  everyMs = 50,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
