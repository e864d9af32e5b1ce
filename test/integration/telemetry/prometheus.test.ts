/**
 * The Prometheus path end to end: a real bridge (SQLite store, worker on) with telemetry mounted on
 * its own server, real traffic (webhooks processed by the worker, ByteRover calls through lib/http to
 * the stand-in), and a REAL Prometheus (Debian `prometheus`) started here with a temp config and
 * storage, scraping the bridge's /metrics every second. The series are then found through
 * Prometheus's HTTP query API with the expected labels.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createBridge,
  HandlerRegistry,
  parseBridgeConfig,
  standardKey,
  standardSignature,
  type Bridge,
} from '../../../lib/bridge/index.js';
import { createByteRoverClient } from '../../../lib/byterover/index.js';
import { createHttpClient, RetryBudget, type HttpTransport } from '../../../lib/http/index.js';
import { createLogger } from '../../../lib/log/index.js';
import { createTelemetry, type Telemetry } from '../../../lib/telemetry/index.js';
import { missingTools } from '../../helpers/tools.js';
import { DEFAULT_SESSION_KEY, startByteRoverStandin, type ByteRoverStandin } from '../../standin/byterover.js';
import { KeyListSession } from '../../unit/byterover/harness.js';
import { freePort, until } from './receiver.js';

const skip = missingTools(['prometheus'], 'apt-get install -y prometheus');
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const silent = createLogger({ level: 'silent' });

interface PromResult {
  metric: Record<string, string>;
  value: [number, string];
}

describe.skipIf(skip)(`real Prometheus scrapes the bridge's /metrics${skip ? ` (${skip})` : ''}`, () => {
  let dir: string;
  let bridge: Bridge;
  let telemetry: Telemetry;
  let standin: ByteRoverStandin;
  let http: HttpTransport;
  let prom: ChildProcess;
  let promUrl: string;
  let promLog = '';
  let bridgePort: number;

  const query = async (q: string): Promise<PromResult[]> => {
    const r = await request(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    const j = (await r.body.json()) as { status: string; data?: { result: PromResult[] }; error?: string };
    if (j.status !== 'success') throw new Error(`query ${q} failed: ${j.error}`);
    return j.data?.result ?? [];
  };
  /** Polls until the query returns series (Prometheus scrapes every second). */
  const series = (q: string, ok: (r: PromResult[]) => boolean = (r) => r.length > 0): Promise<PromResult[]> =>
    until(
      async () => {
        const r = await query(q);
        return ok(r) ? r : undefined;
      },
      `Prometheus series for ${q} (prometheus log tail: ${promLog.slice(-500)})`,
      45_000,
      250,
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'claw-telemetry-prom-'));
    telemetry = createTelemetry({ env: {}, logger: silent, version: '1.2.3-test' });

    // The bridge with its worker and a handler that fails one event type (a retry, then dead letter).
    const handlers = new HandlerRegistry();
    handlers.on('memory.updated', async () => undefined);
    handlers.on('memory.poison', async () => {
      throw new Error('poison event');
    });
    const config = parseBridgeConfig({
      webhooks: { standardSecrets: [SECRET] },
      queue: { maxAttempts: 2, retryBaseMs: 1, retryCapMs: 5, pollMs: 20 },
      store: { kind: 'sqlite', path: join(dir, 'bridge.db') },
    });
    bridge = await createBridge({
      config,
      dataDir: dir,
      handlers,
      logger: silent,
      onWebhookResult: telemetry.recordWebhook,
    });
    telemetry.instrumentBridge(bridge);
    telemetry.mountMetrics(bridge);
    const listening = await bridge.listen(0, '127.0.0.1');
    bridgePort = listening.port;

    const send = async (type: string, sign = true): Promise<number> => {
      const id = `msg_${randomBytes(6).toString('hex')}`;
      const body = JSON.stringify({ type, data: {} });
      const ts = String(Math.floor(Date.now() / 1000));
      const sig = sign ? standardSignature(standardKey(SECRET), id, ts, Buffer.from(body)).toString('base64') : 'AAAA';
      const r = await request(`${listening.url}/webhooks/byterover`, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': ts,
          'webhook-signature': `v1,${sig}`,
        },
      });
      await r.body.dump();
      return r.statusCode;
    };
    for (let i = 0; i < 3; i++) expect(await send('memory.updated')).toBe(200);
    expect(await send('memory.poison')).toBe(200);
    expect(await send('memory.updated', false)).toBe(401);
    await until(
      async () => (await bridge.status()).queue.dead === 1 && (await bridge.status()).worker?.processed === 3,
      'the worker to process 3 events and dead-letter 1',
    );

    // ByteRover calls observed by telemetry.
    standin = await startByteRoverStandin();
    http = createHttpClient({
      logger: silent,
      budget: new RetryBudget(),
      random: () => 0,
      observers: [telemetry.httpObserver],
    });
    const client = createByteRoverClient({
      http,
      session: new KeyListSession([DEFAULT_SESSION_KEY]),
      logger: silent,
      config: standin.clientConfig(),
    });
    await client.me();
    standin.inject({ kind: 'status', status: 502, endpoint: 'iam.user.me', times: 1 });
    await client.me();

    // Real Prometheus with its own config and storage, scraping every second.
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const configFile = join(dir, 'prometheus.yml');
    writeFileSync(
      configFile,
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 900ms',
        'scrape_configs:',
        '  - job_name: claw-byterover',
        '    metrics_path: /metrics',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${bridgePort}']`,
        '',
      ].join('\n'),
    );
    prom = spawn(
      'prometheus',
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prom.stdout?.on('data', (d: Buffer) => (promLog = (promLog + d.toString()).slice(-5000)));
    prom.stderr?.on('data', (d: Buffer) => (promLog = (promLog + d.toString()).slice(-5000)));
    await until(
      async () => {
        const r = await request(`${promUrl}/-/ready`).catch(() => undefined);
        await r?.body.dump();
        return r?.statusCode === 200;
      },
      `Prometheus to be ready (log: ${promLog.slice(-500)})`,
      45_000,
      200,
    );
  });

  afterAll(async () => {
    if (prom && prom.exitCode === null) {
      const exited = new Promise((r) => prom.once('exit', r));
      prom.kill('SIGTERM');
      await exited;
    }
    await http?.close();
    await standin?.close();
    await bridge?.close();
    await telemetry?.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the scrape target is up, with no scrape error', async () => {
    const up = await series('up{job="claw-byterover"} == 1');
    expect(up[0]?.metric).toMatchObject({ job: 'claw-byterover', instance: `127.0.0.1:${bridgePort}` });
    const r = await request(`${promUrl}/api/v1/targets?state=active`);
    const t = (await r.body.json()) as {
      data: { activeTargets: Array<{ health: string; lastError: string; scrapeUrl: string }> };
    };
    expect(t.data.activeTargets[0]).toMatchObject({
      health: 'up',
      lastError: '',
      scrapeUrl: `http://127.0.0.1:${bridgePort}/metrics`,
    });
  });

  it('webhooks by result and code', async () => {
    const accepted = await series('claw_byterover_webhooks_total{result="accepted"}', (r) => r[0]?.value[1] === '4');
    expect(accepted[0]?.metric).toMatchObject({
      code: 'WEBHOOK_ACCEPTED',
      scheme: 'standard',
      http_response_status_code: '200',
      otel_scope_name: 'claw-byterover',
      job: 'claw-byterover',
    });
    const rejected = await series('claw_byterover_webhooks_total{result="rejected"}');
    expect(rejected[0]?.metric).toMatchObject({ code: 'WEBHOOK_SIGNATURE_MISMATCH', http_response_status_code: '401' });
    expect(rejected[0]?.value[1]).toBe('1');
  });

  it('queue gauges and worker outcomes', async () => {
    const dead = await series('claw_byterover_queue_dead_letters{queue_kind="sqlite"}');
    expect(dead[0]?.value[1]).toBe('1');
    const depth = await series('claw_byterover_queue_depth{queue_kind="sqlite"}');
    expect(depth[0]?.value[1]).toBe('0');
    await series('claw_byterover_queue_oldest_age{queue_kind="sqlite"}');
    const jobs = await series('claw_byterover_queue_jobs_total{queue_kind="sqlite"}', (r) => r.length === 4);
    const by = Object.fromEntries(jobs.map((j) => [j.metric.result, j.value[1]]));
    expect(by).toMatchObject({ processed: '3', dead_lettered: '1', stale: '0' });
    expect(Number(by.retried)).toBeGreaterThanOrEqual(1);
  });

  it('ByteRover requests by endpoint and status, retries, and a histogram with le buckets', async () => {
    const calls = await series('claw_byterover_requests_total{endpoint="iam.user.me"}');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.metric).toMatchObject({ http_request_method: 'GET', http_response_status_code: '200' });
    expect(calls[0]?.value[1]).toBe('2');
    const retries = await series('claw_byterover_request_retries_total{endpoint="iam.user.me"}');
    expect(retries[0]?.value[1]).toBe('1');
    const failedAttempt = await series(
      'http_client_request_duration_count{endpoint="iam.user.me",http_response_status_code="502"}',
    );
    expect(failedAttempt[0]?.metric).toMatchObject({ error_type: '502' });
    const buckets = await series(
      'http_client_request_duration_bucket{endpoint="iam.user.me",http_response_status_code="200"}',
    );
    expect(new Set(buckets.map((b) => b.metric.le))).toContain('+Inf');
    expect(buckets.find((b) => b.metric.le === '+Inf')?.value[1]).toBe('2');
  });

  it('the resource arrives as target_info', async () => {
    const info = await series('target_info{job="claw-byterover"}');
    expect(info[0]?.metric).toMatchObject({ service_name: 'claw-byterover', service_version: '1.2.3-test' });
  });
});
