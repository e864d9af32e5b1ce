/**
 * `serve` registers with a claw-api on start, heartbeats, and deletes its node on shutdown; a token
 * the claw-api refuses shows up in the status lines with its diagnosed cause, and never the token.
 * The claw-api is the stand-in validating every request against docs/claw-api.yaml, trusting a real
 * oidc-provider whose client-credentials tokens the bridge fetches itself.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClawApiStandin, type ClawApiStandin } from '../../standin/claw-api.js';
import { CLAW_AUDIENCE, startClawIssuer, type ClawIssuer } from '../clawapi/issuer.js';
import { isEvent, jsonLine, serveProcess } from './serve-harness.js';
import { hangGuard } from '../../helpers/timeout.js';

let root: string;
let issuer: ClawIssuer;
let api: ClawApiStandin;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'claw-serve-api-'));
  await mkdir(join(root, 'config', 'claw-byterover'), { recursive: true });
  await writeFile(join(root, 'config', 'claw-byterover', 'config.yaml'), 'logLevel: warn\n');
  issuer = await startClawIssuer();
  api = await startClawApiStandin({ issuer: issuer.issuer, jwksUri: issuer.jwksUri, audience: CLAW_AUDIENCE });
});

afterAll(async () => {
  await api?.close();
  await issuer?.close();
  await rm(root, { recursive: true, force: true });
});

/** Polls an observable state until it holds; the deadline is only a hang guard (scaled). */
async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + hangGuard(120_000);
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(cond()).toBe(true);
}

function baseEnv(name: string): Record<string, string> {
  return {
    HOME: root,
    XDG_CONFIG_HOME: join(root, 'config'),
    CLAW_BYTEROVER_DATA_DIR: join(root, name, 'data'),
    CLAW_BYTEROVER_CONTEXT_TREE: join(root, name, '.brv', 'context-tree'),
    CLAW_API_URL: api.url,
    CLAW_API_HEARTBEAT_SECONDS: '1',
  };
}

/** The bridge fetches its own tokens from the issuer (client credentials) and registers as `nodeId`. */
function clientCredentialsEnv(nodeId: string): Record<string, string> {
  return {
    CLAW_API_ISSUER: issuer.issuer,
    CLAW_API_CLIENT_ID: issuer.node.clientId,
    CLAW_API_CLIENT_SECRET: issuer.node.clientSecret,
    CLAW_API_AUDIENCE: CLAW_AUDIENCE,
    CLAW_API_NODE_ID: nodeId,
  };
}

