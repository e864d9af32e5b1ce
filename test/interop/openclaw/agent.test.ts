/**
 * The claw-agent link against a real OpenClaw gateway (npm `openclaw`, pinned in env.ts, on Node 24
 * from npm, in an isolated home), started on loopback with token auth.
 *
 * Proves, with the gateway's own code doing the checking:
 * - our node handshake is accepted (v3 device signature, device id from the key, protocol from the
 *   native range) and the device is paired by loopback auto-approval;
 * - after `openclaw nodes approve`, `openclaw nodes invoke --command byterover.recall|search|curate`
 *   reaches our node through the gateway and returns what lib/memory answers for the fixture tree;
 *   bad params come back as our structured INVALID_PARAMS error;
 * - a forced protocol mismatch (the test-only range override: no gateway setting changes its protocol)
 *   gives AGENT_PROTOCOL_MISMATCH naming both ranges, the gateway's real version and the upgrade;
 * - a wrong token gives AGENT_AUTH_FAILED; with local auto-approval off, a new device gives
 *   AGENT_DEVICE_UNKNOWN whose `openclaw devices approve <id>` command, run as printed, lets it in;
 * - the CLI `agent connect --once --debug-handshake` works against it with secrets redacted;
 * - after the gateway restarts on the same port, the link reconnects and serves again.
 *
 * Needs the npm registry on first run (~700 MB cached under node_modules/.cache); no skip: when the
 * install fails the test fails with npm's message. Bounded: every wait below has a deadline.
 */
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AgentLink,
  NODE_COMMANDS,
  probeHandshake,
  testOnlyProtocolSupport,
  type ConnectedInfo,
} from '../../../lib/agent/index.js';
import { ClawError } from '../../../lib/errors.js';
import { createLogger } from '../../../lib/log/index.js';
import { LocalMemory } from '../../../lib/memory/index.js';
import { CLI_ENTRY, TSX_LOADER } from '../../integration/cli/harness.js';
import { FIXTURE_TREE } from '../../unit/memory/helpers.js';
import { ensureOpenClaw, OPENCLAW_VERSION, type Gateway, type OpenClawEnv, type RunResult } from './env.js';

const quiet = createLogger({ level: 'silent' });
/**
 * The test runner's markers, removed from every OpenClaw child: OpenClaw checks `VITEST` (and
 * NODE_ENV=test) in ~180 places and behaves as under its own tests (the CLI prints nothing, the
 * gateway skips work). env.ts passes the parent env through, so they are unset here.
 */
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
let project: string;
let scratch: string;
let memory: LocalMemory;
let link: AgentLink;
let node: ConnectedInfo;
const links: AgentLink[] = [];

/** `openclaw <args> --url <ws> --token <t> --json`, parsed; throws with both outputs on failure. */
async function openclawJson(
  args: string[],
  opts: { allowFailure?: boolean } = {},
): Promise<{ r: RunResult; json: unknown }> {
  const r = await oc.run([...args, '--url', gw.wsUrl, '--token', gw.token, '--json'], {
    timeoutMs: 90_000,
    env: NOT_UNDER_TEST,
  });
  if (r.code !== 0 && !opts.allowFailure)
    throw new Error(
      `openclaw ${args.join(' ')} exited ${r.code}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`,
    );
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    if (!opts.allowFailure)
      throw new Error(
        `openclaw ${args.join(' ')} printed no JSON\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`,
      );
  }
  return { r, json };
}

async function dataDir(): Promise<string> {
  return mkdtemp(join(scratch, 'data-'));
}

function newLink(o: Partial<ConstructorParameters<typeof AgentLink>[0]> & { dataDir: string }): AgentLink {
  const l = new AgentLink({ url: gw.wsUrl, token: gw.token, memory, connectTimeoutMs: 30_000, logger: quiet, ...o });
  links.push(l);
  return l;
}

