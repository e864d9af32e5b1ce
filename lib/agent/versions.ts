/**
 * Which Gateway protocol versions the node offers, and what a refusal means.
 *
 * The range comes from the native core (`abiInfo().agentProtocolMin..Max`, claw/plugin.h) and every
 * decision goes through its negotiation (`negotiateAgentProtocol`), so the C ABI host and the agent
 * link agree on one rule and one explanation ("plugin speaks 3–4, agent requires 5–6: upgrade
 * claw-byterover").
 *
 * A gateway states what it accepts only in its refusal: `details` of a PROTOCOL_MISMATCH carry
 * `expectedProtocol` (its current version) and `minimumProbeProtocol`; nodes get the same N-1 window
 * as probes (OpenClaw versioning.md: MIN_NODE_PROTOCOL_VERSION = MIN_PROBE_PROTOCOL_VERSION = 3), so a
 * node's accepted range is `[minimumNodeProtocol ?? minimumProbeProtocol ?? expected, expected]`.
 *
 * `testOnlyProtocolSupport(min, max)` offers another range: it exists so the interop test can force a
 * mismatch against a real gateway (no gateway setting changes its protocol version). It decides with
 * `explainAgentProtocol`, a transcription of native/src/negotiate.cc whose output the unit tests
 * compare with the native one for every range pair they can express.
 */
import { abiInfo, negotiateAgentProtocol, type ProtocolNegotiation } from '../native.js';
import { agentError, gatewayDetailsView } from './errors.js';

export interface ProtocolSupport {
  readonly min: number;
  readonly max: number;
  /** Where the range comes from: the native core, or a test override. */
  readonly source: 'native' | 'test-override';
  /** The native negotiation (or its transcription for a test override) against an agent's range. */
  negotiate(agentMin: number, agentMax: number): ProtocolNegotiation;
}

/** The range the native core speaks (loads the addon; NATIVE_LOAD_FAILED when it cannot). */
export function nativeProtocolSupport(): ProtocolSupport {
  const info = abiInfo();
  return Object.freeze({
    min: info.agentProtocolMin,
    max: info.agentProtocolMax,
    source: 'native' as const,
    negotiate: (lo: number, hi: number) => negotiateAgentProtocol(lo, hi),
  });
}

/**
 * FOR TESTS ONLY: offer `[min, max]` instead of the native range, deciding with the transcription of
 * the native rule. Never used by the CLI.
 */
export function testOnlyProtocolSupport(min: number, max: number, pluginName = 'claw-byterover'): ProtocolSupport {
  return Object.freeze({
    min,
    max,
    source: 'test-override' as const,
    negotiate: (lo: number, hi: number) => negotiateAgentProtocolLike(min, max, lo, hi, pluginName),
  });
}

function range(lo: number, hi: number): string {
  return lo === hi ? String(lo) : `${lo}–${hi}`;
}

/** native/src/negotiate.cc negotiate_agent_protocol + explain_agent_protocol, transcribed. */
export function negotiateAgentProtocolLike(
  pluginMin: number,
  pluginMax: number,
  agentMin: number,
  agentMax: number,
  pluginName = 'claw-byterover',
): ProtocolNegotiation {
  const pr = range(pluginMin, pluginMax);
  const ar = range(agentMin, agentMax);
  if (agentMin > agentMax || pluginMin > pluginMax) {
    return {
      ok: false,
      status: -1,
      code: 'CLAW_E_INVALID_ARG',
      message: `invalid agent protocol range ${agentMin}–${agentMax}: the minimum must not exceed the maximum`,
    };
  }
  const agreed = Math.min(pluginMax, agentMax);
  if (agreed < pluginMin || agreed < agentMin) {
    const message =
      agentMin > pluginMax
        ? `plugin speaks ${pr}, agent requires ${ar}: upgrade ${pluginName}`
        : `plugin speaks ${pr}, agent requires ${ar}: upgrade the agent to one that accepts protocol ${pr}`;
    return { ok: false, status: -6, code: 'CLAW_E_PROTOCOL_MISMATCH', message };
  }
  return {
    ok: true,
    status: 0,
    code: 'CLAW_OK',
    message: `plugin speaks ${pr}, agent accepts ${ar}: using protocol ${agreed}`,
    version: agreed,
  };
}

