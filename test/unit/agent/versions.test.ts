/**
 * The protocol range and its explanations: the test-only override decides exactly as the native core
 * does (compared on every agent range the native binding can be asked about), and the gateway's
 * refusal details are read into the node range it accepts.
 */
import { describe, expect, it } from 'vitest';
import { abiInfo, negotiateAgentProtocol } from '../../../lib/native.js';
import {
  gatewayRangeFromDetails,
  nativeProtocolSupport,
  negotiateAgentProtocolLike,
  testOnlyProtocolSupport,
} from '../../../lib/agent/index.js';

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
  });

  it('the transcription used by the test override agrees with the native core on every agent range 1..8', () => {
    const { agentProtocolMin: lo, agentProtocolMax: hi } = abiInfo();
    let compared = 0;
    for (let a = 1; a <= 8; a++) {
      for (let b = 1; b <= 8; b++) {
        expect(negotiateAgentProtocolLike(lo, hi, a, b), `${a}–${b}`).toEqual(negotiateAgentProtocol(a, b));
        compared++;
      }
    }
    expect(compared).toBe(64);
    // and it is a real override: offering 1–2 against a 3–4 gateway refuses
    expect(testOnlyProtocolSupport(1, 2).negotiate(3, 4)).toMatchObject({
      ok: false,
      message: 'plugin speaks 1–2, agent requires 3–4: upgrade claw-byterover',
    });
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
