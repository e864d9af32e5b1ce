/**
 * How a failed action answers. Known failures become a status and a body with their stable code and
 * hint; anything else is left to the bridge server (500 INTERNAL_ERROR with an error id, nothing
 * internal in the body).
 *
 *   ByteRoverError anywhere in the cause chain   502 SKILL_UPSTREAM_ERROR, upstream {status, code, requestId}
 *   lib/http transport failure reaching ByteRover 502 (504 for timeouts), upstream {status: null, code, requestId: null}
 *   MEMORY_PATH_ESCAPE, MEMORY_NOTE_*           400 with the code, hint and `fields`
 *   MEMORY_NAME_EXHAUSTED                        409 (retry)
 *   BV_TOPIC_INVALID (record)                    400 with every violation (`violations`, `fields`)
 *   BV_PATH_ESCAPE, BV_RECORD_INPUT              400; BV_TOPIC_EXISTS, BV_OVERWRITE_DROPS_ELEMENTS 409;
 *   BV_TOPIC_CONFLICT, BV_TOPIC_LOCKED           409 (retry)
 *   not configured / not logged in / engine or store unavailable   503 with the code and hint
 *   SKILL_ACTION_TIMEOUT (the action ran past actionTimeoutMs)     503
 *
 * `release`: the failure happened before any side effect, so the idempotency key is given back
 * instead of saving the answer (a retry with the same key runs again): every failure of a read-only
 * action, every 503 but a timeout (nothing could start), and ByteRover's 429 (it refused before doing anything).
 */
import { isByteRoverError, type ByteRoverError } from '../../byterover/index.js';
import { isClawError, type ClawError } from '../../errors.js';
import { redactString } from '../../log/index.js';
import { httpStatusOf } from '../server.js';
import { READ_ONLY_ACTIONS } from './actions.js';
import { SkillErrorCode } from './codes.js';
import type { FieldError, SkillAction } from './schemas.js';

export interface ErrorReply {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
  /** Give the idempotency key back instead of saving this answer. */
  release: boolean;
}

const TRANSPORT_CODES = new Set([
  'HTTP_TIMEOUT',
  'HTTP_DEADLINE_EXCEEDED',
  'HTTP_RETRY_AFTER_EXCEEDS_DEADLINE',
  'HTTP_RETRY_BUDGET_EXHAUSTED',
  'HTTP_NETWORK',
  'HTTP_INVALID_RESPONSE',
  'HTTP_RESPONSE_TOO_LARGE',
]);

/** Failures that mean the bridge cannot do this now (configuration, login, engine, store, shutdown). */
const UNAVAILABLE_CODES = new Set([
  'SKILL_ACTION_UNAVAILABLE',
  'BYTEROVER_NO_SESSION',
  'BYTEROVER_LEGACY_NOT_CONFIGURED',
  'AUTH_NOT_LOGGED_IN',
  'AUTH_REAUTH_REQUIRED',
  'MEMORY_ENGINE_UNAVAILABLE',
  'MEMORY_CLOSED',
  'BRV_SPACE_MARKER_INVALID',
  'BRV_SPACE_DELETED',
  'BRV_SPACE_HARD_DELETED',
  'STORE_UNAVAILABLE',
  'HTTP_CLIENT_CLOSED',
]);

/** Memory failures caused by the request's own content: 400 naming the field. */
const INPUT_CODES: Record<string, string> = {
  MEMORY_PATH_ESCAPE: 'payload.path',
  MEMORY_NOTE_EMPTY: 'payload.content',
  MEMORY_NOTE_TOO_LARGE: 'payload.content',
};

/** Walks `e` and its causes (at most 8 deep). */
function* chain(e: unknown): Generator<unknown> {
  let cur = e;
  for (let i = 0; i < 8 && cur !== undefined && cur !== null; i++) {
    yield cur;
    cur = (cur as { cause?: unknown }).cause;
  }
}

function body(
  code: string,
  message: string,
  hint: string | undefined,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { ok: false, code, message: redactString(message), ...(hint ? { hint: redactString(hint) } : {}), ...extra };
}

