/**
 * The OTEL_* environment rules (OTLP exporter spec), the config schema, label bounds, the Prometheus
 * text reader and the collector-message decoders.
 */
import { describe, expect, it } from 'vitest';
import { collectorMessage, statusMessageFromProtobuf } from '../../../lib/telemetry/otlp.js';
import {
  LabelGuard,
  parseKeyValueList,
  parsePrometheusText,
  parseTelemetryConfig,
  resolveOtlp,
  resourceAttributes,
  TelemetryConfigSchema,
} from '../../../lib/telemetry/index.js';

/** google.rpc.Status on the wire: field 1 (code, varint), field 2 (message, length-delimited). */
function statusBody(code: number, message: string): Buffer {
  const m = Buffer.from(message);
  return Buffer.concat([Buffer.from([0x08, code, 0x12, m.length]), m]);
}

const settings = (env: NodeJS.ProcessEnv, o = {}) => {
  const r = resolveOtlp(env, o);
  if (!r.enabled) throw new Error(`expected OTLP on, found off: ${r.message}`);
  return r.settings;
};

describe('resolveOtlp', () => {
  it('base endpoint gets v1/metrics; the signal endpoint is used as is and wins', () => {
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).url).toBe('http://c:4318/v1/metrics');
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/otlp/' }).url).toBe('http://c:4318/otlp/v1/metrics');
    expect(settings({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://c:4318' }).url).toBe('http://c:4318/');
    const both = settings({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:1',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'https://b:2/x/y',
    });
    expect(both).toMatchObject({ url: 'https://b:2/x/y', endpointSource: 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT' });
  });

  it('an explicit endpoint: no path = base, a path = as is', () => {
    expect(settings({}, { endpoint: 'http://c:4318' }).url).toBe('http://c:4318/v1/metrics');
    expect(settings({}, { endpoint: 'http://c:4318/' }).url).toBe('http://c:4318/v1/metrics');
    expect(
      settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:1' }, { endpoint: 'http://c:4318/ingest' }),
    ).toMatchObject({ url: 'http://c:4318/ingest', endpointSource: 'option' });
  });

  it('headers: percent-decoded, signal-specific wins by key, malformed entries reported', () => {
    const s = settings({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c',
      OTEL_EXPORTER_OTLP_HEADERS: 'a=1,b=two%20words,bad',
      OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'b=metrics',
    });
    expect(s.headers).toEqual({ a: '1', b: 'metrics' });
    expect(
      resolveOtlp({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_HEADERS: 'bad' }).problems[0],
    ).toContain('malformed');
  });

  it('timeouts, interval, protocol, compression and temporality, with defaults and bad values reported', () => {
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c' })).toMatchObject({
      timeoutMs: 10_000,
      intervalMs: 60_000,
      exportTimeoutMs: 30_000,
      protocol: 'http/protobuf',
      compression: 'none',
      temporality: 'cumulative',
    });
    const s = settings({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c',
      OTEL_EXPORTER_OTLP_TIMEOUT: '5000',
      OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '2500',
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: 'gzip',
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'Delta',
    });
    expect(s).toMatchObject({
      timeoutMs: 2500,
      intervalMs: 1000,
      exportTimeoutMs: 1000,
      protocol: 'http/json',
      compression: 'gzip',
      temporality: 'delta',
    });
    const bad = resolveOtlp({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c',
      OTEL_EXPORTER_OTLP_TIMEOUT: '-3',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'br',
    });
    expect(bad.enabled && bad.settings.timeoutMs).toBe(10_000);
    expect(bad.problems).toHaveLength(2);
    expect(bad.problems.join(' ')).toContain(
      'OTEL_EXPORTER_OTLP_TIMEOUT="-3" is not a positive number of milliseconds; ignored',
    );
    expect(bad.problems.join(' ')).toContain('compression "br" is not gzip or none');
  });

  it('off: nothing set, SDK disabled, exporter list without otlp; invalid: grpc, unknown protocol, a non-http URL', () => {
    expect(resolveOtlp({})).toMatchObject({ enabled: false, reason: 'not_configured' });
    expect(resolveOtlp({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_SDK_DISABLED: 'TRUE' })).toMatchObject({
      enabled: false,
      reason: 'sdk_disabled',
    });
    expect(resolveOtlp({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_METRICS_EXPORTER: 'prometheus' })).toMatchObject(
      { enabled: false, reason: 'exporter_not_otlp' },
    );
    expect(
      resolveOtlp({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_METRICS_EXPORTER: 'prometheus, otlp' }).enabled,
    ).toBe(true);
    expect(resolveOtlp({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toMatchObject(
      { enabled: false, reason: 'invalid', protocol: 'grpc' },
    );
    expect(
      resolveOtlp({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' }),
    ).toMatchObject({ enabled: false, reason: 'invalid' });
    const ftp = resolveOtlp({ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://c' });
    expect(ftp).toMatchObject({ enabled: false, reason: 'invalid' });
    expect(ftp.problems[0]).toContain('not an http(s) URL');
  });

  it('URL credentials: removed from the URL (and from what is shown), sent as Basic auth unless a header says otherwise', () => {
    const s = settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://me:p%40ss@c:4318/?token=abc' });
    expect(s.url).toBe('https://c:4318/v1/metrics?token=abc');
    expect(s.safeEndpoint).toBe('https://c:4318/v1/metrics');
    expect(s.headers.authorization).toBe(`Basic ${Buffer.from('me:p@ss').toString('base64')}`);
    expect(
      settings({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'https://me:pw@c',
        OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20t',
      }).headers,
    ).toEqual({ Authorization: 'Bearer t' });
  });
});

describe('resource and schema', () => {
  it('OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES, which wins over the defaults', () => {
    expect(
      resourceAttributes(
        { OTEL_RESOURCE_ATTRIBUTES: 'service.name=a,k=v%2Cw', OTEL_SERVICE_NAME: 'b' },
        { serviceName: 'claw-byterover', version: '1', environment: 'prod' },
      ),
    ).toEqual({
      'service.name': 'b',
      'service.version': '1',
      'deployment.environment.name': 'prod',
      k: 'v,w',
    });
    expect(
      resourceAttributes({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=a' }, { serviceName: 'claw-byterover' })[
        'service.name'
      ],
    ).toBe('a');
    expect(parseKeyValueList(' a = 1 ,, b=2 ')).toEqual({ a: '1', b: '2' });
  });

  it('defaults, prefault-able, strict', () => {
    expect(parseTelemetryConfig()).toEqual({
      enabled: true,
      prometheus: { enabled: true, path: '/metrics' },
      otlp: { enabled: true },
      queueStatsCacheMs: 1000,
      queueStatsTimeoutMs: 2000,
      maxLabelValues: 64,
    });
    expect(TelemetryConfigSchema.prefault({}).parse(undefined).prometheus.path).toBe('/metrics');
    expect(TelemetryConfigSchema.safeParse({ prometheus: { path: 'metrics' } }).success).toBe(false);
    expect(TelemetryConfigSchema.safeParse({ unknown: 1 }).success).toBe(false);
  });
});

describe('LabelGuard', () => {
  it('keeps identifier-like values up to the limit, folds the rest into other', () => {
    const g = new LabelGuard(2);
    expect([g.value('iam.user.me'), g.value('cogit.snapshot'), g.value('iam.teams'), g.value('iam.user.me')]).toEqual([
      'iam.user.me',
      'cogit.snapshot',
      'other',
      'iam.user.me',
    ]);
    expect(g.value('/api/v1/organizations/123?x=1')).toBe('other');
    expect(g.value(undefined)).toBe('none');
    expect(new LabelGuard(10, new Set(['a'])).value('b')).toBe('other');
  });
});

describe('parsePrometheusText', () => {
  it('reads samples with labels, escapes, special values and timestamps', () => {
    const p = parsePrometheusText(
      '# HELP x_total Things.\n# TYPE x_total counter\nx_total{a="1",b="q\\"uote\\\\",c="line\\n"} 3 1700000000000\ny +Inf\nz{} NaN\n',
    );
    expect(p.types.get('x_total')).toBe('counter');
    expect(p.samples).toHaveLength(3);
    expect(p.samples[0]).toEqual({ name: 'x_total', labels: { a: '1', b: 'q"uote\\', c: 'line\n' }, value: 3 });
    expect(p.samples[1]?.value).toBe(Infinity);
  });

  it('refuses what is not the text format', () => {
    expect(() => parsePrometheusText('<html>')).toThrow(/line 1/);
    expect(() => parsePrometheusText('a{b=1} 2')).toThrow(/label/);
    expect(() => parsePrometheusText('a 1 2 3')).toThrow(/value/);
    expect(() => parsePrometheusText('a one')).toThrow(/not a number/);
    expect(() => parsePrometheusText('# TYPE a widget')).toThrow(/unknown metric type/);
  });
});

describe('collector messages', () => {
  it('google.rpc.Status (protobuf), JSON and text bodies; secrets redacted', () => {
    expect(statusMessageFromProtobuf(statusBody(3, 'bad data'))).toBe('bad data');
    expect(statusMessageFromProtobuf(new Uint8Array([0x0a, 0xff]))).toBeUndefined();
    expect(collectorMessage(statusBody(16, 'token expired'), 'application/x-protobuf')).toBe('token expired');
    expect(collectorMessage(Buffer.from('{"code":7,"message":"denied"}'), 'application/json')).toBe('denied');
    expect(collectorMessage(Buffer.from('plain failure'), 'text/plain')).toBe('plain failure');
    expect(collectorMessage(Buffer.from('bad header authorization: Bearer abcdef123456'), 'text/plain')).not.toContain(
      'abcdef123456',
    );
    expect(collectorMessage(new Uint8Array(0), 'text/plain')).toBeUndefined();
  });
});
