/**
 * Doctor as a whole: a healthy setup (everything but an OpenClaw gateway, which the interop test
 * adds) where no check fails and the exit code is 0, and the same setup with a rejected ByteRover
 * key where one check fails and the exit code is 7 (DOCTOR_EXIT_CHECK_FAILED). The --json document
 * follows docs/doctor.schema.json, and no secret handed to doctor (ByteRover key, claw-api token,
 * collector header) appears anywhere in what it prints, human or JSON, stdout or stderr.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKS } from '../../../lib/doctor/index.js';
import { ensureNativeBuilt } from '../../native/helpers.js';
import { missingTools } from '../../helpers/tools.js';
import { startCliEnv, type CliEnv } from '../cli/harness.js';
import { SCHEMA, doctorJson, evidence, healthySetup, type HealthySetup } from './harness.js';
import { hangGuard } from '../../helpers/timeout.js';

const skip = missingTools(['c++', 'make', 'python3'], 'apt-get install -y build-essential python3');
let e: CliEnv;
let setup: HealthySetup;

beforeAll(async () => {
  if (skip) return;
  const built = await ensureNativeBuilt();
  e = await startCliEnv();
  setup = await healthySetup(e, built.so);
}, hangGuard(600_000));

afterAll(async () => {
  await setup?.close();
  await e?.close();
});

describe.skipIf(skip)('claw-byterover doctor', () => {
  it('healthy: every check passes except the gateway handshake (not given), exit 0, schema-valid, no secret printed', async () => {
    const r = await doctorJson(e, setup.args, setup.env);
    const statuses = Object.fromEntries(r.report.checks.map((c) => [c.id, c.status]));
    expect(
      statuses,
      JSON.stringify(
        r.report.checks.filter((c) => c.status !== 'pass'),
        null,
        2,
      ),
    ).toEqual({
      'native.load': 'pass',
      'native.plugin': 'pass',
      'agent.handshake': 'skip',
      'clawapi.registration': 'pass',
      'telemetry.collector': 'pass',
      'telemetry.metrics': 'pass',
      'byterover.credentials': 'pass',
      'byterover.clock': 'pass',
      'memory.tree': 'pass',
    });
    expect(r.code).toBe(0);
    expect(r.report).toMatchObject({ ok: true, exitCode: 0, counts: { pass: 8, warn: 0, fail: 0, skip: 1 } });
    expect(evidence(r.check('byterover.credentials'), 'credential source')).toBe('env BYTEROVER_API_KEY');
    expect(evidence(r.check('byterover.clock'), 'skew')).toMatch(/^[+-]?\d+ s \(local minus server/);
    expect(evidence(r.check('memory.tree'), 'recall index')).toMatch(/^54 notes indexed, \d+ terms/);
    expect(evidence(r.check('memory.tree'), 'last sync')).toMatch(/^commit [0-9a-f]{12} on main, pulled /);
    for (const s of setup.secrets) expect(r.all).not.toContain(s);

    const human = await e.cli(['doctor', ...setup.args], { env: setup.env });
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/No check failed: 8 pass, 0 warn, 0 fail, 1 skip \(exit 0\)\.$/m);
    for (const s of setup.secrets) expect(human.out + human.err).not.toContain(s);
  });

  it('failing: a rejected ByteRover key fails its check (the clock is still read), exit 7; the key is never printed', async () => {
    const wrongKey = `wrong-key-${Math.random().toString(36).slice(2)}-secret`;
    const r = await doctorJson(e, setup.args, { ...setup.env, BYTEROVER_API_KEY: wrongKey });
    expect(r.code).toBe(7);
    expect(r.report).toMatchObject({ ok: false, exitCode: 7, counts: { fail: 1 } });
    const c = r.check('byterover.credentials');
    expect(c).toMatchObject({ status: 'fail', code: 'BYTEROVER_UNAUTHORIZED' });
    expect(evidence(c, 'user/me')).toMatch(/^HTTP 401/);
    expect(c.next[0]).toMatch(/login/);
    expect(r.check('byterover.clock').status).toBe('pass');
    expect(r.all).not.toContain(wrongKey);
    const human = await e.cli(['doctor', ...setup.args], { env: { ...setup.env, BYTEROVER_API_KEY: wrongKey } });
    expect(human.code).toBe(7);
    expect(human.out + human.err).not.toContain(wrongKey);
    expect(human.out).toMatch(/1 check failed: 7 pass, 0 warn, 1 fail, 1 skip \(exit 7\)\.$/m);
  });

  it('on a terminal the progress is one live line per check, redrawn in place, ending in its outcome', async () => {
    const r = await e.cli(['doctor', ...setup.args], { env: setup.env, stderrTTY: true });
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/\r\x1b\[2K⠋ \[1\/9\] Native addon …/);
    expect(r.err).toMatch(/\r\x1b\[2K✔ \[1\/9\] Native addon: pass — /);
    expect(r.err).toMatch(/\r\x1b\[2K- \[3\/9\] Agent handshake \(OpenClaw gateway\): skip — no --agent URL given\n/);
    expect(r.err).not.toMatch(/^doctor: /m);
  });

  it('PREBUILDS_ONLY without a prebuild: native.load fails, listing every place the loader looked and why', async () => {
    const r = await doctorJson(e, [], { ...setup.env, PREBUILDS_ONLY: '1' });
    const c = r.check('native.load');
    expect(c).toMatchObject({ status: 'fail', code: 'NATIVE_LOAD_FAILED' });
    expect(c.summary).toMatch(
      new RegExp(
        `^no native addon loads: could not load the claw-byterover native addon for ${process.platform}-${process.arch}`,
      ),
    );
    expect(c.evidence.map((x) => x.value)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^missing \(no prebuilds directory\)$/),
        'skipped (PREBUILDS_ONLY is set)',
      ]),
    );
    expect(c.next.join(' ')).toContain('PREBUILDS_ONLY is set, so local builds were not tried');
    expect(r.code).toBe(7);
  });

  it('the schema lists exactly the checks doctor runs', () => {
    const ids = (
      (SCHEMA.$defs as Record<string, { properties: { id: { enum: string[] } } }>).check?.properties.id.enum ?? []
    )
      .slice()
      .sort();
    expect(ids).toEqual(CHECKS.map((c) => c.id).sort());
  });
});
