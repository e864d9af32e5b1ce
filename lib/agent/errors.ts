/**
 * Every way the agent link can fail, as a ClawError with a stable code, a message naming what was
 * expected and what was found, and the next step. The gateway's own rejection (`res.ok:false`, see
 * OpenClaw docs/gateway/protocol/transport.md: `{code, message, details?, retryable?, retryAfterMs?}`
 * with `details.code` from packages/gateway-protocol/src/connect-error-details.ts) is turned into one
 * of these by `fromGatewayError`.
 *
 * Codes (exit code of the CLI in brackets):
 * - AGENT_PROTOCOL_MISMATCH [1]   no protocol version both sides accept (built by versions.ts)
 * - AGENT_AUTH_FAILED [3]         gateway token missing, wrong, or rate limited
 * - AGENT_DEVICE_UNKNOWN [3]      this device is not paired with the gateway yet
 * - AGENT_PAIRING_REQUIRED [3]    a pairing upgrade (role, scopes, metadata) waits for approval
 * - AGENT_DEVICE_AUTH_FAILED [3]  the gateway refused the device signature or identity
 * - AGENT_UNAVAILABLE [4]         the gateway said UNAVAILABLE (starting, draining) and the budget ran out
 * - AGENT_HANDSHAKE_TIMEOUT [4]   no challenge, or no answer to `connect`, in time
 * - AGENT_CONNECT_FAILED [4]      the socket could not be opened or closed during the handshake
 * - AGENT_MALFORMED_FRAME [1]     the peer sent something that is not a gateway frame
 * - AGENT_CONNECT_REJECTED [1]    any other refusal of `connect` (the gateway's own message is kept)
 * - AGENT_IDENTITY_INVALID [1]    the stored device identity file is unreadable or inconsistent
 * - AGENT_INVALID_URL [2]         the gateway URL is not ws:// or wss://
 * Misuse of the library API (not gateway outcomes): AGENT_NO_BACKEND (no memory or command table),
 * AGENT_ALREADY_STARTED (start() twice), AGENT_STOPPED (stop() before the first connection).
 */
import { ClawError } from '../errors.js';
import { redact, redactString } from '../log/redact.js';

/** Exit codes as lib/cli/exit.ts defines them (kept numeric here: agent/ does not import cli/). */
const EXIT = { FAILURE: 1, USAGE: 2, AUTH: 3, UNAVAILABLE: 4 } as const;

export const AGENT_ERROR_CODES = [
  'AGENT_PROTOCOL_MISMATCH',
  'AGENT_AUTH_FAILED',
  'AGENT_DEVICE_UNKNOWN',
  'AGENT_PAIRING_REQUIRED',
  'AGENT_DEVICE_AUTH_FAILED',
  'AGENT_UNAVAILABLE',
  'AGENT_HANDSHAKE_TIMEOUT',
  'AGENT_CONNECT_FAILED',
  'AGENT_MALFORMED_FRAME',
  'AGENT_CONNECT_REJECTED',
  'AGENT_IDENTITY_INVALID',
  'AGENT_INVALID_URL',
] as const;
export type AgentErrorCode = (typeof AGENT_ERROR_CODES)[number];

/** The link's own lifecycle failures (no gateway involved: thrown as plain ClawErrors by link.ts). */
export const AgentLinkErrorCode = {
  NO_BACKEND: 'AGENT_NO_BACKEND',
  ALREADY_STARTED: 'AGENT_ALREADY_STARTED',
  STOPPED: 'AGENT_STOPPED',
} as const;
export type AgentLinkErrorCode = (typeof AgentLinkErrorCode)[keyof typeof AgentLinkErrorCode];

const EXIT_BY_CODE: Record<AgentErrorCode, number> = {
  AGENT_PROTOCOL_MISMATCH: EXIT.FAILURE,
  AGENT_AUTH_FAILED: EXIT.AUTH,
  AGENT_DEVICE_UNKNOWN: EXIT.AUTH,
  AGENT_PAIRING_REQUIRED: EXIT.AUTH,
  AGENT_DEVICE_AUTH_FAILED: EXIT.AUTH,
  AGENT_UNAVAILABLE: EXIT.UNAVAILABLE,
  AGENT_HANDSHAKE_TIMEOUT: EXIT.UNAVAILABLE,
  AGENT_CONNECT_FAILED: EXIT.UNAVAILABLE,
  AGENT_MALFORMED_FRAME: EXIT.FAILURE,
  AGENT_CONNECT_REJECTED: EXIT.FAILURE,
  AGENT_IDENTITY_INVALID: EXIT.FAILURE,
  AGENT_INVALID_URL: EXIT.USAGE,
};

