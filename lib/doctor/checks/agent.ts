/**
 * Check 2, "protocol version mismatch": one recorded handshake with the OpenClaw gateway
 * (lib/agent probeHandshake) and what it shows: the range we offered (from the native core) against
 * the range the gateway accepts for nodes, the gateway's version and build tag beside ours, and
 * whether something between us altered the handshake — by comparing what we sent with what the
 * gateway echoed (its refusal repeats the client range it received; hello-ok states the protocol
 * and role it granted), plus proxy headers (`Via`, `Forwarded`, `X-Forwarded-*`) on the gateway's
 * HTTP answer from the same host and port.
 */
import { probeHandshake, type ProbeResult, type ProtocolSupport } from '../../agent/index.js';
import { gatewayRangeFromDetails } from '../../agent/versions.js';
import type { HttpClient } from '../../http/types.js';
import { errorMessage } from '../../errors.js';
import { safeBuildId } from '../../agent/link.js';
import { packageVersion } from '../../version.js';
import type { Logger } from '../../log/index.js';
import { ev, outcome, type Check, type CheckOutcome, type Evidence } from '../types.js';

export interface AgentCheckOptions {
  url?: string;
  token?: string;
  dataDir?: string;
  env: NodeJS.ProcessEnv;
  http?: HttpClient;
  logger?: Logger;
  /** FOR TESTS ONLY (lib/agent testOnlyProtocolSupport): offer another range than the native core's. */
  protocol?: ProtocolSupport;
  timeoutMs?: number;
}

type Frame = Record<string, unknown>;
const obj = (x: unknown): Frame => (x && typeof x === 'object' ? (x as Frame) : {});
const range = (lo: unknown, hi: unknown) => (lo === hi ? String(lo) : `${String(lo)}–${String(hi)}`);

/** What went out, and what came back, in the handshake phase. */
function frames(p: ProbeResult) {
  const connect = obj(p.sent.find((f) => f.phase === 'handshake' && obj(f.frame).method === 'connect')?.frame);
  const res = obj(p.received.find((f) => f.phase === 'handshake' && obj(f.frame).type === 'res')?.frame);
  const probeHello = obj(
    obj(p.received.find((f) => f.phase === 'version-probe' && obj(f.frame).type === 'res')?.frame).payload,
  );
  return {
    params: obj(connect.params),
    res,
    hello: obj(res.payload),
    probeHello,
    details: obj(obj(res.error).details),
  };
}

/** Differences between what we sent and what the gateway says it received or granted. */
export function handshakeAlterations(p: ProbeResult): string[] {
  const { params, res, hello, details } = frames(p);
  const out: string[] = [];
  if (details.clientMinProtocol !== undefined || details.clientMaxProtocol !== undefined) {
    if (details.clientMinProtocol !== params.minProtocol || details.clientMaxProtocol !== params.maxProtocol)
      out.push(
        `we sent protocol ${range(params.minProtocol, params.maxProtocol)}, the gateway received ${range(details.clientMinProtocol, details.clientMaxProtocol)}`,
      );
  }
  if (res.ok === true) {
    const proto = hello.protocol;
    if (
      typeof proto === 'number' &&
      typeof params.minProtocol === 'number' &&
      typeof params.maxProtocol === 'number' &&
      (proto < params.minProtocol || proto > params.maxProtocol)
    )
      out.push(
        `the gateway granted protocol ${proto}, outside the ${range(params.minProtocol, params.maxProtocol)} we sent`,
      );
    const role = obj(hello.auth).role;
    if (typeof role === 'string' && role !== params.role)
      out.push(`we connected as role "${String(params.role)}", the gateway granted "${role}"`);
  }
  return out;
}

/** Proxy headers on the gateway's plain HTTP answer (same host and port). */
async function proxyHeaders(url: string, http: HttpClient | undefined): Promise<{ seen: string[]; note?: string }> {
  if (!http) return { seen: [] };
  const u = new URL(url);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = '/readyz';
  u.search = '';
  try {
    const r = await http.request({
      method: 'GET',
      url: u,
      timeoutMs: 5_000,
      retry: false,
      responseType: 'text',
      endpoint: 'gateway.readyz',
    });
    const seen = Object.entries(r.headers)
      .filter(([k]) => k === 'via' || k === 'forwarded' || k.startsWith('x-forwarded-') || k === 'x-real-ip')
      .map(([k, v]) => `${k}: ${v}`);
    return { seen };
  } catch (e) {
    return { seen: [], note: `GET /readyz failed: ${errorMessage(e)}` };
  }
}

