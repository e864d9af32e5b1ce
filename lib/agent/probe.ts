/**
 * One handshake, recorded, for diagnosis (`claw-byterover doctor`, `agent connect --once`): connects
 * as the node, performs the handshake, closes at once, and returns what was sent and what the
 * gateway answered, so a caller can compare the offered protocol range, client fields and device id
 * with what the gateway echoed. Frames are redacted (gateway token, device signature, device tokens).
 * Never throws for a gateway problem: the failure is in `error`.
 */
import { ClawError, errorMessage } from '../errors.js';
import { logger as rootLogger, registerSecret, safeUrl, type Logger } from '../log/index.js';
import { GatewayConnection, type FramePhase } from './connection.js';
import { agentError } from './errors.js';
import { loadOrCreateIdentity, type DeviceIdentity } from './identity.js';
import { packageVersion } from '../version.js';
import { reportHandshake, safeBuildId, validateGatewayUrl, type HandshakeEvent } from './link.js';
import { redactFrame } from './protocol.js';
import { protocolSupport, type ProtocolSupport } from './versions.js';

export interface ProbeOptions {
  token?: string;
  identity?: DeviceIdentity;
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  protocol?: ProtocolSupport;
  displayName?: string;
  challengeTimeoutMs?: number;
  requestTimeoutMs?: number;
  clientVersion?: string;
  logger?: Logger;
  /** Called once with the handshake's outcome (telemetry; default none; throwing is ignored). */
  onHandshake?: (e: HandshakeEvent) => void;
}

export interface RecordedFrame {
  phase: FramePhase;
  frame: unknown;
}

export interface ProbeResult {
  url: string;
  deviceId: string | null;
  /** The range we offered and where it came from. */
  offered: { min: number; max: number; source: string } | null;
  /** Frames we sent (redacted), in order. */
  sent: RecordedFrame[];
  /** Frames the gateway sent (redacted), in order. */
  received: RecordedFrame[];
  /** hello-ok.protocol, when the handshake succeeded. */
  negotiated: number | null;
  /** hello-ok.server.version, or the version probe's answer after a mismatch. */
  gatewayVersion: string | null;
  error?: { code: string; message: string; hint?: string; details?: Record<string, unknown> };
}

export async function probeHandshake(url: string, opts: ProbeOptions = {}): Promise<ProbeResult> {
  registerSecret(opts.token);
  const sent: RecordedFrame[] = [];
  const received: RecordedFrame[] = [];
  const result: ProbeResult = {
    url: safeUrl(url),
    deviceId: null,
    offered: null,
    sent,
    received,
    negotiated: null,
    gatewayVersion: null,
  };
  const startedAt = performance.now();
  try {
    validateGatewayUrl(url);
    const support = opts.protocol ?? protocolSupport();
    result.offered = { min: support.min, max: support.max, source: support.source };
    const identity =
      opts.identity ??
      (await loadOrCreateIdentity({
        ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
        ...(opts.env ? { env: opts.env } : {}),
      }));
    result.deviceId = identity.deviceId;
    const conn = await GatewayConnection.open({
      url,
      ...(opts.token ? { token: opts.token } : {}),
      identity,
      support,
      clientVersion: opts.clientVersion ?? packageVersion(),
      buildId: safeBuildId(),
      ...(opts.displayName ? { displayName: opts.displayName } : {}),
      ...(opts.challengeTimeoutMs !== undefined ? { challengeTimeoutMs: opts.challengeTimeoutMs } : {}),
      ...(opts.requestTimeoutMs !== undefined ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
      onFrame: (dir, frame, phase) => (dir === 'sent' ? sent : received).push({ phase, frame: redactFrame(frame) }),
      logger: (opts.logger ?? rootLogger).child({ component: 'agent.probe' }),
    });
    result.negotiated = conn.protocol;
    result.gatewayVersion = conn.gatewayVersion;
    reportHandshake(opts.onHandshake, {
      result: 'ok',
      protocol: conn.protocol,
      durationMs: performance.now() - startedAt,
    });
    conn.close(1000, 'probe done');
    await conn.closed;
  } catch (e) {
    const err =
      e instanceof ClawError
        ? e
        : agentError(
            'AGENT_CONNECT_FAILED',
            `Expected to probe ${safeUrl(url)}, found an unexpected failure: ${errorMessage(e)}`,
            { hint: 'Report this with the output of --debug-handshake.', cause: e },
          );
    if (result.negotiated === null)
      reportHandshake(opts.onHandshake, { result: err.code, durationMs: performance.now() - startedAt });
    result.error = {
      code: err.code,
      message: err.message,
      ...(err.hint ? { hint: err.hint } : {}),
      ...(err.details ? { details: err.details } : {}),
    };
    const v = err.details?.gatewayVersion;
    if (typeof v === 'string') result.gatewayVersion = v;
  }
  return result;
}
