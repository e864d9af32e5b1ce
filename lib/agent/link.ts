/**
 * The claw-agent link: keeps this process connected to an OpenClaw gateway as a node and serves
 * `byterover.*` invokes from lib/memory.
 *
 * - `start()` resolves with the first hello-ok, or rejects with the error that made it give up:
 *   a terminal refusal at once (mismatch, bad token, unknown device, …), a transient one (socket
 *   refused, UNAVAILABLE, dropped handshake) once `connectTimeoutMs` has passed without success.
 * - Once connected, a dropped connection is reconnected for as long as the link runs, with full-jitter
 *   backoff (`random · min(cap, base · 2^n)`, lib/http's `backoffMs`; base 1 s, cap 30 s, the
 *   OpenClaw client's defaults); a gateway `UNAVAILABLE` with `retryAfterMs` is never retried sooner
 *   than it asks. A terminal refusal while reconnecting stops the link: `done` resolves with it.
 * - `stop()` closes the socket and ends the loop; `done` resolves with undefined.
 */
import { EventEmitter } from 'node:events';
import { ClawError, errorMessage } from '../errors.js';
import { logger as rootLogger, registerSecret, safeUrl, type Logger } from '../log/index.js';
import { backoffMs, retryWaitMs, type RetryPolicy } from '../http/index.js';
import { abiInfo } from '../native.js';
import { packageVersion } from '../version.js';
import type { MemoryBackend } from '../memory/index.js';
import { memoryCommands, type CommandTable } from './commands.js';
import { GatewayConnection, type CloseInfo, type FrameObserver, type InvokeEvent } from './connection.js';
import { AgentLinkErrorCode, agentError, isRetryable, retryAfterOf } from './errors.js';
import { loadOrCreateIdentity, type DeviceIdentity } from './identity.js';
import { protocolSupport, type ProtocolSupport } from './versions.js';

/** OpenClaw's GATEWAY_RECONNECT_POLICY: first retry within 1 s, never more than 30 s apart. */
export const RECONNECT_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: Number.POSITIVE_INFINITY,
  baseMs: 1_000,
  throttledBaseMs: 1_000,
  maxWaitMs: 30_000,
});

export interface AgentLinkOptions {
  /** ws:// or wss:// URL of the gateway. */
  url: string;
  /** The gateway's shared token; registered with the log redactor. */
  token?: string;
  /** What the commands serve. Either `memory` or `commands` (tests may pass their own table). */
  memory?: MemoryBackend;
  commands?: CommandTable;
  /** Device identity (default: loaded or created under `dataDir`). */
  identity?: DeviceIdentity;
  /** Data dir for the identity (default: resolveDataDir(env)). */
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Protocol range and negotiation (default: the native core's, or the range published in
   * claw/plugin.h when the addon cannot load; see versions.ts). Tests: testOnlyProtocolSupport.
   */
  protocol?: ProtocolSupport;
  displayName?: string;
  /** Give up on the first connection after this long (default 60 s); 0 = a single attempt. */
  connectTimeoutMs?: number;
  /** Keep retrying while the device waits for pairing approval (within connectTimeoutMs). */
  waitForApproval?: boolean;
  challengeTimeoutMs?: number;
  requestTimeoutMs?: number;
  tickTimeoutMs?: number;
  retryPolicy?: RetryPolicy;
  /** Frames of every handshake (raw; redactFrame before showing). */
  onHandshakeFrame?: FrameObserver;
  /** Called once per connection attempt with its outcome (telemetry; default none; throwing is ignored). */
  onHandshake?: (e: HandshakeEvent) => void;
  logger?: Logger;
  /** Injected for tests: the wait between attempts, and the jitter source. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

export interface ConnectedInfo {
  deviceId: string;
  gatewayVersion: string;
  protocol: number;
  connId: string;
  /** 1 for the first connection, then 2, 3… after each reconnect. */
  connection: number;
}

export interface ReconnectInfo {
  attempt: number;
  delayMs: number;
  error?: ClawError;
  close?: CloseInfo;
}

