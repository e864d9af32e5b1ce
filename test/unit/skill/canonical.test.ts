/**
 * The idempotency request hash: canonical JSON (member order and formatting never matter, values
 * always do) and the per-caller key scope.
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson, idempotencyScope, requestHash } from '../../../lib/bridge/skill/canonical.js';
import { isClawError } from '../../../lib/errors.js';

describe('canonicalJson', () => {
  it('sorts object members recursively by UTF-16 code units and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: [{ z: true, y: null }, 'x'], c: { e: 'é', d: -0 } })).toBe(
      '{"a":[{"y":null,"z":true},"x"],"b":1,"c":{"d":0,"e":"é"}}',
    );
    // Code-unit order (RFC 8785 §3.2.3): upper case before lower case, and U+1F600 (surrogates
    // D83D DE00) before U+FB01, though its code point is larger.
    expect(canonicalJson({ a: 1, B: 2, '\uFB01': 4, '\u{1F600}': 3 })).toBe('{"B":2,"a":1,"😀":3,"ﬁ":4}');
  });

  it('matches the RFC 8785 number and string forms', () => {
    expect(canonicalJson([1e21, 1e-7, 0.1 + 0.2, 100, 2.5e-5])).toBe('[1e+21,1e-7,0.30000000000000004,100,0.000025]');
    expect(canonicalJson('a\u0000"\\\n\u2028')).toBe('"a\\u0000\\"\\\\\\n\u2028"');
  });

  it('leaves out undefined members, writes undefined array items as null', () => {
    expect(canonicalJson({ a: undefined, b: [undefined, 1] })).toBe('{"b":[null,1]}');
  });

  it('refuses what JSON cannot hold', () => {
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, 10n, () => 1]) {
      let err: unknown;
      try {
        canonicalJson({ v });
      } catch (e) {
        err = e;
      }
      expect(isClawError(err, 'SKILL_NOT_JSON')).toBe(true);
    }
  });
});

describe('requestHash', () => {
  it('is the same for the same request in any member order', () => {
    const a = requestHash('curate', { content: 'x', tags: ['a', 'b'], title: 'T' });
    const b = requestHash('curate', JSON.parse('{"title":"T","tags":["a","b"],"content":"x"}'));
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
  });

  it('differs for another action, another value, another array order, or a type change', () => {
    const base = requestHash('search', { query: 'jwt', k: 5 });
    const others = [
      requestHash('recall', { query: 'jwt', k: 5 }),
      requestHash('search', { query: 'jwt ', k: 5 }),
      requestHash('search', { query: 'jwt', k: 6 }),
      requestHash('search', { query: 'jwt', k: '5' }),
      requestHash('search', { query: 'jwt' }),
      requestHash('curate', { content: 'x', tags: ['b', 'a'] }),
    ];
    expect(new Set([base, ...others]).size).toBe(others.length + 1);
    expect(requestHash('curate', { content: 'x', tags: ['a', 'b'] })).not.toBe(
      requestHash('curate', { content: 'x', tags: ['b', 'a'] }),
    );
  });

  it('scopes keys per caller', () => {
    expect(idempotencyScope('key-aaaaaaaaaaaa', 'k1')).not.toBe(idempotencyScope('key-bbbbbbbbbbbb', 'k1'));
    expect(idempotencyScope('caller-ci', 'k1')).toBe('skill:caller-ci:k1');
  });
});
