/**
 * One WebSocket connection to a gateway, as a node: open, handshake (challenge → signed `connect` →
 * hello-ok checked with the native negotiation), then serve `node.invoke.request` events until the
 * socket closes. Reconnecting is link.ts's job; this file only does one attempt and reports how it
 * ended, as a ClawError from errors.ts/versions.ts when the handshake fails.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type { Logger } from '../log/index.js';
import { safeUrl } from '../log/redact.js';
import { errorMessage } from '../errors.js';
import { runCommand, type CommandTable } from './commands.js';
import { agentError, fromGatewayError } from './errors.js';
import type { DeviceIdentity } from './identity.js';
import {
  ChallengeSchema,
  DEFAULT_TICK_INTERVAL_MS,
  HelloOkSchema,
  InvokeCancelSchema,
  InvokeRequestSchema,
  MAX_PAYLOAD_BYTES,
  buildNodeConnectParams,
  buildProbeConnectParams,
  parseFrame,
  type HelloOk,
  type InboundFrame,
  type ResponseFrame,
} from './protocol.js';
import { gatewayRangeFromDetails, protocolMismatch, type ProtocolSupport } from './versions.js';

export type FramePhase = 'handshake' | 'version-probe' | 'session';
/** Called with every frame sent and received during a handshake (raw: redact before showing). */
export type FrameObserver = (direction: 'sent' | 'received', frame: unknown, phase: FramePhase) => void;

export interface ConnectionOptions {
  url: string;
  /** The gateway's shared token (gateway.auth.token). */
  token?: string;
  identity: DeviceIdentity;
  support: ProtocolSupport;
  clientVersion: string;
  buildId?: string;
  displayName?: string;
  /** The commands served; absent: the connection only handshakes (probe). */
  commands?: CommandTable;
  /** Wait this long for `connect.challenge` after the socket opens (default 15 s, the gateway's preauth budget). */
  challengeTimeoutMs?: number;
  /** Wait this long for the socket to open, and again for the answer to `connect` (default 30 s). */
  requestTimeoutMs?: number;
  /** Close as dead after this much silence (default 2 × hello-ok.policy.tickIntervalMs). */
  tickTimeoutMs?: number;
  /** Ask the gateway its version (probe connect) after a protocol mismatch (default true). */
  probeVersionOnMismatch?: boolean;
  onFrame?: FrameObserver;
  /** Aborting drops the socket at once (the handshake then fails with AGENT_CONNECT_FAILED). */
  signal?: AbortSignal;
  /** Called after each invoke is answered. */
  onInvoke?: (e: InvokeEvent) => void;
  logger: Logger;
}

export interface InvokeEvent {
  id: string;
  command: string;
  ok: boolean;
  errorCode?: string;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

/** Messages and closure of a socket, read one at a time during the handshake. */
class Inbox {
  private readonly queue: unknown[] = [];
  private waiter: ((v: { data: unknown } | { closed: CloseInfo }) => void) | undefined;
  closedWith: CloseInfo | undefined;

  push(data: unknown): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ data });
    } else this.queue.push(data);
  }

  close(info: CloseInfo): void {
    this.closedWith ??= info;
    const w = this.waiter;
    this.waiter = undefined;
    w?.({ closed: info });
  }

  /** Takes every message not read yet. */
  drain(): unknown[] {
    return this.queue.splice(0);
  }

  /** The next message, or `closed`, or `timeout` after `ms`. */
  next(ms: number): Promise<{ data: unknown } | { closed: CloseInfo } | { timeout: true }> {
    if (this.queue.length > 0) return Promise.resolve({ data: this.queue.shift() });
    if (this.closedWith) return Promise.resolve({ closed: this.closedWith });
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiter = undefined;
        resolve({ timeout: true });
      }, ms);
      this.waiter = (v) => {
        clearTimeout(t);
        resolve(v);
      };
    });
  }
}

function closeText(c: CloseInfo): string {
  return `code ${c.code}${c.reason ? `: ${c.reason}` : ''}`;
}

