/**
 * A scripted OpenClaw gateway for the agent link's unit tests: a real WebSocket server (ws 8) on
 * 127.0.0.1 that follows the documented handshake and the shapes of OpenClaw 2026.9.x
 * (src/gateway/server/ws-connection/connect-admission.ts, message-handler, connect-error-details):
 *
 * - sends `connect.challenge` `{nonce, ts}` on open;
 * - checks the first frame is a `connect` request whose params fit ConnectParamsSchema (closed
 *   object, client.id from the closed id set, integer protocol bounds);
 * - protocol: accepts when the offered range contains `current`, or (role node + mode node, or
 *   mode probe) `current - 1`; else INVALID_REQUEST "protocol mismatch" with details
 *   `{code: PROTOCOL_MISMATCH, clientMinProtocol, clientMaxProtocol, expectedProtocol,
 *   minimumProbeProtocol}` and close 1002;
 * - token: AUTH_TOKEN_MISSING / AUTH_TOKEN_MISMATCH like the real one, close 1008;
 * - device: id must be the hex SHA-256 of the raw public key, nonce the challenge's, the signature a
 *   valid Ed25519 signature of the v3 payload (v2 accepted) over the token that was sent;
 * - pairing: devices not in `paired` get PAIRING_REQUIRED (reason not-paired, a requestId) unless
 *   `autoApprove`;
 * - `unavailable`: the next N connects get UNAVAILABLE with `retryAfterMs` (close 1013);
 * - hello-ok `{protocol, server:{version, connId}, features, snapshot, auth, policy}`;
 * - `invoke()` sends `node.invoke.request` and resolves with the node's `node.invoke.result`.
 * Script hooks (`noChallenge`, `beforeChallenge`, `replaceChallenge`, `replaceConnectResponse`,
 * `afterHello`) produce the malformed and silent peers.
 */
import { createHash, createPublicKey, randomUUID, verify } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const CLIENT_IDS = new Set([
  'webchat-ui',
  'openclaw-control-ui',
  'openclaw-browser-copilot',
  'openclaw-tui',
  'webchat',
  'cli',
  'gateway-client',
  'openclaw-macos',
  'openclaw-linux',
  'openclaw-ios',
  'openclaw-watchos',
  'openclaw-android',
  'node-host',
  'openclaw-worker',
  'test',
  'fingerprint',
  'openclaw-probe',
]);
const CLIENT_MODES = new Set(['webchat', 'cli', 'ui', 'backend', 'node', 'worker', 'probe', 'test']);
const CONNECT_KEYS = new Set([
  'minProtocol',
  'maxProtocol',
  'client',
  'caps',
  'commands',
  'computerUse',
  'workerRuns',
  'permissions',
  'pathEnv',
  'role',
  'scopes',
  'modelCatalog',
  'device',
  'auth',
  'locale',
  'userAgent',
]);
const CLIENT_KEYS = new Set([
  'id',
  'displayName',
  'version',
  'buildId',
  'platform',
  'deviceFamily',
  'modelIdentifier',
  'timeZone',
  'mode',
  'instanceId',
]);
const DEVICE_KEYS = new Set(['id', 'publicKey', 'signature', 'signedAt', 'nonce']);

export interface ScriptedGatewayOptions {
  /** Current protocol (PROTOCOL_VERSION). Default 4: nodes may use 3. */
  current?: number;
  version?: string;
  /** Shared token; undefined = no auth. */
  token?: string;
  /** Device ids already paired. */
  paired?: Iterable<string>;
  /** Approve unknown devices silently (loopback auto-approval). Default true. */
  autoApprove?: boolean;
  /** The next N node connects are answered UNAVAILABLE with this retryAfterMs. */
  unavailable?: { times: number; retryAfterMs: number };
  tickIntervalMs?: number;
  /** Never send connect.challenge. */
  noChallenge?: boolean;
  /** Raw frames sent before the challenge. */
  beforeChallenge?: string[];
  /** Replaces the challenge frame (raw text). */
  replaceChallenge?: (nonce: string, ts: number) => string;
  /** Replaces the answer to a valid connect (raw text); undefined = answer normally. */
  replaceConnectResponse?: (id: string) => string | undefined;
  /** Never answer connect. */
  silentOnConnect?: boolean;
  /** Called after hello-ok was sent. */
  afterHello?: (session: Session) => void;
}

