/**
 * Webhook signature verification over the raw bytes, before anything parses them. Pure functions: no
 * I/O, the clock is a parameter.
 *
 * Schemes:
 * - Standard Webhooks 1.0 (`webhook-id`, `webhook-timestamp`, `webhook-signature`): the signed content
 *   is `{id}.{timestamp}.{body}`, HMAC-SHA256 with the base64-decoded `whsec_` secret; the signature
 *   header holds space-separated `v1,<base64>` entries (several during a key rotation); the timestamp
 *   must be within the tolerance both ways. Event id (dedupe key) = `webhook-id`.
 * - ByteRover (`x-byterover-signature`): hex HMAC-SHA256 of the raw body with the secret's UTF-8 bytes,
 *   optionally prefixed `sha256=`. It carries no timestamp and no id, so the event id is the SHA-256 of
 *   the body, and only dedupe stops a replay.
 *
 * Every comparison is constant-time (`crypto.timingSafeEqual`) after a length check; every configured
 * secret is tried (rotation: old and new both valid during the overlap).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface VerifierKeys {
  /** Standard Webhooks keys: the base64-decoded bytes of each `whsec_` secret. */
  standard: Buffer[];
  /** ByteRover scheme keys: the UTF-8 bytes of each secret. */
  byterover: Buffer[];
}

export type WebhookScheme = 'standard' | 'byterover';

export interface Verified {
  ok: true;
  scheme: WebhookScheme;
  /** Dedupe key: `wh:<webhook-id>` or `sha256:<hex of the body>`. */
  eventId: string;
  /** `webhook-id` as sent (Standard Webhooks only). */
  webhookId?: string;
  /** `webhook-timestamp` in seconds (Standard Webhooks only). */
  timestamp?: number;
}

export interface Rejected {
  ok: false;
  status: 400 | 401;
  code: string;
  message: string;
  hint?: string;
}

export type VerifyResult = Verified | Rejected;

const SIGNATURE_BYTES = 32;
const MAX_ID_LENGTH = 256;
const PRINTABLE = /^[\x21-\x7e]+$/;

/** `whsec_<base64>` → key bytes (the prefix is optional, as in the reference libraries). */
export function standardKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
}

export function keysFrom(cfg: {
  standardSecrets: readonly string[];
  byteroverSecrets: readonly string[];
}): VerifierKeys {
  return {
    standard: cfg.standardSecrets.map(standardKey),
    byterover: cfg.byteroverSecrets.map((s) => Buffer.from(s, 'utf8')),
  };
}

function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  if (Array.isArray(v)) return v.join(' ');
  return v === undefined ? undefined : v.trim();
}

const reject = (status: 400 | 401, code: string, message: string, hint?: string): Rejected => ({
  ok: false,
  status,
  code,
  message,
  ...(hint ? { hint } : {}),
});

/** True when `candidate` equals one of `expected` (constant time per comparison, lengths checked first). */
function matchesAny(candidate: Buffer, expected: readonly Buffer[]): boolean {
  let ok = false;
  for (const e of expected) {
    if (candidate.length === e.length && timingSafeEqual(candidate, e)) ok = true;
  }
  return ok;
}

/** Standard Webhooks signed content: `{id}.{timestamp}.{body}`. */
export function standardSignature(key: Buffer, id: string, timestamp: string, body: Buffer): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
}

export function byteroverSignature(key: Buffer, body: Buffer): Buffer {
  return createHmac('sha256', key).update(body).digest();
}

export function verifyWebhook(
  headers: IncomingHttpHeaders,
  body: Buffer,
  keys: VerifierKeys,
  opts: { nowSeconds: number; toleranceSeconds: number },
): VerifyResult {
  const sig = header(headers, 'webhook-signature');
  const id = header(headers, 'webhook-id');
  const ts = header(headers, 'webhook-timestamp');
  const brv = header(headers, 'x-byterover-signature');

  if (sig !== undefined || (brv === undefined && (id !== undefined || ts !== undefined))) {
    return verifyStandard(sig, id, ts, body, keys.standard, opts);
  }
  if (brv !== undefined) return verifyByteRover(brv, body, keys.byterover);
  return reject(
    401,
    'WEBHOOK_SIGNATURE_MISSING',
    'expected a signed webhook (webhook-signature or x-byterover-signature header), found no signature header',
    'sign the request with one of the configured secrets',
  );
}

