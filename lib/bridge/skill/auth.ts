/**
 * Bearer API keys for the skill route (RFC 6750 §2.1 header, §3 error responses).
 *
 * Comparison: the presented token and every configured key are SHA-256 digests (keys configured as
 * `sha256:<hex>` already are), compared with `crypto.timingSafeEqual` over equal 32-byte buffers; every
 * configured key is compared on every request, with no early exit, so the time taken says nothing
 * about which key (or how much of one) matched. Several keys are active at once for rotation.
 *
 * Caller identity: the name given with the key (`{key, caller}`), else `key-` + the first 12 hex digits
 * of the key's SHA-256 (a fingerprint, never the key). Idempotency keys are scoped by it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { registerSecret } from '../../log/index.js';
import { B64TOKEN, DIGEST_PREFIX, type ApiKeyEntry } from './config.js';

export const REALM = 'claw-bridge';

export type AuthFailureCode = 'SKILL_AUTH_MISSING' | 'SKILL_AUTH_MALFORMED' | 'SKILL_AUTH_INVALID';

export type AuthResult =
  | { ok: true; caller: string }
  | {
      ok: false;
      /** 401, or 400 for a malformed bearer header (RFC 6750 §3.1 invalid_request). */
      status: 400 | 401;
      code: AuthFailureCode;
      message: string;
      hint: string;
      /** The `WWW-Authenticate` header value to send. */
      wwwAuthenticate: string;
    };

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** The SHA-256 digest a configured key stands for (plaintext keys are hashed, digests decoded). */
export function keyDigest(key: string): Buffer {
  const k = key.trim();
  return k.startsWith(DIGEST_PREFIX) ? Buffer.from(k.slice(DIGEST_PREFIX.length), 'hex') : sha256(k);
}

/** `sha256:<hex>` of a key: what to put in a config file instead of the key itself. */
export function keyDigestString(key: string): string {
  return `${DIGEST_PREFIX}${sha256(key).toString('hex')}`;
}

/** The caller identity of a key: its given name, else a fingerprint of its digest. */
export function callerIdOf(digest: Buffer, name?: string): string {
  return name ? `caller-${name}` : `key-${digest.subarray(0, 6).toString('hex')}`;
}

function challenge(error?: { error: 'invalid_request' | 'invalid_token'; description: string }): string {
  if (!error) return `Bearer realm="${REALM}"`;
  const description = error.description.replace(/["\\]/g, "'");
  return `Bearer realm="${REALM}", error="${error.error}", error_description="${description}"`;
}

/**
 * Scheme names the refusal may repeat (the IANA HTTP Authentication Scheme registry and a few common
 * ones). Anything else is not echoed: a client that sends its API key without `Bearer ` puts the key
 * itself where the scheme goes.
 */
const KNOWN_SCHEMES = new Set([
  'basic',
  'digest',
  'dpop',
  'gnap',
  'hoba',
  'mutual',
  'negotiate',
  'ntlm',
  'oauth',
  'privatetoken',
  'scram-sha-1',
  'scram-sha-256',
  'vapid',
  'token',
  'apikey',
  'aws4-hmac-sha256',
]);

function describeScheme(scheme: string): string {
  return KNOWN_SCHEMES.has(scheme.toLowerCase())
    ? `the ${JSON.stringify(scheme)} scheme`
    : 'a value without a known scheme (an API key sent without "Bearer " in front?); the value is not repeated here';
}

const HINT =
  'Send `Authorization: Bearer <API key>` with one of the keys configured in bridge.skill.apiKeys (ask the bridge operator for one).';

/** Every `Authorization` value of a request, in order, from its raw header list (duplicates included). */
export function authorizationValues(rawHeaders: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() === 'authorization') out.push(rawHeaders[i + 1] as string);
  }
  return out;
}

export class ApiKeyRing {
  private readonly digests: Buffer[];
  private readonly callers: string[];

  private constructor(digests: Buffer[], callers: string[]) {
    this.digests = digests;
    this.callers = callers;
  }

