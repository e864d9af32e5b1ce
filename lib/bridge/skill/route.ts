/**
 * `POST /skill/invoke` `{action, payload, idempotencyKey?}`: the bridge's skill endpoint.
 *
 * Order of checks (each answers before the next runs):
 *   1. no API key configured                      503 SKILL_AUTH_NOT_CONFIGURED (never open by default)
 *   2. Authorization: Bearer <key>                401 SKILL_AUTH_MISSING / SKILL_AUTH_INVALID, 400 SKILL_AUTH_MALFORMED,
 *                                                 with `WWW-Authenticate: Bearer realm=…[, error=…]` (RFC 6750 §3)
 *   3. body (size-limited JSON)                   413 HTTP_BODY_TOO_LARGE, 400 HTTP_BODY_INVALID_JSON
 *   4. validation (schemas.ts)                    400 SKILL_INVALID_REQUEST with every field at fault
 *   5. idempotency (when a key is given)          replay (saved status + body, `Idempotent-Replayed: true`),
 *                                                 422 SKILL_IDEMPOTENCY_MISMATCH, 409 SKILL_IDEMPOTENCY_IN_PROGRESS
 *   6. the action                                 200 {ok, action, result}; failures per errors.ts; anything
 *                                                 unknown is rethrown to the server (500 + errorId)
 *
 * Idempotency follows Stripe: keys are scoped per caller; the request hash is the SHA-256 of the
 * canonical `{action, payload}`; once the action started, its answer is saved whatever the status
 * (2xx, 4xx, 5xx, the server's 500 included) and replayed byte for byte; failures before the action
 * (auth, validation, conflicts) save nothing; failures before any side effect give the key back.
 */
import { performance } from 'node:perf_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { logger as defaultLogger, type Logger } from '../../log/index.js';
import { httpError, httpStatusOf, readJson, sendJson, type RequestContext, type RouteHandler } from '../server.js';
import type { IdempotencyStore, SavedResponse } from '../store/types.js';
import { READ_ONLY_ACTIONS, type SkillActions, type SkillContext } from './actions.js';
import { ApiKeyRing, authorizationValues } from './auth.js';
import { idempotencyScope, requestHash } from './canonical.js';
import type { SkillConfig } from './config.js';
import { SkillErrorCode } from './codes.js';
import { replyForError } from './errors.js';
import { validateInvoke, type InvokeRequest, type SkillAction } from './schemas.js';

/** Low-cardinality outcome of one invocation (for metrics). */
export type SkillResult =
  | 'ok'
  | 'replayed'
  | 'not_configured'
  | 'unauthorized'
  | 'invalid'
  | 'idempotency_conflict'
  | 'idempotency_mismatch'
  | 'client_error'
  | 'upstream_error'
  | 'unavailable'
  | 'error';

export interface SkillOutcome {
  result: SkillResult;
  status: number;
  code: string;
}

/** Called once per request; `action` is `unknown` when the request never named a valid one. */
export type OnInvoke = (action: SkillAction | 'unknown', outcome: SkillOutcome, ms: number) => void;

export interface SkillRouteOptions {
  config: SkillConfig;
  actions: SkillActions;
  idempotency: IdempotencyStore;
  logger?: Logger;
  onInvoke?: OnInvoke;
  now?: () => number;
}

