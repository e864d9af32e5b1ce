/**
 * A stand-in claw-api (node:http on 127.0.0.1, port 0) that implements docs/claw-api.yaml and is
 * driven by it: every request is matched to an operation of the document and its path and header
 * parameters and body are validated against the document's schemas with Ajv (JSON Schema 2020-12,
 * OpenAPI 3.1's dialect); every response it produces is validated the same way (status listed for
 * the operation, content type, body schema, required headers) and a mismatch is recorded in
 * `contractViolations` and answered 500, so tests notice.
 *
 * Authentication is the contract's, for real: JWT access tokens (RFC 9068) verified with jose
 * against the JWKS of a real oidc-provider (issuer, audience, `typ: at+jwt`, exp/nbf on the
 * stand-in's clock, required claims), then scopes; RFC 6750 challenges (no credentials → 401 without
 * error; malformed header → 400 invalid_request; bad token → 401 invalid_token with a description;
 * missing scope → 403 insufficient_scope). Its clock can be shifted (`setClockOffset`) to play a
 * server whose clock is off; the `Date` header follows it.
 *
 * Nodes: idempotent registration on id (201 then 200), owner = the token's `client_id` (409 for
 * another client), lease of `ttlSeconds` extended by heartbeats, `forget(id)` drops one (as a claw-api
 * restart would). Every request is recorded (never the token).
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { parse as parseYaml } from 'yaml';

export const CONTRACT_PATH = fileURLToPath(new URL('../../docs/claw-api.yaml', import.meta.url));
const SCHEMAS_ID = 'https://claw-api.invalid/schemas';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

type Json = Record<string, unknown>;

export interface ClawApiStandinOptions {
  /** The issuer whose tokens are trusted (`iss`). */
  issuer: string;
  /** Its JWKS (fetched over HTTP, as a resource server does). */
  jwksUri: string;
  /** This claw-api's resource identifier: the `aud` tokens must carry. */
  audience: string;
  /** How long a node lives without a heartbeat (default 90 s). */
  ttlSeconds?: number;
  /** The heartbeat period the stand-in suggests (default 30 s). */
  heartbeatIntervalSeconds?: number;
  /** Shift of the stand-in's clock, seconds (positive = ahead). */
  clockOffsetSeconds?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  operationId: string | undefined;
  status: number;
  /** What the Authorization header held: none, a well-formed Bearer credential, or something else. */
  auth: 'none' | 'bearer' | 'malformed' | 'other-scheme';
  /** `client_id` of an accepted token. */
  clientId: string | undefined;
  idempotencyKey: string | undefined;
  body: unknown;
  /** RFC 6750 error or contract error the stand-in answered with. */
  error: string | undefined;
  /** The contract violations found in the request (validation errors), if any. */
  violations: string[];
}

export interface StoredNode {
  node: Json;
  clientId: string;
  expiresAtMs: number;
}

export interface ClawApiStandin {
  readonly url: string;
  readonly audience: string;
  readonly requests: RecordedRequest[];
  readonly nodes: Map<string, StoredNode>;
  /** Responses the stand-in produced that the document does not allow (must stay empty). */
  readonly contractViolations: string[];
  setClockOffset(seconds: number): void;
  /** Drops a node, as a claw-api that lost its state would. */
  forget(id: string): boolean;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// the document

interface Operation {
  method: string;
  template: string;
  re: RegExp;
  paramNames: string[];
  op: Json;
  params: Json[];
}

function pointer(doc: Json, ref: string): Json {
  if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${ref}`);
  let cur: unknown = doc;
  for (const part of ref.slice(2).split('/')) cur = (cur as Json)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  if (!cur || typeof cur !== 'object') throw new Error(`dangling $ref ${ref}`);
  return cur as Json;
}

/** Resolves a non-schema `$ref` (parameters, responses, headers), repeatedly. */
function resolve(doc: Json, v: Json): Json {
  let cur = v;
  for (let i = 0; i < 10 && typeof cur.$ref === 'string' && !String(cur.$ref).startsWith(SCHEMAS_ID); i++)
    cur = pointer(doc, cur.$ref as string);
  return cur;
}

export interface Contract {
  doc: Json;
  operations: Operation[];
  validator(schema: Json): ValidateFunction;
}

export function loadContract(path = CONTRACT_PATH): Contract {
  const raw = parseYaml(readFileSync(path, 'utf8')) as Json;
  // Schema references point into one Ajv schema holding components.schemas as $defs.
  const doc = JSON.parse(JSON.stringify(raw).replaceAll('"#/components/schemas/', `"${SCHEMAS_ID}#/$defs/`)) as Json;
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  ajv.addSchema({ $id: SCHEMAS_ID, $defs: (doc.components as Json).schemas as Json });
  const cache = new WeakMap<Json, ValidateFunction>();
  const validator = (schema: Json): ValidateFunction => {
    let f = cache.get(schema);
    if (!f) {
      f = ajv.compile(schema);
      cache.set(schema, f);
    }
    return f;
  };
  const operations: Operation[] = [];
  for (const [template, item] of Object.entries(doc.paths as Record<string, Json>)) {
    const paramNames: string[] = [];
    const re = new RegExp(
      `^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{([^}]+)\\?\}/g, (_m, name: string) => {
        paramNames.push(name);
        return '([^/]+)';
      })}$`,
    );
    const shared = ((item.parameters as Json[] | undefined) ?? []).map((p) => resolve(doc, p));
    for (const method of ['get', 'put', 'post', 'delete', 'patch']) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      const own = ((op.parameters as Json[] | undefined) ?? []).map((p) => resolve(doc, p));
      operations.push({ method: method.toUpperCase(), template, re, paramNames, op, params: [...shared, ...own] });
    }
  }
  return { doc, operations, validator };
}