function verifyStandard(
  sig: string | undefined,
  id: string | undefined,
  ts: string | undefined,
  body: Buffer,
  keys: readonly Buffer[],
  opts: { nowSeconds: number; toleranceSeconds: number },
): VerifyResult {
  if (sig === undefined || sig === '') {
    return reject(
      401,
      'WEBHOOK_SIGNATURE_MISSING',
      'expected a webhook-signature header with the webhook-id and webhook-timestamp headers, found none',
    );
  }
  const missing = [
    id === undefined || id === '' ? 'webhook-id' : '',
    ts === undefined || ts === '' ? 'webhook-timestamp' : '',
  ].filter(Boolean);
  if (missing.length > 0) {
    return reject(
      400,
      'WEBHOOK_HEADER_MISSING',
      `expected the Standard Webhooks headers webhook-id, webhook-timestamp and webhook-signature, found no ${missing.join(' and no ')}`,
    );
  }
  const wid = id as string;
  const wts = ts as string;
  if (wid.length > MAX_ID_LENGTH || !PRINTABLE.test(wid)) {
    return reject(
      400,
      'WEBHOOK_ID_INVALID',
      `expected webhook-id to be 1–${MAX_ID_LENGTH} printable ASCII characters, found ${wid.length} characters`,
    );
  }
  if (!/^\d{1,12}$/.test(wts)) {
    return reject(
      400,
      'WEBHOOK_TIMESTAMP_INVALID',
      'expected webhook-timestamp to be whole seconds since the Unix epoch, found something else',
    );
  }
  if (keys.length === 0) {
    return reject(
      401,
      'WEBHOOK_SCHEME_DISABLED',
      'Standard Webhooks signatures are not accepted here: no standard secret is configured',
      'set bridge.webhooks.standardSecrets (whsec_…) to the secret the sender uses',
    );
  }
  const candidates: Buffer[] = [];
  for (const part of sig.split(' ')) {
    const comma = part.indexOf(',');
    if (comma === -1 || part.slice(0, comma) !== 'v1') continue;
    candidates.push(Buffer.from(part.slice(comma + 1), 'base64'));
  }
  const expected = keys.map((k) => standardSignature(k, wid, wts, body));
  let matched = false;
  for (const c of candidates) if (c.length === SIGNATURE_BYTES && matchesAny(c, expected)) matched = true;
  if (!matched) {
    const why =
      candidates.length === 0
        ? 'no v1 signature in webhook-signature'
        : `none of ${candidates.length} v1 signature(s) matches a configured secret`;
    return reject(
      401,
      'WEBHOOK_SIGNATURE_MISMATCH',
      `expected a v1 HMAC-SHA256 signature of "{webhook-id}.{webhook-timestamp}.{body}" by a configured secret, found ${why}`,
      'check the sender uses the current secret and signs the exact bytes it sends',
    );
  }
  const t = Number(wts);
  if (t < opts.nowSeconds - opts.toleranceSeconds) {
    return reject(
      401,
      'WEBHOOK_TIMESTAMP_EXPIRED',
      `expected webhook-timestamp within ${opts.toleranceSeconds} s of the bridge clock, found ${opts.nowSeconds - t} s in the past`,
      'a replay, or the sender clock is behind: check NTP on both sides',
    );
  }
  if (t > opts.nowSeconds + opts.toleranceSeconds) {
    return reject(
      401,
      'WEBHOOK_TIMESTAMP_IN_FUTURE',
      `expected webhook-timestamp within ${opts.toleranceSeconds} s of the bridge clock, found ${t - opts.nowSeconds} s in the future`,
      'the sender clock is ahead (or the bridge clock is behind): check NTP on both sides',
    );
  }
  return { ok: true, scheme: 'standard', eventId: `wh:${wid}`, webhookId: wid, timestamp: t };
}

function verifyByteRover(sig: string, body: Buffer, keys: readonly Buffer[]): VerifyResult {
  if (keys.length === 0) {
    return reject(
      401,
      'WEBHOOK_SCHEME_DISABLED',
      'x-byterover-signature is not accepted here: no ByteRover webhook secret is configured',
      'set bridge.webhooks.byteroverSecrets to the secret the sender uses',
    );
  }
  const hex = sig.startsWith('sha256=') ? sig.slice(7) : sig;
  const candidate = /^[0-9a-fA-F]*$/.test(hex) && hex.length % 2 === 0 ? Buffer.from(hex, 'hex') : Buffer.alloc(0);
  const expected = keys.map((k) => byteroverSignature(k, body));
  if (candidate.length !== SIGNATURE_BYTES || !matchesAny(candidate, expected)) {
    const why =
      candidate.length !== SIGNATURE_BYTES
        ? `a value of ${candidate.length} bytes (expected ${SIGNATURE_BYTES})`
        : 'a signature no configured secret produces';
    return reject(
      401,
      'WEBHOOK_SIGNATURE_MISMATCH',
      `expected x-byterover-signature to be the hex HMAC-SHA256 of the raw body by a configured secret, found ${why}`,
      'check the sender uses the current secret and signs the exact bytes it sends',
    );
  }
  return { ok: true, scheme: 'byterover', eventId: `sha256:${createHash('sha256').update(body).digest('hex')}` };
}
