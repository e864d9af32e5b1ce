/**
 * `claw-byterover serve` as a real child process on the embedded store (SQLite in an isolated data
 * dir): the start line, /healthz and /readyz, a correctly signed webhook (x-byterover-signature) that
 * is enqueued and processed, a badly signed one that is refused with nothing enqueued, graceful
 * SIGTERM/SIGINT (exit 0, the database file stays), and a port already in use.
 *
 * The child runs with the repository as its working directory: from TypeScript sources the SQLite
 * store's checkpointer thread loads `tsx` by bare name, which resolves from the working directory
 * (a built `dist/` has no such need). The config file and data dir are isolated through
 * XDG_CONFIG_HOME / CLAW_BYTEROVER_DATA_DIR / HOME.
 */
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodeForErrorCode } from '../../../lib/cli/exit.js';
import { isEvent, jsonLine, serveProcess, type Served } from './serve-harness.js';

const SECRET = 'serve-test-webhook-secret-0123456789';
const SKILL_KEY = 'serve-test-skill-key-abcdefghijklmnop';

let root: string;
let env: Record<string, string>;
let dataDir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'claw-serve-'));
  dataDir = join(root, 'data');
  await mkdir(join(root, 'config', 'claw-byterover'), { recursive: true });
  await writeFile(
    join(root, 'config', 'claw-byterover', 'config.yaml'),
    `bridge:\n  webhooks:\n    byteroverSecrets: ["${SECRET}"]\n`,
  );
  env = {
    HOME: root,
    XDG_CONFIG_HOME: join(root, 'config'),
    CLAW_BYTEROVER_DATA_DIR: dataDir,
    CLAW_BYTEROVER_CONTEXT_TREE: join(root, 'project', '.brv', 'context-tree'),
    CLAW_BYTEROVER_SKILL_API_KEYS: SKILL_KEY,
  };
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function serve(argv: string[]): Served {
  return serveProcess(argv, env);
}

function sign(body: string, secret = SECRET): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

