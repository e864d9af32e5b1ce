/**
 * Which Gateway protocol versions the node offers, and what a refusal means.
 *
 * One negotiation: the native core's (native/src/negotiate.cc, reached through lib/native.ts
 * `negotiateAgentProtocol`), so the C ABI host and the agent link agree on one rule and one
 * explanation ("plugin speaks 3–4, agent requires 5–6: upgrade claw-byterover"). There is no
 * TypeScript copy of it.
 *
 * A gateway states what it accepts only in its refusal: `details` of a PROTOCOL_MISMATCH carry
 * `expectedProtocol` (its current version) and `minimumProbeProtocol`; nodes get the same N-1 window
 * as probes (OpenClaw versioning.md: MIN_NODE_PROTOCOL_VERSION = MIN_PROBE_PROTOCOL_VERSION = 3), so a
 * node's accepted range is `[minimumNodeProtocol ?? minimumProbeProtocol ?? expected, expected]`.
 *
 * When the addon cannot load, the link still works (it serves memory, which does not need the
 * addon to answer): `protocolSupport()` then offers the range published in claw/plugin.h
 * (`CLAW_AGENT_PROTOCOL`, source 'published') and keeps the load error. The gateway picks the
 * version (hello-ok.protocol); the link only checks that the pick lies in the offered range, which
 * needs no negotiation. A refusal is still AGENT_PROTOCOL_MISMATCH naming both ranges; its
 * explanation says the native one was unavailable and why (NATIVE_LOAD_FAILED), instead of quoting it.
 *
 * `testOnlyProtocolSupport(min, max)` offers another range: it exists so the interop test can force a
 * mismatch against a real gateway (no gateway setting changes its protocol version). It decides with
 * the native negotiation, given that range as the plugin's.
 */
import { isClawError, type ClawError } from '../errors.js';
import {
  abiInfo,
  CLAW_AGENT_PROTOCOL,
  CLAW_STATUS,
  negotiateAgentProtocol,
  type ProtocolNegotiation,
} from '../native.js';
import { agentError, gatewayDetailsView } from './errors.js';

export interface ProtocolSupport {
  readonly min: number;
  readonly max: number;
  /**
   * Where the range comes from: the native core, claw/plugin.h's published range when the addon
   * cannot load, or a test override.
   */
  readonly source: 'native' | 'published' | 'test-override';
  /** Source 'published': why the native core was not used (the loader's NATIVE_LOAD_FAILED). */
  readonly unavailable?: ClawError;
  /** The native negotiation against an agent's range (source 'published': a range check, see above). */
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
 * What the link offers: the native core's range and negotiation, or, when the addon cannot load
 * (NATIVE_LOAD_FAILED only; any other failure is thrown), claw/plugin.h's published range with a
 * range check in place of the negotiation.
 */
export function protocolSupport(): ProtocolSupport {
  try {
    return nativeProtocolSupport();
  } catch (e) {
    if (!isClawError(e) || e.code !== 'NATIVE_LOAD_FAILED') throw e;
    return publishedProtocolSupport(e);
  }
}

function publishedProtocolSupport(unavailable: ClawError): ProtocolSupport {
  const { min, max } = CLAW_AGENT_PROTOCOL;
  const why = `the native addon did not load (${unavailable.code}), so the native negotiation was not consulted`;
  return Object.freeze({
    min,
    max,
    source: 'published' as const,
    unavailable,
    negotiate(lo: number, hi: number): ProtocolNegotiation {
      const offered = `offered ${range(min, max)}, agent accepts ${range(lo, hi)}`;
      // The gateway chose `lo === hi`: it is acceptable exactly when it lies in the offered range.
      if (lo === hi && lo >= min && lo <= max) {
        return {
          ok: true,
          status: CLAW_STATUS.CLAW_OK,
          code: 'CLAW_OK',
          message: `${offered}: using protocol ${lo} (${why})`,
          version: lo,
        };
      }
      return {
        ok: false,
        status: CLAW_STATUS.CLAW_E_PROTOCOL_MISMATCH,
        code: 'CLAW_E_PROTOCOL_MISMATCH',
        message: `${offered}; ${why}`,
      };
    },
  });
}

/**
 * FOR TESTS ONLY: offer `[min, max]` instead of the native range; the native negotiation decides,
 * with that range as the plugin's. Never used by the CLI.
 */
export function testOnlyProtocolSupport(min: number, max: number): ProtocolSupport {
  return Object.freeze({
    min,
    max,
    source: 'test-override' as const,
    negotiate: (lo: number, hi: number) => negotiateAgentProtocol(lo, hi, { min, max }),
  });
}

function range(lo: number, hi: number): string {
  return lo === hi ? String(lo) : `${lo}–${hi}`;
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
  const override =
    ctx.support.source === 'test-override'
      ? ' (offered range overridden for testing)'
      : ctx.support.source === 'published'
        ? ' (the published range: the native addon did not load)'
        : '';
  const docs = 'See docs/readme/agent.md, "Diagnosing a protocol version mismatch".';
  const details = {
    offered: { min: ctx.support.min, max: ctx.support.max, source: ctx.support.source },
    ...(ctx.support.unavailable
      ? { nativeUnavailable: { code: ctx.support.unavailable.code, hint: ctx.support.unavailable.hint ?? null } }
      : {}),
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