export async function checkAgent(o: AgentCheckOptions): Promise<CheckOutcome> {
  if (!o.url)
    return outcome(
      'skip',
      'no --agent URL given',
      [],
      [
        'To check the handshake with your gateway: claw-byterover doctor --agent ws://127.0.0.1:18789 (token from $OPENCLAW_GATEWAY_TOKEN)',
      ],
    );
  const p = await probeHandshake(o.url, {
    ...(o.token ? { token: o.token } : {}),
    ...(o.dataDir ? { dataDir: o.dataDir } : {}),
    env: o.env,
    ...(o.protocol ? { protocol: o.protocol } : {}),
    ...(o.logger ? { logger: o.logger } : {}),
    challengeTimeoutMs: o.timeoutMs ?? 10_000,
    requestTimeoutMs: o.timeoutMs ?? 15_000,
  });
  const { params, hello, probeHello, details } = frames(p);
  const client = obj(params.client);
  const server = obj(hello.server ?? probeHello.server);
  const gwRange = gatewayRangeFromDetails(details);
  const ours = p.offered
    ? `${range(p.offered.min, p.offered.max)}${{ 'test-override': ' (test override)', published: ' (published in claw/plugin.h: the native core did not load)' }[p.offered.source] ?? ' (native core)'}`
    : '(unknown: the native core did not load)';
  const evidence: Evidence[] = [ev('gateway', p.url), ev('our protocol range', ours)];
  if (gwRange)
    evidence.push(
      ev(
        'gateway accepts (nodes)',
        `${range(gwRange.min, gwRange.max)} (expectedProtocol ${String(details.expectedProtocol)}${details.minimumProbeProtocol !== undefined ? `, minimumProbeProtocol ${String(details.minimumProbeProtocol)}` : ''})`,
      ),
    );
  if (p.negotiated !== null) evidence.push(ev('negotiated', `protocol ${p.negotiated}`));
  evidence.push(
    ev(
      'gateway version',
      `${p.gatewayVersion ?? '(unknown)'}${server.buildId ? `, build ${String(server.buildId)}` : ''}`,
    ),
  );
  evidence.push(
    ev(
      'our build',
      `claw-byterover ${String(client.version ?? packageVersion())}, native build ${String(client.buildId ?? safeBuildId())}`,
    ),
  );
  const alterations = handshakeAlterations(p);
  const proxies = await proxyHeaders(o.url, o.http);
  evidence.push(
    ev(
      'sent vs echoed',
      alterations.length
        ? alterations.join('; ')
        : p.received.some((f) => obj(f.frame).type === 'res')
          ? 'consistent (range, protocol and role as sent)'
          : '(no answer to compare)',
    ),
  );
  if (proxies.seen.length) evidence.push(ev('proxy headers', proxies.seen.join('; ')));
  if (p.deviceId) evidence.push(ev('device id', p.deviceId));
  const data = {
    offered: p.offered,
    gatewayAccepts: gwRange ?? null,
    negotiated: p.negotiated,
    gatewayVersion: p.gatewayVersion,
    gatewayBuild: server.buildId ?? null,
    ourBuild: client.buildId ?? null,
    alterations,
    proxyHeaders: proxies.seen,
    error: p.error ?? null,
    sent: p.sent,
    received: p.received.map((f) => ({ phase: f.phase, frame: summarizeFrame(f.frame) })),
  };

  if (alterations.length) {
    return outcome(
      'fail',
      `an intermediary altered the handshake: ${alterations[0]}`,
      evidence,
      [
        `Connect to the gateway directly (not through the proxy/TLS terminator${proxies.seen.length ? ` that added ${proxies.seen.map((h) => h.split(':')[0]).join(', ')}` : ''}), or configure it to pass WebSocket frames through unchanged.`,
        'Compare with `claw-byterover agent connect <url> --once --debug-handshake`, which prints every frame as sent and received.',
      ],
      { code: 'AGENT_HANDSHAKE_ALTERED', data },
    );
  }
  if (p.error) {
    const err = p.error;
    evidence.push(ev('error', `${err.code}: ${err.message}`));
    const next = [
      err.hint ?? 'Rerun `claw-byterover agent connect <url> --once --debug-handshake` to see every frame.',
    ];
    if (err.code === 'AGENT_PROTOCOL_MISMATCH')
      return outcome('fail', err.message, evidence, next, { code: err.code, data });
    return outcome('fail', `the handshake failed: ${err.message}`, evidence, next, { code: err.code, data });
  }
  if (proxies.seen.length)
    return outcome(
      'warn',
      `handshake ok (protocol ${p.negotiated}), but the gateway's answers pass through a proxy`,
      evidence,
      ['If handshakes fail intermittently, connect to the gateway directly.'],
      { code: 'AGENT_BEHIND_PROXY', data },
    );
  return outcome(
    'pass',
    `OpenClaw gateway ${p.gatewayVersion} accepted protocol ${p.negotiated} (we offer ${range(p.offered?.min, p.offered?.max)})`,
    evidence,
    [],
    { data },
  );
}

/** hello-ok carries ~500 method names: keep the frame's shape, not its lists. */
function summarizeFrame(frame: unknown): unknown {
  const f = obj(frame);
  const payload = obj(f.payload);
  if (payload.type !== 'hello-ok') return frame;
  const { features: _f, snapshot: _s, ...rest } = payload;
  return { ...f, payload: rest };
}

export const agentCheck: Check<AgentCheckOptions> = {
  id: 'agent.handshake',
  title: 'Agent handshake (OpenClaw gateway)',
  symptom: 'protocol version mismatch',
  run: checkAgent,
};