describe('claw-byterover serve (embedded SQLite store, real child process)', () => {
  it('serves /healthz and /readyz, enqueues and processes a signed webhook, refuses a bad signature, stops on SIGTERM with exit 0', async () => {
    const s = serve(['--port', '0', '--json']);
    try {
      const { line } = await s.waitLine(isEvent('listening'));
      const start = jsonLine(line) as Record<string, any>;
      expect(start.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(start.store).toEqual({ kind: 'sqlite', where: join(dataDir, 'bridge.db') });
      expect(start.routes).toEqual([
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
        'POST /webhooks/byterover',
        'POST /skill/invoke',
        'GET /auth/login',
        'GET /auth/callback',
        'GET /auth/status',
      ]);
      expect(start.memoryPull).toMatch(/^off \(no team and space configured/);
      expect(start.parts).toMatchObject({ skill: 'on (1 API key(s))', oauth: 'off (no bridge.oauth.issuer)' });
      expect(start.parts.clawApi).toMatch(/^off/);
      const url = start.url as string;

      // Skill invoke over the context tree: curate a note, then find it; a wrong key is refused.
      const invoke = (body: unknown, key = SKILL_KEY) =>
        fetch(`${url}/skill/invoke`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const curated = await invoke({
        action: 'curate',
        payload: { content: 'Rollbacks are a blue/green DNS flip that takes about 30 seconds.', title: 'Rollbacks' },
        idempotencyKey: 'serve-curate-1',
      });
      expect(curated.status).toBe(200);
      const found = await invoke({ action: 'search', payload: { query: 'rollback dns flip' } });
      expect(found.status).toBe(200);
      expect(JSON.stringify(await found.json())).toContain('Rollbacks');
      expect((await invoke({ action: 'search', payload: { query: 'x' } }, 'not-the-key-0123456789abcdef')).status).toBe(
        401,
      );
      // No web login configured: its status says so.
      expect(await (await fetch(`${url}/auth/status`)).json()).toEqual({ ok: true, configured: false });

      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ ok: true });
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ ok: true, store: 'sqlite', worker: 'running' });

      const body = JSON.stringify({ type: 'memory.updated', data: { note: 'n1' } });

      // A wrong signature (the right length, from another secret): 401, nothing enqueued.
      const bad = await fetch(`${url}/webhooks/byterover`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-byterover-signature': sign(body, 'some-other-secret-of-enough-length'),
        },
        body,
      });
      expect(bad.status).toBe(401);
      expect(await bad.json()).toMatchObject({ ok: false, code: 'WEBHOOK_SIGNATURE_MISMATCH' });
      const afterBad = jsonLine((await s.waitLine(isEvent('status', (r) => r.webhooks.rejected === 1))).line) as Record<
        string,
        any
      >;
      expect(afterBad.webhooks.accepted).toBe(0);
      expect(afterBad.webhooks.byCode).toEqual({ WEBHOOK_SIGNATURE_MISMATCH: 1 });
      expect(afterBad.queue.depth).toBe(0);
      expect(afterBad.worker.processed).toBe(0);

      // Correctly signed: 200 once durably enqueued, then the worker processes it.
      const good = await fetch(`${url}/webhooks/byterover`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-byterover-signature': sign(body) },
        body,
      });
      expect(good.status).toBe(200);
      const goodBody = (await good.json()) as Record<string, unknown>;
      expect(goodBody).toMatchObject({ ok: true });
      expect(goodBody.id).toMatch(/^sha256:[0-9a-f]{64}$/);
      const processed = jsonLine(
        (await s.waitLine(isEvent('status', (r) => r.worker.processed === 1 && r.webhooks.accepted === 1))).line,
      ) as Record<string, any>;
      expect(processed.queue).toMatchObject({ depth: 0, deadLetters: 0 });
      expect(processed.worker.failures).toBe(0);
      expect(processed.webhooks.rejected).toBe(1);

      // Prometheus text on /metrics: the webhooks by result and the skill calls.
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^claw_byterover_webhooks_total\{[^}]*result="accepted"[^}]*\} 1/m);
      expect(metrics).toMatch(/claw_byterover_skill_invocations_total\{[^}]*action="curate"/);

      s.child.kill('SIGTERM');
      const { code } = await s.exited;
      expect(code).toBe(0);
      expect(s.lines.some(isEvent('stopping', (r) => r.reason === 'SIGTERM'))).toBe(true);
      const result = JSON.parse(s.stdout()) as Record<string, any>;
      expect(result).toMatchObject({
        url,
        stopped: 'SIGTERM',
        webhooks: { WEBHOOK_ACCEPTED: 1, WEBHOOK_SIGNATURE_MISMATCH: 1 },
      });
      expect(result.worker.processed).toBe(1);
      expect(existsSync(join(dataDir, 'bridge.db'))).toBe(true);
      // The webhook secret never reaches the output.
      expect(`${s.lines.join('\n')}\n${s.stdout()}`).not.toContain(SECRET);
      expect(`${s.lines.join('\n')}\n${s.stdout()}`).not.toContain(SKILL_KEY);
    } finally {
      if (s.child.exitCode === null) s.child.kill('SIGKILL');
    }
  });

  it('prints a human start line and status line, and stops on SIGINT with exit 0', async () => {
    const s = serve(['--port', '0']);
    try {
      const { line } = await s.waitLine((l) => l.startsWith('claw-byterover bridge listening on '));
      expect(line).toContain(`(store sqlite ${join(dataDir, 'bridge.db')})`);
      expect(line).toContain(
        'routes: GET /healthz, GET /readyz, GET /metrics, POST /webhooks/byterover, POST /skill/invoke',
      );
      expect(s.lines.some((l) => l.startsWith('  session: '))).toBe(true);
      const status = await s.waitLine((l) => l.startsWith('status: '));
      expect(status.line).toMatch(
        /^status: queue \d+ \(oldest \d+m?s, in flight \d+, retrying \d+\), dead letters \d+; worker processed \d+, failures \d+; webhooks accepted 0, duplicate 0, rejected 0$/,
      );
      s.child.kill('SIGINT');
      const { code } = await s.exited;
      expect(code).toBe(0);
      expect(s.stdout()).toMatch(/^Bridge stopped \(SIGINT\): 0 webhook\(s\) accepted/);
    } finally {
      if (s.child.exitCode === null) s.child.kill('SIGKILL');
    }
  });

  it("without the native recall engine: still verifies and queues webhooks; memory actions answer 503 with the loader's reason", async () => {
    const noEngine = join(root, 'no-engine');
    await mkdir(noEngine, { recursive: true });
    const s = serveProcess(['--port', '0', '--json'], { ...env, CLAW_BYTEROVER_PREBUILD: noEngine });
    try {
      const start = jsonLine((await s.waitLine(isEvent('listening'))).line) as Record<string, any>;
      expect(start.parts.memory).toMatch(/^unavailable \(expected the native recall engine/);
      const url = start.url as string;
      const r = await fetch(`${url}/skill/invoke`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SKILL_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'search', payload: { query: 'anything' } }),
      });
      expect(r.status).toBe(503);
      expect(await r.json()).toMatchObject({ ok: false, code: 'MEMORY_ENGINE_UNAVAILABLE' });
      const body = JSON.stringify({ type: 'memory.updated', data: { note: 'n2' } });
      const hook = await fetch(`${url}/webhooks/byterover`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-byterover-signature': sign(body) },
        body,
      });
      expect(hook.status).toBe(200);
      s.child.kill('SIGTERM');
      expect((await s.exited).code).toBe(0);
    } finally {
      if (s.child.exitCode === null) s.child.kill('SIGKILL');
    }
  });

  it('fails with BRIDGE_PORT_IN_USE and its exit code when the port is taken', async () => {
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as AddressInfo).port;
    try {
      const s = serve(['--port', String(port), '--json']);
      const { code } = await s.exited;
      expect(code).toBe(exitCodeForErrorCode('BRIDGE_PORT_IN_USE'));
      const err = (JSON.parse(s.stdout()) as { error: Record<string, unknown> }).error;
      expect(err.code).toBe('BRIDGE_PORT_IN_USE');
      expect(err.message).toContain(`port ${port}`);
      expect(err.hint).toContain('--port');
    } finally {
      await new Promise<void>((r) => taken.close(() => r()));
    }
  });

  it('refuses a --port that is not a port number as a usage error', async () => {
    const s = serve(['--port', 'eighty', '--json']);
    const { code } = await s.exited;
    expect(code).toBe(2);
  });
});
