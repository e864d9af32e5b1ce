/**
 * `claw-byterover agent connect <ws-url>` run in-process against the scripted gateway: --once,
 * serving until interrupted, --debug-handshake redaction, and the exit codes of refusals.
 */
import { describe, expect, it } from 'vitest';
import { run, ExitCode } from '../../../lib/cli/index.js';
import { memoryIo } from '../cli/memory-io.js';
import { tempProject } from '../memory/helpers.js';
import { gateway, tempDataDir } from './helpers.js';

const TOKEN = 'cli-gateway-token-ABCDEF-987654';

async function env() {
  const { project } = await tempProject(true);
  const dataDir = await tempDataDir();
  return { cwd: project, env: { CLAW_BYTEROVER_DATA_DIR: dataDir } };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('claw-byterover agent connect', () => {
  it('--once --json handshakes, reports the node and the gateway, and exits 0', async () => {
    const g = await gateway({ token: TOKEN, version: '2026.9.6-cli' });
    const e = await env();
    const io = memoryIo({ ...e, env: { ...e.env, OPENCLAW_GATEWAY_TOKEN: TOKEN } });
    expect(await run(['--json', 'agent', 'connect', g.url, '--once'], io)).toBe(ExitCode.OK);
    const out = JSON.parse(io.out()) as Record<string, unknown>;
    expect(out).toMatchObject({
      once: true,
      gatewayVersion: '2026.9.6-cli',
      protocol: 4,
      deviceId: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(out.identityFile).toBe(`${e.env.CLAW_BYTEROVER_DATA_DIR}/agent/device-identity.json`);
    expect(g.connects[0]).toMatchObject({ auth: { token: TOKEN } });
  });

  it('serves invokes until interrupted, then prints what it served', async () => {
    const g = await gateway({ token: TOKEN });
    const e = await env();
    const ac = new AbortController();
    const io = memoryIo({ ...e, signal: ac.signal });
    const done = run(['agent', 'connect', g.url, '--token', TOKEN], io);
    await until(() => io.err().includes('Ctrl-C to stop'), 'the connected note');
    expect(io.err()).toMatch(
      /Connected to OpenClaw gateway 2099\.1\.0 at ws:\/\/127\.0\.0\.1:\d+ as node [0-9a-f]{64} \(protocol 4\)/,
    );
    expect(await g.invoke('byterover.recall', { query: 'feature flags rollout' })).toMatchObject({ ok: true });
    expect(await g.invoke('byterover.search', { nope: 1 })).toMatchObject({ ok: false });
    ac.abort();
    expect(await done).toBe(ExitCode.OK);
    expect(io.out()).toContain('served 1 invoke(s) (1 failed), 0 reconnect(s)');
    expect(io.err()).toContain('invoke byterover.recall: ok');
    expect(io.all()).not.toContain(TOKEN);
  });

  it('--debug-handshake prints each frame on stderr with the token and signature redacted', async () => {
    const g = await gateway({ token: TOKEN });
    const e = await env();
    const io = memoryIo(e);
    expect(await run(['agent', 'connect', g.url, '--token', TOKEN, '--once', '--debug-handshake'], io)).toBe(
      ExitCode.OK,
    );
    const lines = io
      .err()
      .split('\n')
      .filter((l) => l.startsWith('handshake'));
    expect(lines.map((l) => l.slice(0, 26))).toEqual([
      'handshake ← [handshake] {"',
      'handshake → [handshake] {"',
      'handshake ← [handshake] {"',
    ]);
    expect(lines[1]).toContain('"token":"[REDACTED]"');
    expect(lines[1]).toContain('"signature":"[REDACTED]"');
    expect(io.all()).not.toContain(TOKEN);
  });

  it('a protocol mismatch exits 1 with AGENT_PROTOCOL_MISMATCH, both ranges, the gateway version and the next step', async () => {
    const g = await gateway({ current: 6, version: '2099.3.1' });
    const io = memoryIo(await env());
    expect(await run(['agent', 'connect', g.url, '--once'], io)).toBe(1);
    expect(io.err()).toMatch(
      /^error AGENT_PROTOCOL_MISMATCH: protocol version mismatch: claw-byterover \S+ offers agent protocol 3–4, OpenClaw gateway 2099\.3\.1 accepts 5–6 for nodes: plugin speaks 3–4, agent requires 5–6: upgrade claw-byterover\n {2}next: Upgrade claw-byterover/,
    );
  });

  it('a bad token exits 3 (auth), an unknown device exits 3 with the approve command, a dead port exits 4', async () => {
    const g = await gateway({ token: 'another-token-0000000' });
    const bad = memoryIo(await env());
    expect(await run(['--json', 'agent', 'connect', g.url, '--token', TOKEN, '--once'], bad)).toBe(ExitCode.AUTH);
    expect(JSON.parse(bad.out())).toMatchObject({ error: { code: 'AGENT_AUTH_FAILED', exitCode: 3 } });
    expect(bad.all()).not.toContain(TOKEN);

    const pairing = await gateway({ autoApprove: false });
    const unknown = memoryIo(await env());
    expect(await run(['agent', 'connect', pairing.url, '--once'], unknown)).toBe(ExitCode.AUTH);
    expect(unknown.err()).toMatch(
      /error AGENT_DEVICE_UNKNOWN: .*\n {2}next: Approve this device: on the gateway host run `openclaw devices approve [0-9a-f-]{36}`/,
    );

    const url = pairing.url;
    await pairing.close();
    const dead = memoryIo(await env());
    expect(await run(['agent', 'connect', url, '--once', '--connect-timeout', '0'], dead)).toBe(ExitCode.UNAVAILABLE);
    expect(dead.err()).toContain('error AGENT_CONNECT_FAILED');
  });

  it('usage errors: a non-ws URL and a bad --connect-timeout exit 2', async () => {
    const io = memoryIo(await env());
    expect(await run(['agent', 'connect', 'http://127.0.0.1:1', '--once'], io)).toBe(ExitCode.USAGE);
    expect(io.err()).toContain('error AGENT_INVALID_URL');
    const io2 = memoryIo(await env());
    expect(await run(['agent', 'connect', 'ws://127.0.0.1:1', '--connect-timeout', 'soon'], io2)).toBe(ExitCode.USAGE);
    expect(io2.err()).toContain('error CLI_INVALID_ARGUMENT');
  });
});
