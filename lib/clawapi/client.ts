/**
 * The claw-api client (docs/claw-api.yaml) on the project's one transport (lib/http):
 * - `register` POST /v1/nodes with an Idempotency-Key, so the transport may retry it (it is also
 *   idempotent on the node id by contract): 201 first time, 200 after;
 * - `heartbeat` PUT /v1/nodes/{id}/heartbeat: 204, or `unknown` on 404 (the caller re-registers);
 * - `deregister` DELETE /v1/nodes/{id}: 204, or `unknown` on 404 (nothing to remove);
 * - `metadata` GET /.well-known/oauth-protected-resource (the audience and scopes the claw-api wants).
 *
 * Every refusal (401, 403, 400 with a Bearer challenge) runs the ordered diagnosis (diagnose.ts) and
 * throws CLAW_API_UNAUTHORIZED with `details.cause`. With client credentials, a 401 first drops the
 * cached token and tries once more with a new one. A token whose header would be malformed is never
 * sent: the diagnosis reports it at once.
 */
import type { HttpClient, HttpMethod, HttpResponse } from '../http/types.js';
import type { Logger } from '../log/index.js';
import { logger as defaultLogger, safeUrl } from '../log/index.js';
import { checkToken, diagnoseAuthFailure, parseWwwAuthenticate, scrubToken, type Diagnosis } from './diagnose.js';
import { badResponse, rejected, unauthorized, unavailable, type ProblemSummary } from './errors.js';
import { functionTokenSource, staticTokenSource, type TokenSource } from './token.js';
import {
  NODES_WRITE_SCOPE,
  NodeSchema,
  ProtectedResourceMetadataSchema,
  type Node,
  type NodeRegistration,
  type ProtectedResourceMetadata,
} from './types.js';

export interface ClawApiClientOptions {
  /** Base URL of the claw-api. */
  url: string;
  token: TokenSource | string | (() => Promise<string>);
  http: HttpClient;
  /** Expected `aud`; default the `resource` of the claw-api's protected resource metadata. */
  audience?: string | undefined;
  /** Scopes the diagnosis checks for (default nodes:write). */
  requiredScopes?: readonly string[] | undefined;
  /** Per-attempt timeout, ms (default 10 000). */
  timeoutMs?: number | undefined;
  logger?: Logger | undefined;
  now?: (() => number) | undefined;
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
  /** Overall deadline of the call, ms. */
  deadlineMs?: number | undefined;
}

export interface RegisterResult {
  /** true on 201 (first registration), false on 200 (already registered). */
  created: boolean;
  status: number;
  node: Node;
}

export interface ClawApiClient {
  readonly url: string;
  readonly tokenSource: TokenSource;
  register(node: NodeRegistration, o?: CallOptions): Promise<RegisterResult>;
  heartbeat(id: string, o?: CallOptions): Promise<'ok' | 'unknown'>;
  deregister(id: string, o?: CallOptions): Promise<'deleted' | 'unknown'>;
  getNode(id: string, o?: CallOptions): Promise<Node | undefined>;
  metadata(o?: CallOptions): Promise<ProtectedResourceMetadata | undefined>;
}

function toSource(t: ClawApiClientOptions['token']): TokenSource {
  if (typeof t === 'string') return staticTokenSource(t);
  if (typeof t === 'function') return functionTokenSource(t);
  return t;
}

/** A refusal the diagnosis handles: 401, 403, or 400 carrying a Bearer challenge (RFC 6750 §3.1). */
export function isAuthRefusal(res: { status: number; headers: Record<string, string> }): boolean {
  if (res.status === 401 || res.status === 403) return true;
  return (
    res.status === 400 &&
    parseWwwAuthenticate(res.headers['www-authenticate']).some((c) => c.scheme.toLowerCase() === 'bearer')
  );
}

function problemOf(body: unknown, token: string | undefined): ProblemSummary {
  if (!body || typeof body !== 'object') return {};
  const b = body as Record<string, unknown>;
  const s = (v: unknown): string | undefined =>
    typeof v === 'string' ? scrubToken(v, token).slice(0, 300) : undefined;
  const errors = Array.isArray(b.errors)
    ? b.errors
        .filter((e): e is Record<string, unknown> => !!e && typeof e === 'object')
        .slice(0, 20)
        .map((e) => ({ where: s(e.where) ?? '?', message: s(e.message) ?? '?' }))
    : undefined;
  return { title: s(b.title), detail: s(b.detail), errors };
}