/** Opens the socket; resolves once open or rejects with AGENT_CONNECT_FAILED / AGENT_HANDSHAKE_TIMEOUT. */
function openSocket(
  url: string,
  timeoutMs: number,
  clientVersion: string,
): { ws: WebSocket; inbox: Inbox; opened: Promise<void> } {
  const ws = new WebSocket(url, {
    handshakeTimeout: timeoutMs,
    maxPayload: MAX_PAYLOAD_BYTES,
    perMessageDeflate: false,
    headers: { 'user-agent': `claw-byterover/${clientVersion}` },
  });
  const inbox = new Inbox();
  let lastError: Error | undefined;
  ws.on('message', (data) => inbox.push(data));
  ws.on('error', (e) => {
    lastError = e;
  });
  const opened = new Promise<void>((resolve, reject) => {
    const onOpen = () => {
      ws.off('close', onEarlyClose);
      resolve();
    };
    const onEarlyClose = (code: number, reason: Buffer) => {
      ws.off('open', onOpen);
      const cause = lastError;
      const detail = cause ? errorMessage(cause) : closeText({ code, reason: reason.toString() });
      const timedOut = /timed out|timeout/i.test(detail);
      const errno = (cause as NodeJS.ErrnoException | undefined)?.code;
      const http = /Unexpected server response: (\d+)/.exec(detail)?.[1];
      if (timedOut) {
        reject(
          agentError(
            'AGENT_HANDSHAKE_TIMEOUT',
            `Expected the WebSocket upgrade from ${safeUrl(url)} within ${timeoutMs} ms, found no answer (${detail})`,
            {
              hint: 'Check that the URL points at an OpenClaw gateway (`openclaw gateway status` on its host shows the port) and that nothing between you drops the upgrade.',
              details: { url: safeUrl(url), timeoutMs, phase: 'upgrade' },
              cause,
            },
          ),
        );
        return;
      }
      reject(
        agentError(
          'AGENT_CONNECT_FAILED',
          http
            ? `Expected a WebSocket upgrade (HTTP 101) from ${safeUrl(url)}, found HTTP ${http}`
            : `Expected to open a WebSocket to ${safeUrl(url)}, found ${errno ? `${errno}: ` : ''}${detail}`,
          {
            hint: http
              ? 'The server answered HTTP but is not a gateway WebSocket endpoint at this path: use the gateway URL itself, ws://<host>:<port> (wss:// with TLS).'
              : errno === 'ECONNREFUSED'
                ? 'Nothing listens there: start the gateway (`openclaw gateway run` or `openclaw gateway start`) or fix the host/port in the URL.'
                : 'Check the URL, the network path and that the gateway runs (`openclaw gateway status` on its host).',
            details: {
              url: safeUrl(url),
              ...(errno ? { errno } : {}),
              ...(http ? { httpStatus: Number(http) } : {}),
              phase: 'upgrade',
            },
            cause,
          },
        ),
      );
    };
    ws.once('open', onOpen);
    ws.once('close', onEarlyClose);
  });
  ws.on('close', (code, reason) => inbox.close({ code, reason: reason.toString() }));
  return { ws, inbox, opened };
}

function send(ws: WebSocket, frame: Record<string, unknown>): void {
  ws.send(JSON.stringify(frame));
}

function malformed(what: string, why: string, url: string, phase: string) {
  return agentError('AGENT_MALFORMED_FRAME', `Expected ${what} from the gateway at ${safeUrl(url)}, found ${why}`, {
    hint: 'Check that the URL points at an OpenClaw gateway (not another WebSocket service); rerun with --debug-handshake to see the frames.',
    details: { url: safeUrl(url), phase },
  });
}

