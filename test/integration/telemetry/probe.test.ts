/**
 * The doctor's telemetry probes against real servers on loopback: probeCollector against receivers
 * answering 401, 403, 400 (google.rpc.Status), 415, 404, 503, 200 with a partial success (rejected
 * data points, and a warning-only message), 200 (the export decoded: the probe metric arrives), an
 * unreachable port and a hanging collector; probeMetricsEndpoint against the bridge's real /metrics,
 * a 404, a 503 from disabled telemetry, an HTML page and a closed port. Header values never appear.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBridge, HttpServer, parseBridgeConfig, type Bridge } from '../../../lib/bridge/index.js';
import { createLogger } from '../../../lib/log/index.js';
import {
  createTelemetry,
  PROBE_METRIC,
  probeCollector,
  probeMetricsEndpoint,
  type Telemetry,
} from '../../../lib/telemetry/index.js';
import { freePort, metric, OtlpReceiver, partialSuccessBody, statusBody } from './receiver.js';

const TOKEN = `secret-${randomBytes(10).toString('hex')}`;
const silent = createLogger({ level: 'silent' });
const PB = { 'content-type': 'application/x-protobuf' };

let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await OtlpReceiver.start();
});
afterAll(async () => {
  await receiver.close();
});
afterEach(() => {
  receiver.requests.length = 0;
});

const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${TOKEN},x-scope=tenant-1`,
  ...extra,
});

function noSecret(x: unknown): void {
  expect(JSON.stringify(x)).not.toContain(TOKEN);
}

describe('probeCollector', () => {
  it('healthy: one real export of the probe metric, decoded by the collector, with the configured headers', async () => {
    receiver.respond = () => ({ status: 200, headers: PB, body: Buffer.alloc(0) });
    const p = await probeCollector({ env: env() });
    expect(p).toMatchObject({
      ok: true,
      status: 200,
      protocol: 'http/protobuf',
      endpoint: `${receiver.url}/v1/metrics`,
    });
    expect(p.cause).toBeUndefined();
    expect(receiver.requests).toHaveLength(1);
    const r = receiver.requests[0];
    expect(r?.path).toBe('/v1/metrics');
    expect(r?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    const m = metric(receiver.last(), PROBE_METRIC.name);
    expect(m).toMatchObject({ kind: 'gauge', unit: '1' });
    expect(m.points[0]).toMatchObject({ value: 1, attributes: { 'probe.id': p.evidence.probeId } });
    expect(p.evidence).toMatchObject({
      headerNames: 'authorization, x-scope',
      endpointFrom: 'OTEL_EXPORTER_OTLP_ENDPOINT',
      metric: PROBE_METRIC.name,
    });
    noSecret(p);
  });

  it('401 → auth, naming the headers sent (never their values) and quoting the collector', async () => {
    receiver.respond = () => ({
      status: 401,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: 16, message: 'invalid api key' }),
    });
    const p = await probeCollector({ env: env() });
    expect(p).toMatchObject({ ok: false, status: 401, cause: 'auth' });
    expect(p.message).toContain('invalid api key');
    expect(p.hint).toContain('authorization, x-scope');
    expect(p.evidence.collectorMessage).toBe('invalid api key');
    noSecret(p);
  });

  it('403 with no headers configured → auth, and the hint says to set one', async () => {
    receiver.respond = () => ({ status: 403, body: 'forbidden' });
    const p = await probeCollector({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
    expect(p).toMatchObject({ ok: false, status: 403, cause: 'auth' });
    expect(p.hint).toContain('OTEL_EXPORTER_OTLP_HEADERS');
    expect(p.evidence.headerNames).toBe('(none)');
  });

  it('400 with a google.rpc.Status body → format, with the status message', async () => {
    receiver.respond = () => ({
      status: 400,
      headers: PB,
      body: statusBody(3, 'proto: cannot parse invalid wire-format data'),
    });
    const p = await probeCollector({ env: env() });
    expect(p).toMatchObject({ ok: false, status: 400, cause: 'format' });
    expect(p.message).toContain('proto: cannot parse invalid wire-format data');
    expect(p.hint).toContain('OTEL_EXPORTER_OTLP_PROTOCOL');
  });

  it('415 → format (JSON sent where protobuf is expected, with OTEL_EXPORTER_OTLP_PROTOCOL=http/json)', async () => {
    receiver.respond = (r) =>
      r.contentType === 'application/json'
        ? { status: 415, body: 'unsupported media type application/json' }
        : { status: 200 };
    const p = await probeCollector({ env: env({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }) });
    expect(p).toMatchObject({ ok: false, status: 415, cause: 'format', protocol: 'http/json' });
    expect(receiver.requests[0]?.decoded?.metrics[0]?.name).toBe(PROBE_METRIC.name); // it was valid OTLP/JSON
  });

  it('200 with a partial success → rejected, quoting the collector and counting the rejected points', async () => {
    receiver.respond = () => ({
      status: 200,
      headers: PB,
      body: partialSuccessBody(1, 'label value exceeds 128 characters'),
    });
    const p = await probeCollector({ env: env() });
    expect(p).toMatchObject({ ok: false, status: 200, cause: 'rejected' });
    expect(p.message).toContain('rejected 1 data point');
    expect(p.message).toContain('label value exceeds 128 characters');
    expect(p.evidence.rejectedDataPoints).toBe(1);
  });

  it('200 with only an error message (a warning) → rejected too', async () => {
    receiver.respond = () => ({
      status: 200,
      headers: PB,
      body: partialSuccessBody(0, 'metric name will be sanitized'),
    });
    const p = await probeCollector({ env: env() });
    expect(p).toMatchObject({ ok: false, cause: 'rejected' });
    expect(p.message).toContain('metric name will be sanitized');
  });

  it('404 → other, with the base-vs-signal endpoint rule in the hint', async () => {
    receiver.respond = () => ({ status: 404, body: '404 page not found' });
    const base = await probeCollector({ env: env() });
    expect(base).toMatchObject({ ok: false, status: 404, cause: 'other' });
    expect(base.hint).toContain('/v1/metrics is appended');
    const specific = await probeCollector({ env: { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${receiver.url}/wrong` } });
    expect(receiver.requests.at(-1)?.path).toBe('/wrong');
    expect(specific.hint).toContain('used as is');
  });

  it('503 → other (collector failing)', async () => {
    receiver.respond = () => ({ status: 503, body: 'exporter queue is full' });
    const p = await probeCollector({ env: env() });
    expect(p).toMatchObject({ ok: false, status: 503, cause: 'other' });
    expect(p.message).toContain('exporter queue is full');
  });

  it('an unreachable port → unreachable', async () => {
    const port = await freePort();
    const p = await probeCollector({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` } });
    expect(p).toMatchObject({ ok: false, cause: 'unreachable', endpoint: `http://127.0.0.1:${port}/v1/metrics` });
    expect(p.status).toBeUndefined();
    expect(p.evidence.errorCode).toBe('HTTP_NETWORK');
  });

  it('a collector that never answers → timeout', async () => {
    receiver.respond = () => ({ status: 200, hang: true });
    const p = await probeCollector({ env: env(), timeoutMs: 300 });
    expect(p).toMatchObject({ ok: false, cause: 'timeout' });
    expect(p.message).toContain('300 ms');
  });

  it('nothing configured → not_configured; an explicit endpoint (base URL) replaces the environment', async () => {
    const none = await probeCollector({ env: {} });
    expect(none).toMatchObject({ ok: false, cause: 'not_configured', endpoint: '' });
    expect(none.hint).toContain('OTEL_EXPORTER_OTLP_ENDPOINT');
    receiver.respond = () => ({ status: 200, headers: PB, body: Buffer.alloc(0) });
    const given = await probeCollector({ env: {}, endpoint: receiver.url, headers: { 'x-api-key': TOKEN } });
    expect(given).toMatchObject({ ok: true, endpoint: `${receiver.url}/v1/metrics` });
    expect(given.evidence).toMatchObject({ endpointFrom: '--collector', headerNames: 'x-api-key' });
    expect(receiver.requests.at(-1)?.headers['x-api-key']).toBe(TOKEN);
    noSecret(given);
  });

  it('grpc protocol → other, telling to use OTLP/HTTP', async () => {
    const p = await probeCollector({ env: env({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }) });
    expect(p).toMatchObject({ ok: false, cause: 'other', protocol: 'grpc' });
    expect(p.message).toContain('grpc is not supported');
    expect(receiver.requests).toHaveLength(0);
  });

  it('credentials in the endpoint URL never reach the report', async () => {
    receiver.respond = () => ({ status: 401, body: 'no' });
    const u = new URL(receiver.url);
    const p = await probeCollector({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://user:${TOKEN}@${u.host}` } });
    expect(p).toMatchObject({ cause: 'auth', endpoint: `${receiver.url}/v1/metrics` });
    expect(receiver.requests.at(-1)?.headers.authorization).toMatch(/^Basic /);
    noSecret(p);
  });
});

describe('probeMetricsEndpoint', () => {
  let bridge: Bridge;
  let telemetry: Telemetry;
  let url: string;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'claw-telemetry-probe-'));
    telemetry = createTelemetry({ env: {}, logger: silent });
    const config = parseBridgeConfig({ store: { kind: 'sqlite', path: join(dir, 'bridge.db') } });
    bridge = await createBridge({
      config,
      dataDir: dir,
      worker: false,
      logger: silent,
      onWebhookResult: telemetry.recordWebhook,
    });
    telemetry.instrumentBridge(bridge);
    telemetry.mountMetrics(bridge);
    url = (await bridge.listen(0, '127.0.0.1')).url;
  });
  afterAll(async () => {
    await bridge.close();
    await telemetry.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the bridge's /metrics parses as Prometheus text", async () => {
    const p = await probeMetricsEndpoint(`${url}/metrics`);
    expect(p).toMatchObject({ ok: true, status: 200 });
    expect(p.series).toBeGreaterThan(3);
  });

  it('a path the bridge does not serve → 404 with the config keys to check', async () => {
    const p = await probeMetricsEndpoint(`${url}/metricz`);
    expect(p).toMatchObject({ ok: false, status: 404 });
    expect(p.hint).toContain('telemetry.prometheus.path');
  });

  it('telemetry turned off → 503 TELEMETRY_DISABLED', async () => {
    const off = createTelemetry({ env: { OTEL_SDK_DISABLED: 'true' }, logger: silent });
    const server = new HttpServer({ logger: silent });
    off.mountMetrics(server);
    const { url: u } = await server.listen(0, '127.0.0.1');
    try {
      const p = await probeMetricsEndpoint(`${u}/metrics`);
      expect(p).toMatchObject({ ok: false, status: 503 });
      expect(p.hint).toContain('OTEL_SDK_DISABLED');
    } finally {
      await server.close();
    }
  });

  it('an HTML page → does not parse; a closed port → cannot fetch', async () => {
    const html = createServer((_q, s) => {
      s.writeHead(200, { 'content-type': 'text/html' });
      s.end('<html><body>Login</body></html>');
    });
    await new Promise<void>((r) => html.listen(0, '127.0.0.1', r));
    try {
      const p = await probeMetricsEndpoint(`http://127.0.0.1:${(html.address() as AddressInfo).port}/metrics`);
      expect(p).toMatchObject({ ok: false, status: 200 });
      expect(p.message).toContain('does not parse as the Prometheus text format');
    } finally {
      await new Promise<void>((r) => html.close(() => r()));
    }
    const port = await freePort();
    const gone = await probeMetricsEndpoint(`http://127.0.0.1:${port}/metrics`);
    expect(gone.ok).toBe(false);
    expect(gone.status).toBeUndefined();
    expect(gone.hint).toContain('claw-byterover serve');
  });
});