export interface Session {
  ws: WebSocket;
  connId: string;
  role: string;
  mode: string;
  deviceId: string | undefined;
  protocol: number;
  commands: string[];
  frames: unknown[];
}

interface Waiter {
  resolve: (v: InvokeResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface InvokeResult {
  ok: boolean;
  payload?: unknown;
  payloadJSON?: string;
  error?: { code?: string; message?: string };
  nodeId: string;
}

function v3(p: {
  deviceId: string;
  clientId: string;
  mode: string;
  role: string;
  scopes: string[];
  signedAt: number;
  token: string;
  nonce: string;
  platform: string;
  deviceFamily: string;
}): string {
  const norm = (s: string) => s.trim().replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
  return [
    'v3',
    p.deviceId,
    p.clientId,
    p.mode,
    p.role,
    p.scopes.join(','),
    String(p.signedAt),
    p.token,
    p.nonce,
    norm(p.platform),
    norm(p.deviceFamily),
  ].join('|');
}
function v2(p: {
  deviceId: string;
  clientId: string;
  mode: string;
  role: string;
  scopes: string[];
  signedAt: number;
  token: string;
  nonce: string;
}): string {
  return ['v2', p.deviceId, p.clientId, p.mode, p.role, p.scopes.join(','), String(p.signedAt), p.token, p.nonce].join(
    '|',
  );
}

export class ScriptedGateway {
  readonly wss: WebSocketServer;
  readonly sessions: Session[] = [];
  /** Every connect params received (raw), in order. */
  readonly connects: Array<Record<string, unknown>> = [];
  readonly paired: Set<string>;
  readonly pendingRequests = new Map<string, string>();
  o: ScriptedGatewayOptions;
  /** `ws://127.0.0.1:<port>` (kept after close, for "nothing listens there" tests). */
  readonly url: string;
  private readonly waiters = new Map<string, Waiter>();
  private unavailableLeft: number;

  private constructor(wss: WebSocketServer, o: ScriptedGatewayOptions) {
    this.wss = wss;
    this.url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    this.o = o;
    this.paired = new Set(o.paired ?? []);
    this.unavailableLeft = o.unavailable?.times ?? 0;
    wss.on('connection', (ws) => this.onConnection(ws));
  }

  static async start(o: ScriptedGatewayOptions = {}): Promise<ScriptedGateway> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    return new ScriptedGateway(wss, o);
  }

  /** The connected node session (the latest). */
  node(): Session | undefined {
    return [...this.sessions].reverse().find((s) => s.role === 'node' && s.ws.readyState === s.ws.OPEN);
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }

  /** Forwards an invoke to the connected node, like `node.invoke` does. */
  invoke(
    command: string,
    params: unknown,
    opts: { timeoutMs?: number; raw?: Record<string, unknown> } = {},
  ): Promise<InvokeResult> {
    const s = this.node();
    if (!s) return Promise.reject(new Error('no node connected'));
    const id = randomUUID();
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const payload = opts.raw ?? {
      id,
      nodeId: s.deviceId,
      command,
      paramsJSON: params === undefined ? null : JSON.stringify(params),
      timeoutMs,
      idempotencyKey: randomUUID(),
    };
    const invokeId = typeof payload.id === 'string' ? payload.id : id;
    return new Promise<InvokeResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(invokeId);
        reject(new Error(`node did not answer ${command} within ${timeoutMs} ms`));
      }, timeoutMs + 2_000);
      this.waiters.set(invokeId, { resolve, reject, timer });
      s.ws.send(JSON.stringify({ type: 'event', event: 'node.invoke.request', payload }));
    });
  }

  /** Sends raw text to the connected node. */
  sendRaw(text: string): void {
    this.node()?.ws.send(text);
  }

  /** Drops every connection (no close handshake). */
  dropAll(): void {
    for (const c of this.wss.clients) c.terminate();
  }

  private onConnection(ws: WebSocket): void {
    const nonce = randomUUID();
    const ts = Date.now();
    const frames: unknown[] = [];
    let session: Session | undefined;
    for (const raw of this.o.beforeChallenge ?? []) ws.send(raw);
    if (!this.o.noChallenge)
      ws.send(
        this.o.replaceChallenge
          ? this.o.replaceChallenge(nonce, ts)
          : JSON.stringify({
              type: 'event',
              event: 'connect.challenge',
              payload: { nonce, ts, capabilities: ['model-catalog-snapshot'] },
            }),
      );
    ws.on('message', (data) => {
      let frame: Record<string, unknown>;
      try {
        frame = JSON.parse(String(data)) as Record<string, unknown>;
      } catch {
        ws.close(1008, 'invalid request frame');
        return;
      }
      frames.push(frame);
      if (!session) {
        session = this.handshake(ws, frame, nonce, frames);
        return;
      }
      this.onSessionFrame(session, frame);
    });
  }

  private reject(
    ws: WebSocket,
    id: unknown,
    code: string,
    message: string,
    extra: Record<string, unknown>,
    close: [number, string],
  ): undefined {
    ws.send(JSON.stringify({ type: 'res', id, ok: false, error: { code, message, ...extra } }));
    setImmediate(() => ws.close(close[0], close[1]));
    return undefined;
  }

  private handshake(
    ws: WebSocket,
    frame: Record<string, unknown>,
    nonce: string,
    frames: unknown[],
  ): Session | undefined {
    const id = frame.id;
    if (frame.type !== 'req' || typeof id !== 'string' || frame.method !== 'connect') {
      ws.close(1008, 'invalid handshake: first request must be connect');
      return undefined;
    }
    const p = (frame.params ?? {}) as Record<string, unknown>;
    this.connects.push(p);
    const client = (p.client ?? {}) as Record<string, unknown>;
    const device = p.device as Record<string, unknown> | undefined;
    const schemaError =
      Object.keys(p).find((k) => !CONNECT_KEYS.has(k)) ??
      Object.keys(client).find((k) => !CLIENT_KEYS.has(k)) ??
      (device ? Object.keys(device).find((k) => !DEVICE_KEYS.has(k)) : undefined) ??
      (!Number.isInteger(p.minProtocol) || !Number.isInteger(p.maxProtocol) ? 'minProtocol/maxProtocol' : undefined) ??
      (!CLIENT_IDS.has(String(client.id)) ? 'client.id' : undefined) ??
      (!CLIENT_MODES.has(String(client.mode)) ? 'client.mode' : undefined) ??
      (typeof client.version !== 'string' || typeof client.platform !== 'string'
        ? 'client.version/platform'
        : undefined);
    if (schemaError)
      return this.reject(ws, id, 'INVALID_REQUEST', `invalid connect params: ${schemaError}`, {}, [
        1008,
        'invalid connect params',
      ]);
    if (this.o.silentOnConnect) return undefined;

    const role = typeof p.role === 'string' ? p.role : 'operator';
    const mode = String(client.mode);
    const min = p.minProtocol as number;
    const max = p.maxProtocol as number;
    const current = this.o.current ?? 4;
    const isNode = role === 'node' && mode === 'node';
    const currentOk = max >= current && min <= current;
    const previousOk = (isNode || mode === 'probe') && max >= current - 1 && min <= current - 1;
    if (!currentOk && !previousOk) {
      return this.reject(
        ws,
        id,
        'INVALID_REQUEST',
        'protocol mismatch',
        {
          details: {
            code: 'PROTOCOL_MISMATCH',
            clientMinProtocol: min,
            clientMaxProtocol: max,
            expectedProtocol: current,
            minimumProbeProtocol: current - 1,
          },
        },
        [1002, 'protocol mismatch'],
      );
    }
    const protocol = currentOk ? current : current - 1;
    const auth = (p.auth ?? {}) as Record<string, unknown>;
    const token = typeof auth.token === 'string' ? auth.token : '';
    if (this.o.token !== undefined) {
      if (!token) {
        return this.reject(
          ws,
          id,
          'INVALID_REQUEST',
          'unauthorized: gateway token missing (provide gateway auth token)',
          { details: { code: 'AUTH_TOKEN_MISSING', authReason: 'token_missing' } },
          [1008, 'unauthorized'],
        );
      }
      if (token !== this.o.token) {
        return this.reject(
          ws,
          id,
          'INVALID_REQUEST',
          'unauthorized: gateway token mismatch (provide gateway auth token)',
          {
            details: {
              code: 'AUTH_TOKEN_MISMATCH',
              authReason: 'token_mismatch',
              canRetryWithDeviceToken: true,
              recommendedNextStep: 'retry_with_device_token',
            },
          },
          [1008, 'unauthorized: gateway token mismatch (provide gateway auth token)'],
        );
      }
    }
    let deviceId: string | undefined;
    if (mode !== 'probe') {
      if (!device)
        return this.reject(
          ws,
          id,
          'INVALID_REQUEST',
          'device identity required',
          { details: { code: 'DEVICE_IDENTITY_REQUIRED' } },
          [1008, 'device identity required'],
        );
      const deviceError = this.verifyDevice(device, { nonce, client, role, p, token });
      if (deviceError)
        return this.reject(
          ws,
          id,
          'INVALID_REQUEST',
          deviceError.message,
          { details: { code: deviceError.code, reason: deviceError.reason } },
          [1008, deviceError.message],
        );
      deviceId = String(device.id);
      if (!this.paired.has(deviceId)) {
        if (this.o.autoApprove === false) {
          const requestId = this.pendingRequests.get(deviceId) ?? randomUUID();
          this.pendingRequests.set(deviceId, requestId);
          return this.reject(
            ws,
            id,
            'INVALID_REQUEST',
            'pairing required: device is not approved yet',
            {
              details: {
                code: 'PAIRING_REQUIRED',
                reason: 'not-paired',
                requestId,
                remediationHint: 'Approve this device from the pending pairing requests.',
                deviceId,
                requestedRole: role,
              },
            },
            [1008, 'pairing required'],
          );
        }
        this.paired.add(deviceId);
      }
      if (isNode && this.unavailableLeft > 0) {
        this.unavailableLeft--;
        return this.reject(
          ws,
          id,
          'UNAVAILABLE',
          'gateway starting; retry shortly',
          {
            retryable: true,
            retryAfterMs: this.o.unavailable?.retryAfterMs ?? 500,
            details: { reason: 'startup-sidecars' },
          },
          [1013, 'gateway starting'],
        );
      }
    }
    const connId = randomUUID();
    const replaced = this.o.replaceConnectResponse?.(id);
    if (replaced !== undefined) {
      ws.send(replaced);
      return undefined;
    }
    ws.send(
      JSON.stringify({
        type: 'res',
        id,
        ok: true,
        payload: {
          type: 'hello-ok',
          protocol,
          server: { version: this.o.version ?? '2099.1.0', connId },
          features: { methods: ['node.invoke.result', 'node.event'], events: ['node.invoke.request', 'tick'] },
          snapshot: {},
          auth: { role, scopes: [] },
          policy: { maxPayload: 26214400, maxBufferedBytes: 52428800, tickIntervalMs: this.o.tickIntervalMs ?? 30_000 },
        },
      }),
    );
    const session: Session = {
      ws,
      connId,
      role,
      mode,
      deviceId,
      protocol,
      commands: Array.isArray(p.commands) ? (p.commands as string[]) : [],
      frames,
    };
    this.sessions.push(session);
    this.o.afterHello?.(session);
    return session;
  }

  private verifyDevice(
    device: Record<string, unknown>,
    c: { nonce: string; client: Record<string, unknown>; role: string; p: Record<string, unknown>; token: string },
  ): { code: string; reason: string; message: string } | undefined {
    let raw: Buffer;
    try {
      raw = Buffer.from(String(device.publicKey), 'base64url');
      createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
      if (raw.length !== 32) throw new Error('length');
    } catch {
      return {
        code: 'DEVICE_AUTH_PUBLIC_KEY_INVALID',
        reason: 'device-public-key',
        message: 'device public key invalid',
      };
    }
    if (createHash('sha256').update(raw).digest('hex') !== device.id)
      return {
        code: 'DEVICE_AUTH_DEVICE_ID_MISMATCH',
        reason: 'device-id-mismatch',
        message: 'device identity mismatch',
      };
    if (typeof device.nonce !== 'string' || !device.nonce)
      return { code: 'DEVICE_AUTH_NONCE_REQUIRED', reason: 'device-nonce-missing', message: 'device nonce required' };
    if (device.nonce !== c.nonce)
      return { code: 'DEVICE_AUTH_NONCE_MISMATCH', reason: 'device-nonce-mismatch', message: 'device nonce mismatch' };
    const signedAt = Number(device.signedAt);
    if (!Number.isInteger(signedAt) || Math.abs(Date.now() - signedAt) > 10 * 60_000)
      return {
        code: 'DEVICE_AUTH_SIGNATURE_EXPIRED',
        reason: 'device-signature-stale',
        message: 'device signature expired',
      };
    const fields = {
      deviceId: String(device.id),
      clientId: String(c.client.id),
      mode: String(c.client.mode),
      role: c.role,
      scopes: Array.isArray(c.p.scopes) ? (c.p.scopes as string[]) : [],
      signedAt,
      token: c.token,
      nonce: c.nonce,
      platform: String(c.client.platform ?? ''),
      deviceFamily: String(c.client.deviceFamily ?? ''),
    };
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    const sig = Buffer.from(String(device.signature), 'base64url');
    const ok = verify(null, Buffer.from(v3(fields)), key, sig) || verify(null, Buffer.from(v2(fields)), key, sig);
    return ok
      ? undefined
      : { code: 'DEVICE_AUTH_SIGNATURE_INVALID', reason: 'device-signature', message: 'device signature invalid' };
  }

  private onSessionFrame(s: Session, frame: Record<string, unknown>): void {
    if (frame.type !== 'req' || typeof frame.id !== 'string') return;
    if (frame.method !== 'node.invoke.result') {
      s.ws.send(
        JSON.stringify({
          type: 'res',
          id: frame.id,
          ok: false,
          error: { code: 'INVALID_REQUEST', message: `unknown method ${String(frame.method)}` },
        }),
      );
      return;
    }
    const p = (frame.params ?? {}) as Record<string, unknown>;
    if (p.nodeId !== s.deviceId) {
      s.ws.send(
        JSON.stringify({
          type: 'res',
          id: frame.id,
          ok: false,
          error: { code: 'INVALID_REQUEST', message: 'nodeId mismatch' },
        }),
      );
      return;
    }
    const w = typeof p.id === 'string' ? this.waiters.get(p.id) : undefined;
    s.ws.send(
      JSON.stringify({ type: 'res', id: frame.id, ok: true, payload: w ? { ok: true } : { ok: true, ignored: true } }),
    );
    if (!w) return;
    clearTimeout(w.timer);
    this.waiters.delete(p.id as string);
    const result: InvokeResult = { ok: p.ok === true, nodeId: String(p.nodeId) };
    if (typeof p.payloadJSON === 'string') {
      result.payloadJSON = p.payloadJSON;
      result.payload = JSON.parse(p.payloadJSON);
    }
    if (p.error) result.error = p.error as InvokeResult['error'];
    w.resolve(result);
  }
}