/** Approves the node's pending command surface (`openclaw nodes pending` → `nodes approve`). */
async function approveNodeSurface(deviceId: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { json } = await openclawJson(['nodes', 'pending']);
    const req = (json as Array<{ requestId: string; nodeId: string; commands: string[] }>).find(
      (p) => p.nodeId === deviceId,
    );
    if (req) {
      expect([...req.commands].sort()).toEqual([...NODE_COMMANDS].sort());
      await openclawJson(['nodes', 'approve', req.requestId]);
      return;
    }
    if (Date.now() > deadline) throw new Error(`no pending node request for ${deviceId}: ${JSON.stringify(json)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function invoke(command: string, params: unknown, allowFailure = false) {
  return openclawJson(
    ['nodes', 'invoke', '--node', node.deviceId, '--command', command, '--params', JSON.stringify(params)],
    { allowFailure },
  );
}

beforeAll(async () => {
  oc = await ensureOpenClaw();
  scratch = await mkdtemp(join(tmpdir(), 'claw-agent-interop-'));
  const config = await oc.readConfig();
  // Custom node commands must be allowed by the gateway's command policy (docs/nodes/command-policy.md).
  await oc.writeConfig({ ...config, gateway: { nodes: { commands: { allow: [...NODE_COMMANDS] } } } });
  gw = await oc.startGateway({ env: NOT_UNDER_TEST });
  project = await mkdtemp(join(scratch, 'project-'));
  await cp(FIXTURE_TREE, join(project, '.brv', 'context-tree'), { recursive: true });
  memory = await LocalMemory.open({ projectRoot: project, watch: false });
  // Short waits between reconnects: the restart test proves reconnecting, the unit tests the backoff curve.
  link = newLink({
    dataDir: await dataDir(),
    displayName: 'claw-byterover interop',
    retryPolicy: { maxAttempts: Infinity, baseMs: 250, throttledBaseMs: 250, maxWaitMs: 2_000 },
  });
  node = await link.start();
}, 600_000);

afterAll(async () => {
  for (const l of links) await l.stop().catch(() => {});
  await memory?.close();
  await oc?.cleanup();
  if (scratch) await rm(scratch, { recursive: true, force: true });
}, 60_000);

describe('claw-agent link ⇄ real OpenClaw gateway', () => {
  it('connects as a node: accepted handshake, protocol 4 from the native range, the gateway version, paired on loopback', async () => {
    expect(node).toMatchObject({ gatewayVersion: OPENCLAW_VERSION, protocol: 4, connection: 1 });
    const { json } = await openclawJson(['nodes', 'list']);
    const paired = (json as { paired: Array<Record<string, unknown>> }).paired.find((n) => n.nodeId === node.deviceId);
    expect(paired).toMatchObject({
      displayName: 'claw-byterover interop',
      clientId: 'node-host',
      clientMode: 'node',
      platform: 'linux',
      paired: true,
    });
  }, 120_000);

  it('after `openclaw nodes approve`, `openclaw nodes invoke --command byterover.recall` returns hits from the fixture tree', async () => {
    await approveNodeSurface(node.deviceId);
    const query = 'JWT access token expiry and refresh';
    const { json } = await invoke('byterover.recall', { query, tokenBudget: 400 });
    const out = json as {
      ok: boolean;
      nodeId: string;
      command: string;
      payload: { hits: Array<{ path: string }>; text: string; tokens: number };
    };
    expect(out).toMatchObject({ ok: true, nodeId: node.deviceId, command: 'byterover.recall' });
    expect(out.payload.hits[0]?.path).toBe('auth/jwt-session-tokens.md');
    expect(out.payload.tokens).toBeLessThanOrEqual(400);
    // exactly what lib/memory answers in-process
    const direct = await memory.recall(query, { tokenBudget: 400 });
    expect(out.payload.hits.map((h) => h.path)).toEqual(direct.hits.map((h) => h.path));
    expect(out.payload.text).toBe(direct.text);
  }, 180_000);

  it('byterover.search and byterover.curate go through the gateway too; bad params come back as INVALID_PARAMS', async () => {
    const search = (await invoke('byterover.search', { query: 'redis cache stampede', k: 3 })).json as {
      ok: boolean;
      payload: { hits: Array<{ path: string }> };
    };
    expect(search.ok).toBe(true);
    expect(search.payload.hits.length).toBeGreaterThan(0);
    expect(search.payload.hits.length).toBeLessThanOrEqual(3);
    expect(search.payload.hits.map((h) => h.path)).toEqual(
      (await memory.search('redis cache stampede', { k: 3 })).map((h) => h.path),
    );

    const curate = (
      await invoke('byterover.curate', {
        title: 'Gateway interop note',
        content: 'Curated through openclaw nodes invoke.',
        path: 'interop/gateway.md',
      })
    ).json as {
      ok: boolean;
      payload: { path: string; status: string };
    };
    expect(curate).toMatchObject({ ok: true, payload: { path: 'interop/gateway.md', status: 'written' } });
    expect(await readFile(join(project, '.brv', 'context-tree', 'interop', 'gateway.md'), 'utf8')).toContain(
      'Curated through openclaw nodes invoke.',
    );

    const bad = await invoke('byterover.search', { quer: 'typo' }, true);
    expect(bad.r.code).not.toBe(0);
    expect(bad.r.stdout + bad.r.stderr).toContain('INVALID_PARAMS: byterover.search expected {query: string');
  }, 180_000);

  it('a forced protocol mismatch (test-only range 1–2) gives our diagnosis: both ranges, the real gateway version, the upgrade', async () => {
    const l = newLink({ dataDir: await dataDir(), protocol: testOnlyProtocolSupport(1, 2), connectTimeoutMs: 30_000 });
    const e = await l.start().then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(ClawError);
    const err = e as ClawError;
    expect(err.code).toBe('AGENT_PROTOCOL_MISMATCH');
    expect(err.message).toContain('offers agent protocol 1–2 (offered range overridden for testing)');
    expect(err.message).toContain(`OpenClaw gateway ${OPENCLAW_VERSION} accepts 3–4 for nodes`);
    expect(err.message).toContain('plugin speaks 1–2, agent requires 3–4: upgrade claw-byterover');
    expect(err.hint).toContain('Upgrade claw-byterover to a release whose agent protocol range includes 3–4');
    // what the real gateway said, kept for diagnosis
    expect(err.details).toMatchObject({
      gatewayAccepts: { min: 3, max: 4 },
      gatewayVersion: OPENCLAW_VERSION,
      gatewayDetails: {
        detailCode: 'PROTOCOL_MISMATCH',
        clientMinProtocol: 1,
        clientMaxProtocol: 2,
        expectedProtocol: 4,
      },
    });

    const probe = await probeHandshake(gw.wsUrl, {
      token: gw.token,
      dataDir: await dataDir(),
      protocol: testOnlyProtocolSupport(1, 2),
      logger: quiet,
    });
    expect(probe.error?.code).toBe('AGENT_PROTOCOL_MISMATCH');
    expect(probe.gatewayVersion).toBe(OPENCLAW_VERSION);
    expect(
      probe.received.find((f) => f.phase === 'handshake' && (f.frame as { type: string }).type === 'res')?.frame,
    ).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST', message: 'protocol mismatch' },
    });
    expect(JSON.stringify(probe)).not.toContain(gw.token);
  }, 120_000);

  it('a wrong token gives AGENT_AUTH_FAILED from the real AUTH_TOKEN_MISMATCH', async () => {
    const l = newLink({ dataDir: await dataDir(), token: 'definitely-not-the-gateway-token' });
    const e = (await l.start().catch((x: unknown) => x)) as ClawError;
    expect(e.code).toBe('AGENT_AUTH_FAILED');
    expect(e.message).toContain('AUTH_TOKEN_MISMATCH');
  }, 60_000);

  it('the CLI `agent connect --once --debug-handshake` connects, prints the frames, and never the token', async () => {
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          TSX_LOADER,
          CLI_ENTRY,
          '--json',
          'agent',
          'connect',
          gw.wsUrl,
          '--once',
          '--debug-handshake',
          '--dir',
          join(project, '.brv', 'context-tree'),
        ],
        {
          cwd: project,
          env: {
            ...process.env,
            ...NOT_UNDER_TEST,
            OPENCLAW_GATEWAY_TOKEN: gw.token,
            CLAW_BYTEROVER_DATA_DIR: join(scratch, 'cli-data'),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const t = setTimeout(() => child.kill('SIGKILL'), 90_000);
      child.on('close', (code) => {
        clearTimeout(t);
        res({ code, stdout, stderr });
      });
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ once: true, protocol: 4, gatewayVersion: OPENCLAW_VERSION });
    expect(r.stderr).toMatch(/handshake ← \[handshake\] \{"type":"event","event":"connect.challenge"/);
    expect(r.stderr).toMatch(/handshake → \[handshake\] .*"token":"\[REDACTED\]".*"signature":"\[REDACTED\]"/);
    expect(r.stderr).toMatch(/handshake ← \[handshake\] \{"type":"res".*"type":"hello-ok","protocol":4/);
    expect(r.stdout + r.stderr).not.toContain(gw.token);
  }, 120_000);

  it('with local auto-approval off, a new device gets AGENT_DEVICE_UNKNOWN; the printed approve command lets it in', async () => {
    const config = await oc.readConfig();
    const gateway = (config.gateway ?? {}) as Record<string, unknown>;
    const nodes = (gateway.nodes ?? {}) as Record<string, unknown>;
    await oc.writeConfig({
      ...config,
      gateway: { ...gateway, nodes: { ...nodes, pairing: { autoApproveLocal: false } } },
    });
    const dir = await dataDir();
    // pairing settings hot-apply (docs/gateway/pairing.md): retry until the gateway stops auto-approving
    let err: ClawError | undefined;
    const deadline = Date.now() + 60_000;
    for (let i = 0; !err; i++) {
      const probeDir = i === 0 ? dir : await dataDir();
      const l = newLink({ dataDir: probeDir, connectTimeoutMs: 0 });
      const r = await l.start().then(
        () => undefined,
        (x: unknown) => x as ClawError,
      );
      await l.stop();
      if (r) {
        err = r;
        if (probeDir !== dir) await cp(join(probeDir, 'agent'), join(dir, 'agent'), { recursive: true, force: true });
      } else if (Date.now() > deadline)
        throw new Error('the gateway kept auto-approving new local devices after autoApproveLocal: false');
      else await new Promise((r2) => setTimeout(r2, 1_000));
    }
    expect(err.code).toBe('AGENT_DEVICE_UNKNOWN');
    const requestId = err.details?.pairingRequestId as string;
    expect(requestId).toMatch(/\S+/);
    const command = new RegExp(`\`openclaw devices approve ${requestId}\``);
    expect(err.hint).toMatch(command);
    await openclawJson(['devices', 'approve', requestId]);
    const l = newLink({ dataDir: dir });
    const info = await l.start();
    expect(info.gatewayVersion).toBe(OPENCLAW_VERSION);
    await l.stop();
  }, 180_000);

  it('after the gateway restarts on the same port, the link reconnects and serves again', async () => {
    const reconnected = new Promise<ConnectedInfo>((resolve) =>
      link.on('connected', (i) => i.connection > 1 && resolve(i)),
    );
    const seen: string[] = [];
    link.on('reconnecting', (r) => seen.push(r.error?.code ?? `closed ${r.close?.code ?? ''}`));
    const port = gw.port;
    const token = gw.token;
    await gw.stop();
    gw = await oc.startGateway({ port, token, env: NOT_UNDER_TEST });
    const info = await Promise.race([
      reconnected,
      new Promise<never>((_r, reject) => setTimeout(() => reject(new Error('no reconnect within 90 s')), 90_000)),
    ]);
    expect(info).toMatchObject({ deviceId: node.deviceId, gatewayVersion: OPENCLAW_VERSION, connection: 2 });
    expect(seen[0]).toMatch(/^closed /);
    console.log(`reconnect after the gateway restart, attempts: ${seen.join(', ')}`);
    const { json } = await invoke('byterover.recall', { query: 'feature flag rollout percentage' });
    expect(json).toMatchObject({
      ok: true,
      payload: { hits: expect.arrayContaining([expect.objectContaining({ path: 'deploy/feature-flags.md' })]) },
    });
  }, 240_000);
});