export interface AgentLinkEvents {
  connected: [ConnectedInfo];
  disconnected: [CloseInfo];
  reconnecting: [ReconnectInfo];
  pairing: [ClawError];
  invoke: [InvokeEvent];
}

export type LinkState = 'idle' | 'connecting' | 'connected' | 'waiting' | 'stopped';

/** One handshake attempt, as seen by `onHandshake` (AgentLinkOptions and ProbeOptions). */
export interface HandshakeEvent {
  /** `ok` (hello-ok received) or the error code that ended the attempt (AGENT_*). */
  result: string;
  /** The negotiated protocol version, when ok. */
  protocol?: number;
  durationMs: number;
}

/** Calls `fn` with `e`, ignoring anything it throws (an observer never breaks the link). */
export function reportHandshake(fn: ((e: HandshakeEvent) => void) | undefined, e: HandshakeEvent): void {
  if (!fn) return;
  try {
    fn(e);
  } catch {
    // telemetry never breaks a handshake
  }
}

export function validateGatewayUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw agentError(
      'AGENT_INVALID_URL',
      `Expected a gateway URL like ws://127.0.0.1:18789, found ${JSON.stringify(safeUrl(url))}`,
      {
        hint: 'Pass the gateway WebSocket URL: ws://<host>:<port> (wss:// when the gateway uses TLS).',
        details: { url: safeUrl(url) },
      },
    );
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
    throw agentError('AGENT_INVALID_URL', `Expected a ws:// or wss:// gateway URL, found ${u.protocol}//`, {
      hint: `Use ${u.protocol === 'https:' ? 'wss' : 'ws'}://${u.host}${u.pathname === '/' ? '' : u.pathname} (the gateway serves its WebSocket on the same port as HTTP).`,
      details: { url: safeUrl(url) },
    });
  }
  if (u.username || u.password) {
    throw agentError('AGENT_INVALID_URL', 'Expected a gateway URL without credentials, found user info in it', {
      hint: 'Pass the gateway token with --token or OPENCLAW_GATEWAY_TOKEN, never inside the URL.',
      details: { url: safeUrl(url) },
    });
  }
  // The gateway takes its token in the connect frame (auth.token), never from the URL; a token in a
  // URL leaks into shell history, proxy and server logs, so one there is refused rather than ignored.
  const secretParams = [...new Set(u.searchParams.keys())].filter((k) => CREDENTIAL_PARAM.test(k));
  if (secretParams.length > 0) {
    throw agentError(
      'AGENT_INVALID_URL',
      `Expected a gateway URL without credentials, found ${secretParams.map((k) => `?${k}=`).join(', ')} in its query`,
      {
        hint: `Remove it from the URL (use ${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}) and pass the gateway token with --token or OPENCLAW_GATEWAY_TOKEN; the gateway reads the token only from the connect handshake.`,
        details: { url: safeUrl(url), params: secretParams },
      },
    );
  }
  return u;
}