function upstreamReply(top: ClawError, br: ByteRoverError, action: SkillAction): ErrorReply {
  const upstream = {
    status: br.status ?? null,
    code: br.code,
    requestId: br.requestId ?? null,
    ...(br.endpoint ? { endpoint: br.endpoint } : {}),
  };
  const headers: Record<string, string> = br.status === 429 ? { 'retry-after': '60' } : {};
  return {
    status: 502,
    body: body('SKILL_UPSTREAM_ERROR', top.message, br.hint ?? top.hint, { upstream }),
    headers,
    release: READ_ONLY_ACTIONS.has(action) || br.status === 429,
  };
}

/** The answer for a failed action, or undefined when the failure is not one the caller can act on (→ 500). */
export function replyForError(e: unknown, action: SkillAction): ErrorReply | undefined {
  if (!isClawError(e)) return undefined;
  const readOnly = READ_ONLY_ACTIONS.has(action);
  const status = httpStatusOf(e);
  if (status !== undefined)
    return {
      status,
      body: body(e.code, e.message, e.hint),
      headers: {},
      release: readOnly || (status === 503 && e.code !== SkillErrorCode.ACTION_TIMEOUT),
    };

  if (UNAVAILABLE_CODES.has(e.code)) {
    return { status: 503, body: body(e.code, e.message, e.hint), headers: { 'retry-after': '5' }, release: true };
  }
  for (const c of chain(e)) {
    if (isByteRoverError(c)) {
      if (c.status === undefined && UNAVAILABLE_CODES.has(c.code))
        return { status: 503, body: body(c.code, c.message, c.hint), headers: { 'retry-after': '5' }, release: true };
      return upstreamReply(e, c, action);
    }
  }
  for (const c of chain(e)) {
    if (isClawError(c) && TRANSPORT_CODES.has(c.code)) {
      const timeout = c.code === 'HTTP_TIMEOUT' || c.code === 'HTTP_DEADLINE_EXCEEDED';
      return {
        status: timeout ? 504 : 502,
        body: body('SKILL_UPSTREAM_ERROR', e.message, c.hint ?? e.hint, {
          upstream: { status: null, code: c.code, requestId: null },
        }),
        headers: {},
        release: readOnly,
      };
    }
  }
  const field = INPUT_CODES[e.code];
  if (field !== undefined) {
    const fields: FieldError[] = [{ path: field, message: redactString(e.message) }];
    return { status: 400, body: body(e.code, e.message, e.hint, { fields }), headers: {}, release: readOnly };
  }
  if (e.code === 'MEMORY_NAME_EXHAUSTED')
    return { status: 409, body: body(e.code, e.message, e.hint), headers: { 'retry-after': '1' }, release: true };
  // record (ByteRover v4 topics): every vocabulary violation at once, each with its code and hint
  if (e.code === 'BV_TOPIC_INVALID') {
    const violations = (Array.isArray(e.details?.violations) ? e.details.violations : []) as {
      code: string;
      message: string;
      hint: string;
    }[];
    const fields: FieldError[] = violations.map((v) => ({
      path: 'payload.html',
      message: redactString(`${v.code}: ${v.message}`),
    }));
    const list = violations.map((v) => ({
      code: v.code,
      message: redactString(v.message),
      hint: redactString(v.hint),
    }));
    return {
      status: 400,
      body: body(e.code, e.message, e.hint, { fields, violations: list }),
      headers: {},
      release: true,
    };
  }
  if (e.code === 'BV_PATH_ESCAPE' || e.code === 'BV_RECORD_INPUT') {
    const fields: FieldError[] = [
      { path: e.code === 'BV_PATH_ESCAPE' ? 'payload.path' : 'payload', message: redactString(e.message) },
    ];
    return { status: 400, body: body(e.code, e.message, e.hint, { fields }), headers: {}, release: true };
  }
  if (e.code === 'BV_TOPIC_EXISTS' || e.code === 'BV_OVERWRITE_DROPS_ELEMENTS')
    return { status: 409, body: body(e.code, e.message, e.hint), headers: {}, release: true };
  if (e.code === 'BV_TOPIC_CONFLICT' || e.code === 'BV_TOPIC_LOCKED')
    return { status: 409, body: body(e.code, e.message, e.hint), headers: { 'retry-after': '1' }, release: true };
  return undefined;
}
