/**
 * How `claw-byterover doctor` treats a command line that is wrong: a URL option that is not a URL of
 * its scheme (`--agent foo`, `--bridge localhost:8787`, `--claw-api ws://…`) is a usage error — exit
 * 2 with what was expected, what was found and an example — before any check runs, instead of a
 * check that "crashed" with a bug report request (DOCTOR_CHECK_CRASHED) and exit 7.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliEnv, type CliEnv } from '../cli/harness.js';

let e: CliEnv;

beforeAll(async () => {
  e = await startCliEnv();
});

afterAll(async () => {
  await e?.close();
});

describe('doctor: usage errors', () => {
  it.each([
    ['--agent', 'foo', 'expected --agent to be a ws:// or wss:// URL, found "foo"', '--agent ws://127.0.0.1:18789'],
    [
      '--agent',
      'http://127.0.0.1:18789',
      'expected --agent to be a ws:// or wss:// URL, found "http://127.0.0.1:18789/"',
      '--agent ws://127.0.0.1:18789',
    ],
    [
      '--bridge',
      'localhost:8787',
      'expected --bridge to be a http:// or https:// URL, found "localhost:8787"',
      '--bridge http://127.0.0.1:8787',
    ],
    [
      '--bridge',
      'not a url',
      'expected --bridge to be a http:// or https:// URL, found "not a url"',
      '--bridge http://127.0.0.1:8787',
    ],
    [
      '--claw-api',
      'ws://127.0.0.1:9',
      'expected --claw-api to be a http:// or https:// URL, found "ws://127.0.0.1:9/"',
      '--claw-api https://claw-api.example',
    ],
    [
      '--agent',
      'https://user:pw-secret@gw.example/x?token=tok-secret',
      'expected --agent to be a ws:// or wss:// URL, found "https://gw.example/x"',
      '--agent ws://127.0.0.1:18789',
    ],
    [
      '--collector',
      '127.0.0.1:4318',
      'expected --collector to be a http:// or https:// URL, found "127.0.0.1:4318"',
      '--collector http://127.0.0.1:4318',
    ],
  ])('%s %s: exit 2 before any check runs, with the expected form', async (flag, value, message, example) => {
    const human = await e.cli(['doctor', flag, value]);
    expect(human.code).toBe(2);
    expect(human.err).toContain(`error CLI_USAGE: ${message}`);
    expect(human.err).toContain(`Pass for example ${example}.`);
    expect(human.err).not.toMatch(/doctor: \[1\/9\]/);
    expect(human.out).toBe('');
    expect(human.err).not.toContain('secret');

    const json = await e.cli(['--json', 'doctor', flag, value]);
    expect(json.code).toBe(2);
    expect(json.out).not.toContain('"checks"');
  });

  it('well-formed URLs of the right scheme are accepted (the checks run; nothing listens there)', async () => {
    const r = await e.cli(['--json', 'doctor', '--agent', 'ws://127.0.0.1:1', '--bridge', 'http://127.0.0.1:1']);
    expect(r.code).toBe(7);
    const report = JSON.parse(r.out) as { checks: Array<{ id: string; status: string; code?: string }> };
    expect(report.checks.find((c) => c.id === 'agent.handshake')).toMatchObject({
      status: 'fail',
      code: 'AGENT_CONNECT_FAILED',
    });
    expect(report.checks.find((c) => c.id === 'telemetry.metrics')).toMatchObject({
      status: 'fail',
      code: 'TELEMETRY_METRICS_UNREACHABLE',
    });
  });
});
