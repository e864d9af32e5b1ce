/**
 * The OpenClaw Gateway WebSocket protocol as a node speaks it (OpenClaw docs/gateway/protocol/*.md;
 * shapes checked against packages/gateway-protocol in the `openclaw` npm package, 2026.9.x):
 *
 * - frames: request `{type:"req", id, method, params?}`, response `{type:"res", id, ok, payload?|error?}`,
 *   event `{type:"event", event, payload?, seq?, stateVersion?}`; JSON text frames;
 * - handshake: the gateway sends `connect.challenge` `{nonce, ts}`, the node answers one `connect`
 *   request (ConnectParamsSchema is a closed object: no field outside it is accepted), the gateway
 *   answers `hello-ok` `{protocol, server:{version, connId}, features, snapshot, auth, policy}`;
 * - device proof: signature payload v3 (packages/gateway-client/src/device-auth.ts
 *   `buildDeviceAuthPayloadV3`), `signedAt` = the challenge's `ts`;
 * - node work: `node.invoke.request` events `{id, nodeId, command, paramsJSON, timeoutMs?,
 *   idempotencyKey?}`, answered by a `node.invoke.result` request `{id, nodeId, ok, payloadJSON?,
 *   error?:{code?, message?}}`; `node.invoke.cancel` `{invokeId, nodeId}` aborts one.
 */
import { hostname } from 'node:os';
import { z } from 'zod';

/** `client.id` of a headless node host (GATEWAY_CLIENT_IDS.NODE_HOST: the ids are a closed set). */
export const NODE_CLIENT_ID = 'node-host';
/** `client.id` and mode of a lightweight probe (used only to read a gateway's version after a mismatch). */
export const PROBE_CLIENT_ID = 'openclaw-probe';
export const NODE_MODE = 'node';
export const PROBE_MODE = 'probe';
export const NODE_ROLE = 'node';

/** The commands this node serves (declared in `connect.commands`). */
export const NODE_COMMANDS = ['byterover.search', 'byterover.recall', 'byterover.curate'] as const;
export type NodeCommand = (typeof NODE_COMMANDS)[number];
/** High-level capability claim shown in `openclaw nodes status`. */
export const NODE_CAPS = ['byterover'] as const;

/** A gateway's advertised policy defaults before hello-ok says otherwise (versioning.md). */
export const DEFAULT_TICK_INTERVAL_MS = 30_000;
/** Pre-connect frames are capped at 64 KiB by the gateway (MAX_PREAUTH_PAYLOAD_BYTES). */
export const MAX_PREAUTH_PAYLOAD_BYTES = 64 * 1024;
/** MAX_PAYLOAD_BYTES of the gateway (25 MiB): the largest frame we accept. */
export const MAX_PAYLOAD_BYTES = 25 * 1024 * 1024;

const nonEmpty = z.string().trim().min(1);

export const ErrorShapeSchema = z.object({
  code: nonEmpty,
  message: nonEmpty,
  details: z.unknown().optional(),
  retryable: z.boolean().optional(),
  retryAfterMs: z.number().int().min(0).optional(),
});

export const EventFrameSchema = z.object({
  type: z.literal('event'),
  event: nonEmpty,
  payload: z.unknown().optional(),
  seq: z.number().int().min(0).optional(),
});
export const ResponseFrameSchema = z.object({
  type: z.literal('res'),
  id: nonEmpty,
  ok: z.boolean(),
  payload: z.unknown().optional(),
  error: ErrorShapeSchema.optional(),
});
export const RequestFrameSchema = z.object({
  type: z.literal('req'),
  id: nonEmpty,
  method: nonEmpty,
  params: z.unknown().optional(),
});
export const InboundFrameSchema = z.discriminatedUnion('type', [
  EventFrameSchema,
  ResponseFrameSchema,
  RequestFrameSchema,
]);
export type EventFrame = z.infer<typeof EventFrameSchema>;
export type ResponseFrame = z.infer<typeof ResponseFrameSchema>;
export type InboundFrame = z.infer<typeof InboundFrameSchema>;

