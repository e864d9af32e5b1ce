/**
 * OTLP/HTTP export end to end: real traffic (ByteRover calls through the real lib/byterover client
 * against the stand-in cloud, webhooks through a real createBridge on SQLite, recalls on a real
 * LocalMemory) recorded by createTelemetry, exported by the SDK's reader through lib/http to a
 * receiver in the test that DECODES the protobuf (and JSON) payload; names, units, labels, resource,
 * the OTEL_* environment rules (headers, base vs signal endpoint, protocol, compression), and the
 * once-per-state-change failure log.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createBridge,
  parseBridgeConfig,
  standardKey,
  standardSignature,
  type Bridge,
} from '../../../lib/bridge/index.js';
import { createByteRoverClient } from '../../../lib/byterover/index.js';
import { createHttpClient, RetryBudget } from '../../../lib/http/index.js';
import { createLogger, type Logger } from '../../../lib/log/index.js';
import { LocalMemory } from '../../../lib/memory/index.js';
import { createTelemetry, METRICS, type MetricSpec, type Telemetry } from '../../../lib/telemetry/index.js';
import { DEFAULT_SESSION_KEY, startByteRoverStandin, type ByteRoverStandin } from '../../standin/byterover.js';
import { KeyListSession } from '../../unit/byterover/harness.js';
import { engines, tempProject } from '../../unit/memory/helpers.js';
import { metric, OtlpReceiver, points, statusBody, until } from './receiver.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const HEADER_VALUE = `tok-${randomBytes(12).toString('hex')}`;

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: new Writable({
      write(c, _e, cb) {
        lines.push(String(c));
        cb();
      },
    }),
  });
  return { logger, lines };
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

function signed(id: string, body: string): Record<string, string> {
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = standardSignature(standardKey(SECRET), id, ts, Buffer.from(body)).toString('base64');
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': ts,
    'webhook-signature': `v1,${sig}`,
  };
}

describe('OTLP/HTTP export of real traffic, decoded by a receiver', () => {
  let receiver: OtlpReceiver;
  let standin: ByteRoverStandin;
  let telemetry: Telemetry;
  let bridge: Bridge;
  let dir: string;
  const log = capture();

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    standin = await startByteRoverStandin();
    dir = mkdtempSync(join(tmpdir(), 'claw-telemetry-'));
    telemetry = createTelemetry({
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.url}/collector`,
        OTEL_EXPORTER_OTLP_HEADERS: `x-collector-token=${HEADER_VALUE},x-tenant=acme%20corp`,
        OTEL_SERVICE_NAME: 'bridge-under-test',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=ci,team=memory',
        OTEL_METRIC_EXPORT_INTERVAL: '3600000',
      },
      version: '9.9.9-test',
      logger: log.logger,
    });

    // ByteRover calls through the real client and transport, observed by telemetry.
    const http = createHttpClient({
      logger: log.logger,
      budget: new RetryBudget(),
      random: () => 0,
      observers: [telemetry.httpObserver],
    });
    cleanups.push(() => http.close());
    const client = createByteRoverClient({
      http,
      session: new KeyListSession([DEFAULT_SESSION_KEY]),
      logger: log.logger,
      config: standin.clientConfig(),
    });
    await client.me();
    standin.inject({ kind: 'status', status: 503, endpoint: 'iam.user.me', times: 1 });
    await client.me(); // one retry, then 200
    const team = standin.addTeam();
    const space = standin.addSpace(team.id);
    await client.teams();
    await client.pullSnapshot(team.id, space.id);
    standin.inject({ kind: 'status', status: 404, code: 'NOT_FOUND', endpoint: 'iam.spaces', times: 1 });
    await client.spaces(team.id).catch(() => undefined);

    // Webhooks through a real bridge.
    const config = parseBridgeConfig({
      webhooks: { standardSecrets: [SECRET] },
      store: { kind: 'sqlite', path: join(dir, 'bridge.db') },
    });
    bridge = await createBridge({
      config,
      dataDir: dir,
      worker: false,
      logger: log.logger,
      onWebhookResult: telemetry.recordWebhook,
    });
    telemetry.instrumentBridge(bridge);
    const { url } = await bridge.listen(0, '127.0.0.1');
    const body = JSON.stringify({ type: 'memory.updated', data: { space: space.id } });
    const id = `msg_${randomBytes(6).toString('hex')}`;
    for (const headers of [
      signed(id, body),
      signed(id, body),
      { ...signed(`msg_${randomBytes(6).toString('hex')}`, body), 'webhook-signature': 'v1,AAAA' },
    ]) {
      const r = await request(`${url}/webhooks/byterover`, { method: 'POST', body, headers });
      await r.body.dump();
    }

    // Recalls on a real LocalMemory (native engine when built, else minisearch: both real engines).
    const engine = (await engines()).reverse().find((e) => e.factory !== undefined && e.skip === undefined);
    const p = await tempProject(true);
    const mem = await LocalMemory.open({
      projectRoot: p.project,
      watch: false,
      ...(engine?.factory ? { index: engine.factory } : {}),
      onRecall: telemetry.recordRecall,
    });
    await mem.recall('refresh token rotation', { k: 3, tokenBudget: 200 });
    await mem.search('dead-letter queue replay', { k: 3 });
    await mem.close();
    cleanups.push(() => Promise.resolve(rmSync(p.project, { recursive: true, force: true })));

    await telemetry.forceFlush();
  });

  afterAll(async () => {
    await telemetry?.shutdown();
    await bridge?.close();
    await standin?.close();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('POSTs protobuf to <OTEL_EXPORTER_OTLP_ENDPOINT>/v1/metrics with the OTEL_EXPORTER_OTLP_HEADERS headers', () => {
    const r = receiver.requests.at(-1);
    expect(r).toBeDefined();
    expect(r?.method).toBe('POST');
    expect(r?.path).toBe('/collector/v1/metrics');
    expect(r?.contentType).toBe('application/x-protobuf');
    expect(r?.headers['x-collector-token']).toBe(HEADER_VALUE);
    expect(r?.headers['x-tenant']).toBe('acme corp'); // percent-decoded, as the spec says
    expect(r?.decodeError).toBeUndefined();
  });

  it('carries the resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, version) and the claw-byterover scope', () => {
    const d = receiver.last();
    expect(d.resource).toMatchObject({
      'service.name': 'bridge-under-test',
      'service.version': '9.9.9-test',
      'deployment.environment.name': 'ci',
      team: 'memory',
      'telemetry.sdk.language': 'nodejs',
    });
    expect(new Set(d.metrics.map((m) => m.scope.name))).toEqual(new Set(['claw-byterover']));
    expect(d.metrics[0]?.scope.version).toBe('9.9.9-test');
  });

  it('every recorded instrument arrives with its documented name, unit and kind', () => {
    const d = receiver.last();
    const expected: MetricSpec[] = [
      METRICS.httpAttempt,
      METRICS.requests,
      METRICS.requestDuration,
      METRICS.retries,
      METRICS.webhooks,
      METRICS.queueDepth,
      METRICS.queueInFlight,
      METRICS.queueRetrying,
      METRICS.queueDead,
      METRICS.queueOldestAge,
      METRICS.recallDuration,
    ];
    for (const spec of expected) {
      const m = metric(d, spec.name);
      expect(m.unit, spec.name).toBe(spec.unit);
      expect(m.description, spec.name).toBe(spec.description);
      const kind = spec.kind === 'counter' || spec.kind === 'observable counter' ? 'sum' : spec.kind;
      expect(m.kind, spec.name).toBe(kind);
      if (m.kind === 'sum') expect(m.monotonic, spec.name).toBe(true);
      if (m.kind !== 'gauge') expect(m.temporality, spec.name).toBe('cumulative');
      for (const p of m.points)
        for (const k of Object.keys(p.attributes)) expect(spec.attributes, `${spec.name} attribute ${k}`).toContain(k);
    }
  });

  it('ByteRover requests: by endpoint template, method and status, with retries and durations in seconds; no ids in labels', () => {
    const d = receiver.last();
    const calls = metric(d, METRICS.requests.name);
    const me200 = points(calls, {
      endpoint: 'iam.user.me',
      'http.request.method': 'GET',
      'http.response.status_code': 200,
    });
    expect(me200).toHaveLength(1);
    expect(me200[0]?.value).toBe(2);
    expect(points(calls, { endpoint: 'iam.teams', 'http.response.status_code': 200 })[0]?.value).toBe(1);
    expect(
      points(calls, { endpoint: 'iam.spaces', 'http.response.status_code': 404, 'error.type': '404' })[0]?.value,
    ).toBe(1);
    expect(points(calls, { endpoint: 'cogit.snapshot' })).toHaveLength(1);

    const retries = metric(d, METRICS.retries.name);
    expect(points(retries, { endpoint: 'iam.user.me', 'http.response.status_code': 200 })[0]?.value).toBe(1);
    expect(points(retries, { endpoint: 'iam.teams' })[0]?.value).toBe(0);

    // Per attempt: the 503 attempt and the three 200 attempts of iam.user.me.
    const attempts = metric(d, METRICS.httpAttempt.name);
    expect(
      points(attempts, { endpoint: 'iam.user.me', 'http.response.status_code': 503, 'error.type': '503' })[0]?.count,
    ).toBe(1);
    expect(points(attempts, { endpoint: 'iam.user.me', 'http.response.status_code': 200 })[0]?.count).toBe(2);

    const dur = points(metric(d, METRICS.requestDuration.name), {
      endpoint: 'iam.user.me',
      'http.response.status_code': 200,
    })[0];
    expect(dur?.count).toBe(2);
    expect(dur?.explicitBounds?.[0]).toBe(0.005);
    expect(dur?.sum).toBeGreaterThan(0);
    expect(dur?.sum).toBeLessThan(60); // seconds, not milliseconds

    const ids = [...standin.teams.map((t) => t.id), ...standin.spaces.map((s) => s.id)];
    for (const m of d.metrics)
      for (const p of m.points)
        for (const v of Object.values(p.attributes)) for (const id of ids) expect(String(v)).not.toContain(id);
  });

  it('webhooks by result and code; queue gauges from bridge.status()', () => {
    const d = receiver.last();
    const w = metric(d, METRICS.webhooks.name);
    expect(
      points(w, {
        result: 'accepted',
        code: 'WEBHOOK_ACCEPTED',
        scheme: 'standard',
        'http.response.status_code': 200,
      })[0]?.value,
    ).toBe(1);
    expect(
      points(w, { result: 'duplicate', code: 'WEBHOOK_DUPLICATE', 'http.response.status_code': 200 })[0]?.value,
    ).toBe(1);
    expect(
      points(w, { result: 'rejected', code: 'WEBHOOK_SIGNATURE_MISMATCH', 'http.response.status_code': 401 })[0]?.value,
    ).toBe(1);
    expect(points(metric(d, METRICS.queueDepth.name), { 'queue.kind': 'sqlite' })[0]?.value).toBe(1); // worker off: the accepted event waits
    expect(points(metric(d, METRICS.queueDead.name), { 'queue.kind': 'sqlite' })[0]?.value).toBe(0);
    const age = points(metric(d, METRICS.queueOldestAge.name), { 'queue.kind': 'sqlite' })[0]?.value ?? -1;
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(600); // seconds
  });

  it('recall latency by operation', () => {
    const d = receiver.last();
    const r = metric(d, METRICS.recallDuration.name);
    expect(points(r, { op: 'recall', result: 'ok' })[0]?.count).toBe(1);
    expect(points(r, { op: 'search', result: 'ok' })[0]?.count).toBe(1);
    expect(points(r, { op: 'recall' })[0]?.explicitBounds?.[0]).toBe(0.00005);
  });

  it('logs the export start with header names, never their values', () => {
    const text = log.lines.join('');
    expect(text).toContain('"headerNames":["x-collector-token","x-tenant"]');
    expect(text).toContain('telemetry: exporting metrics to the OTLP collector');
    expect(text).not.toContain(HEADER_VALUE);
  });
});

describe('OTEL_* endpoint, header, protocol and interval rules', () => {
  const open = async (env: NodeJS.ProcessEnv): Promise<{ receiver: OtlpReceiver; telemetry: Telemetry }> => {
    const receiver = await OtlpReceiver.start();
    const e: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(env)) e[k] = v?.replace('{url}', receiver.url);
    const telemetry = createTelemetry({ env: e, logger: createLogger({ level: 'silent' }) });
    cleanups.push(
      () => receiver.close(),
      () => telemetry.shutdown(),
    );
    telemetry.recordWebhook({ status: 200, code: 'WEBHOOK_ACCEPTED', scheme: 'byterover' });
    return { receiver, telemetry };
  };

  it('the signal-specific endpoint is used as is (no /v1/metrics appended) and wins over the base one; its headers win key by key', async () => {
    const { receiver, telemetry } = await open({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9/never',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: '{url}/custom/ingest',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-a=base,x-b=base',
      OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'x-b=metrics',
    });
    expect(telemetry.otlp.enabled && telemetry.otlp.settings.endpointSource).toBe(
      'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
    );
    await telemetry.forceFlush();
    const r = receiver.requests[0];
    expect(r?.path).toBe('/custom/ingest');
    expect(r?.headers['x-a']).toBe('base');
    expect(r?.headers['x-b']).toBe('metrics');
    expect(metric(receiver.last(), METRICS.webhooks.name).points[0]?.attributes).toMatchObject({
      result: 'accepted',
      scheme: 'byterover',
    });
  });

  it('a base endpoint with a trailing slash gets v1/metrics once', async () => {
    const { receiver, telemetry } = await open({ OTEL_EXPORTER_OTLP_ENDPOINT: '{url}/otel/' });
    await telemetry.forceFlush();
    expect(receiver.requests[0]?.path).toBe('/otel/v1/metrics');
  });

  it('http/json with gzip: the receiver decodes OTLP/JSON after Content-Encoding', async () => {
    const { receiver, telemetry } = await open({
      OTEL_EXPORTER_OTLP_ENDPOINT: '{url}',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    });
    await telemetry.forceFlush();
    const r = receiver.requests[0];
    expect(r?.contentType).toBe('application/json');
    expect(r?.headers['content-encoding']).toBe('gzip');
    expect(r?.raw.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(r?.decodeError).toBeUndefined();
    const w = metric(receiver.last(), METRICS.webhooks.name);
    expect(w.unit).toBe('{webhook}');
    expect(points(w, { code: 'WEBHOOK_ACCEPTED' })[0]?.value).toBe(1);
  });

  it('OTEL_METRIC_EXPORT_INTERVAL drives periodic exports without a flush', async () => {
    const { receiver } = await open({ OTEL_EXPORTER_OTLP_ENDPOINT: '{url}', OTEL_METRIC_EXPORT_INTERVAL: '100' });
    await until(() => receiver.requests.length >= 2, 'two periodic exports');
    expect(receiver.requests.every((r) => r.decoded !== undefined)).toBe(true);
  });

  it('no endpoint, OTEL_METRICS_EXPORTER=none, or OTEL_SDK_DISABLED=true: OTLP off', () => {
    const silent = createLogger({ level: 'silent' });
    const none = createTelemetry({ env: {}, logger: silent });
    expect(none.otlp).toMatchObject({ enabled: false, reason: 'not_configured' });
    expect(none.enabled).toBe(true);
    const notOtlp = createTelemetry({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_METRICS_EXPORTER: 'none' },
      logger: silent,
    });
    expect(notOtlp.otlp).toMatchObject({ enabled: false, reason: 'exporter_not_otlp' });
    const disabled = createTelemetry({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_SDK_DISABLED: 'true' },
      logger: silent,
    });
    expect(disabled.enabled).toBe(false);
    expect(disabled.otlp).toMatchObject({ enabled: false, reason: 'sdk_disabled' });
    cleanups.push(
      () => none.shutdown(),
      () => notOtlp.shutdown(),
      () => disabled.shutdown(),
    );
  });

  it('failures are logged once per state change, with the collector status and message, and recovery once', async () => {
    const receiver = await OtlpReceiver.start();
    const log = capture();
    const telemetry = createTelemetry({
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${HEADER_VALUE}`,
      },
      logger: log.logger,
    });
    cleanups.push(
      () => receiver.close(),
      () => telemetry.shutdown(),
    );
    telemetry.recordSkillInvoke('whoami', 'ok', 12);
    receiver.respond = () => ({
      status: 401,
      headers: { 'content-type': 'application/x-protobuf' },
      body: statusBody(16, 'invalid api key for tenant'),
    });
    for (let i = 0; i < 3; i++) await telemetry.forceFlush();
    receiver.respond = () => ({ status: 503, body: 'queue full' });
    for (let i = 0; i < 2; i++) await telemetry.forceFlush();
    receiver.respond = () => ({
      status: 200,
      headers: { 'content-type': 'application/x-protobuf' },
      body: Buffer.alloc(0),
    });
    for (let i = 0; i < 2; i++) await telemetry.forceFlush();

    expect(receiver.requests).toHaveLength(7);
    expect(receiver.requests[0]?.headers.authorization).toBe(`Bearer ${HEADER_VALUE}`);
    const lines = log.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const events = lines.filter((l) => l.event === 'telemetry.export');
    expect(events.map((e) => e.state)).toEqual(['http_401', 'http_503', 'ok']);
    expect(events[0]).toMatchObject({
      level: 40,
      status: 401,
      collectorMessage: 'invalid api key for tenant',
      headerNames: ['authorization'],
      previous: 'idle',
    });
    expect(events[1]).toMatchObject({ level: 40, status: 503, collectorMessage: 'queue full', previous: 'http_401' });
    expect(events[2]).toMatchObject({ level: 30, previous: 'http_503' });
    // Nothing else speaks up per export: the transport's own per-call lines stay quiet.
    expect(
      lines.filter((l) => (l.level as number) >= 30 && l.event !== 'telemetry.export' && l.event !== 'telemetry.otlp'),
    ).toEqual([]);
    expect(log.lines.join('')).not.toContain(HEADER_VALUE);
    expect(telemetry.exportStatus()).toMatchObject({ state: 'ok', exports: 7, failures: 5, lastStatus: 200 });
  });

  it('shutdown flushes what was recorded since the last export', async () => {
    const { receiver, telemetry } = await open({ OTEL_EXPORTER_OTLP_ENDPOINT: '{url}' });
    telemetry.recordHandshake({ result: 'AGENT_PROTOCOL_MISMATCH', durationMs: 3 });
    await telemetry.shutdown();
    const h = metric(receiver.last(), METRICS.handshakes.name);
    expect(points(h, { result: 'AGENT_PROTOCOL_MISMATCH' })[0]?.value).toBe(1);
  });
});