const JSON_TYPE = 'application/json; charset=utf-8';
export const REPLAYED_HEADER = 'idempotent-replayed';

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Writes a saved answer exactly as saved (the bytes of a replay equal the first answer's). */
function writeSaved(res: ServerResponse, saved: SavedResponse, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(saved.status, {
    ...saved.headers,
    'content-length': Buffer.byteLength(saved.body),
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(saved.body);
}

function saved(status: number, body: unknown, headers: Record<string, string> = {}): SavedResponse {
  return { status, body: JSON.stringify(body), headers: { 'content-type': JSON_TYPE, ...headers } };
}

/** Resolves with what the server writes next on `res` (used to save the server's own 500 answer). */
function captureReply(res: ServerResponse): Promise<SavedResponse> {
  return new Promise((resolve) => {
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    (res as unknown as { end: (...args: unknown[]) => ServerResponse }).end = (...args: unknown[]) => {
      const chunk = args[0];
      const text =
        typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : '';
      const type = res.getHeader('content-type');
      resolve({
        status: res.statusCode,
        body: text,
        headers: { 'content-type': typeof type === 'string' ? type : JSON_TYPE },
      });
      return end(...args);
    };
  });
}

function resultOf(status: number, code: string): SkillResult {
  if (status < 300) return 'ok';
  if (code === 'SKILL_UPSTREAM_ERROR') return 'upstream_error';
  if (status === 503) return 'unavailable';
  if (status >= 500) return 'error';
  return 'client_error';
}

/** Thrown by runAction past the deadline; `running` settles when the action itself does. */
class DeadlineExceeded extends Error {
  constructor(
    readonly error: Error,
    readonly running: Promise<unknown>,
  ) {
    super(error.message);
  }
}

/**
 * Runs the action with a deadline. Past `timeoutMs` its signal aborts (pull and the ByteRover calls
 * stop at their next step: no file half-written, no sync state recorded) and the call fails with
 * 503 SKILL_ACTION_TIMEOUT as a DeadlineExceeded carrying the still-running action: an action that
 * does not observe the signal (curate: one atomic note write and its outbox entry) completes, and the
 * route saves that real answer under the idempotency key.
 */
async function runAction(
  actions: SkillActions,
  request: InvokeRequest,
  ctx: Omit<SkillContext, 'signal'>,
  timeoutMs: number,
): Promise<unknown> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const fn = actions[request.action] as (payload: unknown, ctx: SkillContext) => Promise<unknown>;
  const running = fn(request.payload, { ...ctx, signal: ac.signal });
  running.catch(() => undefined); // observed below or through DeadlineExceeded.running
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = httpError(
        503,
        SkillErrorCode.ACTION_TIMEOUT,
        `expected ${request.action} to finish within ${timeoutMs} ms, it did not`,
        {
          hint: READ_ONLY_ACTIONS.has(request.action)
            ? 'Try again later; if it keeps happening, raise bridge.skill.actionTimeoutMs.'
            : 'It was cancelled at its next step or completes on its own: repeat the request with the same Idempotency-Key to get its final answer (409 while it still runs); if it keeps happening, raise bridge.skill.actionTimeoutMs.',
        },
      );
      ac.abort(err);
      reject(new DeadlineExceeded(err, running));
    }, timeoutMs);
  });
  try {
    return await Promise.race([running, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function skillInvokeRoute(opts: SkillRouteOptions): RouteHandler {
  const { config, actions, idempotency } = opts;
  const ring = ApiKeyRing.from(config.apiKeys);
  const now = opts.now ?? Date.now;
  const log = (opts.logger ?? defaultLogger).child({ component: 'bridge.skill' });

  return async (req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> => {
    const started = performance.now();
    let action: SkillAction | undefined;
    const report = (result: SkillResult, status: number, code: string): void => {
      if (!opts.onInvoke) return;
      try {
        opts.onInvoke(action ?? 'unknown', { result, status, code }, performance.now() - started);
      } catch (e) {
        log.warn({ err: (e as Error).message }, 'skill: onInvoke hook failed');
      }
    };
    const refuse = (
      status: number,
      result: SkillResult,
      code: string,
      message: string,
      extra: { hint?: string; headers?: Record<string, string>; body?: Record<string, unknown> } = {},
    ): void => {
      sendJson(
        res,
        status,
        { ok: false, code, message, ...(extra.hint ? { hint: extra.hint } : {}), ...extra.body },
        extra.headers,
      );
      report(result, status, code);
    };

    // 1-2. Never open by default; then the caller's key.
    if (ring.size === 0) {
      return refuse(
        503,
        'not_configured',
        'SKILL_AUTH_NOT_CONFIGURED',
        'expected at least one API key configured for the skill endpoint, found none',
        {
          hint: 'Set bridge.skill.apiKeys in the config file (plain keys or "sha256:<hex>" digests) or CLAW_BYTEROVER_SKILL_API_KEYS=key1,key2, then restart the bridge. Generate a key with `openssl rand -hex 32`.',
          headers: { 'retry-after': '60' },
        },
      );
    }
    const auth = ring.authenticate(authorizationValues(req.rawHeaders));
    if (!auth.ok) {
      return refuse(auth.status, 'unauthorized', auth.code, auth.message, {
        hint: auth.hint,
        headers: { 'www-authenticate': auth.wwwAuthenticate },
      });
    }
    const caller = auth.caller;

    // 3-4. Body and validation: nothing is saved for these.
    let body: unknown;
    try {
      body = await readJson(req, { limit: config.maxBodyBytes });
    } catch (e) {
      const status = httpStatusOf(e) ?? 500;
      report(status < 500 ? 'invalid' : 'error', status, (e as { code?: string }).code ?? 'INTERNAL_ERROR');
      throw e;
    }
    const v = validateInvoke(body, headerValue(req.headers['idempotency-key']));
    if (!v.ok) {
      const paths = v.fields.map((f) => f.path).join(', ');
      return refuse(
        400,
        'invalid',
        'SKILL_INVALID_REQUEST',
        `expected a valid skill request, found problems with: ${paths}`,
        {
          hint: 'Fix the listed fields (see `fields`) and send the request again.',
          body: { fields: v.fields },
        },
      );
    }
    const request = v.request;
    action = request.action;

    // 5. Idempotency.
    const key = request.idempotencyKey === undefined ? undefined : idempotencyScope(caller, request.idempotencyKey);
    if (key !== undefined) {
      let begun;
      try {
        begun = await idempotency.begin(
          key,
          requestHash(request.action, request.payload),
          now(),
          config.idempotencyLockMs,
        );
      } catch (e) {
        const r = replyForError(e, request.action);
        if (!r) {
          report('error', 500, 'INTERNAL_ERROR');
          throw e;
        }
        return refuse(r.status, resultOf(r.status, String(r.body.code)), String(r.body.code), String(r.body.message), {
          headers: r.headers,
          body: r.body,
        });
      }
      if (begun.state === 'replay') {
        writeSaved(res, begun.response, { [REPLAYED_HEADER]: 'true' });
        return report('replayed', begun.response.status, 'SKILL_REPLAYED');
      }
      if (begun.state === 'mismatch') {
        return refuse(
          422,
          'idempotency_mismatch',
          'SKILL_IDEMPOTENCY_MISMATCH',
          'expected the same request as the first one sent with this idempotency key, found a different action or payload',
          {
            hint: 'Use a new idempotency key for a different request; repeat a request only with exactly the same action and payload.',
          },
        );
      }
      if (begun.state === 'in_progress') {
        return refuse(
          409,
          'idempotency_conflict',
          'SKILL_IDEMPOTENCY_IN_PROGRESS',
          'expected no other request running with this idempotency key, found one still running',
          {
            hint: "Retry after the Retry-After delay: you will get the first request's answer once it finished.",
            headers: { 'retry-after': '1' },
          },
        );
      }
    }

    // 6. The action.
    const settle = async (answer: SavedResponse, release: boolean): Promise<void> => {
      if (key === undefined) return;
      try {
        if (release) await idempotency.release(key);
        else await idempotency.complete(key, answer, now());
      } catch (e) {
        // The answer still goes out; the key stays locked until idempotencyLockMs passes, then a retry runs again.
        log.error(
          { requestId: ctx.requestId, action, err: (e as Error).message },
          'skill: saving the idempotent answer failed',
        );
      }
    };
    let answer: SavedResponse;
    let release = false;
    let code: string;
    try {
      const result = await runAction(actions, request, { caller, requestId: ctx.requestId }, config.actionTimeoutMs);
      answer = saved(200, { ok: true, action: request.action, result });
      code = 'OK';
    } catch (thrown) {
      let e = thrown;
      if (thrown instanceof DeadlineExceeded) {
        e = thrown.error;
        if (key !== undefined && !READ_ONLY_ACTIONS.has(request.action)) {
          // A mutating action past its deadline may still complete: the key stays locked (a retry gets
          // 409 in progress) until it settles, then holds its real answer — never a 503 for work done.
          const r = replyForError(e, request.action);
          const timeoutAnswer = saved(r?.status ?? 503, r?.body ?? {}, r?.headers);
          void thrown.running.then(
            (result) => settle(saved(200, { ok: true, action: request.action, result }), false),
            // Cancelled by the deadline (or failed after it): nothing is recorded, so the key is freed
            // and a retry runs the action again.
            () => settle(timeoutAnswer, true),
          );
          const code = String(r?.body.code ?? SkillErrorCode.ACTION_TIMEOUT);
          log.warn({ requestId: ctx.requestId, caller, action, code, status: 503 }, 'skill: action failed');
          writeSaved(res, timeoutAnswer);
          report('unavailable', 503, code);
          return;
        }
      }
      const r = replyForError(e, request.action);
      if (!r) {
        // Unknown: the server answers 500 with an error id (and logs the error); that answer is saved too.
        if (key !== undefined) {
          if (READ_ONLY_ACTIONS.has(request.action)) void settle(saved(500, {}), true);
          else void captureReply(res).then((a) => settle(a, false));
        }
        report('error', 500, 'INTERNAL_ERROR');
        throw e;
      }
      answer = saved(r.status, r.body, r.headers);
      release = r.release;
      code = String(r.body.code);
      if (r.status >= 500)
        log.warn({ requestId: ctx.requestId, caller, action, code, status: r.status }, 'skill: action failed');
    }
    await settle(answer, release);
    writeSaved(res, answer);
    report(resultOf(answer.status, code), answer.status, code);
  };
}
