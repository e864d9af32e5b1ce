/**
 * Failure 4, "metrics don't appear", created for real with loopback OTLP/HTTP receivers: one that
 * answers 401 to a wrong bearer token (configured the standard way, OTEL_EXPORTER_OTLP_HEADERS),
 * one that rejects the payload (400, what the OpenTelemetry Collector answers for a body it cannot
 * decode), one that accepts but rejects the data point (`partial_success`); and the bridge's
 * /metrics, served by a real bridge with telemetry mounted, then stopped. Doctor must name each,
 * show the evidence (endpoint, protocol, HTTP status, header NAMES) and the next step, and never
 * print the header value.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBridge, parseBridgeConfig, type Bridge } from '../../../lib/bridge/index.js';
import { createLogger } from '../../../lib/log/index.js';
import { createTelemetry, type Telemetry } from '../../../lib/telemetry/index.js';
import { startCliEnv, type CliEnv } from '../cli/harness.js';
import { doctorJson, evidence, startCollector, type Collector } from './harness.js';

const SECRET = `otlp-token-${Math.random().toString(36).slice(2)}-do-not-print`;
const silent = createLogger({ level: 'silent' });
let e: CliEnv;
const collectors: Collector[] = [];
let bridge: Bridge | undefined;
let telemetry: Telemetry | undefined;
let dir: string;

beforeAll(async () => {
  e = await startCliEnv();
  dir = mkdtempSync(join(tmpdir(), 'doctor-telemetry-'));
});

afterAll(async () => {
  for (const c of collectors) await c.close();
  await telemetry?.shutdown().catch(() => undefined);
  await bridge?.close().catch(() => undefined);
  await e?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function collector(kind: Parameters<typeof startCollector>[0], token?: string): Promise<Collector> {
  const c = await startCollector(kind, token);
  collectors.push(c);
  return c;
}

describe('doctor: "metrics don\'t appear"', () => {
  it('a collector that answers 401: names the auth failure and the header sent, never its value', async () => {
    const c = await collector('unauthorized', 'the-right-token');
    const r = await doctorJson(e, [], {
      OTEL_EXPORTER_OTLP_ENDPOINT: c.url,
      OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${SECRET}`,
    });
    const t = r.check('telemetry.collector');
    expect(t).toMatchObject({ status: 'fail', code: 'TELEMETRY_AUTH', symptom: "metrics don't appear" });
    expect(t.summary).toMatch(/^the collector refused the credentials \(HTTP 401\)/);
    expect(evidence(t, 'OTEL_EXPORTER_OTLP_HEADERS')).toBe('headers authorization (values hidden)');
    expect(evidence(t, 'test export')).toBe(`http/protobuf POST ${c.url}/v1/metrics → HTTP 401`);
    // each fact once: endpoint and protocol are in the test export line
    expect(t.evidence.map((x) => x.label).filter((l) => l === 'url' || l === 'protocol')).toEqual([]);
    expect(evidence(t, 'headerNames')).toBe('authorization');
    expect(t.next[0]).toMatch(/Headers sent: authorization \(values hidden\)\. Check the token/);
    expect(c.requests[0]).toMatchObject({
      path: '/v1/metrics',
      contentType: 'application/x-protobuf',
      authorization: `Bearer ${SECRET}`,
    });
    expect(r.code).toBe(7);
    expect(r.all).not.toContain(SECRET);
  });

  it('a collector that rejects the payload (400): a format failure, with the protocol that was sent', async () => {
    const c = await collector('bad-payload');
    const r = await doctorJson(e, ['--collector', `${c.url}/v1/metrics`]);
    const t = r.check('telemetry.collector');
    expect(t).toMatchObject({ status: 'fail', code: 'TELEMETRY_FORMAT' });
    expect(t.summary).toMatch(/^the collector refused the payload format \(HTTP 400, sent http\/protobuf\)/);
    expect(evidence(t, '--collector')).toBe(`${c.url}/v1/metrics`);
    expect(t.next[0]).toMatch(/OTEL_EXPORTER_OTLP_PROTOCOL/);
  });

  it('a collector that accepts but rejects the data point (partial_success): rejected, with its message', async () => {
    const c = await collector('partial-reject');
    const t = (await doctorJson(e, ['--collector', `${c.url}/v1/metrics`])).check('telemetry.collector');
    expect(t).toMatchObject({ status: 'fail', code: 'TELEMETRY_REJECTED' });
    expect(t.summary).toMatch(/^the collector answered HTTP 200 but rejected 1 data point\(s\)/);
    expect(t.summary).toContain('label probe.id is not allowed');
    expect(t.next[0]).toMatch(/^The collector \(or its backend\) refuses some data: .*label limits, metric name rules/);
  });

  it('a collector that accepts: pass; the bridge /metrics of a running bridge: pass; once stopped: unreachable', async () => {
    const ok = await collector('accept');
    const config = parseBridgeConfig({ store: { kind: 'sqlite', path: join(dir, 'bridge.db') } });
    bridge = await createBridge({ config, dataDir: dir, worker: false, logger: silent });
    telemetry = createTelemetry({ env: {}, logger: silent });
    telemetry.mountMetrics(bridge);
    const { url } = await bridge.listen(0, '127.0.0.1');
    const r = await doctorJson(e, ['--collector', `${ok.url}/v1/metrics`, '--bridge', url]);
    expect(r.check('telemetry.collector')).toMatchObject({ status: 'pass' });
    const m = r.check('telemetry.metrics');
    expect(m.status).toBe('pass');
    expect(evidence(m, 'scrape')).toBe(`GET ${url}/metrics → HTTP 200`);
    await bridge.close();
    bridge = undefined;
    const down = (await doctorJson(e, ['--bridge', url])).check('telemetry.metrics');
    expect(down).toMatchObject({ status: 'fail', code: 'TELEMETRY_METRICS_UNREACHABLE' });
    expect(down.summary).toMatch(new RegExp(`^could not fetch ${url}/metrics`));
    expect(down.next[0]).toContain('claw-byterover serve');
  });
});