function ajvMessages(where: string, errs: ErrorObject[] | null | undefined): Array<{ where: string; message: string }> {
  return (errs ?? []).map((e) => ({
    where: `${where}${e.instancePath}`,
    message: `${e.message ?? e.keyword}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`,
  }));
}

// ---------------------------------------------------------------------------------------------
// the server

const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** JSON body (problem+json for >= 400). */
  body?: unknown;
}

class HttpProblem {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extra: {
      error?: string;
      errors?: Array<{ where: string; message: string }>;
      headers?: Record<string, string>;
    } = {},
  ) {}
}

function readBody(req: IncomingMessage, limit = 256 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new HttpProblem(413, 'Payload Too Large', `the body exceeds ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export async function startClawApiStandin(o: ClawApiStandinOptions): Promise<ClawApiStandin> {
  const contract = loadContract();
  const jwks = createRemoteJWKSet(new URL(o.jwksUri));
  const ttl = o.ttlSeconds ?? 90;
  const interval = o.heartbeatIntervalSeconds ?? 30;
  let offsetMs = (o.clockOffsetSeconds ?? 0) * 1000;
  const now = (): number => Date.now() + offsetMs;
  const requests: RecordedRequest[] = [];
  const nodes = new Map<string, StoredNode>();
  const contractViolations: string[] = [];
  let url = '';

  const metadataUrl = (): string => `${url}/.well-known/oauth-protected-resource`;

  function challenge(scope: string, error?: string, description?: string): string {
    const parts = [`realm="claw-api"`, `scope="${scope}"`, `resource_metadata="${metadataUrl()}"`];
    if (error) parts.push(`error="${error}"`);
    if (description) parts.push(`error_description="${description.replace(/["\\]/g, "'")}"`);
    return `Bearer ${parts.join(', ')}`;
  }

  /** RFC 6750 §2.1 + §3.1, then RFC 9068 §4 validation. Returns the token's claims. */
  async function authenticate(
    req: IncomingMessage,
    requiredScopes: string[],
  ): Promise<{ claims: JWTPayload; rec: Pick<RecordedRequest, 'auth'> }> {
    const scope = requiredScopes.join(' ');
    const values = req.headersDistinct.authorization ?? [];
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    if (query.has('access_token')) {
      throw new HttpProblem(
        400,
        'Bad Request',
        'the access token must be sent in the Authorization header, not the query',
        {
          error: 'invalid_request',
          headers: { 'www-authenticate': challenge(scope, 'invalid_request', 'token in the query string') },
        },
      );
    }
    if (values.length === 0) {
      throw Object.assign(
        new HttpProblem(401, 'Unauthorized', 'the request carries no credentials', {
          headers: { 'www-authenticate': challenge(scope) },
        }),
        { auth: 'none' },
      );
    }
    if (values.length > 1) {
      throw new HttpProblem(400, 'Bad Request', 'more than one Authorization header', {
        error: 'invalid_request',
        headers: { 'www-authenticate': challenge(scope, 'invalid_request', 'more than one Authorization header') },
      });
    }
    const value = values[0] as string;
    const sp = value.indexOf(' ');
    const scheme = sp < 0 ? value : value.slice(0, sp);
    if (scheme.toLowerCase() !== 'bearer') {
      throw Object.assign(
        new HttpProblem(401, 'Unauthorized', 'no Bearer credentials', {
          headers: { 'www-authenticate': challenge(scope) },
        }),
        { auth: 'other-scheme' },
      );
    }
    const token = sp < 0 ? '' : value.slice(sp + 1);
    if (scheme !== 'Bearer' || !B64TOKEN.test(token)) {
      throw Object.assign(
        new HttpProblem(400, 'Bad Request', 'the Authorization header is not "Bearer <token>" (RFC 6750 section 2.1)', {
          error: 'invalid_request',
          headers: { 'www-authenticate': challenge(scope, 'invalid_request', 'malformed Authorization header') },
        }),
        { auth: 'malformed' },
      );
    }
    const invalid = (description: string): HttpProblem =>
      new HttpProblem(401, 'Unauthorized', description, {
        error: 'invalid_token',
        headers: { 'www-authenticate': challenge(scope, 'invalid_token', description) },
      });
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, jwks, {
        issuer: o.issuer,
        audience: o.audience,
        typ: 'at+jwt',
        currentDate: new Date(now()),
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id'],
      }));
    } catch (e) {
      throw Object.assign(invalid(describeJoseError(e, o)), { auth: 'bearer' });
    }
    const have = new Set(typeof claims.scope === 'string' ? claims.scope.split(' ') : []);
    const ok = requiredScopes.every((s) => have.has(s) || (s === 'nodes:read' && have.has('nodes:write')));
    if (!ok) {
      throw Object.assign(
        new HttpProblem(403, 'Forbidden', `the token lacks the scope ${scope}`, {
          error: 'insufficient_scope',
          headers: { 'www-authenticate': challenge(scope, 'insufficient_scope', `requires ${scope}`) },
        }),
        { auth: 'bearer' },
      );
    }
    return { claims, rec: { auth: 'bearer' } };
  }

  function nodeView(s: StoredNode): Json {
    return { ...s.node, expiresAt: isoSeconds(s.expiresAtMs) };
  }

  function live(id: string): StoredNode | undefined {
    const s = nodes.get(id);
    if (s && s.expiresAtMs <= now()) {
      nodes.delete(id);
      return undefined;
    }
    return s;
  }

  function owned(id: string, clientId: string): StoredNode {
    const s = live(id);
    if (!s) throw new HttpProblem(404, 'Not Found', `no node ${id}`);
    if (s.clientId !== clientId) throw new HttpProblem(409, 'Conflict', `node ${id} is registered by another client`);
    return s;
  }

  function handle(opId: string, params: Record<string, string>, body: unknown, claims: JWTPayload | undefined): Reply {
    const clientId = String(claims?.client_id ?? '');
    switch (opId) {
      case 'getProtectedResourceMetadata':
        return {
          status: 200,
          body: {
            resource: o.audience,
            authorization_servers: [o.issuer],
            scopes_supported: ['nodes:write', 'nodes:read'],
            bearer_methods_supported: ['header'],
            resource_name: 'claw-api stand-in',
          },
        };
      case 'registerNode': {
        const reg = body as Json & { id: string; protocol: { min: number; max: number } };
        if (reg.protocol.min > reg.protocol.max) {
          throw new HttpProblem(
            422,
            'Unprocessable Content',
            `protocol.min (${reg.protocol.min}) is greater than protocol.max (${reg.protocol.max})`,
            {
              errors: [{ where: 'body/protocol', message: 'min must not exceed max' }],
            },
          );
        }
        const existing = live(reg.id);
        if (existing && existing.clientId !== clientId)
          throw new HttpProblem(409, 'Conflict', `node ${reg.id} is registered by another client`);
        const t = now();
        const stored: StoredNode = {
          clientId,
          expiresAtMs: t + ttl * 1000,
          node: {
            ...reg,
            clientId,
            registeredAt: existing ? existing.node.registeredAt : isoSeconds(t),
            lastHeartbeatAt: isoSeconds(t),
            ttlSeconds: ttl,
            heartbeatIntervalSeconds: interval,
          },
        };
        nodes.set(reg.id, stored);
        return existing
          ? { status: 200, body: nodeView(stored) }
          : { status: 201, body: nodeView(stored), headers: { location: `/v1/nodes/${encodeURIComponent(reg.id)}` } };
      }
      case 'getNode':
        return { status: 200, body: nodeView(owned(params.id as string, clientId)) };
      case 'heartbeatNode': {
        const s = owned(params.id as string, clientId);
        s.expiresAtMs = now() + ttl * 1000;
        s.node.lastHeartbeatAt = isoSeconds(now());
        return { status: 204 };
      }
      case 'deregisterNode':
        owned(params.id as string, clientId);
        nodes.delete(params.id as string);
        return { status: 204 };
      default:
        throw new HttpProblem(501, 'Not Implemented', `operation ${opId}`);
    }
  }

  /** Checks a reply against the operation's documented responses. */
  function checkReply(op: Operation | undefined, reply: Reply, contentType: string | undefined): string[] {
    if (!op) return [];
    const responses = op.op.responses as Record<string, Json>;
    const declared = responses[String(reply.status)] ?? responses[`${String(reply.status)[0]}XX`] ?? responses.default;
    const where = `${op.method} ${op.template} ${reply.status}`;
    if (!declared) return [`${where}: status not documented`];
    const res = resolve(contract.doc, declared);
    const out: string[] = [];
    for (const [name, h] of Object.entries((res.headers as Record<string, Json> | undefined) ?? {})) {
      const header = resolve(contract.doc, h);
      const value = reply.headers?.[name.toLowerCase()];
      if (value === undefined) {
        if (header.required) out.push(`${where}: required header ${name} missing`);
        continue;
      }
      const f = contract.validator(header.schema as Json);
      if (!f(value))
        out.push(...ajvMessages(`${where} header ${name}`, f.errors).map((e) => `${e.where}: ${e.message}`));
    }
    const content = res.content as Record<string, Json> | undefined;
    if (!content) {
      if (reply.body !== undefined) out.push(`${where}: a body where the document has none`);
      return out;
    }
    const media = content[contentType ?? ''];
    if (!media)
      return [...out, `${where}: content type ${contentType} not documented (${Object.keys(content).join(', ')})`];
    const f = contract.validator(media.schema as Json);
    if (!f(reply.body)) out.push(...ajvMessages(`${where} body`, f.errors).map((e) => `${e.where}: ${e.message}`));
    return out;
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    const rec: RecordedRequest = {
      method: req.method ?? '',
      path: u.pathname,
      operationId: undefined,
      status: 0,
      auth: req.headers.authorization === undefined ? 'none' : 'malformed',
      clientId: undefined,
      idempotencyKey: req.headers['idempotency-key'] as string | undefined,
      body: undefined,
      error: undefined,
      violations: [],
    };
    requests.push(rec);
    let op: Operation | undefined;
    let reply: Reply;
    try {
      const matching = contract.operations.filter((x) => x.re.test(u.pathname));
      if (matching.length === 0) throw new HttpProblem(404, 'Not Found', `no route ${u.pathname}`);
      op = matching.find((x) => x.method === req.method);
      if (!op) throw new HttpProblem(405, 'Method Not Allowed', `${req.method} is not allowed on ${u.pathname}`);
      rec.operationId = op.op.operationId as string;
      const m = op.re.exec(u.pathname) as RegExpExecArray;
      const params: Record<string, string> = {};
      op.paramNames.forEach((n, i) => {
        params[n] = decodeURIComponent(m[i + 1] as string);
      });
      // security (operation's, else the document's)
      const security = (op.op.security ?? contract.doc.security) as Array<Record<string, string[]>>;
      let claims: JWTPayload | undefined;
      if (security.length > 0) {
        const required = Object.values(security[0] as Record<string, string[]>)[0] ?? [];
        try {
          const a = await authenticate(req, required);
          claims = a.claims;
          rec.auth = a.rec.auth;
          rec.clientId = typeof claims.client_id === 'string' ? claims.client_id : undefined;
        } catch (e) {
          const auth = (e as { auth?: RecordedRequest['auth'] }).auth;
          if (auth) rec.auth = auth;
          throw e;
        }
      }
      // parameters
      const errors: Array<{ where: string; message: string }> = [];
      for (const p of op.params) {
        const name = p.name as string;
        const value =
          p.in === 'path'
            ? params[name]
            : p.in === 'header'
              ? req.headers[name.toLowerCase()]
              : (u.searchParams.get(name) ?? undefined);
        if (value === undefined) {
          if (p.required) errors.push({ where: `${p.in}/${name}`, message: 'is required' });
          continue;
        }
        const f = contract.validator(p.schema as Json);
        if (!f(value)) errors.push(...ajvMessages(`${p.in}/${name}`, f.errors));
      }
      // body
      let body: unknown;
      const rb = op.op.requestBody ? resolve(contract.doc, op.op.requestBody as Json) : undefined;
      const raw = await readBody(req);
      if (rb) {
        const ct = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
        const media = (rb.content as Record<string, Json>)[ct];
        if (!media)
          throw new HttpProblem(
            415,
            'Unsupported Media Type',
            `expected one of ${Object.keys(rb.content as Json).join(', ')}, found "${ct}"`,
          );
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          throw new HttpProblem(400, 'Bad Request', 'the body is not valid JSON', {
            errors: [{ where: 'body', message: 'invalid JSON' }],
          });
        }
        rec.body = body;
        const f = contract.validator(media.schema as Json);
        if (!f(body)) errors.push(...ajvMessages('body', f.errors));
      } else if (raw.length > 0) {
        errors.push({ where: 'body', message: 'this operation takes no body' });
      }
      if (errors.length) {
        rec.violations = errors.map((e) => `${e.where}: ${e.message}`);
        throw new HttpProblem(400, 'Bad Request', 'the request does not match docs/claw-api.yaml', { errors });
      }
      reply = handle(rec.operationId, params, body, claims);
    } catch (e) {
      if (!(e instanceof HttpProblem)) {
        reply = {
          status: 500,
          body: { type: 'about:blank', title: 'Internal Server Error', status: 500, detail: (e as Error).message },
        };
      } else {
        rec.error = e.extra.error ?? (e.status === 400 && e.extra.errors ? 'contract' : undefined);
        reply = {
          status: e.status,
          headers: e.extra.headers ?? {},
          body: {
            type: 'about:blank',
            title: e.title,
            status: e.status,
            detail: e.detail,
            ...(e.extra.error ? { error: e.extra.error } : {}),
            ...(e.extra.errors ? { errors: e.extra.errors } : {}),
          },
        };
      }
    }
    const headers: Record<string, string> = { ...(reply.headers ?? {}), date: new Date(now()).toUTCString() };
    reply = { ...reply, headers };
    const contentType =
      reply.body === undefined ? undefined : reply.status >= 400 ? 'application/problem+json' : 'application/json';
    const violations = reply.status === 500 ? [] : checkReply(op, reply, contentType);
    if (violations.length) {
      contractViolations.push(...violations);
      reply = {
        status: 500,
        body: {
          type: 'about:blank',
          title: 'Internal Server Error',
          status: 500,
          detail: 'the stand-in produced a response the contract does not allow',
        },
      };
    }
    rec.status = reply.status;
    if (reply.body === undefined) {
      res.writeHead(reply.status, headers).end();
    } else {
      const text = JSON.stringify(reply.body);
      res
        .writeHead(reply.status, {
          ...headers,
          'content-type': reply.status >= 400 ? 'application/problem+json' : 'application/json',
          'content-length': String(Buffer.byteLength(text)),
        })
        .end(text);
    }
  }

  const server = createServer((req, res) => {
    serve(req, res).catch((e: unknown) => {
      contractViolations.push(`stand-in crashed: ${(e as Error).message}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    get url() {
      return url;
    },
    audience: o.audience,
    requests,
    nodes,
    contractViolations,
    setClockOffset(seconds) {
      offsetMs = seconds * 1000;
    },
    forget: (id) => nodes.delete(id),
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** The RFC 6750 error_description for a refused JWT (never the token). */
function describeJoseError(e: unknown, o: ClawApiStandinOptions): string {
  if (e instanceof joseErrors.JWTExpired) {
    const exp = typeof e.payload.exp === 'number' ? isoSeconds(e.payload.exp * 1000) : 'unknown';
    return `the access token expired (exp ${exp})`;
  }
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    switch (e.claim) {
      case 'typ':
        return 'the token is not an access token (typ must be at+jwt)';
      case 'aud':
        return `the token audience is not this claw-api (expected ${o.audience})`;
      case 'iss':
        return 'the token issuer is not trusted';
      case 'nbf':
        return 'the access token is not yet valid (nbf)';
      default:
        return `the token claim ${e.claim} is missing or invalid`;
    }
  }
  if (e instanceof joseErrors.JWSSignatureVerificationFailed || e instanceof joseErrors.JWKSNoMatchingKey) {
    return 'the token signature does not verify with the trusted issuer keys';
  }
  return 'the token is not a JWT access token';
}
