/**
 * What makes two skill requests "the same request" for idempotency: the SHA-256 of a canonical JSON
 * encoding of `{action, payload}` (RFC 8785 JCS style: object members sorted by UTF-16 code units, no
 * whitespace, strings and numbers as ECMAScript's JSON.stringify writes them), so key order and
 * formatting of the body never matter, while any difference in a value does.
 */
import { createHash } from 'node:crypto';
import { ClawError } from '../../errors.js';
import { SkillErrorCode } from './codes.js';

/** Canonical JSON text of a JSON value. Throws for values JSON cannot hold (NaN, Infinity, BigInt, functions). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw notJson(`the number ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  throw notJson(`a ${typeof value}`);
}

function notJson(what: string): ClawError {
  return new ClawError(SkillErrorCode.NOT_JSON, `expected a JSON value, found ${what}`, {
    hint: 'Pass plain JSON data (objects, arrays, strings, finite numbers, booleans, null).',
  });
}

const DOMAIN = 'claw-bridge skill invoke v1\n';

/** Hex SHA-256 of the canonical `{action, payload}`: the idempotency request hash. */
export function requestHash(action: string, payload: unknown): string {
  return createHash('sha256').update(DOMAIN).update(canonicalJson({ action, payload })).digest('hex');
}

/** The idempotency store key of a caller's key: keys are scoped per caller, never shared between callers. */
export function idempotencyScope(caller: string, key: string): string {
  return `skill:${caller}:${key}`;
}
