/**
 * `POST /webhooks/byterover`: read the raw body (size-limited) → verify the signature over those bytes
 * (webhooks/verify.ts) → parse JSON → record + enqueue durably, deduplicated on the event id, through
 * the group-commit batcher → answer. The 2xx is sent only after the store said the event is durable.
 *
 * Answers (JSON `{ok, code?, message?, hint?}`):
 *   200 {ok:true, id}                              new event, durably queued
 *   200 {ok:true, id, code:'WEBHOOK_DUPLICATE'}    seen before (a retry or a replay): nothing queued
 *   400 WEBHOOK_HEADER_MISSING / WEBHOOK_ID_INVALID / WEBHOOK_TIMESTAMP_INVALID   malformed headers
 *   400 WEBHOOK_BODY_INVALID_JSON / WEBHOOK_PAYLOAD_INVALID                      signed but unusable body
 *   401 WEBHOOK_SIGNATURE_MISSING / WEBHOOK_SIGNATURE_MISMATCH / WEBHOOK_SCHEME_DISABLED
 *   401 WEBHOOK_TIMESTAMP_EXPIRED / WEBHOOK_TIMESTAMP_IN_FUTURE
 *   413 HTTP_BODY_TOO_LARGE                        (connection closed, body not read)
 *   503 WEBHOOK_QUEUE_UNAVAILABLE                  store down: the sender should retry (Retry-After)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../log/index.js';
import type { Batcher } from '../queue/batcher.js';
import { httpStatusOf, readBody, sendJson, type RequestContext, type RouteHandler } from '../server.js';
import type { EnqueueOutcome, QueueEvent } from '../store/types.js';
import { verifyWebhook, type VerifierKeys, type WebhookScheme } from './verify.js';

export interface WebhookRouteOptions {
  keys: VerifierKeys;
  toleranceSeconds: number;
  maxBodyBytes: number;
  /** Durable, deduplicating enqueue (a Batcher over JobQueue.enqueue). */
  intake: Pick<Batcher<QueueEvent, EnqueueOutcome>, 'submit'>;
  now?: () => number;
  logger?: Logger;
  /** Called once per request with its outcome (metrics). */
  onResult?: (r: WebhookResult) => void;
  /** Called after an event was newly enqueued (wakes the local worker). */
  onEnqueued?: () => void;
}

export interface WebhookResult {
  status: number;
  /** `WEBHOOK_ACCEPTED`, `WEBHOOK_DUPLICATE`, or the rejection code. */
  code: string;
  scheme?: WebhookScheme;
  type?: string;
}

/** Counts per result code, for `serve` status output. */
export class WebhookCounters {
  readonly byCode = new Map<string, number>();
  record = (r: WebhookResult): void => {
    this.byCode.set(r.code, (this.byCode.get(r.code) ?? 0) + 1);
  };
  get(code: string): number {
    return this.byCode.get(code) ?? 0;
  }
  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.byCode.entries()].sort());
  }
}

const MAX_TYPE_LENGTH = 200;

/** The event type of a payload: `type` (Standard Webhooks), else `event`, else `unknown`. */
export function eventType(payload: Record<string, unknown>): string {
  const t =
    typeof payload.type === 'string' ? payload.type : typeof payload.event === 'string' ? payload.event : 'unknown';
  return t.length > 0 && t.length <= MAX_TYPE_LENGTH ? t : 'unknown';
}

/** Refuses malformed UTF-8 and keeps a BOM, so `Buffer.from(text, 'utf8')` is exactly the body. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function webhookRoute(opts: WebhookRouteOptions): RouteHandler {
  const now = opts.now ?? Date.now;
  const onResult = opts.onResult ?? ((): void => undefined);
  return async (req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> => {
    const answer = (r: WebhookResult, body: Record<string, unknown>, headers?: Record<string, string>): void => {
      sendJson(res, r.status, body, headers);
      onResult(r);
    };
    const refuse = (status: number, code: string, message: string, hint?: string, scheme?: WebhookScheme): void => {
      ctx.log.warn({ requestId: ctx.requestId, status, code, scheme }, `webhook refused: ${message}`);
      answer({ status, code, ...(scheme ? { scheme } : {}) }, { ok: false, code, message, ...(hint ? { hint } : {}) });
    };

    let body: Buffer;
    try {
      body = await readBody(req, { limit: opts.maxBodyBytes });
    } catch (e) {
      const status = httpStatusOf(e);
      if (status === 413) onResult({ status, code: 'HTTP_BODY_TOO_LARGE' });
      throw e; // the server answers (413 closes the connection)
    }

    const v = verifyWebhook(req.headers, body, opts.keys, {
      nowSeconds: Math.floor(now() / 1000),
      toleranceSeconds: opts.toleranceSeconds,
    });
    if (!v.ok) return refuse(v.status, v.code, v.message, v.hint);

    // The stored payload must be the verified bytes: a lenient decode would store U+FFFD where the
    // signed bytes were not UTF-8 (and drop a BOM), so such a body is refused instead (issue 13).
    let text: string;
    try {
      text = STRICT_UTF8.decode(body);
    } catch {
      return refuse(
        400,
        'WEBHOOK_BODY_INVALID_UTF8',
        'expected a UTF-8 JSON body, found bytes that are not valid UTF-8',
        'the signature was valid: the sender signs and sends a body that is not UTF-8 JSON',
        v.scheme,
      );
    }
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch (e) {
      return refuse(
        400,
        'WEBHOOK_BODY_INVALID_JSON',
        `expected a JSON body, found invalid JSON (${(e as Error).message})`,
        'the signature was valid: the sender signs and sends a malformed body',
        v.scheme,
      );
    }
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      return refuse(
        400,
        'WEBHOOK_PAYLOAD_INVALID',
        `expected a JSON object, found ${Array.isArray(payload) ? 'an array' : payload === null ? 'null' : typeof payload}`,
        undefined,
        v.scheme,
      );
    }
    const type = eventType(payload as Record<string, unknown>);
    const publicId = v.webhookId ?? v.eventId;

    let outcome: EnqueueOutcome;
    try {
      outcome = await opts.intake.submit({ id: v.eventId, type, payload: text, receivedAt: now() });
    } catch (e) {
      ctx.log.error({ requestId: ctx.requestId, err: (e as Error).message }, 'webhook: enqueue failed');
      answer(
        { status: 503, code: 'WEBHOOK_QUEUE_UNAVAILABLE', scheme: v.scheme, type },
        {
          ok: false,
          code: 'WEBHOOK_QUEUE_UNAVAILABLE',
          message: 'the event could not be stored durably; nothing was accepted',
          hint: 'retry later',
        },
        { 'retry-after': '5' },
      );
      return;
    }
    if (outcome === 'duplicate') {
      ctx.log.info({ requestId: ctx.requestId, id: publicId, type }, 'webhook: duplicate');
      answer(
        { status: 200, code: 'WEBHOOK_DUPLICATE', scheme: v.scheme, type },
        { ok: true, id: publicId, code: 'WEBHOOK_DUPLICATE', message: 'already received' },
      );
      return;
    }
    answer({ status: 200, code: 'WEBHOOK_ACCEPTED', scheme: v.scheme, type }, { ok: true, id: publicId });
    opts.onEnqueued?.();
  };
}
