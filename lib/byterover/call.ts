/**
 * One ByteRover API call over lib/http: session header, the 401 → onUnauthorized → retry-once rule,
 * error bodies → ByteRoverError, and response validation → BYTEROVER_BAD_RESPONSE.
 * Retries for 429/5xx/network failures happen inside lib/http (one policy for the whole process).
 */
import type { z } from 'zod';
import type { Logger } from 'pino';
import type { HttpClient, HttpMethod, HttpRequest, HttpResponse } from '../http/types.js';
import type { SessionProvider } from './auth/types.js';
import { isClawError } from '../errors.js';
import { registerSecret } from '../log/index.js';
import { type ByteRoverConfig, type ByteRoverService, serviceBaseUrl } from './config.js';
import { ByteRoverError, LOGIN_HINT, errorFromResponse, parseErrorBody, ByteRoverErrorCode } from './errors.js';
import { badResponse, parseResponse } from './schemas.js';

export const SESSION_HEADER = 'x-byterover-session-id';
export const API_KEY_HEADER = 'x-api-key';

export interface CallSpec<S extends z.ZodType> {
  service: ByteRoverService;
  method: HttpMethod;
  /** Path below the service base, starting with `/`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Stable label for logs and metrics, e.g. `iam.user.me`. */
  endpoint: string;
  /** What the caller was doing, for messages: "Listing teams". */
  what: string;
  schema: S;
  /**
   * Optional hand check of the common answer: returns exactly what `schema` would output, or
   * undefined to let `schema` decide (so every error, and its message, is zod's).
   */
  fast?: (body: unknown) => z.output<S> | undefined;
  /** One key per logical operation; lib/http reuses it on every attempt. */
  idempotencyKey?: string;
  signal?: AbortSignal;
  /**
   * `bytes`: a 2xx answer's body is handed over undecoded (a Uint8Array, for `fast` to pass on), so a
   * large answer can be parsed off the event loop; error answers are still read as JSON.
   */
  responseType?: 'bytes';
}

export interface CallResult<T> {
  data: T;
  status: number;
  requestId: string | undefined;
  /** Transport attempts of the final exchange (1 = no retry inside lib/http). */
  attempts: number;
}

export interface CallContext {
  http: HttpClient;
  config: ByteRoverConfig;
  logger: Logger;
  /** Session-authenticated services (IAM, CoGit, billing). */
  session?: SessionProvider;
  /** Legacy memories API key (x-api-key). */
  legacyApiKey?: string;
}

/** The transport request for one attempt of `spec`, authenticated by `header: value`. */
function requestOf(ctx: CallContext, spec: CallSpec<z.ZodType>, header: string, value: string): HttpRequest {
  const headers: Record<string, string> = { accept: 'application/json' };
  headers[header] = value;
  const req: HttpRequest = {
    method: spec.method,
    url: serviceBaseUrl(ctx.config, spec.service) + spec.path,
    headers,
    timeoutMs: ctx.config.timeouts[spec.service],
    endpoint: spec.endpoint,
  };
  if (spec.query !== undefined) req.query = spec.query;
  if (spec.body !== undefined) req.body = spec.body;
  if (spec.idempotencyKey) req.idempotencyKey = spec.idempotencyKey;
  if (spec.signal !== undefined) req.signal = spec.signal;
  if (spec.responseType !== undefined) req.responseType = spec.responseType;
  return req;
}

/** An error answer to a `bytes` call, read as JSON (or text) like any other call's. */
function errorBodyAsJson(spec: CallSpec<z.ZodType>, res: HttpResponse): HttpResponse {
  if (spec.responseType !== 'bytes' || (res.status >= 200 && res.status <= 299)) return res;
  if (!(res.body instanceof Uint8Array)) return res;
  const text = Buffer.from(res.body.buffer, res.body.byteOffset, res.body.byteLength).toString('utf8');
  try {
    return { ...res, body: text.length === 0 ? undefined : (JSON.parse(text) as unknown) };
  } catch {
    return { ...res, body: text };
  }
}

/** What a transport failure becomes: a 2xx whose body is not the JSON it announces is a bad response. */
function sendError(spec: CallSpec<z.ZodType>, e: unknown): unknown {
  if (isClawError(e, 'HTTP_INVALID_RESPONSE')) {
    const d = e.details ?? {};
    const status = typeof d.status === 'number' ? d.status : 200;
    const requestId = typeof d.requestId === 'string' ? d.requestId : undefined;
    return badResponse(
      { endpoint: spec.endpoint, what: spec.what, status, requestId },
      '(body)',
      'valid JSON',
      'malformed JSON',
      e,
    );
  }
  return e;
}

