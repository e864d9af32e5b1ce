/**
 * Credentials a user put in a URL never reach doctor's report: user info (`https://user:pw@host`)
 * and query strings (`?access_token=…`) in `--claw-api`, `--collector`, `--bridge` and the
 * `OTEL_EXPORTER_OTLP_*ENDPOINT` variables are shown as [REDACTED], human and --json, stdout and
 * stderr, while scheme, host, port and path stay visible. Real loopback servers answer (an OTLP
 * receiver, a plain HTTP server for claw-api and /metrics), so every check gets as far as it can.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliEnv, type CliEnv } from '../cli/harness.js';
import { doctorJson, evidence, startCollector, type Collector } from './harness.js';

let e: CliEnv;
let collector: Collector;
let server: Server;
let base: string;

beforeAll(async () => {
  e = await startCliEnv();
  collector = await startCollector('accept');
  // Answers 404 to everything: enough for the claw-api and /metrics probes to report an answer.
  server = createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('not here'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await collector?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await e?.close();
});

describe('doctor: credentials inside URLs', () => {
  it('user info and query strings are redacted everywhere; host, port and path are kept', async () => {
    const secrets = [
      'otlpPw-7f3a',
      'otlpQ-91c2',
      'colPw-44de',
      'colQ-0b7e',
      'caPw-5a61',
      'caQ-e2d9',
      'brPw-c8f0',
      'brQ-13aa',
    ];
    const collectorHost = collector.url.replace('http://', '');
    const args = [
      '--collector',
      `http://coluser:colPw-44de@${collectorHost}/v1/metrics?key=colQ-0b7e`,
      '--claw-api',
      `http://causer:caPw-5a61@${base}/?access_token=caQ-e2d9`,
      '--bridge',
      `http://bruser:brPw-c8f0@${base}/?k=brQ-13aa`,
    ];
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://otlpuser:otlpPw-7f3a@${collectorHost}?token=otlpQ-91c2`,
      CLAW_API_TOKEN: 'a-claw-api-token-value-0001',
    };
    const r = await doctorJson(e, args, env);
    for (const s of secrets) expect(r.all, s).not.toContain(s);
    const t = r.check('telemetry.collector');
    expect(evidence(t, '--collector')).toBe(`http://[REDACTED]@${collectorHost}/v1/metrics?[REDACTED]`);
    expect(evidence(t, 'OTEL_EXPORTER_OTLP_ENDPOINT')).toBe(`http://[REDACTED]@${collectorHost}/?[REDACTED]`);
    expect(evidence(r.check('clawapi.registration'), 'claw-api')).toBe(`http://[REDACTED]@${base}/?[REDACTED]`);
    expect(evidence(r.check('telemetry.metrics'), 'scrape')).toMatch(
      new RegExp(`^GET http://\\[REDACTED\\]@${base.replace(/\./g, '\\.')}/metrics`),
    );

    const human = await e.cli(['doctor', ...args], { env });
    for (const s of secrets) expect(human.out + human.err, s).not.toContain(s);
    expect(human.out).toMatch(
      new RegExp(`^ +claw-api +http://\\[REDACTED\\]@${base.replace(/\./g, '\\.')}/\\?\\[REDACTED\\]$`, 'm'),
    );
  });
});
