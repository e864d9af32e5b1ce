/**
 * Failure 2, "protocol version mismatch", against a REAL OpenClaw gateway (npm `openclaw`, pinned in
 * test/interop/openclaw/env.ts, loopback, token auth), and the full healthy run:
 *
 * - healthy: `claw-byterover doctor --agent ws://… --plugin … --bridge …` with everything else of the
 *   integration healthy setup: all nine checks pass, exit 0, the gateway token never printed;
 * - a gateway that requires another protocol range: no gateway setting changes its protocol
 *   version, so — as test/interop/openclaw/agent.test.ts does — our offered range is overridden with
 *   the test-only `testOnlyProtocolSupport(1, 2)` (the CLI never does this) and doctor's agent check
 *   runs against the real gateway: it names the mismatch, both ranges, the gateway's real version and
 *   build, and the upgrade;
 * - an intermediary that alters the handshake: a WebSocket proxy between doctor and the gateway
 *   rewrites the node's offered range to 5–6 and adds `Via` to HTTP answers; through the CLI, doctor
 *   compares what it sent with what the gateway echoed and names the proxy, exit 7.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testOnlyProtocolSupport } from '../../../lib/agent/index.js';
import { checkAgent } from '../../../lib/doctor/checks/agent.js';
import { createLogger } from '../../../lib/log/index.js';
import { ensureNativeBuilt } from '../../native/helpers.js';
import { startCliEnv, type CliEnv } from '../../integration/cli/harness.js';
import { doctorJson, evidence, healthySetup, type HealthySetup } from '../../integration/doctor/harness.js';
import { ensureOpenClaw, OPENCLAW_VERSION, type Gateway, type OpenClawEnv } from '../openclaw/env.js';
import { startRewritingProxy } from './proxy.js';

/** OpenClaw behaves as under its own tests when it sees these (see openclaw/agent.test.ts). */
const NOT_UNDER_TEST: NodeJS.ProcessEnv = {
  VITEST: undefined,
  VITEST_MODE: undefined,
  VITEST_POOL_ID: undefined,
  VITEST_WORKER_ID: undefined,
  TEST: undefined,
  NODE_ENV: undefined,
  JEST_WORKER_ID: undefined,
};

let oc: OpenClawEnv;
let gw: Gateway;
let e: CliEnv;
let setup: HealthySetup;
let scratch: string;
let proxy: { url: string; close(): Promise<void> } | undefined;

beforeAll(async () => {
  const built = await ensureNativeBuilt();
  oc = await ensureOpenClaw();
  gw = await oc.startGateway({ env: NOT_UNDER_TEST });
  scratch = mkdtempSync(join(tmpdir(), 'doctor-interop-'));
  e = await startCliEnv();
  setup = await healthySetup(e, built.so);
}, 600_000);

afterAll(async () => {
  await proxy?.close();
  await setup?.close();
  await e?.close();
  await oc?.cleanup();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}, 60_000);

describe('doctor ⇄ real OpenClaw gateway', () => {
  it('healthy: all nine checks pass with the real gateway, exit 0, no secret printed', async () => {
    const r = await doctorJson(e, [...setup.args, '--agent', gw.wsUrl], {
      ...setup.env,
      OPENCLAW_GATEWAY_TOKEN: gw.token,
    });
    const notPassing = r.report.checks.filter((c) => c.status !== 'pass');
    expect(notPassing, JSON.stringify(notPassing, null, 2)).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.report.counts).toEqual({ pass: 9, warn: 0, fail: 0, skip: 0 });
    const a = r.check('agent.handshake');
    expect(a.summary).toBe(`OpenClaw gateway ${OPENCLAW_VERSION} accepted protocol 4 (we offer 3–4)`);
    expect(evidence(a, 'our protocol range')).toBe('3–4 (native core)');
    expect(evidence(a, 'gateway version')).toMatch(
      new RegExp(
        `^${OPENCLAW_VERSION.replace(/\./g, '\\.')}, build ${OPENCLAW_VERSION.replace(/\./g, '\\.')}-release-`,
      ),
    );
    expect(evidence(a, 'our build')).toMatch(/^claw-byterover \d+\.\d+\.\d+, native build \S+$/);
    expect(evidence(a, 'sent vs echoed')).toBe('consistent (range, protocol and role as sent)');
    for (const s of [...setup.secrets, gw.token]) expect(r.all).not.toContain(s);
  }, 180_000);

  it('a gateway that requires another protocol range: named, both ranges, the gateway version and build, the upgrade', async () => {
    const out = await checkAgent({
      url: gw.wsUrl,
      token: gw.token,
      dataDir: mkdtempSync(join(scratch, 'data-')),
      env: process.env,
      protocol: testOnlyProtocolSupport(1, 2),
      logger: createLogger({ level: 'silent' }),
    });
    expect(out).toMatchObject({ status: 'fail', code: 'AGENT_PROTOCOL_MISMATCH' });
    expect(out.summary).toContain('offers agent protocol 1–2 (offered range overridden for testing)');
    expect(out.summary).toContain(
      `OpenClaw gateway ${OPENCLAW_VERSION} accepts 3–4 for nodes: plugin speaks 1–2, agent requires 3–4: upgrade claw-byterover`,
    );
    const ev = Object.fromEntries(out.evidence.map((x) => [x.label, x.value]));
    expect(ev['our protocol range']).toBe('1–2 (test override)');
    expect(ev['gateway accepts (nodes)']).toBe('3–4 (expectedProtocol 4, minimumProbeProtocol 3)');
    expect(ev['gateway version']).toMatch(new RegExp(`^${OPENCLAW_VERSION.replace(/\./g, '\\.')}, build \\S+`));
    expect(ev['sent vs echoed']).toBe('consistent (range, protocol and role as sent)');
    expect(out.next[0]).toMatch(/^Upgrade claw-byterover to a release whose agent protocol range includes 3–4/);
    expect(JSON.stringify(out)).not.toContain(gw.token);
  }, 120_000);

  it('an intermediary that rewrites the offered range: doctor compares sent with echoed and names it (CLI, exit 7)', async () => {
    proxy = await startRewritingProxy(gw, 5, 6);
    const r = await doctorJson(e, ['--agent', proxy.url], { ...setup.env, OPENCLAW_GATEWAY_TOKEN: gw.token });
    const a = r.check('agent.handshake');
    expect(a).toMatchObject({ status: 'fail', code: 'AGENT_HANDSHAKE_ALTERED', symptom: 'protocol version mismatch' });
    expect(a.summary).toBe('an intermediary altered the handshake: we sent protocol 3–4, the gateway received 5–6');
    expect(evidence(a, 'proxy headers')).toBe('via: 1.1 rewriting-test-proxy');
    expect(a.next[0]).toMatch(
      /^Connect to the gateway directly \(not through the proxy\/TLS terminator that added via\)/,
    );
    expect(r.code).toBe(7);
    expect(r.all).not.toContain(gw.token);
  }, 120_000);
});