/** Sends one request; resolves with the raw response for any HTTP status. */
async function send(ctx: CallContext, spec: CallSpec<z.ZodType>, header: string, value: string): Promise<HttpResponse> {
  try {
    return errorBodyAsJson(spec, await ctx.http.request(requestOf(ctx, spec, header, value)));
  } catch (e) {
    throw sendError(spec, e);
  }
}

function unauthorized(spec: CallSpec<z.ZodType>, res: HttpResponse, why: string): ByteRoverError {
  const parsed = parseErrorBody(res.body);
  const base = errorFromResponse(res, spec.endpoint, spec.what);
  return new ByteRoverError(
    ByteRoverErrorCode.UNAUTHORIZED,
    `${spec.what}: ByteRover rejected the session (${spec.endpoint}, HTTP 401${parsed.code ? ` ${parsed.code}` : ''}); ${why}`,
    {
      status: 401,
      requestId: res.requestId,
      retryable: false,
      endpoint: spec.endpoint,
      hint: LOGIN_HINT,
      details: base.details,
    },
  );
}

/**
 * Calls a session-authenticated endpoint. On 401 it asks the SessionProvider once
 * (`onUnauthorized(rejectedKey)`); when that yields a new key the call is repeated once, otherwise
 * (or on a second 401) it fails with BYTEROVER_UNAUTHORIZED.
 */
export async function callWithSession<S extends z.ZodType>(
  ctx: CallContext,
  spec: CallSpec<S>,
): Promise<CallResult<z.output<S>>> {
  const session = ctx.session;
  if (!session) {
    throw new ByteRoverError(
      ByteRoverErrorCode.NO_SESSION,
      `${spec.what}: expected a session provider for ${spec.endpoint}, found none`,
      {
        hint: LOGIN_HINT,
        endpoint: spec.endpoint,
      },
    );
  }
  // Hot path: the key in memory (no promise), the request sent without a wrapper frame.
  let key = session.currentKey?.() ?? (await session.sessionKey(spec.signal));
  registerSecret(key);
  let res: HttpResponse;
  try {
    res = errorBodyAsJson(spec, await ctx.http.request(requestOf(ctx, spec, SESSION_HEADER, key)));
  } catch (e) {
    throw sendError(spec, e);
  }
  if (res.status === 401) {
    const renewed = session.onUnauthorized ? await session.onUnauthorized(key) : false;
    if (!renewed) throw unauthorized(spec, res, 'the credential could not be renewed');
    ctx.logger.debug({ endpoint: spec.endpoint }, 'session rejected; retrying once with a renewed session key');
    key = await session.sessionKey(spec.signal);
    registerSecret(key);
    res = await send(ctx, spec, SESSION_HEADER, key);
    if (res.status === 401) throw unauthorized(spec, res, 'it was rejected again after renewing the credential');
  }
  return finish(spec, res);
}

/** Calls the legacy memories API with `x-api-key` (no session key is sent to that host). */
export async function callWithApiKey<S extends z.ZodType>(
  ctx: CallContext,
  spec: CallSpec<S>,
): Promise<CallResult<z.output<S>>> {
  const apiKey = ctx.legacyApiKey;
  if (!apiKey) {
    throw new ByteRoverError(
      ByteRoverErrorCode.LEGACY_NOT_CONFIGURED,
      `${spec.what}: expected a legacy API key (option legacy.apiKey) for ${spec.endpoint}, found none`,
      {
        hint: 'Pass `legacy: { apiKey }` to createByteRoverClient (the key from the ByteRover web app).',
        endpoint: spec.endpoint,
      },
    );
  }
  const res = await send(ctx, spec, API_KEY_HEADER, apiKey);
  if (res.status === 401 || res.status === 403) {
    const base = errorFromResponse(res, spec.endpoint, spec.what);
    throw new ByteRoverError(
      ByteRoverErrorCode.LEGACY_UNAUTHORIZED,
      `${spec.what}: the legacy memories API rejected the API key (${spec.endpoint}, HTTP ${res.status})`,
      {
        status: res.status,
        requestId: res.requestId,
        endpoint: spec.endpoint,
        hint: 'Check the legacy API key (legacy.apiKey): create a new one in the ByteRover web app if it was revoked.',
        details: base.details,
      },
    );
  }
  return finish(spec, res);
}

function finish<S extends z.ZodType>(spec: CallSpec<S>, res: HttpResponse): CallResult<z.output<S>> {
  if (res.status < 200 || res.status > 299) throw errorFromResponse(res, spec.endpoint, spec.what);
  const quick = spec.fast?.(res.body);
  if (quick !== undefined) return { data: quick, status: res.status, requestId: res.requestId, attempts: res.attempts };
  const data = parseResponse(spec.schema, res.body, {
    endpoint: spec.endpoint,
    what: spec.what,
    status: res.status,
    requestId: res.requestId,
  });
  return { data, status: res.status, requestId: res.requestId, attempts: res.attempts };
}