function timeoutError(what: string, ms: number, url: string, phase: string) {
  return agentError(
    'AGENT_HANDSHAKE_TIMEOUT',
    `Expected ${what} from the gateway at ${safeUrl(url)} within ${ms} ms, found nothing`,
    {
      hint:
        phase === 'challenge'
          ? 'The server accepted the WebSocket but never sent connect.challenge: check that the URL is an OpenClaw gateway and that it is not overloaded (`openclaw gateway status`).'
          : 'The gateway did not answer connect: it may be overloaded or stuck; check `openclaw gateway status` and its log (`openclaw logs`), then retry.',
      details: { url: safeUrl(url), timeoutMs: ms, phase },
    },
  );
}

function closedError(c: CloseInfo, before: string, url: string) {
  return agentError(
    'AGENT_CONNECT_FAILED',
    `Expected ${before} from the gateway at ${safeUrl(url)}, found the connection closed (${closeText(c)})`,
    {
      hint: 'The gateway closed the socket during the handshake: check its log (`openclaw logs`) for the reason, and that this client is allowed to connect.',
      details: { url: safeUrl(url), closeCode: c.code, closeReason: c.reason, phase: before },
    },
  );
}

/**
 * Reads frames until one satisfies `pick` (events not picked are reported and skipped); malformed
 * frames, closure and timeout become errors.
 */
async function readUntil<T>(
  inbox: Inbox,
  ms: number,
  pick: (f: InboundFrame) => T | undefined,
  ctx: { url: string; what: string; phase: string; observe: (f: unknown) => void },
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    const m = left > 0 ? await inbox.next(left) : ({ timeout: true } as const);
    if ('timeout' in m) throw timeoutError(ctx.what, ms, ctx.url, ctx.phase);
    if ('closed' in m) throw closedError(m.closed, ctx.what, ctx.url);
    const parsed = parseFrame(m.data);
    if ('error' in parsed) {
      ctx.observe(String(m.data).slice(0, 2000));
      throw malformed(ctx.what, parsed.error, ctx.url, ctx.phase);
    }
    ctx.observe(parsed.frame);
    const hit = pick(parsed.frame);
    if (hit !== undefined) return hit;
  }
}

/**
 * Opens a probe connection offering `[min, max]` and returns hello-ok's `server.version`, or
 * undefined when the gateway refuses the probe too. Bounded by `timeoutMs`.
 */
export async function probeGatewayVersion(
  url: string,
  opts: {
    token?: string;
    min: number;
    max: number;
    clientVersion: string;
    timeoutMs: number;
    onFrame?: FrameObserver;
    logger: Logger;
  },
): Promise<string | undefined> {
  const { ws, inbox, opened } = openSocket(url, opts.timeoutMs, opts.clientVersion);
  const observe = (dir: 'sent' | 'received') => (f: unknown) => opts.onFrame?.(dir, f, 'version-probe');
  try {
    await opened;
    await readUntil(
      inbox,
      opts.timeoutMs,
      (f) => (f.type === 'event' && f.event === 'connect.challenge' ? true : undefined),
      {
        url,
        what: 'connect.challenge',
        phase: 'version-probe',
        observe: observe('received'),
      },
    );
    const id = randomUUID();
    const frame = {
      type: 'req',
      id,
      method: 'connect',
      params: buildProbeConnectParams({ ...opts, minProtocol: opts.min, maxProtocol: opts.max }),
    };
    observe('sent')(frame);
    send(ws, frame);
    const res = await readUntil(inbox, opts.timeoutMs, (f) => (f.type === 'res' && f.id === id ? f : undefined), {
      url,
      what: 'the answer to the version probe',
      phase: 'version-probe',
      observe: observe('received'),
    });
    const hello = res.ok ? HelloOkSchema.safeParse(res.payload) : undefined;
    return hello?.success ? hello.data.server.version : undefined;
  } catch (e) {
    opts.logger.debug({ err: errorMessage(e) }, 'agent: gateway version probe failed');
    return undefined;
  } finally {
    ws.terminate();
  }
}

