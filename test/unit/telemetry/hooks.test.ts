/**
 * The optional hooks other parts call, wired to the recorders and read back from the real SDK:
 * the session provider's onRefresh (every result it can report without an issuer), the agent link's
 * and probe's onHandshake against the scripted gateway (ok and a protocol mismatch), LocalMemory's
 * onRecall, lib/http's observer against a real server, the skill recorder's bounded labels, the
 * queue gauges' cache (a scrape storm costs one status read), and telemetry turned off.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probeHandshake } from '../../../lib/agent/index.js';
import { createMemoryTokenStore, createSessionProvider } from '../../../lib/byterover/auth/index.js';
import type { AuthRefreshEvent } from '../../../lib/byterover/auth/session.js';
import { isClawError } from '../../../lib/errors.js';
import { createHttpClient, RetryBudget } from '../../../lib/http/index.js';
import { createLogger } from '../../../lib/log/index.js';
import { LocalMemory } from '../../../lib/memory/index.js';
import { createTelemetry, METRICS, parsePrometheusText, type Telemetry } from '../../../lib/telemetry/index.js';
import { gateway, tempDataDir, testLink } from '../agent/helpers.js';
import { engines, tempProject } from '../memory/helpers.js';
import { samples, value } from './helpers.js';

const silent = createLogger({ level: 'silent' });
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

function telemetry(config: Parameters<typeof createTelemetry>[0] = {}): Telemetry {
  const t = createTelemetry({ env: {}, logger: silent, ...config });
  cleanups.push(() => t.shutdown());
  return t;
}

describe('session onRefresh → claw_byterover.auth.refreshes', () => {
  const http = createHttpClient({ logger: silent });
  const stored = (over: Record<string, unknown>) => ({
    sessionKey: `key-${Math.random().toString(36).slice(2)}`,
    version: 1,
    updatedAt: new Date().toISOString(),
    ...over,
  });

  it('an API key rejected by the API: renewal gives the same key back (unchanged, rejected)', async () => {
    const t = telemetry();
    const events: AuthRefreshEvent[] = [];
    const store = createMemoryTokenStore();
    const cred = stored({ kind: 'api-key' });
    await store.save(cred as never);
    const sp = createSessionProvider({
      store,
      http,
      logger: silent,
      onRefresh: (e) => (events.push(e), t.recordAuthRefresh(e)),
    });
    expect(await sp.sessionKey()).toBe(cred.sessionKey);
    expect(events).toEqual([]); // a fresh key needs no renewal
    expect(await sp.onUnauthorized?.(cred.sessionKey)).toBe(false);
    expect(events).toMatchObject([{ kind: 'api-key', result: 'unchanged', reason: 'rejected' }]);
    expect(events[0]?.durationMs).toBeGreaterThanOrEqual(0);
    expect(
      await value(t, 'claw_byterover_auth_refreshes_total', {
        auth_kind: 'api-key',
        result: 'unchanged',
        reason: 'rejected',
      }),
    ).toBe(1);
  });

  it('an expired OAuth credential without a refresh token: reauth_required (expiry)', async () => {
    const t = telemetry();
    const store = createMemoryTokenStore();
    await store.save(
      stored({
        kind: 'oauth',
        expiresAt: Math.floor(Date.now() / 1000) - 60,
        issuedAt: Math.floor(Date.now() / 1000) - 3660,
      }) as never,
    );
    const sp = createSessionProvider({ store, http, logger: silent, onRefresh: t.recordAuthRefresh });
    const err = await sp.sessionKey().catch((e: unknown) => e);
    expect(isClawError(err, 'AUTH_REAUTH_REQUIRED')).toBe(true);
    expect(
      await value(t, 'claw_byterover_auth_refreshes_total', {
        auth_kind: 'oauth',
        result: 'reauth_required',
        reason: 'expiry',
      }),
    ).toBe(1);
  });

  it('nothing stored and a 401: not_logged_in; a throwing observer never breaks the renewal', async () => {
    const t = telemetry();
    const sp = createSessionProvider({
      store: createMemoryTokenStore(),
      http,
      logger: silent,
      onRefresh: (e) => (
        t.recordAuthRefresh(e),
        (() => {
          throw new Error('observer bug');
        })()
      ),
    });
    expect(await sp.onUnauthorized?.('some-rejected-key')).toBe(false);
    expect(
      await value(t, 'claw_byterover_auth_refreshes_total', {
        auth_kind: 'unknown',
        result: 'not_logged_in',
        reason: 'rejected',
      }),
    ).toBe(1);
  });
});

describe('agent onHandshake → claw_byterover.agent.handshakes', () => {
  it('probe and link: ok with the negotiated protocol, a mismatch by its error code', async () => {
    const t = telemetry();
    const ok = await gateway({ current: 4 });
    const r = await probeHandshake(ok.url, {
      dataDir: await tempDataDir(),
      onHandshake: t.recordHandshake,
      logger: silent,
    });
    expect(r.negotiated).toBe(4);
    const { link } = await testLink(ok, { onHandshake: t.recordHandshake });
    await link.start();
    await link.stop();
    expect(await value(t, 'claw_byterover_agent_handshakes_total', { result: 'ok', agent_protocol: '4' })).toBe(2);

    const newer = await gateway({ current: 7 });
    const mismatch = await probeHandshake(newer.url, {
      dataDir: await tempDataDir(),
      onHandshake: t.recordHandshake,
      logger: silent,
    });
    const code = mismatch.error?.code as string;
    expect(code).toMatch(/^AGENT_/);
    const { link: l2 } = await testLink(newer, { onHandshake: t.recordHandshake });
    await expect(l2.start()).rejects.toMatchObject({ code });
    const s = await samples(t, 'claw_byterover_agent_handshakes_total', { result: code });
    expect(s).toHaveLength(1);
    expect(s[0]?.value).toBe(2);
    expect(s[0]?.labels.agent_protocol).toBeUndefined();
  });
});

describe('LocalMemory onRecall → claw_byterover.recall.duration', () => {
  it('records search and recall latency in seconds, and failures', async () => {
    const t = telemetry();
    const engine = (await engines()).find((e) => e.name === 'minisearch');
    const p = await tempProject(true);
    const mem = await LocalMemory.open({
      projectRoot: p.project,
      watch: false,
      index: engine?.factory,
      onRecall: t.recordRecall,
    });
    await mem.recall('refresh token rotation', { k: 3, tokenBudget: 100 });
    await mem.recall('postgres pooling', { k: 3 });
    await mem.search('dead-letter', { k: 2 });
    const aborted = new AbortController();
    aborted.abort();
    await expect(mem.search('x', { signal: aborted.signal })).rejects.toMatchObject({ code: 'MEMORY_ABORTED' });
    await mem.close();
    expect(await value(t, 'claw_byterover_recall_duration_count', { op: 'recall', result: 'ok' })).toBe(2);
    expect(await value(t, 'claw_byterover_recall_duration_count', { op: 'search', result: 'ok' })).toBe(1);
    expect(await value(t, 'claw_byterover_recall_duration_count', { op: 'search', result: 'error' })).toBe(1);
    const sum = (await value(t, 'claw_byterover_recall_duration_sum', { op: 'recall', result: 'ok' })) ?? -1;
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(10); // seconds
  });
});

describe('lib/http observer', () => {
  it('counts calls by endpoint label, transport errors by code, and folds label values past the limit into other', async () => {
    const t = telemetry({ config: { maxLabelValues: 3 } });
    const server = createServer((req, res) => {
      res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'application/json' });
      res.end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const http = createHttpClient({ logger: silent, budget: new RetryBudget(), observers: [t.httpObserver] });
    cleanups.push(() => http.close());
    for (const e of ['a.one', 'a.two', 'a.three', 'a.four', 'a.five'])
      await http.request({ method: 'GET', url: `${base}/ok`, endpoint: e });
    await http.request({ method: 'GET', url: `${base}/missing`, endpoint: 'a.one' });
    await http.request({ method: 'GET', url: `${base}/ok`, endpoint: 'user 42 / free text' });
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await http
      .request({ method: 'GET', url: `http://127.0.0.1:${deadPort}/`, endpoint: 'a.one', retry: false })
      .catch(() => undefined);

    const s = await samples(t, 'claw_byterover_requests_total');
    const endpoints = new Set(s.map((x) => x.labels.endpoint));
    expect(endpoints).toEqual(new Set(['a.one', 'a.two', 'a.three', 'other']));
    expect(
      await value(t, 'claw_byterover_requests_total', { endpoint: 'other', http_response_status_code: '200' }),
    ).toBe(3);
    expect(
      await value(t, 'claw_byterover_requests_total', {
        endpoint: 'a.one',
        http_response_status_code: '404',
        error_type: '404',
      }),
    ).toBe(1);
    const network = await samples(t, 'claw_byterover_requests_total', {
      endpoint: 'a.one',
      error_type: 'HTTP_NETWORK',
    });
    expect(network).toHaveLength(1);
    expect(network[0]?.labels.http_response_status_code).toBeUndefined();
  });
});

describe('skill recorder', () => {
  it('known actions are kept, unknown ones become other; outcomes are bounded', async () => {
    const t = telemetry({ config: { maxLabelValues: 2 } });
    t.recordSkillInvoke('search', 'ok', 5);
    t.recordSkillInvoke('search', 'ok', 7);
    t.recordSkillInvoke('drop-database', 'invalid', 1);
    t.recordSkillInvoke('whoami', 'upstream_error', 30);
    t.recordSkillInvoke('whoami', 'an outcome with spaces', 30);
    expect(await value(t, 'claw_byterover_skill_invocations_total', { action: 'search', outcome: 'ok' })).toBe(2);
    expect(await value(t, 'claw_byterover_skill_invocations_total', { action: 'other', outcome: 'invalid' })).toBe(1);
    expect(await value(t, 'claw_byterover_skill_invocations_total', { action: 'whoami', outcome: 'other' })).toBe(2);
    expect(await value(t, 'claw_byterover_skill_duration_sum', { action: 'search', outcome: 'ok' })).toBeCloseTo(
      0.012,
      6,
    );
  });
});

describe('queue gauges', () => {
  it('a scrape storm reads bridge.status() once per cache period, and a failing read drops the gauges without failing the scrape', async () => {
    const t = telemetry({ config: { queueStatsCacheMs: 60_000 } });
    let reads = 0;
    let fail = false;
    const detach = t.instrumentBridge({
      status: async () => {
        reads++;
        if (fail) throw new Error('database is locked');
        await new Promise((r) => setTimeout(r, 20));
        return {
          queue: { kind: 'postgres', depth: 7, inFlight: 2, retrying: 1, dead: 3, oldestAgeMs: 2500 },
          worker: undefined,
        };
      },
    });
    await Promise.all(Array.from({ length: 20 }, () => t.scrape()));
    expect(reads).toBe(1);
    expect(await value(t, 'claw_byterover_queue_depth', { queue_kind: 'postgres' })).toBe(7);
    expect(await value(t, 'claw_byterover_queue_oldest_age', { queue_kind: 'postgres' })).toBe(2.5);
    expect(await samples(t, 'claw_byterover_queue_jobs_total')).toEqual([]); // no worker in this instance
    expect(reads).toBe(1);

    const t2 = telemetry({ config: { queueStatsCacheMs: 0 } });
    fail = true;
    t2.instrumentBridge({
      status: async () => {
        reads++;
        throw new Error('database is locked');
      },
    });
    t2.recordWebhook({ status: 200, code: 'WEBHOOK_ACCEPTED' });
    expect(await samples(t2, 'claw_byterover_queue_depth')).toEqual([]);
    expect(await value(t2, 'claw_byterover_webhooks_total', { result: 'accepted', scheme: 'none' })).toBe(1);
    detach();
  });
});

describe('queue gauges over a store that hangs', () => {
  it('a collection does not wait on it past queueStatsTimeoutMs (the rest of /metrics is served), and the next one reads again', async () => {
    const t = telemetry({ config: { queueStatsCacheMs: 0, queueStatsTimeoutMs: 50 } });
    let reads = 0;
    t.instrumentBridge({
      status: () => {
        reads++;
        // The first read never answers (a hung store); later ones do.
        if (reads === 1) return new Promise<never>(() => undefined);
        return Promise.resolve({
          queue: { kind: 'sqlite', depth: 4, inFlight: 0, retrying: 0, dead: 0, oldestAgeMs: 0 },
          worker: undefined,
        });
      },
    });
    t.recordWebhook({ status: 200, code: 'WEBHOOK_ACCEPTED' });
    let guard: NodeJS.Timeout | undefined;
    const first = await Promise.race([
      t.scrape(),
      new Promise<'hung'>((r) => (guard = setTimeout(() => r('hung'), 20_000))),
    ]);
    clearTimeout(guard);
    expect(first).not.toBe('hung');
    const parsed = parsePrometheusText(first);
    expect(parsed.samples.find((x) => x.name === 'claw_byterover_webhooks_total')?.value).toBe(1);
    expect(parsed.samples.some((x) => x.name === 'claw_byterover_queue_depth')).toBe(false);
    // The hung read is not shared forever: the next collection asks the store again and gets its answer.
    expect(await value(t, 'claw_byterover_queue_depth', { queue_kind: 'sqlite' })).toBe(4);
    expect(reads).toBe(2);
  });
});

describe('telemetry turned off', () => {
  it('OTEL_SDK_DISABLED=true or enabled=false: recorders are no-ops, nothing to scrape', async () => {
    for (const t of [
      createTelemetry({ env: { OTEL_SDK_DISABLED: 'true' }, logger: silent }),
      createTelemetry({ env: {}, config: { enabled: false }, logger: silent }),
    ]) {
      expect(t.enabled).toBe(false);
      t.recordWebhook({ status: 200, code: 'WEBHOOK_ACCEPTED' });
      t.httpObserver.onCall?.({
        endpoint: 'x',
        method: 'GET',
        status: 200,
        errorCode: undefined,
        attempts: 1,
        durationMs: 1,
      });
      expect(await t.scrape()).toBe('');
      await t.shutdown();
    }
  });

  it('prometheus.enabled=false: no /metrics route, scrape is empty, OTLP unaffected', async () => {
    const t = telemetry({ config: { prometheus: { enabled: false } } });
    const routes: string[] = [];
    t.mountMetrics({ route: (m: string, p: string) => routes.push(`${m} ${p}`) });
    expect(routes).toEqual([]);
    expect(await t.scrape()).toBe('');
    const t2 = telemetry({ config: { prometheus: { path: '/internal/metrics' } } });
    t2.mountMetrics({ server: { route: (m: string, p: string) => routes.push(`${m} ${p}`) } });
    expect(routes).toEqual(['GET /internal/metrics']);
    expect(METRICS.webhooks.name).toBe('claw_byterover.webhooks');
  });
});