/** Codes after which trying again cannot help without a change on either side. */
const TERMINAL: ReadonlySet<string> = new Set<AgentErrorCode>([
  'AGENT_PROTOCOL_MISMATCH',
  'AGENT_AUTH_FAILED',
  'AGENT_DEVICE_UNKNOWN',
  'AGENT_PAIRING_REQUIRED',
  'AGENT_DEVICE_AUTH_FAILED',
  'AGENT_MALFORMED_FRAME',
  'AGENT_CONNECT_REJECTED',
  'AGENT_IDENTITY_INVALID',
  'AGENT_INVALID_URL',
]);

export interface AgentErrorOptions {
  hint: string;
  details?: Record<string, unknown>;
  cause?: unknown;
}

export function agentError(code: AgentErrorCode, message: string, opts: AgentErrorOptions): ClawError {
  return new ClawError(code, redactString(message), {
    hint: redactString(opts.hint),
    ...(opts.details ? { details: redact(opts.details) } : {}),
    ...(opts.cause === undefined ? {} : { cause: opts.cause }),
    exitCode: EXIT_BY_CODE[code],
  });
}

/** True when reconnecting could succeed without anyone changing anything (network, gateway starting). */
export function isRetryable(e: unknown): boolean {
  if (!(e instanceof ClawError)) return true;
  if (e.details?.retryable === true) return true;
  return !TERMINAL.has(e.code);
}

/** The gateway's `retryAfterMs` carried by an AGENT_UNAVAILABLE (or a retryable pairing wait). */
export function retryAfterOf(e: unknown): number | undefined {
  if (!(e instanceof ClawError)) return undefined;
  const v = e.details?.retryAfterMs;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** The error object of a gateway `res` frame with ok:false. */
export interface GatewayErrorShape {
  code: string;
  message: string;
  details?: unknown;
  retryable?: boolean;
  retryAfterMs?: number;
}

function record(x: unknown): Record<string, unknown> {
  return x && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>) : {};
}

/**
 * A gateway's `error.details` as we attach it to our errors: `code` becomes `detailCode` (a field
 * named `code` would be censored by lib/log's redactor, which treats it as an OAuth code).
 */
export function gatewayDetailsView(details: unknown): Record<string, unknown> | undefined {
  const d = record(details);
  if (Object.keys(d).length === 0) return undefined;
  const { code, ...rest } = d;
  return { ...(code !== undefined ? { detailCode: code } : {}), ...rest };
}

function str(x: unknown): string | undefined {
  return typeof x === 'string' && x.trim() !== '' ? x.trim() : undefined;
}

/**
 * The `openclaw` commands that approve a pending device request, as a user runs them on the gateway
 * host (docs/cli/devices.md, docs/cli/nodes.md). `requestId` is the gateway's pairing request id.
 */
export function approveCommands(requestId: string | undefined, gatewayUrl: string): string {
  const remote = isLoopbackUrl(gatewayUrl) ? '' : ` --url ${gatewayUrl} --token <gateway token>`;
  const device = requestId
    ? `\`openclaw devices approve ${requestId}${remote}\``
    : `\`openclaw devices list${remote}\` and \`openclaw devices approve <requestId>${remote}\``;
  return (
    `on the gateway host run ${device}, then reconnect; after that, approve the node's commands with ` +
    `\`openclaw nodes pending${remote}\` and \`openclaw nodes approve <nodeRequestId>${remote}\``
  );
}

function isLoopbackUrl(url: string): boolean {
  try {
    const h = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return h === 'localhost' || h === '::1' || /^127\./.test(h);
  } catch {
    return false;
  }
}

/**
 * Maps a refusal of `connect` (everything but a protocol mismatch, which versions.ts builds because it
 * needs the native explanation) to an agent error. `deviceId` and `url` feed the hints.
 */
