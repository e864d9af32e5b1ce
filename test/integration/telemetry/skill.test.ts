/**
 * Skill invocations through the real skill route (lib/bridge/skill, mounted on a real bridge), its
 * `onInvoke` hook wired to `telemetry.recordSkillInvoke`: search on a real LocalMemory, whoami through
 * the real ByteRover client against the stand-in (its call also counted by the lib/http observer),
 * a missing bearer key, an unknown action, and pull without a configured space, each by outcome and
 * status on the bridge's own /metrics.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBridge, parseBridgeConfig, type Bridge } from '../../../lib/bridge/index.js';
import { createSkillActions, mountSkillInvoke, SkillConfigSchema } from '../../../lib/bridge/skill/index.js';
import { createByteRoverClient } from '../../../lib/byterover/index.js';
import { createHttpClient, RetryBudget, type HttpTransport } from '../../../lib/http/index.js';
import { createLogger } from '../../../lib/log/index.js';
import { LocalMemory } from '../../../lib/memory/index.js';
import { createTelemetry, parsePrometheusText, type Telemetry } from '../../../lib/telemetry/index.js';
import { DEFAULT_SESSION_KEY, startByteRoverStandin, type ByteRoverStandin } from '../../standin/byterover.js';
import { KeyListSession } from '../../unit/byterover/harness.js';
import { engines, tempProject } from '../../unit/memory/helpers.js';

const KEY = randomBytes(24).toString('hex');
const silent = createLogger({ level: 'silent' });

describe('skill invocations on /metrics', () => {
  let dir: string;
  let project: string;
  let bridge: Bridge;
  let telemetry: Telemetry;
  let standin: ByteRoverStandin;
  let http: HttpTransport;
  let memory: LocalMemory;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'claw-telemetry-skill-'));
    telemetry = createTelemetry({ env: {}, logger: silent });
    standin = await startByteRoverStandin();
    http = createHttpClient({ logger: silent, budget: new RetryBudget(), observers: [telemetry.httpObserver] });
    const client = createByteRoverClient({
      http,
      session: new KeyListSession([DEFAULT_SESSION_KEY]),
      logger: silent,
      config: standin.clientConfig(),
    });
    const engine = (await engines()).find((e) => e.name === 'minisearch');
    project = (await tempProject(true)).project;
    memory = await LocalMemory.open({
      projectRoot: project,
      watch: false,
      index: engine?.factory,
      onRecall: telemetry.recordRecall,
    });
    bridge = await createBridge({
      config: parseBridgeConfig({ store: { kind: 'sqlite', path: join(dir, 'bridge.db') } }),
      dataDir: dir,
      worker: false,
      logger: silent,
    });
    mountSkillInvoke(bridge, {
      config: SkillConfigSchema.parse({ apiKeys: [KEY] }),
      actions: createSkillActions({ memory, client }),
      logger: silent,
      onInvoke: telemetry.recordSkillInvoke,
    });
    telemetry.mountMetrics(bridge);
    url = (await bridge.listen(0, '127.0.0.1')).url;
  });
  afterAll(async () => {
    await bridge?.close();
    await memory?.close();
    await http?.close();
    await standin?.close();
    await telemetry?.shutdown();
    rmSync(dir, { recursive: true, force: true });
    rmSync(project, { recursive: true, force: true });
  });

  const invoke = async (body: unknown, auth = true): Promise<number> => {
    const r = await request(`${url}/skill/invoke`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${KEY}` } : {}) },
    });
    await r.body.dump();
    return r.statusCode;
  };

  it('counts each invocation by action, outcome and status, with its latency', async () => {
    expect(await invoke({ action: 'search', payload: { query: 'refresh token rotation' } })).toBe(200);
    expect(await invoke({ action: 'recall', payload: { query: 'dead-letter queue' } })).toBe(200);
    expect(await invoke({ action: 'whoami', payload: {} })).toBe(200);
    expect(await invoke({ action: 'search', payload: { query: 'x' } }, false)).toBe(401);
    expect(await invoke({ action: 'drop-tables', payload: {} })).toBe(400);
    expect(await invoke({ action: 'pull', payload: {} })).toBe(503);

    const r = await request(`${url}/metrics`);
    expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const { samples } = parsePrometheusText(await r.body.text());
    const count = (
      labels: Record<string, string>,
      name = 'claw_byterover_skill_invocations_total',
    ): number | undefined =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(count({ action: 'search', outcome: 'ok', http_response_status_code: '200' })).toBe(1);
    expect(count({ action: 'recall', outcome: 'ok' })).toBe(1);
    expect(count({ action: 'whoami', outcome: 'ok' })).toBe(1);
    expect(count({ outcome: 'unauthorized', http_response_status_code: '401' })).toBe(1);
    expect(count({ outcome: 'invalid', http_response_status_code: '400' })).toBe(1);
    expect(count({ action: 'pull', http_response_status_code: '503' })).toBe(1);
    expect(count({ action: 'search', outcome: 'ok' }, 'claw_byterover_skill_duration_count')).toBe(1);
    // Every action label is one of the known ones: the unknown action never becomes a series.
    const actions = new Set(
      samples.filter((s) => s.name === 'claw_byterover_skill_invocations_total').map((s) => s.labels.action),
    );
    for (const a of actions)
      expect(['whoami', 'search', 'recall', 'curate', 'pull', 'push', 'unknown', 'other']).toContain(a);
    // Underneath: whoami's IAM call and the recalls were recorded by their own hooks.
    expect(count({ endpoint: 'iam.user.me', http_response_status_code: '200' }, 'claw_byterover_requests_total')).toBe(
      1,
    );
    expect(count({ op: 'recall', result: 'ok' }, 'claw_byterover_recall_duration_count')).toBe(1);
  });
});