/** `connect.challenge` payload: `ts` must be a non-negative integer (handshake.md). */
export const ChallengeSchema = z.object({ nonce: nonEmpty, ts: z.number().int().min(0) });
export type Challenge = z.infer<typeof ChallengeSchema>;

/** What we read of hello-ok (the gateway sends more; HelloOkSchema requires these). */
export const HelloOkSchema = z.object({
  type: z.literal('hello-ok'),
  protocol: z.number().int().min(1),
  server: z.object({ version: nonEmpty, connId: nonEmpty, buildId: z.string().optional() }),
  auth: z
    .object({ role: z.string().optional(), scopes: z.array(z.string()).optional(), deviceToken: z.string().optional() })
    .optional(),
  policy: z
    .object({
      tickIntervalMs: z.number().int().positive().optional(),
      maxPayload: z.number().int().positive().optional(),
    })
    .optional(),
});
export type HelloOk = z.infer<typeof HelloOkSchema>;

export const InvokeRequestSchema = z.object({
  id: nonEmpty,
  nodeId: nonEmpty,
  command: nonEmpty,
  paramsJSON: z.string().nullable().optional(),
  /** Older gateways may send `params` instead of `paramsJSON`. */
  params: z.unknown().optional(),
  timeoutMs: z.number().int().min(0).nullable().optional(),
  idempotencyKey: z.string().nullable().optional(),
});
export type InvokeRequest = z.infer<typeof InvokeRequestSchema>;

export const InvokeCancelSchema = z.object({ invokeId: nonEmpty, nodeId: nonEmpty });

/**
 * Parses one text frame. Returns the frame, or a reason it is not one (never throws: a malformed
 * frame is the peer's problem, reported, not a crash).
 */
export function parseFrame(data: unknown): { frame: InboundFrame } | { error: string } {
  const text =
    typeof data === 'string'
      ? data
      : Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Array.isArray(data)
          ? Buffer.concat(data as Buffer[]).toString('utf8')
          : data instanceof ArrayBuffer
            ? Buffer.from(data).toString('utf8')
            : undefined;
  if (text === undefined) return { error: 'not a text frame' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { error: `not JSON (${text.length} bytes starting ${JSON.stringify(text.slice(0, 40))})` };
  }
  const r = InboundFrameSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    return {
      error: `not a gateway frame (${issue ? `${issue.path.join('.') || 'frame'}: ${issue.message}` : 'invalid'})`,
    };
  }
  return { frame: r.data };
}

/** Device platform identity as OpenClaw's node host reports it (resolveGatewayClientPlatformIdentity). */
export function platformIdentity(platform: NodeJS.Platform | string = process.platform): {
  platform: string;
  deviceFamily?: string;
} {
  switch (platform) {
    case 'linux':
      return { platform: 'linux', deviceFamily: 'Linux' };
    case 'darwin':
      return { platform: 'macos', deviceFamily: 'Mac' };
    case 'win32':
      return { platform: 'windows', deviceFamily: 'Windows' };
    default:
      return { platform: String(platform) };
  }
}

