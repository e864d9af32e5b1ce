/**
 * `doctor` on a machine used only locally (no login, no API key): "not configured for cloud use" is
 * a skip and the exit is 0 (before: the credentials check failed and doctor always exited 7, useless
 * as a health check for local use); `--require-cloud` makes the same absence a failure (exit 7).
 * The real CLI, in-process, with an empty data dir.
 */
import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliEnv, type CliEnv } from '../cli/harness.js';

interface Report {
  exitCode: number;
  checks: Array<{ id: string; status: string; code?: string; summary?: string; next?: string[] }>;
}

let e: CliEnv;
beforeAll(async () => {
  e = await startCliEnv();
  await mkdir(e.project, { recursive: true });
});
afterAll(async () => e?.close());

describe('doctor without ByteRover credentials', () => {
  it('skips the credentials check as not configured and exits 0', async () => {
    const r = await e.cli(['doctor', '--json']);
    const report = r.json<Report>();
    const cred = report.checks.find((c) => c.id === 'byterover.credentials');
    expect(cred?.status).toBe('skip');
    expect(JSON.stringify(cred)).toContain('not configured for ByteRover cloud use');
    expect(JSON.stringify(cred)).toContain('--require-cloud');
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('--require-cloud turns the absence into a failure (exit 7)', async () => {
    const r = await e.cli(['doctor', '--json', '--require-cloud']);
    const report = r.json<Report>();
    expect(report.checks.find((c) => c.id === 'byterover.credentials')?.status).toBe('fail');
    expect(r.code).toBe(7);
  });
});