export function fromGatewayError(err: GatewayErrorShape, ctx: { url: string; deviceId: string }): ClawError {
  const details = record(err.details);
  const detailCode = str(details.code) ?? '';
  const gatewaySays = `the gateway answered ${err.code}${detailCode ? `/${detailCode}` : ''}: ${err.message}`;
  const base = { gatewayCode: err.code, gatewayDetailCode: detailCode || undefined, gatewayMessage: err.message };
  const nextStep = str(details.recommendedNextStep);

  if (err.code === 'UNAVAILABLE') {
    const retryAfterMs = typeof err.retryAfterMs === 'number' ? err.retryAfterMs : undefined;
    const reason = str(details.reason);
    return agentError(
      'AGENT_UNAVAILABLE',
      `Expected the gateway to accept the connection, but it is unavailable${reason ? ` (${reason})` : ''}: ${gatewaySays}`,
      {
        hint: 'The gateway is starting, restarting or busy: wait and retry (the link retries by itself within its connect budget; raise it with --connect-timeout), or check `openclaw gateway status` on the gateway host.',
        details: {
          ...base,
          retryable: true,
          ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
          ...(reason ? { reason } : {}),
        },
      },
    );
  }

  if (detailCode === 'PAIRING_REQUIRED') {
    const requestId = str(details.requestId);
    const reason = str(details.reason);
    const waiting = nextStep === 'wait_then_retry' && details.retryable === true;
    const hint = approveCommands(requestId, ctx.url);
    const d = {
      ...base,
      deviceId: ctx.deviceId,
      ...(requestId ? { pairingRequestId: requestId } : {}),
      ...(reason ? { reason } : {}),
      ...(waiting ? { retryable: true } : {}),
    };
    if (!reason || reason === 'not-paired') {
      return agentError(
        'AGENT_DEVICE_UNKNOWN',
        `Expected device ${ctx.deviceId} to be paired with the gateway, but the gateway does not know it yet${requestId ? ` (pairing request ${requestId} is pending)` : ''}: ${gatewaySays}`,
        {
          hint: `Approve this device: ${hint}. Or rerun with --wait-for-approval to keep retrying until it is approved.`,
          details: d,
        },
      );
    }
    return agentError(
      'AGENT_PAIRING_REQUIRED',
      `Expected device ${ctx.deviceId} to be approved for what it asks, but a pairing upgrade (${reason}) waits for approval${requestId ? ` as request ${requestId}` : ''}: ${gatewaySays}`,
      { hint: `Review and approve the upgrade: ${hint}.`, details: d },
    );
  }

  if (detailCode.startsWith('AUTH_') || /unauthori[sz]ed/i.test(err.message)) {
    const hint =
      detailCode === 'AUTH_TOKEN_MISSING'
        ? 'Pass the gateway token: --token <token> or OPENCLAW_GATEWAY_TOKEN (on the gateway host `openclaw gateway auth-token --show` prints it).'
        : detailCode === 'AUTH_RATE_LIMITED'
          ? 'Too many failed attempts: wait before retrying, and check the gateway token (`openclaw gateway auth-token --show` on the gateway host).'
          : detailCode === 'AUTH_TOKEN_NOT_CONFIGURED'
            ? 'The gateway has no token configured: set gateway.auth.token on the gateway (or start it with --auth token).'
            : 'Check the gateway token: use the value of gateway.auth.token (`openclaw gateway auth-token --show` on the gateway host) with --token or OPENCLAW_GATEWAY_TOKEN.';
    return agentError(
      'AGENT_AUTH_FAILED',
      `Expected the gateway to accept our gateway token, but it refused it: ${gatewaySays}`,
      { hint, details: base },
    );
  }

  if (detailCode.startsWith('DEVICE_AUTH_') || detailCode === 'DEVICE_IDENTITY_REQUIRED') {
    const hint =
      detailCode === 'DEVICE_AUTH_SIGNATURE_EXPIRED'
        ? "The signature's timestamp is outside the gateway's allowed skew: check both machines' clocks (NTP), then reconnect."
        : 'The gateway could not verify this device identity: reconnect once (a fresh challenge is signed each time); if it persists, run `claw-byterover agent connect --debug-handshake` and report the output (secrets are redacted).';
    return agentError(
      'AGENT_DEVICE_AUTH_FAILED',
      `Expected the gateway to verify device ${ctx.deviceId}, but it refused the device proof: ${gatewaySays}`,
      {
        hint,
        details: { ...base, deviceId: ctx.deviceId, ...(str(details.reason) ? { reason: str(details.reason) } : {}) },
      },
    );
  }

  return agentError(
    'AGENT_CONNECT_REJECTED',
    `Expected the gateway to accept the node connection, but it refused it: ${gatewaySays}`,
    {
      hint: 'Rerun with --debug-handshake to see the frames exchanged (secrets are redacted); the gateway log (`openclaw logs`) names the reason too.',
      details: { ...base, ...(Object.keys(details).length ? { gatewayDetails: gatewayDetailsView(details) } : {}) },
    },
  );
}