/** Lowercases ASCII A–Z only and trims, as the gateway normalizes platform/deviceFamily for v3. */
export function normalizeDeviceMetadata(value: string | undefined): string {
  const t = (value ?? '').trim();
  return t.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

export interface DeviceAuthPayloadV3 {
  deviceId: string;
  clientId: string;
  clientMode: string;
  role: string;
  scopes: readonly string[];
  signedAtMs: number;
  token: string | undefined;
  nonce: string;
  platform: string | undefined;
  deviceFamily: string | undefined;
}

/** `v3|deviceId|clientId|clientMode|role|scopes,csv|signedAtMs|token|nonce|platform|deviceFamily` */
export function deviceAuthPayloadV3(p: DeviceAuthPayloadV3): string {
  return [
    'v3',
    p.deviceId,
    p.clientId,
    p.clientMode,
    p.role,
    p.scopes.join(','),
    String(p.signedAtMs),
    p.token ?? '',
    p.nonce,
    normalizeDeviceMetadata(p.platform),
    normalizeDeviceMetadata(p.deviceFamily),
  ].join('|');
}

export interface ConnectInput {
  minProtocol: number;
  maxProtocol: number;
  clientVersion: string;
  /** Build tag of the native core (abiInfo().gitRevision). */
  buildId?: string;
  displayName?: string;
  token?: string;
  challenge: Challenge;
  identity: { deviceId: string; publicKey: string; sign(payload: string): string };
  platform?: NodeJS.Platform | string;
  commands?: readonly string[];
  caps?: readonly string[];
}

/** The `connect` params of a node, signed for the challenge. */
export function buildNodeConnectParams(input: ConnectInput): Record<string, unknown> {
  const { platform, deviceFamily } = platformIdentity(input.platform);
  const scopes: string[] = [];
  const payload = deviceAuthPayloadV3({
    deviceId: input.identity.deviceId,
    clientId: NODE_CLIENT_ID,
    clientMode: NODE_MODE,
    role: NODE_ROLE,
    scopes,
    signedAtMs: input.challenge.ts,
    token: input.token,
    nonce: input.challenge.nonce,
    platform,
    deviceFamily,
  });
  return {
    minProtocol: input.minProtocol,
    maxProtocol: input.maxProtocol,
    client: {
      id: NODE_CLIENT_ID,
      displayName: input.displayName ?? `claw-byterover@${hostname()}`,
      version: input.clientVersion,
      ...(input.buildId ? { buildId: input.buildId.slice(0, 96) } : {}),
      platform,
      ...(deviceFamily ? { deviceFamily } : {}),
      mode: NODE_MODE,
    },
    role: NODE_ROLE,
    scopes,
    caps: [...(input.caps ?? NODE_CAPS)],
    commands: [...(input.commands ?? NODE_COMMANDS)],
    ...(input.token ? { auth: { token: input.token } } : {}),
    userAgent: `claw-byterover/${input.clientVersion}`,
    device: {
      id: input.identity.deviceId,
      publicKey: input.identity.publicKey,
      signature: input.identity.sign(payload),
      signedAt: input.challenge.ts,
      nonce: input.challenge.nonce,
    },
  };
}

/** The `connect` params of a probe (no device, no pairing: only reads hello-ok's server version). */
export function buildProbeConnectParams(input: {
  minProtocol: number;
  maxProtocol: number;
  clientVersion: string;
  token?: string;
}): Record<string, unknown> {
  return {
    minProtocol: input.minProtocol,
    maxProtocol: input.maxProtocol,
    client: {
      id: PROBE_CLIENT_ID,
      version: input.clientVersion,
      platform: platformIdentity().platform,
      mode: PROBE_MODE,
    },
    role: 'operator',
    scopes: [],
    ...(input.token ? { auth: { token: input.token } } : {}),
  };
}

const SECRET_FIELDS = new Set([
  'token',
  'password',
  'bootstrapToken',
  'deviceToken',
  'signature',
  'approvalRuntimeToken',
  'agentRuntimeIdentityToken',
]);

/**
 * A copy of a frame safe to log or return to a caller: the gateway token, device signature and any
 * device token are replaced by "[REDACTED]" (the nonce and public key are not secrets and stay, so a
 * doctor can compare them). Arrays longer than `maxArray` are shortened (hello-ok lists ~300 methods).
 */
export function redactFrame(frame: unknown, maxArray = Infinity, depth = 0): unknown {
  if (depth > 12) return '[…]';
  if (Array.isArray(frame)) {
    const items = frame.slice(0, maxArray).map((v) => redactFrame(v, maxArray, depth + 1));
    return frame.length > maxArray ? [...items, `[… ${frame.length - maxArray} more]`] : items;
  }
  if (frame && typeof frame === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(frame as Record<string, unknown>)) {
      if (SECRET_FIELDS.has(k) && typeof v === 'string' && v !== '') out[k] = '[REDACTED]';
      else if (k === 'deviceTokens' && Array.isArray(v)) out[k] = v.map(() => '[REDACTED]');
      else out[k] = redactFrame(v, maxArray, depth + 1);
    }
    return out;
  }
  return frame;
}