/** The node range a gateway accepts, from the `details` of its PROTOCOL_MISMATCH refusal. */
export function gatewayRangeFromDetails(details: unknown): { min: number; max: number } | undefined {
  const d = details && typeof details === 'object' ? (details as Record<string, unknown>) : {};
  const int = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : undefined);
  const max = int(d.expectedProtocol) ?? int(d.maxProtocol);
  if (max === undefined) return undefined;
  const min = int(d.minimumNodeProtocol) ?? int(d.minimumProbeProtocol) ?? int(d.minProtocol) ?? max;
  return { min: Math.min(min, max), max };
}

export interface MismatchContext {
  support: ProtocolSupport;
  /** What the gateway accepts for nodes, when it said so. */
  gateway: { min: number; max: number } | undefined;
  /** hello-ok.protocol when the gateway accepted but chose a version we do not speak. */
  chosen?: number;
  gatewayVersion: string | undefined;
  clientVersion: string;
  url: string;
  gatewayDetails?: unknown;
}

/**
 * AGENT_PROTOCOL_MISMATCH naming both ranges, the gateway version and what to upgrade; the native
 * explanation is quoted verbatim.
 */
export function protocolMismatch(ctx: MismatchContext): ReturnType<typeof agentError> {
  const ours = range(ctx.support.min, ctx.support.max);
  const gwName = `OpenClaw gateway ${ctx.gatewayVersion ?? '(version unknown: it refused the version probe too)'}`;
  const override = ctx.support.source === 'test-override' ? ' (offered range overridden for testing)' : '';
  const docs = 'See docs/readme/agent.md, "Diagnosing a protocol version mismatch".';
  const details = {
    offered: { min: ctx.support.min, max: ctx.support.max, source: ctx.support.source },
    gatewayAccepts: ctx.gateway ?? null,
    gatewayVersion: ctx.gatewayVersion ?? null,
    clientVersion: ctx.clientVersion,
    url: ctx.url,
    ...(ctx.chosen !== undefined ? { gatewayChose: ctx.chosen } : {}),
    ...(ctx.gatewayDetails !== undefined ? { gatewayDetails: gatewayDetailsView(ctx.gatewayDetails) } : {}),
  };
  if (ctx.chosen !== undefined) {
    const n = ctx.support.negotiate(ctx.chosen, ctx.chosen);
    return agentError(
      'AGENT_PROTOCOL_MISMATCH',
      `protocol version mismatch: claw-byterover ${ctx.clientVersion} offered agent protocol ${ours}${override}, but ${gwName} chose protocol ${ctx.chosen} (${n.message})`,
      {
        hint: `The gateway broke the handshake contract (its choice is outside the offered range): upgrade the gateway (\`openclaw update\`) and report it to OpenClaw. ${docs}`,
        details: { ...details, explanation: n.message },
      },
    );
  }
  if (!ctx.gateway) {
    return agentError(
      'AGENT_PROTOCOL_MISMATCH',
      `protocol version mismatch: claw-byterover ${ctx.clientVersion} offered agent protocol ${ours}${override}; ${gwName} refused it without saying which versions it accepts`,
      {
        hint: `Compare versions: \`claw-byterover --version\` and \`openclaw --version\` on the gateway host, then upgrade the older one. ${docs}`,
        details,
      },
    );
  }
  const n = ctx.support.negotiate(ctx.gateway.min, ctx.gateway.max);
  const theirs = range(ctx.gateway.min, ctx.gateway.max);
  const upgradeUs = ctx.gateway.min > ctx.support.max;
  const hint = upgradeUs
    ? `Upgrade claw-byterover to a release whose agent protocol range includes ${theirs} (\`npm install -g claw-byterover@latest\`, or \`openclaw plugins update claw-byterover\` for the plugin), or connect to an OpenClaw gateway that still accepts protocol ${ours}. ${docs}`
    : `Upgrade the OpenClaw gateway to a release that accepts protocol ${ours} (\`openclaw update\` on the gateway host), or install a claw-byterover release that speaks ${theirs}. ${docs}`;
  return agentError(
    'AGENT_PROTOCOL_MISMATCH',
    `protocol version mismatch: claw-byterover ${ctx.clientVersion} offers agent protocol ${ours}${override}, ${gwName} accepts ${theirs} for nodes: ${n.message}`,
    { hint, details: { ...details, explanation: n.message } },
  );
}
