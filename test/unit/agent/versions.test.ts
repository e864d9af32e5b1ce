/**
 * The protocol range and its explanations: one negotiation (the native core's), whose plugin range
 * is a parameter for the test-only override; the range published for the addon-less case equals the
 * native one; without the addon the link still handshakes (a real child process whose loader finds
 * no addon, against the scripted gateway); the gateway's refusal details are read into the node
 * range it accepts.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { abiInfo, CLAW_AGENT_PROTOCOL, negotiateAgentProtocol } from '../../../lib/native.js';
import {
  gatewayRangeFromDetails,
  nativeProtocolSupport,
  protocolSupport,
  testOnlyProtocolSupport,
} from '../../../lib/agent/index.js';
import { gateway, onCleanup } from './helpers.js';

const root = resolve(import.meta.dirname, '../../..');

describe('protocol support', () => {
  it('the native support is abiInfo().agentProtocolMin..Max with the native negotiation', () => {
    const s = nativeProtocolSupport();
    const info = abiInfo();
    expect({ min: s.min, max: s.max, source: s.source }).toEqual({
      min: info.agentProtocolMin,
      max: info.agentProtocolMax,
      source: 'native',
    });
    expect(s.negotiate(5, 6)).toEqual(negotiateAgentProtocol(5, 6));
    // With the addon loaded, what the link offers is the native support.
    expect(protocolSupport().source).toBe('native');
  });

  it('the plugin range is a parameter of the one native negotiation: the override decides with it', () => {
    const { agentProtocolMin: min, agentProtocolMax: max } = abiInfo();
    let compared = 0;
    for (let a = 1; a <= 8; a++) {
      for (let b = 1; b <= 8; b++) {
        // Passing the plugin's own range is the same decision, word for word, as the default.
        expect(negotiateAgentProtocol(a, b, { min, max }), `${a}–${b}`).toEqual(negotiateAgentProtocol(a, b));
        expect(testOnlyProtocolSupport(min, max).negotiate(a, b)).toEqual(negotiateAgentProtocol(a, b));
        compared++;
      }
    }
    expect(compared).toBe(64);
    // and it is a real override: offering 1–2 against a 3–4 gateway refuses, in the native wording
    expect(testOnlyProtocolSupport(1, 2).negotiate(3, 4)).toEqual({
      ok: false,
      status: -6,
      code: 'CLAW_E_PROTOCOL_MISMATCH',
      message: 'plugin speaks 1–2, agent requires 3–4: upgrade claw-byterover',
    });
    expect(testOnlyProtocolSupport(5, 6).negotiate(3, 4).message).toBe(
      'plugin speaks 5–6, agent requires 3–4: upgrade the agent to one that accepts protocol 5–6',
    );
    expect(testOnlyProtocolSupport(2, 5).negotiate(3, 4)).toMatchObject({ ok: true, version: 4 });
  });

  it("the range published for the addon-less case is claw/plugin.h's and the native one", async () => {
    const header = await readFile(join(root, 'native/include/claw/plugin.h'), 'utf8');
    const def = (name: string) => Number(new RegExp(`#define ${name} (\\d+)u`).exec(header)?.[1]);
    expect({ ...CLAW_AGENT_PROTOCOL }).toEqual({
      min: def('CLAW_AGENT_PROTOCOL_MIN'),
      max: def('CLAW_AGENT_PROTOCOL_MAX'),
    });
    const info = abiInfo();
    expect({ ...CLAW_AGENT_PROTOCOL }).toEqual({ min: info.agentProtocolMin, max: info.agentProtocolMax });
  });

  it('without the addon the link still handshakes, offering the published range; a mismatch says the native explanation was unavailable', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'claw-no-addon-'));
    onCleanup(() => rm(empty, { recursive: true, force: true }));
    const ok = await gateway({ current: 4 });
    const newer = await gateway({ current: 6 });
    // A child whose loader finds no addon: the prebuild root overridden to an empty folder, and
    // build/ not consulted (PREBUILDS_ONLY).
    const script = `
      import { probeHandshake, protocolSupport } from './lib/agent/index.js';
      const s = protocolSupport();
      const out = { source: s.source, unavailable: s.unavailable?.code, offered: [s.min, s.max] };
      for (const url of process.argv.slice(1)) {
        const r = await probeHandshake(url, { dataDir: process.env.DATA_DIR });
        out[url] = { offered: r.offered, negotiated: r.negotiated, error: r.error && { code: r.error.code, message: r.error.message, native: r.error.details?.nativeUnavailable } };
      }
      console.log(JSON.stringify(out));`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script, ok.url, newer.url],
      {
        cwd: root,
        env: {
          ...process.env,
          CLAW_BYTEROVER_PREBUILD: empty,
          PREBUILDS_ONLY: '1',
          DATA_DIR: empty,
          CLAW_BYTEROVER_LOG_LEVEL: 'silent',
        },
      },
    );
    const out = JSON.parse(stdout.trim().split('\n').at(-1) as string);
    expect(out).toMatchObject({ source: 'published', unavailable: 'NATIVE_LOAD_FAILED', offered: [3, 4] });
    expect(out[ok.url]).toEqual({ offered: { min: 3, max: 4, source: 'published' }, negotiated: 4 });
    expect(ok.connects[0]).toMatchObject({ minProtocol: 3, maxProtocol: 4 });
    const refused = out[newer.url];
    expect(refused.negotiated).toBeNull();
    expect(refused.error.code).toBe('AGENT_PROTOCOL_MISMATCH');
    expect(refused.error.message).toContain(
      'offers agent protocol 3–4 (the published range: the native addon did not load)',
    );
    expect(refused.error.message).toContain('accepts 5–6 for nodes');
    expect(refused.error.message).toContain('the native addon did not load (NATIVE_LOAD_FAILED)');
    expect(refused.error.native).toMatchObject({ code: 'NATIVE_LOAD_FAILED' });
    expect(refused.error.native.hint).toMatch(/npm rebuild claw-byterover/);
  });

  it('reads the node range out of a PROTOCOL_MISMATCH refusal', () => {
    expect(
      gatewayRangeFromDetails({
        code: 'PROTOCOL_MISMATCH',
        clientMinProtocol: 1,
        clientMaxProtocol: 2,
        expectedProtocol: 4,
        minimumProbeProtocol: 3,
      }),
    ).toEqual({ min: 3, max: 4 });
    expect(gatewayRangeFromDetails({ expectedProtocol: 4 })).toEqual({ min: 4, max: 4 });
    expect(gatewayRangeFromDetails({ expectedProtocol: 4, minimumNodeProtocol: 2, minimumProbeProtocol: 3 })).toEqual({
      min: 2,
      max: 4,
    });
    expect(gatewayRangeFromDetails({})).toBeUndefined();
    expect(gatewayRangeFromDetails('nope')).toBeUndefined();
  });
});