describe('serve with claw-api registration (stand-in per docs/claw-api.yaml, real oidc-provider)', () => {
  it('registers on start with its endpoints, heartbeats, and DELETEs the node on SIGTERM', async () => {
    const s = serveProcess(['--port', '0', '--json'], {
      ...baseEnv('healthy'),
      ...clientCredentialsEnv('serve-e2e-node'),
    });
    try {
      const start = jsonLine((await s.waitLine(isEvent('listening'))).line) as Record<string, any>;
      expect(start.parts.clawApi).toMatch(/^registers with http:\/\/127\.0\.0\.1:\d+/);
      await s.waitLine(isEvent('status', (r) => r.clawApi?.state === 'registered'));
      await until(() => api.requests.some((r) => r.operationId === 'heartbeatNode' && r.status === 204));
      const stored = api.nodes.get('serve-e2e-node');
      expect(stored?.clientId).toBe(issuer.node.clientId);
      const node = stored?.node as Record<string, any>;
      expect(node.name).toBe('claw-byterover bridge');
      expect(node.protocol).toEqual({ min: 3, max: 4 });
      expect(node.endpoints.map((e: { kind: string }) => e.kind)).toEqual(['skill', 'webhook', 'metrics', 'health']);
      expect(node.endpoints[0].url).toBe(`${start.url}/skill/invoke`);

      s.child.kill('SIGTERM');
      expect((await s.exited).code).toBe(0);
      expect(api.nodes.has('serve-e2e-node')).toBe(false);
      const ops = api.requests
        .filter((r) => r.path.includes('serve-e2e-node') || r.operationId === 'registerNode')
        .map((r) => `${r.operationId}:${r.status}`);
      expect(ops[0]).toBe('registerNode:201');
      expect(ops).toContain('heartbeatNode:204');
      expect(ops.at(-1)).toBe('deregisterNode:204');
      expect(api.contractViolations).toEqual([]);
      expect(api.requests.every((r) => r.violations.length === 0)).toBe(true);
      const result = JSON.parse(s.stdout()) as Record<string, any>;
      expect(result.registration).toMatchObject({ state: 'stopped', deregistered: 'deleted' });
      expect(`${s.lines.join('\n')}${s.stdout()}`).not.toContain(issuer.node.clientSecret);
    } finally {
      if (s.child.exitCode === null) s.child.kill('SIGKILL');
    }
  });

  it('with telemetry off (OTEL_SDK_DISABLED=true) the node announces no metrics endpoint (its /metrics answers 503)', async () => {
    const s = serveProcess(['--port', '0', '--json'], {
      ...baseEnv('no-telemetry'),
      OTEL_SDK_DISABLED: 'true',
      ...clientCredentialsEnv('serve-no-telemetry-node'),
    });
    try {
      const start = jsonLine((await s.waitLine(isEvent('listening'))).line) as Record<string, any>;
      await s.waitLine(isEvent('status', (r) => r.clawApi?.state === 'registered'));
      expect((await fetch(`${start.url}/metrics`)).status).toBe(503);
      expect(start.routes).not.toContain('GET /metrics');
      const node = api.nodes.get('serve-no-telemetry-node')?.node as Record<string, any>;
      expect(node.endpoints.map((e: { kind: string }) => e.kind)).toEqual(['skill', 'webhook', 'health']);
      s.child.kill('SIGTERM');
      expect((await s.exited).code).toBe(0);
    } finally {
      if (s.child.exitCode === null) s.child.kill('SIGKILL');
    }
  });

  it('a registration that cannot start (unreadable node id file) stops the bridge it started: the process exits with the reason', async () => {
    const env = baseEnv('bad-node-id');
    await mkdir(env.CLAW_BYTEROVER_DATA_DIR as string, { recursive: true });
    await writeFile(join(env.CLAW_BYTEROVER_DATA_DIR as string, 'clawapi-node-id'), 'not a node id!\n');
    const s = serveProcess(['--port', '0', '--json'], { ...env, CLAW_API_TOKEN: 'a-well-formed-static-token' });
    try {
      // Before the fix the bridge kept listening after the error, with nothing left to stop it: bound the wait.
      let hung: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        s.exited,
        new Promise<'still running'>((r) => (hung = setTimeout(() => r('still running'), hangGuard(120_000)))),
      ]);
      clearTimeout(hung);
      expect(outcome).not.toBe('still running');
      expect((outcome as { code: number | null }).code).not.toBe(0);
      const all = `${s.lines.join('\n')}${s.stdout()}`;
      expect(all).toContain('CLAW_API_CONFIG_INVALID');
      expect(all).toContain('clawapi-node-id');
      expect(api.requests.some((r) => r.operationId === 'registerNode' && r.path.includes('bad'))).toBe(false);
    } finally {
      if (s.child.exitCode === null) s.child.kill('SIGKILL');
    }
  });

  it('an ID token instead of an access token: the status line names the cause, serving goes on, the token is never printed', async () => {
    const idToken = await issuer.idToken();
    const s = serveProcess(['--port', '0', '--json'], {
      ...baseEnv('id-token'),
      CLAW_API_TOKEN: idToken,
      CLAW_API_AUDIENCE: CLAW_AUDIENCE,
    });
    try {
      const start = jsonLine((await s.waitLine(isEvent('listening'))).line) as Record<string, any>;
      const failed = jsonLine(
        (await s.waitLine(isEvent('status', (r) => r.clawApi?.lastError?.code === 'CLAW_API_UNAUTHORIZED'))).line,
      ) as Record<string, any>;
      expect(failed.clawApi.lastError.cause).toBe('id_token');
      expect(failed.clawApi.state).not.toBe('registered');
      // The bridge itself keeps serving.
      expect((await fetch(`${start.url}/healthz`)).status).toBe(200);
      s.child.kill('SIGTERM');
      expect((await s.exited).code).toBe(0);
      const all = `${s.lines.join('\n')}${s.stdout()}`;
      expect(all).not.toContain(idToken);
      for (const part of idToken.split('.')) expect(all).not.toContain(part);
    } finally {
      if (s.child.exitCode === null) s.child.kill('SIGKILL');
    }
  });
});
