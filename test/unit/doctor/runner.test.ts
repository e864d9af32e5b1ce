/**
 * The doctor's machinery: a check that throws becomes a `fail` (DOCTOR_CHECK_CRASHED) without
 * stopping the others; registered secrets are scrubbed from every field of every outcome; counts,
 * `ok` and the exit code; the human rendering; progress as plain lines without a TTY and as a
 * redrawn line on one. Plus the clock check against a real loopback server whose `Date` is off,
 * through the real transport, and the header constant the native check relies on.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClawError } from '../../../lib/errors.js';
import { createHttpClient } from '../../../lib/http/index.js';
import { createLogger, registerSecret } from '../../../lib/log/index.js';
import {
  CLAW_ABI_MINOR,
  CLOCK_SKEW_FAIL_S,
  DOCTOR_EXIT_CHECK_FAILED,
  buildReport,
  progressReporter,
  recordingHttp,
  renderReport,
  runChecks,
  type Check,
} from '../../../lib/doctor/index.js';
import { checkClock } from '../../../lib/doctor/checks/byterover.js';

const REPO = join(import.meta.dirname, '..', '..', '..');

describe('runChecks / buildReport / renderReport', () => {
  const secret = `sk-doctor-${Math.random().toString(36).slice(2)}`;
  registerSecret(secret);
  const checks: Check<{ n: number }>[] = [
    {
      id: 'a.pass',
      title: 'Passes',
      run: async () => ({ status: 'pass', summary: 'fine', evidence: [{ label: 'n', value: '1' }], next: [] }),
    },
    {
      id: 'b.crash',
      title: 'Crashes',
      run: async () =>
        Promise.reject(new ClawError('SOMETHING_BROKE', `exploded near ${secret}`, { hint: 'do the thing' })),
    },
    {
      id: 'c.leaky',
      title: 'Leaky',
      symptom: '401 from claw-api',
      run: async () => ({
        status: 'warn',
        code: 'LEAKY',
        summary: `token ${secret}`,
        evidence: [{ label: 'header', value: `Bearer ${secret}` }],
        next: [`export X=${secret}`],
        data: { token: secret },
      }),
    },
    {
      id: 'd.skip',
      title: 'Skipped',
      run: async () => ({ status: 'skip', summary: 'not asked', evidence: [], next: ['pass --d'] }),
    },
  ];

  it('a crash is a fail with the error as evidence; the next checks still run; secrets are scrubbed everywhere', async () => {
    const results = await runChecks(checks, { n: 1 });
    expect(results.map((r) => [r.id, r.status])).toEqual([
      ['a.pass', 'pass'],
      ['b.crash', 'fail'],
      ['c.leaky', 'warn'],
      ['d.skip', 'skip'],
    ]);
    expect(results[1]).toMatchObject({ code: 'DOCTOR_CHECK_CRASHED', next: ['do the thing'] });
    expect(results[1]?.summary).toMatch(/^the check itself failed: SOMETHING_BROKE: exploded near /);
    expect(results[2]?.symptom).toBe('401 from claw-api');
    expect(JSON.stringify(results)).not.toContain(secret);
    const report = buildReport(results, '1.2.3', {});
    expect(report).toMatchObject({
      schema: 'claw-byterover.doctor/v1',
      version: '1.2.3',
      ok: false,
      exitCode: DOCTOR_EXIT_CHECK_FAILED,
      counts: { pass: 1, warn: 1, fail: 1, skip: 1 },
    });
    const text = renderReport(report);
    expect(text).toContain('✘ FAIL  Crashes');
    expect(text).toContain('! WARN  Leaky  (“401 from claw-api”)');
    expect(text).toMatch(/1 check failed: 1 pass, 1 warn, 1 fail, 1 skip \(exit 7\)\.$/);
    expect(text).not.toContain(secret);
  });

  it('warn and skip alone are ok: exit 0', async () => {
    const results = await runChecks([checks[0], checks[3]] as Check<{ n: number }>[], { n: 1 });
    expect(buildReport(results, '1.2.3', {})).toMatchObject({ ok: true, exitCode: 0 });
  });

  it('progress: plain lines without a TTY; a redrawn spinner line, then the outcome, on a TTY', async () => {
    let plain = '';
    await runChecks(checks, { n: 1 }, progressReporter({ write: (s) => (plain += s), isTTY: false }));
    expect(plain.split('\n').filter(Boolean)).toEqual([
      'doctor: [1/4] Passes …',
      'doctor: [1/4] Passes: pass — fine',
      'doctor: [2/4] Crashes …',
      expect.stringMatching(/^doctor: \[2\/4\] Crashes: fail — the check itself failed: SOMETHING_BROKE/),
      'doctor: [3/4] Leaky …',
      expect.stringMatching(/^doctor: \[3\/4\] Leaky: warn — token /),
      'doctor: [4/4] Skipped …',
      'doctor: [4/4] Skipped: skip — not asked',
    ]);
    let tty = '';
    await runChecks(
      [checks[0]] as Check<{ n: number }>[],
      { n: 1 },
      progressReporter({ write: (s) => (tty += s), isTTY: true }),
    );
    expect(tty).toBe('\r\x1b[2K⠋ [1/1] Passes …\r\x1b[2K✔ [1/1] Passes: pass — fine\n');
  });
});

describe('clock check against a real server Date', () => {
  let server: Server;
  let offsetMs = 0;
  let base = '';
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.sendDate = false;
      res
        .writeHead(200, { date: new Date(Date.now() + offsetMs).toUTCString(), 'content-type': 'application/json' })
        .end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  async function clockWith(offset: number) {
    offsetMs = offset;
    const http = recordingHttp(createHttpClient({ logger: createLogger({ level: 'silent' }) }));
    try {
      await http.request({ method: 'GET', url: `${base}/api/v1/user/me`, endpoint: 'iam.user.me' });
      return await checkClock({
        profile: 'p',
        credentialSource: 's',
        describeCredential: async () => undefined,
        me: async () => Promise.reject(new Error('unused')),
        http,
        iamBaseUrl: base,
      });
    } finally {
      await http.close();
    }
  }

  it('a server ten minutes ahead: fail CLOCK_SKEW, local clock behind, with both times and the NTP fix', async () => {
    const out = await clockWith(600_000);
    expect(out).toMatchObject({ status: 'fail', code: 'CLOCK_SKEW' });
    expect(out.summary).toMatch(/^this clock is (59[89]|60[012]) s behind ByteRover's$/);
    expect(out.evidence.map((e) => e.label)).toEqual(['server Date', 'local clock', 'skew']);
    expect(out.next[0]).toMatch(/timedatectl set-ntp true/);
    expect(Math.abs((out.data?.skewSeconds as number) + 600)).toBeLessThanOrEqual(2);
    expect(CLOCK_SKEW_FAIL_S).toBe(300);
  });

  it('a server a minute behind: warn; in step: pass', async () => {
    expect(await clockWith(-60_000)).toMatchObject({ status: 'warn', code: 'CLOCK_SKEW' });
    expect((await clockWith(0)).status).toBe('pass');
  });
});

describe('constants the native check relies on', () => {
  it("CLAW_ABI_MINOR is claw/plugin.h's", () => {
    const header = readFileSync(join(REPO, 'native', 'include', 'claw', 'plugin.h'), 'utf8');
    expect(Number(/#define CLAW_ABI_MINOR (\d+)u/.exec(header)?.[1])).toBe(CLAW_ABI_MINOR);
  });
});