  /** Builds the ring from config entries; plaintext keys are registered as secrets for the redactor. */
  static from(entries: readonly ApiKeyEntry[]): ApiKeyRing {
    const digests: Buffer[] = [];
    const callers: string[] = [];
    for (const entry of entries) {
      const key = typeof entry === 'string' ? entry : entry.key;
      if (!key.startsWith(DIGEST_PREFIX)) registerSecret(key);
      const digest = keyDigest(key);
      digests.push(digest);
      callers.push(callerIdOf(digest, typeof entry === 'string' ? undefined : entry.caller));
    }
    return new ApiKeyRing(digests, callers);
  }

  get size(): number {
    return this.digests.length;
  }

  /** The caller whose key is `token`, or undefined. Compares against every key, in constant time per key. */
  match(token: string): string | undefined {
    const presented = sha256(token);
    let found = -1;
    for (let i = 0; i < this.digests.length; i++) {
      const equal = timingSafeEqual(this.digests[i] as Buffer, presented);
      found = equal && found < 0 ? i : found;
    }
    return found < 0 ? undefined : this.callers[found];
  }

  /**
   * Checks the request's `Authorization` header: its value, or every value it was sent with (see
   * authorizationValues: Node keeps only the first of duplicates in req.headers). More than one is
   * refused (400): which of two credentials counts must not depend on a proxy's or parser's choice.
   */
  authenticate(values: string | readonly string[] | undefined): AuthResult {
    if (Array.isArray(values) && values.length > 1) {
      const description = `the request carried ${values.length} Authorization headers`;
      return {
        ok: false,
        status: 400,
        code: 'SKILL_AUTH_MALFORMED',
        message: `expected one Authorization: Bearer <API key> header, found ${values.length}`,
        hint: HINT,
        wwwAuthenticate: challenge({ error: 'invalid_request', description }),
      };
    }
    const header: string | undefined = typeof values === 'string' ? values : values?.[0];
    if (header === undefined || header.trim() === '') {
      return {
        ok: false,
        status: 401,
        code: 'SKILL_AUTH_MISSING',
        message: 'expected an Authorization: Bearer <API key> header, found none',
        hint: HINT,
        wwwAuthenticate: challenge(),
      };
    }
    // Trim first, then split once: a lazy `(.*?)` before `\s*$` backtracked over long blank runs.
    const trimmed = header.trim();
    const gap = trimmed.search(/\s/);
    const m = gap < 0 ? [trimmed, trimmed, ''] : [trimmed, trimmed.slice(0, gap), trimmed.slice(gap).trimStart()];
    const scheme = m[1] ?? '';
    if (scheme.toLowerCase() !== 'bearer') {
      // RFC 6750 §3.1: a request using another scheme carries no bearer credentials: no error code.
      return {
        ok: false,
        status: 401,
        code: 'SKILL_AUTH_MISSING',
        message: `expected the Bearer authorization scheme, found ${describeScheme(scheme)}`,
        hint: HINT,
        wwwAuthenticate: challenge(),
      };
    }
    const token = m[2] ?? '';
    if (!B64TOKEN.test(token)) {
      const description =
        token === ''
          ? 'the Bearer scheme came without a token'
          : 'the bearer token holds characters RFC 6750 does not allow';
      return {
        ok: false,
        status: 400,
        code: 'SKILL_AUTH_MALFORMED',
        message: `expected Authorization: Bearer <API key> (one token of [A-Za-z0-9-._~+/] and trailing =), found a malformed value: ${description}`,
        hint: HINT,
        wwwAuthenticate: challenge({ error: 'invalid_request', description }),
      };
    }
    const caller = this.match(token);
    if (caller === undefined) {
      return {
        ok: false,
        status: 401,
        code: 'SKILL_AUTH_INVALID',
        message: 'expected one of the configured API keys, found a key that matches none of them',
        hint: `${HINT} A key that worked before may have been rotated out.`,
        wwwAuthenticate: challenge({
          error: 'invalid_token',
          description: 'the API key is not one of the configured keys',
        }),
      };
    }
    return { ok: true, caller };
  }
}
