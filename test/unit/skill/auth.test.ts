/**
 * Bearer API keys: plain and sha256-digest keys, rotation (several keys at once), caller identities,
 * and the RFC 6750 answers for missing, malformed and wrong credentials.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ApiKeyRing, callerIdOf, keyDigest, keyDigestString } from '../../../lib/bridge/skill/auth.js';
import { SkillConfigSchema } from '../../../lib/bridge/skill/config.js';
import { redactString } from '../../../lib/log/index.js';

const OLD = 'old-key-0123456789abcdef';
const NEW = 'new-key-fedcba9876543210';
const DIGESTED = 'digested-key-0011223344556677';

describe('ApiKeyRing', () => {
  it('accepts every configured key (rotation), plain or as a sha256 digest, and nothing else', () => {
    const ring = ApiKeyRing.from([OLD, NEW, keyDigestString(DIGESTED)]);
    expect(ring.size).toBe(3);
    const callers = [OLD, NEW, DIGESTED].map((k) => ring.match(k));
    expect(callers.every((c) => c !== undefined)).toBe(true);
    expect(new Set(callers).size).toBe(3);
    expect(ring.match('new-key-fedcba9876543211')).toBeUndefined();
    expect(ring.match(NEW.slice(0, -1))).toBeUndefined();
    expect(ring.match(`${NEW}x`)).toBeUndefined();
    expect(ring.match('')).toBeUndefined();
    // The digest string itself is not a key.
    expect(ring.match(keyDigestString(DIGESTED))).toBeUndefined();
  });

  it('a rotated-out key stops working; the same key plain or digested is the same caller', () => {
    const before = ApiKeyRing.from([OLD, NEW]);
    const after = ApiKeyRing.from([NEW]);
    expect(before.match(OLD)).toBeDefined();
    expect(after.match(OLD)).toBeUndefined();
    expect(ApiKeyRing.from([keyDigestString(NEW)]).match(NEW)).toBe(after.match(NEW));
  });

  it('upper-case hex digests work; the caller id is a fingerprint, never the key', () => {
    const upper = `sha256:${createHash('sha256').update(NEW).digest('hex').toUpperCase()}`;
    const caller = ApiKeyRing.from([upper]).match(NEW);
    expect(caller).toBe(callerIdOf(keyDigest(NEW)));
    expect(caller).toMatch(/^key-[0-9a-f]{12}$/);
    expect(caller).not.toContain(NEW);
  });

  it('keys given with a caller name share that caller (idempotency scope survives rotation)', () => {
    const ring = ApiKeyRing.from([{ key: OLD, caller: 'ci' }, { key: keyDigestString(NEW), caller: 'ci' }, DIGESTED]);
    expect(ring.match(OLD)).toBe('caller-ci');
    expect(ring.match(NEW)).toBe('caller-ci');
    expect(ring.match(DIGESTED)).not.toBe('caller-ci');
  });

  it('a key matching several entries answers the first (no early exit changes the answer)', () => {
    const ring = ApiKeyRing.from([
      { key: NEW, caller: 'first' },
      { key: NEW, caller: 'second' },
    ]);
    expect(ring.match(NEW)).toBe('caller-first');
  });

  it('registers plain keys as secrets for the redactor', () => {
    const secret = 'registered-key-5566778899aabbcc';
    ApiKeyRing.from([secret]);
    expect(redactString(`the key is ${secret}`)).toBe('the key is [REDACTED]');
  });
});

describe('ApiKeyRing.authenticate (RFC 6750)', () => {
  const ring = ApiKeyRing.from([OLD, NEW]);

  it('accepts "Bearer <key>" with any scheme case', () => {
    expect(ring.authenticate(`Bearer ${NEW}`)).toEqual({ ok: true, caller: ring.match(NEW) });
    expect(ring.authenticate(`bearer ${OLD}`)).toMatchObject({ ok: true });
    expect(ring.authenticate(`BEARER   ${OLD}`)).toMatchObject({ ok: true });
  });

  it('missing credentials: 401 without an error code in the challenge', () => {
    for (const h of [undefined, '', '   ']) {
      const r = ring.authenticate(h);
      expect(r).toMatchObject({
        ok: false,
        status: 401,
        code: 'SKILL_AUTH_MISSING',
        wwwAuthenticate: 'Bearer realm="claw-bridge"',
      });
    }
    const basic = ring.authenticate(`Basic ${Buffer.from(`u:${NEW}`).toString('base64')}`);
    expect(basic).toMatchObject({
      ok: false,
      status: 401,
      code: 'SKILL_AUTH_MISSING',
      wwwAuthenticate: 'Bearer realm="claw-bridge"',
    });
    if (!basic.ok) expect(basic.message).toContain('"Basic"');
  });

  it('a key sent without "Bearer ": refused without repeating any of it', () => {
    for (const h of [NEW, `${NEW}  `, `Token-${NEW} x`]) {
      const r = ring.authenticate(h);
      expect(r, h).toMatchObject({ ok: false, status: 401, code: 'SKILL_AUTH_MISSING' });
      if (r.ok) continue;
      expect(r.message).toContain('without "Bearer "');
      const shown = JSON.stringify(r);
      for (let i = 0; i + 8 <= NEW.length; i++) expect(shown, h).not.toContain(NEW.slice(i, i + 8));
    }
  });

  it('malformed bearer credentials: 400 invalid_request', () => {
    for (const h of ['Bearer', 'Bearer ', `Bearer ${NEW} extra`, 'Bearer a"b', 'Bearer =abc']) {
      const r = ring.authenticate(h);
      expect(r, h).toMatchObject({ ok: false, status: 400, code: 'SKILL_AUTH_MALFORMED' });
      if (!r.ok)
        expect(r.wwwAuthenticate).toMatch(
          /^Bearer realm="claw-bridge", error="invalid_request", error_description="[^"\\]+"$/,
        );
    }
  });

  it('a wrong key: 401 invalid_token, and nothing of the key in the answer', () => {
    const wrong = 'wrong-key-00000000000000000';
    const r = ring.authenticate(`Bearer ${wrong}`);
    expect(r).toMatchObject({ ok: false, status: 401, code: 'SKILL_AUTH_INVALID' });
    if (r.ok) return;
    expect(r.wwwAuthenticate).toBe(
      'Bearer realm="claw-bridge", error="invalid_token", error_description="the API key is not one of the configured keys"',
    );
    expect(JSON.stringify(r)).not.toContain(wrong);
  });
});

describe('SkillConfigSchema', () => {
  it('has defaults and is never open: no keys by default', () => {
    expect(SkillConfigSchema.parse({})).toEqual({
      path: '/skill/invoke',
      apiKeys: [],
      maxBodyBytes: 2 * 1024 * 1024,
      actionTimeoutMs: 120_000,
      idempotencyLockMs: 150_000,
    });
    expect(SkillConfigSchema.prefault({}).parse(undefined).apiKeys).toEqual([]);
  });

  it('accepts plain keys, digests and named entries; refuses short keys, bad digests, non-token characters and unknown fields', () => {
    const ok = SkillConfigSchema.safeParse({
      apiKeys: [NEW, keyDigestString(OLD), { key: DIGESTED, caller: 'ci-runner' }],
    });
    expect(ok.success).toBe(true);
    for (const bad of [
      'short',
      'sha256:abcd',
      `sha256:${'g'.repeat(64)}`,
      'has space in the key 0123',
      'quote"key-0123456789ab',
    ]) {
      const r = SkillConfigSchema.safeParse({ apiKeys: [bad] });
      expect(r.success, bad).toBe(false);
    }
    expect(SkillConfigSchema.safeParse({ apiKeys: [{ key: NEW, caller: 'bad name' }] }).success).toBe(false);
    expect(SkillConfigSchema.safeParse({ apiKey: NEW }).success).toBe(false);
  });

  it('the idempotency lock must outlast the action timeout', () => {
    const r = SkillConfigSchema.safeParse({ actionTimeoutMs: 10_000, idempotencyLockMs: 5_000 });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['idempotencyLockMs']);
  });
});
