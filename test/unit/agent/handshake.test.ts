/**
 * The agent link's handshake against a scripted gateway, one test per way it can end: success (and
 * the N-1 node window), protocol mismatch both ways, a gateway choosing outside our range, bad and
 * missing token, unknown device (and waiting for approval), UNAVAILABLE + retryAfterMs, challenge and
 * connect timeouts, malformed frames, unreachable and non-WebSocket endpoints.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { abiInfo } from '../../../lib/native.js';
import { ClawError } from '../../../lib/errors.js';
import { loadOrCreateIdentity, redactFrame, probeHandshake, type FrameObserver } from '../../../lib/agent/index.js';
import { gateway, onCleanup, tempDataDir, testLink } from './helpers.js';

const TOKEN = 'gw-token-Secr3t-value-0123456789';

async function failure(p: Promise<unknown>): Promise<ClawError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ClawError);
  return e as ClawError;
}

describe('agent link handshake: success', () => {
  it('answers the challenge with a signed node connect offering the native range, and checks hello-ok', async () => {
    const g = await gateway({ token: TOKEN, version: '2026.9.6-test' });
    const dataDir = await tempDataDir();
    const { link, waits } = await testLink(g, { token: TOKEN, dataDir, displayName: 'test node' });
    const info = await link.start();
    const identity = await loadOrCreateIdentity({ dataDir });
    const native = abiInfo();

    expect(info).toMatchObject({
      deviceId: identity.deviceId,
      gatewayVersion: '2026.9.6-test',
      protocol: 4,
      connection: 1,
    });
    expect(waits).toEqual([]);
    const p = g.connects[0] as Record<string, any>;
    // The scripted gateway verified the v3 signature, the nonce and the id/key binding before hello-ok.
    expect(p).toMatchObject({
      minProtocol: native.agentProtocolMin,
      maxProtocol: native.agentProtocolMax,
      role: 'node',
      scopes: [],
      commands: ['byterover.search', 'byterover.recall', 'byterover.curate'],
      caps: ['byterover'],
      auth: { token: TOKEN },
      client: {
        id: 'node-host',
        mode: 'node',
        displayName: 'test node',
        buildId: native.gitRevision,
        platform: 'linux',
        deviceFamily: 'Linux',
      },
      device: { id: identity.deviceId, publicKey: identity.publicKey },
    });
    expect(p.device.id).toBe(createHash('sha256').update(Buffer.from(p.device.publicKey, 'base64url')).digest('hex'));
    expect(g.node()?.deviceId).toBe(identity.deviceId);
    expect(link.state).toBe('connected');
    await link.stop();
    expect(link.state).toBe('stopped');
    expect(await link.done).toBeUndefined();
  });

  it('uses the N-1 node window: a gateway on protocol 5 accepts our 4, one on 3 gets 3', async () => {
    for (const [current, expected] of [
      [5, 4],
      [3, 3],
    ] as const) {
      const g = await gateway({ current });
      const { link } = await testLink(g);
      expect((await link.start()).protocol).toBe(expected);
      await link.stop();
    }
  });

  it('skips events that come before the challenge', async () => {
    const g = await gateway({
      beforeChallenge: [JSON.stringify({ type: 'event', event: 'tick', payload: { ts: 1 } })],
    });
    const { link } = await testLink(g);
    expect((await link.start()).protocol).toBe(4);
  });
});

describe('agent link handshake: protocol mismatch', () => {
  it('a gateway requiring 5–6 gets AGENT_PROTOCOL_MISMATCH naming both ranges, the gateway version and the upgrade, from the native explanation', async () => {
    const g = await gateway({ current: 6, version: '2099.3.1' });
    const { link, waits } = await testLink(g, { connectTimeoutMs: 60_000 });
    const e = await failure(link.start());
    expect(e.code).toBe('AGENT_PROTOCOL_MISMATCH');
    expect(e.message).toContain('offers agent protocol 3–4');
    expect(e.message).toContain('OpenClaw gateway 2099.3.1 accepts 5–6 for nodes');
    // verbatim from the native core (native/src/negotiate.cc)
    expect(e.message).toContain('plugin speaks 3–4, agent requires 5–6: upgrade claw-byterover');
    expect(e.hint).toMatch(/Upgrade claw-byterover to a release whose agent protocol range includes 5–6/);
    expect(e.exitCode).toBe(1);
    expect(e.details).toMatchObject({
      offered: { min: 3, max: 4, source: 'native' },
      gatewayAccepts: { min: 5, max: 6 },
      gatewayVersion: '2099.3.1',
    });
    // Terminal: no retry, even with a 60 s connect budget.
    expect(waits).toEqual([]);
    // The gateway version came from a probe connect offering the gateway's own range.
    expect(g.connects.map((c) => (c.client as { mode: string }).mode)).toEqual(['node', 'probe']);
    expect(g.connects[1]).toMatchObject({ minProtocol: 5, maxProtocol: 6, role: 'operator' });
    expect(await link.done).toBe(e);
  });

  it('a gateway older than us (accepts 1–2) gets "upgrade the agent" and the openclaw update hint', async () => {
    const g = await gateway({ current: 2, version: '2025.1.0' });
    const { link } = await testLink(g);
    const e = await failure(link.start());
    expect(e.code).toBe('AGENT_PROTOCOL_MISMATCH');
    expect(e.message).toContain(
      'plugin speaks 3–4, agent requires 1–2: upgrade the agent to one that accepts protocol 3–4',
    );
    expect(e.message).toContain('OpenClaw gateway 2025.1.0');
    expect(e.hint).toContain('openclaw update');
  });

  it('a hello-ok choosing a protocol we did not offer is a mismatch too', async () => {
    const g = await gateway({
      replaceConnectResponse: (id) =>
        JSON.stringify({
          type: 'res',
          id,
          ok: true,
          payload: {
            type: 'hello-ok',
            protocol: 7,
            server: { version: '2099.9.9', connId: 'c1' },
            features: { methods: [], events: [] },
            snapshot: {},
            auth: {},
            policy: {},
          },
        }),
    });
    const { link } = await testLink(g);
    const e = await failure(link.start());
    expect(e.code).toBe('AGENT_PROTOCOL_MISMATCH');
    expect(e.message).toContain('chose protocol 7');
    expect(e.details).toMatchObject({ gatewayChose: 7, gatewayVersion: '2099.9.9' });
  });
});

describe('agent link handshake: auth and pairing', () => {
  it('a wrong token is AGENT_AUTH_FAILED (exit 3), terminal, and the token appears nowhere', async () => {
    const g = await gateway({ token: 'the-right-token-123456' });
    const { link, waits, logs } = await testLink(g, { token: TOKEN, connectTimeoutMs: 60_000 });
    const e = await failure(link.start());
    expect(e.code).toBe('AGENT_AUTH_FAILED');
    expect(e.message).toContain('AUTH_TOKEN_MISMATCH');
    expect(e.hint).toContain('openclaw gateway auth-token --show');
    expect(e.exitCode).toBe(3);
    expect(waits).toEqual([]);
    const everything = JSON.stringify([e.message, e.hint, e.details, logs]);
    expect(everything).not.toContain(TOKEN);
  });

  it('a missing token says how to pass one', async () => {
    const g = await gateway({ token: 'the-right-token-123456' });
    const { link } = await testLink(g);
    const e = await failure(link.start());
    expect(e.code).toBe('AGENT_AUTH_FAILED');
    expect(e.message).toContain('AUTH_TOKEN_MISSING');
    expect(e.hint).toContain('--token');
    expect(e.hint).toContain('OPENCLAW_GATEWAY_TOKEN');
  });

  it('an unknown device is AGENT_DEVICE_UNKNOWN with the exact openclaw approve commands', async () => {
    const g = await gateway({ autoApprove: false });
    const { link, waits } = await testLink(g, { connectTimeoutMs: 60_000 });
    const e = await failure(link.start());
    const identity = await link.identity();
    const requestId = g.pendingRequests.get(identity.deviceId);
    expect(requestId).toBeDefined();
    expect(e.code).toBe('AGENT_DEVICE_UNKNOWN');
    expect(e.message).toContain(identity.deviceId);
    expect(e.message).toContain(`pairing request ${requestId} is pending`);
    expect(e.hint).toContain(`openclaw devices approve ${requestId}`);
    expect(e.hint).toContain('openclaw nodes approve <nodeRequestId>');
    expect(e.hint).toContain('--wait-for-approval');
    expect(e.exitCode).toBe(3);
    expect(waits).toEqual([]);
  });

  it('--wait-for-approval reports the pairing once, retries, and connects once approved', async () => {
    const g = await gateway({ autoApprove: false });
    const { link, waits } = await testLink(g, { waitForApproval: true, connectTimeoutMs: 60_000 });
    const pairing: string[] = [];
    let attempts = 0;
    link.on('pairing', (e) => pairing.push(e.code));
    link.on('reconnecting', async () => {
      if (++attempts === 3) g.paired.add((await link.identity()).deviceId);
    });
    const info = await link.start();
    expect(info.connection).toBe(1);
    expect(pairing).toEqual(['AGENT_DEVICE_UNKNOWN']);
    expect(waits.length).toBeGreaterThanOrEqual(3);
  });

  it('a device proof the gateway cannot verify is AGENT_DEVICE_AUTH_FAILED', async () => {
    const g = await gateway();
    const dataDir = await tempDataDir();
    const real = await loadOrCreateIdentity({ dataDir });
    const forged = { ...real, deviceId: real.deviceId, sign: (payload: string) => real.sign(`${payload}x`) };
    const { link } = await testLink(g, { identity: forged });
    const e = await failure(link.start());
    expect(e.code).toBe('AGENT_DEVICE_AUTH_FAILED');
    expect(e.message).toContain('DEVICE_AUTH_SIGNATURE_INVALID');
  });
});

describe('agent link handshake: unavailable, timeouts, malformed frames, unreachable', () => {
  it('UNAVAILABLE with retryAfterMs is retried no sooner than asked, then connects', async () => {
    const g = await gateway({ unavailable: { times: 2, retryAfterMs: 1_500 } });
    const { link, waits } = await testLink(g, { connectTimeoutMs: 60_000, random: () => 0 });
    const codes: string[] = [];
    link.on('reconnecting', (r) => codes.push(r.error?.code ?? 'none'));
    const info = await link.start();
    expect(info.connection).toBe(1);
    expect(codes).toEqual(['AGENT_UNAVAILABLE', 'AGENT_UNAVAILABLE']);
    // full jitter drew 0 both times; the gateway's retryAfterMs is the floor
    expect(waits).toEqual([1_500, 1_500]);
  });

  it('UNAVAILABLE past the connect budget is AGENT_UNAVAILABLE (exit 4) carrying retryAfterMs', async () => {
    const g = await gateway({ unavailable: { times: 99, retryAfterMs: 700 } });
    const { link } = await testLink(g, { connectTimeoutMs: 0 });
    const e = await failure(link.start());
    expect(e.code).toBe('AGENT_UNAVAILABLE');
    expect(e.details).toMatchObject({ retryAfterMs: 700, reason: 'startup-sidecars', retryable: true });
    expect(e.exitCode).toBe(4);
  });

  it('no challenge in time is AGENT_HANDSHAKE_TIMEOUT', async () => {
    const g = await gateway({ noChallenge: true });
    const { link } = await testLink(g, { challengeTimeoutMs: 200 });
    const e = await failure(link.start());
    expect(e.code).toBe('AGENT_HANDSHAKE_TIMEOUT');
    expect(e.message).toContain('connect.challenge');
    expect(e.details).toMatchObject({ phase: 'challenge', timeoutMs: 200 });
  });

  it('no answer to connect in time is AGENT_HANDSHAKE_TIMEOUT too', async () => {
    const g = await gateway({ silentOnConnect: true });
    const { link } = await testLink(g, { requestTimeoutMs: 300 });
    const e = await failure(link.start());
    expect(e.code).toBe('AGENT_HANDSHAKE_TIMEOUT');
    expect(e.details).toMatchObject({ phase: 'connect' });
  });

  it.each([
    ['a challenge that is not JSON', { replaceChallenge: () => 'hello there' }, /not JSON/],
    [
      'a challenge without a nonce',
      {
        replaceChallenge: (_n: string, ts: number) =>
          JSON.stringify({ type: 'event', event: 'connect.challenge', payload: { ts } }),
      },
      /nonce/,
    ],
    [
      'a challenge with a fractional ts',
      {
        replaceChallenge: (n: string) =>
          JSON.stringify({ type: 'event', event: 'connect.challenge', payload: { nonce: n, ts: 1.5 } }),
      },
      /ts/,
    ],
    ['a frame of unknown type', { beforeChallenge: [JSON.stringify({ type: 'hello', x: 1 })] }, /not a gateway frame/],
    [
      'an ok answer that is not hello-ok',
      {
        replaceConnectResponse: (id: string) =>
          JSON.stringify({ type: 'res', id, ok: true, payload: { type: 'welcome' } }),
      },
      /not hello-ok/,
    ],
  ])('%s is AGENT_MALFORMED_FRAME, terminal', async (_name, script, reason) => {
    const g = await gateway(script);
    const { link, waits } = await testLink(g, { connectTimeoutMs: 60_000 });
    const e = await failure(link.start());
    expect(e.code).toBe('AGENT_MALFORMED_FRAME');
    expect(e.message).toMatch(reason);
    expect(waits).toEqual([]);
  });

  it('nothing listening is AGENT_CONNECT_FAILED with ECONNREFUSED and a start-the-gateway hint', async () => {
    const g = await gateway();
    const url = g.url;
    await g.close();
    const { link } = await testLink(g, { url });
    const e = await failure(link.start());
    expect(e.code).toBe('AGENT_CONNECT_FAILED');
    expect(e.details).toMatchObject({ errno: 'ECONNREFUSED' });
    expect(e.hint).toContain('openclaw gateway');
  });

  it('an HTTP server that does not upgrade is AGENT_CONNECT_FAILED naming the status', async () => {
    const server = createServer((_req, res) => res.writeHead(404).end('Not Found'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    onCleanup(() => new Promise((r) => server.close(r)));
    const g = await gateway();
    const { link } = await testLink(g, { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/nope` });
    const e = await failure(link.start());
    expect(e.code).toBe('AGENT_CONNECT_FAILED');
    expect(e.message).toContain('HTTP 404');
    expect(e.details).toMatchObject({ httpStatus: 404 });
  });

  it('a URL that is not ws:// or wss://, or that carries credentials, is AGENT_INVALID_URL before any I/O', async () => {
    const g = await gateway();
    for (const url of ['http://127.0.0.1:1', 'not a url', 'ws://user:pw@127.0.0.1:1']) {
      const e = await failure(testLink(g, { url }));
      expect(e.code).toBe('AGENT_INVALID_URL');
      expect(e.exitCode).toBe(2);
      expect(e.message).not.toContain('pw@');
    }
  });
});

describe('--debug-handshake frames and probeHandshake', () => {
  it('every handshake frame is observed; redacted, none shows the token or the signature', async () => {
    const g = await gateway({ token: TOKEN });
    const seen: Array<{ dir: string; phase: string; frame: unknown }> = [];
    const observe: FrameObserver = (dir, frame, phase) => seen.push({ dir, phase, frame });
    const { link } = await testLink(g, { token: TOKEN, onHandshakeFrame: observe });
    await link.start();
    expect(
      seen.map(
        (s) =>
          `${s.dir}:${(s.frame as { event?: string; method?: string; type: string }).event ?? (s.frame as { method?: string }).method ?? (s.frame as { type: string }).type}`,
      ),
    ).toEqual(['received:connect.challenge', 'sent:connect', 'received:res']);
    const sent = seen[1]?.frame as { params: { device: { signature: string } } };
    expect(sent.params.device.signature.length).toBeGreaterThan(40);
    const shown = JSON.stringify(seen.map((s) => redactFrame(s.frame)));
    expect(shown).not.toContain(TOKEN);
    expect(shown).not.toContain(sent.params.device.signature);
    expect(shown).toContain('"token":"[REDACTED]"');
    expect(shown).toContain('"signature":"[REDACTED]"');
    // the nonce and public key stay: a doctor compares them
    expect(shown).toContain((seen[0]?.frame as { payload: { nonce: string } }).payload.nonce);
  });

  it('probeHandshake returns what was sent and what the gateway echoed, and closes', async () => {
    const g = await gateway({ token: TOKEN, version: '2026.9.6-probe' });
    const dataDir = await tempDataDir();
    const r = await probeHandshake(g.url, { token: TOKEN, dataDir });
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({
      negotiated: 4,
      gatewayVersion: '2026.9.6-probe',
      offered: { min: 3, max: 4, source: 'native' },
    });
    expect(r.sent[0]?.frame).toMatchObject({
      method: 'connect',
      params: {
        minProtocol: 3,
        maxProtocol: 4,
        auth: { token: '[REDACTED]' },
        device: { signature: '[REDACTED]', id: r.deviceId },
      },
    });
    expect(r.received.map((f) => (f.frame as { type: string }).type)).toEqual(['event', 'res']);
    expect(JSON.stringify(r)).not.toContain(TOKEN);
  });

  it('probeHandshake reports a mismatch in `error` with the gateway version from the version probe', async () => {
    const g = await gateway({ current: 6, version: '2099.3.1' });
    const r = await probeHandshake(g.url, { dataDir: await tempDataDir() });
    expect(r.negotiated).toBeNull();
    expect(r.gatewayVersion).toBe('2099.3.1');
    expect(r.error).toMatchObject({ code: 'AGENT_PROTOCOL_MISMATCH' });
    expect(r.sent.map((f) => f.phase)).toEqual(['handshake', 'version-probe']);
    expect(r.received.at(-1)?.frame).toMatchObject({
      type: 'res',
      ok: true,
      payload: { server: { version: '2099.3.1' } },
    });
  });
});