/** A live, handshaken connection serving invokes. */
export class GatewayConnection {
  readonly hello: HelloOk;
  readonly protocol: number;
  readonly gatewayVersion: string;
  /** Resolves when the socket closes (never rejects). */
  readonly closed: Promise<CloseInfo>;
  private readonly ws: WebSocket;
  private readonly o: ConnectionOptions;
  private readonly inflight = new Map<string, AbortController>();
  private readonly pending = new Map<string, { timer: NodeJS.Timeout; command: string }>();
  private lastSeen = Date.now();
  private watchdog: NodeJS.Timeout | undefined;
  private closeOverride: CloseInfo | undefined;
  malformedFrames = 0;

  private constructor(ws: WebSocket, inbox: Inbox, hello: HelloOk, protocol: number, o: ConnectionOptions) {
    this.ws = ws;
    this.o = o;
    this.hello = hello;
    this.protocol = protocol;
    this.gatewayVersion = hello.server.version;
    ws.removeAllListeners('message');
    ws.on('message', (data) => {
      this.lastSeen = Date.now();
      this.onMessage(data);
    });
    // Frames that arrived right behind hello-ok (events, even a first invoke) are served in order.
    for (const data of inbox.drain()) this.onMessage(data);
    ws.on('ping', () => (this.lastSeen = Date.now()));
    ws.on('pong', () => (this.lastSeen = Date.now()));
    this.startWatchdog();
    this.closed = new Promise<CloseInfo>((resolve) => {
      const done = (info: CloseInfo) => {
        this.cleanup();
        resolve(this.closeOverride ?? info);
      };
      if (inbox.closedWith) done(inbox.closedWith);
      else ws.once('close', (code, reason) => done({ code, reason: reason.toString() }));
    });
  }