/** Query parameter names that carry a credential (`token`, `access_token`, `auth`, `password`, `key`…). */
const CREDENTIAL_PARAM = /(?:token|auth|password|passwd|secret|key|signature|session)/i;

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export class AgentLink extends EventEmitter<AgentLinkEvents> {
  readonly url: string;
  readonly clientVersion: string;
  private readonly o: AgentLinkOptions;
  private readonly log: Logger;
  private readonly stopper = new AbortController();
  private conn: GatewayConnection | undefined;
  private identityP: Promise<DeviceIdentity> | undefined;
  private supportV: ProtocolSupport | undefined;
  private loop: Promise<ClawError | undefined> | undefined;
  private stateV: LinkState = 'idle';
  private connections = 0;
  /** Resolves when the link has stopped for good: undefined after stop(), the error otherwise. */
  done: Promise<ClawError | undefined> = Promise.resolve(undefined);

  constructor(opts: AgentLinkOptions) {
    super();
    validateGatewayUrl(opts.url);
    if (!opts.memory && !opts.commands)
      throw new ClawError(
        AgentLinkErrorCode.NO_BACKEND,
        'Expected a memory backend (or a command table) for the link to serve, found none.',
        { hint: 'Pass `memory` (a LocalMemory or BrvMemory).' },
      );
    this.o = opts;
    this.url = opts.url;
    registerSecret(opts.token);
    this.log = (opts.logger ?? rootLogger).child({ component: 'agent' });
    this.clientVersion = packageVersion();
  }

  get state(): LinkState {
    return this.stateV;
  }

  /** The connection in use (undefined between connections). */
  get connection(): GatewayConnection | undefined {
    return this.conn;
  }

  async identity(): Promise<DeviceIdentity> {
    this.identityP ??= this.o.identity
      ? Promise.resolve(this.o.identity)
      : loadOrCreateIdentity({
          ...(this.o.dataDir ? { dataDir: this.o.dataDir } : {}),
          ...(this.o.env ? { env: this.o.env } : {}),
        });
    return this.identityP;
  }

  /** Connects (retrying transient failures within connectTimeoutMs) and resolves on the first hello-ok. */
  async start(): Promise<ConnectedInfo> {
    if (this.loop)
      throw new ClawError(
        AgentLinkErrorCode.ALREADY_STARTED,
        'Expected a link that was not started yet, found one already running.',
        { hint: 'Create a new AgentLink per connection.' },
      );
    this.supportV = this.o.protocol ?? protocolSupport();
    if (this.supportV.unavailable) {
      this.log.warn(
        { code: this.supportV.unavailable.code, offered: `${this.supportV.min}-${this.supportV.max}` },
        'agent: the native addon did not load; offering the agent protocol range published in claw/plugin.h (the link itself does not need the addon)',
      );
    }
    const identity = await this.identity();
    const commands = this.o.commands ?? memoryCommands(this.o.memory as MemoryBackend);
    let first!: { resolve: (i: ConnectedInfo) => void; reject: (e: ClawError) => void };
    const firstConnected = new Promise<ConnectedInfo>((resolve, reject) => (first = { resolve, reject }));
    this.loop = this.run(identity, commands, first);
    this.done = this.loop;
    return firstConnected;
  }

  /** Closes the connection and stops reconnecting. */
  async stop(): Promise<void> {
    this.stopper.abort();
    this.conn?.close(1000, 'node stopping');
    await this.loop;
  }

  private async run(
    identity: DeviceIdentity,
    commands: CommandTable,
    first: { resolve: (i: ConnectedInfo) => void; reject: (e: ClawError) => void },
  ): Promise<ClawError | undefined> {
    const policy = this.o.retryPolicy ?? RECONNECT_POLICY;
    const sleep = this.o.sleep ?? defaultSleep;
    const random = this.o.random ?? Math.random;
    const budgetMs = this.o.connectTimeoutMs ?? 60_000;
    const startedAt = Date.now();
    let everConnected = false;
    let attempt = 0;
    let pairingReported = false;
    const stopWith = (e: ClawError | undefined): ClawError | undefined => {
      this.stateV = 'stopped';
      this.conn = undefined;
      if (!everConnected)
        first.reject(
          e ??
            new ClawError(AgentLinkErrorCode.STOPPED, 'The link was stopped before it connected.', {
              hint: 'Call start() again on a new link.',
            }),
        );
      return e;
    };
    for (;;) {
      if (this.stopper.signal.aborted) return stopWith(undefined);
      this.stateV = 'connecting';
      let failure: ClawError | undefined;
      let close: CloseInfo | undefined;
      const attemptStarted = performance.now();
      let handshakeDone = false;
      try {
        const conn = await GatewayConnection.open({
          url: this.o.url,
          ...(this.o.token ? { token: this.o.token } : {}),
          identity,
          support: this.supportV as ProtocolSupport,
          clientVersion: this.clientVersion,
          buildId: safeBuildId(),
          ...(this.o.displayName ? { displayName: this.o.displayName } : {}),
          commands,
          ...(this.o.challengeTimeoutMs !== undefined ? { challengeTimeoutMs: this.o.challengeTimeoutMs } : {}),
          ...(this.o.requestTimeoutMs !== undefined ? { requestTimeoutMs: this.o.requestTimeoutMs } : {}),
          ...(this.o.tickTimeoutMs !== undefined ? { tickTimeoutMs: this.o.tickTimeoutMs } : {}),
          ...(this.o.onHandshakeFrame ? { onFrame: this.o.onHandshakeFrame } : {}),
          onInvoke: (e) => this.emit('invoke', e),
          signal: this.stopper.signal,
          logger: this.log,
        });
        handshakeDone = true;
        reportHandshake(this.o.onHandshake, {
          result: 'ok',
          protocol: conn.protocol,
          durationMs: performance.now() - attemptStarted,
        });
        if (this.stopper.signal.aborted) {
          conn.close(1000, 'node stopping');
          await conn.closed;
          return stopWith(undefined);
        }
        this.conn = conn;
        this.stateV = 'connected';
        attempt = 0;
        pairingReported = false;
        const info: ConnectedInfo = {
          deviceId: identity.deviceId,
          gatewayVersion: conn.gatewayVersion,
          protocol: conn.protocol,
          connId: conn.connId,
          connection: ++this.connections,
        };
        this.log.info({ url: safeUrl(this.o.url), ...info }, 'agent: connected to the gateway as a node');
        if (!everConnected) {
          everConnected = true;
          first.resolve(info);
        }
        this.emit('connected', info);
        close = await conn.closed;
        this.conn = undefined;
        if (this.stopper.signal.aborted) return stopWith(undefined);
        this.log.warn(
          { code: close.code, reason: close.reason },
          'agent: connection to the gateway dropped; reconnecting',
        );
        this.emit('disconnected', close);
      } catch (e) {
        failure =
          e instanceof ClawError
            ? e
            : agentError(
                'AGENT_CONNECT_FAILED',
                `Expected to connect to ${safeUrl(this.o.url)}, found an unexpected failure: ${errorMessage(e)}`,
                {
                  hint: 'Rerun with --debug-handshake; if it persists, report the output (secrets are redacted).',
                  cause: e,
                },
              );
        if (!handshakeDone)
          reportHandshake(this.o.onHandshake, { result: failure.code, durationMs: performance.now() - attemptStarted });
        if (this.stopper.signal.aborted) return stopWith(undefined);
        const waitingForApproval =
          this.o.waitForApproval === true &&
          (failure.code === 'AGENT_DEVICE_UNKNOWN' || failure.code === 'AGENT_PAIRING_REQUIRED');
        if (waitingForApproval && !pairingReported) {
          pairingReported = true;
          this.emit('pairing', failure);
        }
        if (!isRetryable(failure) && !waitingForApproval) {
          // The caller gets the error (start() rejects, or `done` resolves with it): log it once, quietly.
          this.log.warn({ errorCode: failure.code }, `agent: giving up: ${failure.message}`);
          return stopWith(failure);
        }
        if (!everConnected && Date.now() - startedAt >= budgetMs) {
          this.log.warn(
            { errorCode: failure.code },
            `agent: giving up after ${Date.now() - startedAt} ms: ${failure.message}`,
          );
          return stopWith(failure);
        }
        this.log.debug({ errorCode: failure.code }, `agent: connect attempt failed: ${failure.message}`);
      }
      const delayMs = retryWaitMs(
        backoffMs(policy, attempt, false, random),
        failure ? retryAfterOf(failure) : undefined,
      );
      attempt++;
      this.stateV = 'waiting';
      this.emit('reconnecting', {
        attempt,
        delayMs,
        ...(failure ? { error: failure } : {}),
        ...(close ? { close } : {}),
      });
      await sleep(delayMs, this.stopper.signal);
    }
  }
}

/** The native core's build tag (abiInfo().gitRevision), sent as `client.buildId`. */
export function safeBuildId(): string {
  try {
    return abiInfo().gitRevision;
  } catch {
    return 'unknown';
  }
}
