/**
 * `probeRegistration`: what `claw-byterover doctor` runs for "401 from claw-api". It makes ONE real
 * registration call (POST /v1/nodes is idempotent on the node id): with the node's own id when given
 * (the registration is refreshed, nothing else changes), else with a probe node that it deletes
 * right after a success. A refusal is explained by the ordered diagnosis (diagnose.ts). No field of
 * the result ever holds the token.
 */
import { hostname } from 'node:os';
import { createHash } from 'node:crypto';
import { isClawError } from '../errors.js';
import { createHttpClient } from '../http/client.js';
import type { HttpClient } from '../http/types.js';
import type { Logger } from '../log/index.js';
import { redactString, safeUrl } from '../log/redact.js';
import { createClawApiClient } from './client.js';
import { scrubToken, type Evidence } from './diagnose.js';
import type { NodeRegistration } from './types.js';

export interface ProbeOptions {
  url: string;
  token: string | (() => Promise<string>);
  node?: NodeRegistration;
  audience?: string;
  requiredScopes?: string[];
  http?: HttpClient;
  now?: () => number;
  /** Where the client logs (default lib/log's logger). */
  logger?: Logger;
  /**
   * Bound of each call (the registration, then the probe node's deletion) across its attempts, ms
   * (default 10 000): a claw-api that accepts connections and never answers fails the probe with
   * HTTP_TIMEOUT / HTTP_DEADLINE_EXCEEDED instead of holding doctor through every retry.
   */
  timeoutMs?: number;
}

export const PROBE_TIMEOUT_MS = 10_000;

export interface RegistrationProbe {
  ok: boolean;
  status?: number;
  /** Diagnosis cause id (header_shape, server_error, header_missing, expired, clock_skew, id_token, token_type, audience, scope, unknown). */
  cause?: string;
  code: string;
  message: string;
  hint: string;
  evidence: Record<string, string | number | boolean>;
  /** The diagnosis checks in order (id, outcome, note), when a refusal was diagnosed. */
  checks?: Array<{ id: string; outcome: string; note: string }>;
}

/** The probe node: a stable id per host, so repeated doctor runs touch one record. */
export function probeNode(): NodeRegistration {
  const h = createHash('sha256').update(hostname()).digest('hex').slice(0, 12);
  return {
    id: `doctor-probe-${h}`,
    name: 'claw-byterover doctor probe',
    version: '0.0.0',
    capabilities: [],
    protocol: { min: 1, max: 1 },
    endpoints: [],
  };
}

export async function probeRegistration(opts: ProbeOptions): Promise<RegistrationProbe> {
  const ownHttp = opts.http ? undefined : createHttpClient(opts.logger ? { logger: opts.logger } : {});
  const http = opts.http ?? (ownHttp as HttpClient);
  let token: string | undefined;
  const tokenFn = async (): Promise<string> => {
    token = typeof opts.token === 'string' ? opts.token : await opts.token();
    return token;
  };
  const client = createClawApiClient({
    url: opts.url,
    token: tokenFn,
    http,
    audience: opts.audience,
    requiredScopes: opts.requiredScopes,
    timeoutMs: opts.timeoutMs ?? PROBE_TIMEOUT_MS,
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  const node = opts.node ?? probeNode();
  const scrub = (s: string): string => scrubToken(redactString(s), token);
  const base: Evidence = { url: safeUrl(opts.url), nodeId: node.id, probeNode: opts.node === undefined };
  try {
    const bound = { deadlineMs: opts.timeoutMs ?? PROBE_TIMEOUT_MS };
    const r = await client.register(node, bound);
    const evidence: Evidence = {
      ...base,
      status: r.status,
      created: r.created,
      heartbeatIntervalSeconds: r.node.heartbeatIntervalSeconds,
    };
    let cleanup = '';
    if (!opts.node) {
      try {
        evidence.probeDeleted = (await client.deregister(node.id, bound)) === 'deleted';
      } catch (e) {
        evidence.probeDeleted = false;
        cleanup = ` (the probe node could not be deleted: ${scrub(e instanceof Error ? e.message : String(e))})`;
      }
    }
    return {
      ok: true,
      status: r.status,
      code: 'CLAW_API_REGISTERED',
      message: `claw-api accepted the registration of node ${node.id} (${r.status === 201 ? '201 created' : '200 already registered'})${cleanup}.`,
      hint: '',
      evidence,
    };
  } catch (e) {
    if (isClawError(e)) {
      const d = e.details ?? {};
      const evidence: Evidence = { ...base };
      for (const [k, v] of Object.entries((d.evidence as Evidence | undefined) ?? {})) {
        evidence[k] = typeof v === 'string' ? scrub(v) : v;
      }
      const status = typeof d.status === 'number' ? d.status : undefined;
      const checks = Array.isArray(d.checks)
        ? (d.checks as Array<{ id: string; outcome: string; note: string }>).map((c) => ({ ...c, note: scrub(c.note) }))
        : undefined;
      return {
        ok: false,
        ...(status !== undefined ? { status } : {}),
        ...(typeof d.cause === 'string' ? { cause: d.cause } : {}),
        code: e.code,
        message: scrub(e.message),
        hint: scrub(e.hint ?? ''),
        evidence,
        ...(checks ? { checks } : {}),
      };
    }
    return {
      ok: false,
      code: 'CLAW_API_UNEXPECTED',
      message: scrub(e instanceof Error ? e.message : String(e)),
      hint: 'run with CLAW_BYTEROVER_LOG_LEVEL=debug for the request log',
      evidence: base,
    };
  } finally {
    await ownHttp?.close().catch(() => undefined);
  }
}