  /** Opens and handshakes. Rejects with an agent ClawError (see errors.ts). */
  static async open(o: ConnectionOptions): Promise<GatewayConnection> {
    const challengeMs = o.challengeTimeoutMs ?? 15_000;
    const requestMs = o.requestTimeoutMs ?? 30_000;
    const { ws, inbox, opened } = openSocket(o.url, requestMs, o.clientVersion);
    const observe = (dir: 'sent' | 'received') => (f: unknown) => o.onFrame?.(dir, f, 'handshake');
    const onAbort = () => ws.terminate();
    if (o.signal?.aborted) onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await opened;
      const challenge = await readUntil(
        inbox,
        challengeMs,
        (f) => {
          if (f.type !== 'event' || f.event !== 'connect.challenge') return undefined;
          const c = ChallengeSchema.safeParse(f.payload);
          if (!c.success)
            throw malformed(
              'connect.challenge {nonce, ts}',
              `a challenge without a usable nonce/ts (${c.error.issues[0]?.path.join('.')}: ${c.error.issues[0]?.message})`,
              o.url,
              'challenge',
            );
          return c.data;
        },
        { url: o.url, what: 'connect.challenge', phase: 'challenge', observe: observe('received') },
      );
      const id = randomUUID();
      const params = buildNodeConnectParams({
        minProtocol: o.support.min,
        maxProtocol: o.support.max,
        clientVersion: o.clientVersion,
        ...(o.buildId ? { buildId: o.buildId } : {}),
        ...(o.displayName ? { displayName: o.displayName } : {}),
        ...(o.token ? { token: o.token } : {}),
        challenge,
        identity: o.identity,
      });
      const frame = { type: 'req', id, method: 'connect', params };
      observe('sent')(frame);
      send(ws, frame);
      const res: ResponseFrame = await readUntil(
        inbox,
        requestMs,
        (f) => (f.type === 'res' && f.id === id ? f : undefined),
        {
          url: o.url,
          what: 'the answer to connect',
          phase: 'connect',
          observe: observe('received'),
        },
      );
      if (!res.ok) throw await GatewayConnection.refusal(res, o);
      const hello = HelloOkSchema.safeParse(res.payload);
      if (!hello.success) {
        const issue = hello.error.issues[0];
        throw malformed(
          'hello-ok {protocol, server.version}',
          `an ok answer that is not hello-ok (${issue?.path.join('.')}: ${issue?.message})`,
          o.url,
          'connect',
        );
      }
      const n = o.support.negotiate(hello.data.protocol, hello.data.protocol);
      if (!n.ok) {
        throw protocolMismatch({
          support: o.support,
          gateway: undefined,
          chosen: hello.data.protocol,
          gatewayVersion: hello.data.server.version,
          clientVersion: o.clientVersion,
          url: safeUrl(o.url),
        });
      }
      return new GatewayConnection(ws, inbox, hello.data, hello.data.protocol, o);
    } catch (e) {
      ws.terminate();
      throw e;
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
    }
  }

  private static async refusal(res: ResponseFrame, o: ConnectionOptions) {
    const err = res.error ?? { code: 'UNKNOWN', message: 'the gateway refused connect without an error' };
    const details = err.details && typeof err.details === 'object' ? (err.details as Record<string, unknown>) : {};
    if (details.code === 'PROTOCOL_MISMATCH' || /protocol mismatch/i.test(err.message)) {
      const gateway = gatewayRangeFromDetails(details);
      const version =
        gateway && o.probeVersionOnMismatch !== false
          ? await probeGatewayVersion(o.url, {
              ...(o.token ? { token: o.token } : {}),
              min: gateway.min,
              max: gateway.max,
              clientVersion: o.clientVersion,
              timeoutMs: Math.min(o.requestTimeoutMs ?? 30_000, 10_000),
              ...(o.onFrame ? { onFrame: o.onFrame } : {}),
              logger: o.logger,
            })
          : undefined;
      return protocolMismatch({
        support: o.support,
        gateway,
        gatewayVersion: version,
        clientVersion: o.clientVersion,
        url: safeUrl(o.url),
        gatewayDetails: details,
      });
    }
    return fromGatewayError(err, { url: safeUrl(o.url), deviceId: o.identity.deviceId });
  }

  get connId(): string {
    return this.hello.server.connId;
  }

  /** Closes the socket (normal closure); `closed` resolves when it is down. */
  close(code = 1000, reason = 'client closing'): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.close(code, reason);
    const kill = setTimeout(() => this.ws.terminate(), 2_000);
    kill.unref();
  }

  /** Drops the socket at once (no close handshake). */
  terminate(info?: CloseInfo): void {
    if (info) this.closeOverride ??= info;
    this.ws.terminate();
  }

  private startWatchdog(): void {
    const tick = this.hello.policy?.tickIntervalMs ?? DEFAULT_TICK_INTERVAL_MS;
    const limit = this.o.tickTimeoutMs ?? tick * 2;
    const every = Math.max(50, Math.min(limit / 2, 1_000));
    this.watchdog = setInterval(() => {
      const silent = Date.now() - this.lastSeen;
      if (silent > limit) {
        this.o.logger.warn(
          { silentMs: silent, limitMs: limit },
          'agent: gateway silent past the tick timeout; dropping the connection',
        );
        this.terminate({ code: 4000, reason: 'tick timeout' });
      }
    }, every);
    this.watchdog.unref();
  }

  private cleanup(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    for (const c of this.inflight.values()) c.abort(new Error('connection closed'));
    this.inflight.clear();
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }

  private onMessage(data: unknown): void {
    const parsed = parseFrame(data);
    if ('error' in parsed) {
      this.malformedFrames++;
      this.o.logger.warn({ reason: parsed.error }, 'agent: ignoring a malformed frame from the gateway');
      return;
    }
    const f = parsed.frame;
    if (f.type === 'res') {
      const p = this.pending.get(f.id);
      if (!p) return;
      clearTimeout(p.timer);
      this.pending.delete(f.id);
      if (!f.ok)
        this.o.logger.warn(
          { command: p.command, errorCode: f.error?.code, message: f.error?.message },
          'agent: the gateway refused an invoke result',
        );
      return;
    }
    if (f.type === 'req') {
      this.o.logger.debug(
        { method: f.method },
        'agent: ignoring a request from the gateway (nodes answer events only)',
      );
      return;
    }
    if (f.event === 'node.invoke.request') void this.onInvoke(f.payload);
    else if (f.event === 'node.invoke.cancel') {
      const c = InvokeCancelSchema.safeParse(f.payload);
      if (c.success) this.inflight.get(c.data.invokeId)?.abort(new Error('cancelled by the gateway'));
    } else if (f.event !== 'tick') this.o.logger.trace({ event: f.event }, 'agent: gateway event');
  }

  private async onInvoke(payload: unknown): Promise<void> {
    const r = InvokeRequestSchema.safeParse(payload);
    if (!r.success) {
      this.malformedFrames++;
      const p = payload && typeof payload === 'object' ? (payload as Record<string, unknown>) : {};
      this.o.logger.warn({ reason: r.error.issues[0]?.message }, 'agent: malformed node.invoke.request');
      // Answer when we can tell which invoke it was, so the caller sees why instead of a timeout.
      if (typeof p.id === 'string' && p.id.trim() !== '') {
        this.sendResult(p.id, 'unknown', {
          ok: false,
          error: {
            code: 'INVALID_REQUEST',
            message: `malformed node.invoke.request: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
          },
        });
      }
      return;
    }
    const req = r.data;
    if (req.nodeId !== this.o.identity.deviceId)
      this.o.logger.warn(
        { nodeId: req.nodeId },
        'agent: invoke addressed to another node id; answering as this device',
      );
    const ac = new AbortController();
    this.inflight.set(req.id, ac);
    const timer = req.timeoutMs ? setTimeout(() => ac.abort(new Error('deadline')), req.timeoutMs) : undefined;
    timer?.unref();
    const commands = this.o.commands;
    const outcome = commands
      ? await runCommand(commands, req.command, req.paramsJSON, req.params, ac.signal)
      : { ok: false as const, error: { code: 'UNAVAILABLE', message: 'this connection serves no commands' } };
    if (timer) clearTimeout(timer);
    this.inflight.delete(req.id);
    this.sendResult(req.id, req.command, outcome);
  }

  private sendResult(
    id: string,
    command: string,
    outcome: { ok: true; payload: unknown } | { ok: false; error: { code: string; message: string } },
  ): void {
    let params: Record<string, unknown>;
    if (outcome.ok) {
      const payloadJSON = JSON.stringify(outcome.payload ?? null);
      const limit = (this.hello.policy?.maxPayload ?? MAX_PAYLOAD_BYTES) - 4096;
      params =
        Buffer.byteLength(payloadJSON) > limit
          ? {
              id,
              nodeId: this.o.identity.deviceId,
              ok: false,
              error: {
                code: 'PAYLOAD_TOO_LARGE',
                message: `the result is ${Buffer.byteLength(payloadJSON)} bytes, over the gateway's ${limit}: ask for fewer hits (k)`,
              },
            }
          : { id, nodeId: this.o.identity.deviceId, ok: true, payloadJSON };
    } else {
      params = { id, nodeId: this.o.identity.deviceId, ok: false, error: outcome.error };
    }
    const reqId = randomUUID();
    if (this.ws.readyState !== WebSocket.OPEN) {
      this.o.logger.warn({ command }, 'agent: connection closed before the invoke result could be sent');
      return;
    }
    const timer = setTimeout(() => {
      this.pending.delete(reqId);
      this.o.logger.warn({ command }, 'agent: the gateway did not acknowledge an invoke result');
    }, this.o.requestTimeoutMs ?? 30_000);
    timer.unref();
    this.pending.set(reqId, { timer, command });
    send(this.ws, { type: 'req', id: reqId, method: 'node.invoke.result', params });
    const ok = params.ok === true;
    const errorCode = ok ? undefined : (params.error as { code: string }).code;
    this.o.logger.debug({ command, ok, ...(errorCode ? { errorCode } : {}) }, 'agent: invoke answered');
    this.o.onInvoke?.({ id, command, ok, ...(errorCode ? { errorCode } : {}) });
  }
}