export function createClawApiClient(o: ClawApiClientOptions): ClawApiClient {
  const base = o.url.replace(/\/+$/, '');
  const source = toSource(o.token);
  const log = (o.logger ?? defaultLogger).child({ component: 'clawapi' });
  const now = o.now ?? Date.now;
  const required = o.requiredScopes?.length ? [...o.requiredScopes] : [NODES_WRITE_SCOPE];
  let metadataCache: ProtectedResourceMetadata | undefined;

  async function diagnose(
    res: HttpResponse,
    authorization: string | undefined,
    token: string | undefined,
    c: CallOptions,
  ): Promise<Diagnosis> {
    let audience = o.audience;
    if (!audience) audience = (await metadata(c).catch(() => undefined))?.resource;
    const detail = problemOf(res.body, token).detail;
    return diagnoseAuthFailure({
      status: res.status,
      authorization,
      wwwAuthenticate: res.headers['www-authenticate'],
      serverDate: res.headers.date,
      problemDetail: detail,
      now: now(),
      expectedAudience: audience,
      requiredScopes: required,
      clientId: source.clientId,
      tokenOrigin: source.origin,
    });
  }

  async function call(
    what: string,
    method: HttpMethod,
    path: string,
    endpoint: string,
    c: CallOptions,
    extra: { body?: unknown; idempotencyKey?: true } = {},
  ): Promise<HttpResponse> {
    for (let attempt = 1; ; attempt++) {
      const token = await source.token();
      const shape = checkToken(token);
      if (!shape.ok) {
        const d = diagnoseAuthFailure({ authorization: `Bearer ${token}`, now: now(), tokenOrigin: source.origin });
        throw unauthorized(d, { operation: what });
      }
      const authorization = `Bearer ${token}`;
      const res = await o.http.request({
        method,
        url: `${base}${path}`,
        headers: { authorization, accept: 'application/json, application/problem+json' },
        ...(extra.body !== undefined ? { body: extra.body } : {}),
        ...(extra.idempotencyKey ? { idempotencyKey: true as const } : {}),
        timeoutMs: o.timeoutMs ?? 10_000,
        ...(c.deadlineMs !== undefined ? { deadlineMs: c.deadlineMs } : {}),
        ...(c.signal ? { signal: c.signal } : {}),
        endpoint,
      });
      if (!isAuthRefusal(res)) return res;
      if (attempt === 1 && res.status === 401 && source.invalidate(token)) {
        log.info(
          { endpoint, status: res.status },
          'claw-api refused the cached token; fetching a new one and trying once more',
        );
        continue;
      }
      const d = await diagnose(res, authorization, token, c);
      log.warn({ endpoint, status: res.status, cause: d.cause, evidence: d.evidence }, d.message);
      throw unauthorized(d, {
        operation: what,
        status: res.status,
        ...(res.requestId ? { requestId: res.requestId } : {}),
      });
    }
  }

  function fail(what: string, res: HttpResponse): never {
    if (res.status >= 400 && res.status < 500 && res.status !== 404)
      throw rejected(what, res.status, problemOf(res.body, undefined));
    throw unavailable(what, res.status, res.requestId);
  }

  async function metadata(c: CallOptions = {}): Promise<ProtectedResourceMetadata | undefined> {
    if (metadataCache) return metadataCache;
    const res = await o.http.request({
      method: 'GET',
      url: `${base}/.well-known/oauth-protected-resource`,
      headers: { accept: 'application/json' },
      timeoutMs: o.timeoutMs ?? 10_000,
      ...(c.signal ? { signal: c.signal } : {}),
      endpoint: 'clawapi.metadata',
    });
    if (res.status !== 200) return undefined;
    const parsed = ProtectedResourceMetadataSchema.safeParse(res.body);
    if (!parsed.success) return undefined;
    metadataCache = parsed.data;
    return parsed.data;
  }

  function nodeBody(what: string, res: HttpResponse): Node {
    const parsed = NodeSchema.safeParse(res.body);
    if (!parsed.success)
      throw badResponse(
        what,
        res.status,
        parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
      );
    return parsed.data;
  }

  const nodePath = (id: string): string => `/v1/nodes/${encodeURIComponent(id)}`;

  return {
    url: base,
    tokenSource: source,
    async register(node, c = {}) {
      const what = `the registration of node ${node.id}`;
      const res = await call(what, 'POST', '/v1/nodes', 'clawapi.nodes.register', c, {
        body: node,
        idempotencyKey: true,
      });
      if (res.status !== 201 && res.status !== 200) fail(what, res);
      const out = nodeBody(what, res);
      log.info(
        { url: safeUrl(base), nodeId: node.id, status: res.status },
        res.status === 201 ? 'claw-api: node registered' : 'claw-api: node registration refreshed',
      );
      return { created: res.status === 201, status: res.status, node: out };
    },
    async heartbeat(id, c = {}) {
      const what = `the heartbeat of node ${id}`;
      const res = await call(what, 'PUT', `${nodePath(id)}/heartbeat`, 'clawapi.nodes.heartbeat', c);
      if (res.status === 204) return 'ok';
      if (res.status === 404) return 'unknown';
      return fail(what, res);
    },
    async deregister(id, c = {}) {
      const what = `the deregistration of node ${id}`;
      const res = await call(what, 'DELETE', nodePath(id), 'clawapi.nodes.deregister', c);
      if (res.status === 204) return 'deleted';
      if (res.status === 404) return 'unknown';
      return fail(what, res);
    },
    async getNode(id, c = {}) {
      const what = `the lookup of node ${id}`;
      const res = await call(what, 'GET', nodePath(id), 'clawapi.nodes.get', c);
      if (res.status === 404) return undefined;
      if (res.status !== 200) fail(what, res);
      return nodeBody(what, res);
    },
    metadata,
  };
}
