/**
 * The user/me hot path (`fastUserMe`) is a hand check that must never disagree with the zod schema:
 * whenever it accepts a body, zod accepts it too with a deep-equal output (same keys, same values);
 * when it declines, the caller falls back to zod, so every error stays zod's. Random bodies, seeded,
 * biased towards the valid shape so both accepting and declining paths are exercised.
 */
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { fastUserMe, userMeResponse } from '../../../lib/byterover/schemas.js';

/** mulberry32: a small seeded PRNG so a failure is reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('fastUserMe agrees with userMeResponse (zod)', () => {
  it('accepts only what zod accepts, with an identical output, over 100,000 random bodies', () => {
    const rand = rng(20261124);
    const r = (n: number): number => Math.floor(rand() * n);
    const vals: unknown[] = [
      undefined,
      null,
      '',
      'x',
      'usr_1',
      0,
      1,
      -1.5,
      NaN,
      Infinity,
      true,
      false,
      [],
      {},
      ['a'],
      { a: 1 },
      Object.create(null),
      new Date(0),
    ];
    const pick = (): unknown => vals[r(vals.length)];
    const good: Record<string, unknown[]> = {
      id: ['u', 'usr_1', ''],
      email: ['e@x', ''],
      name: ['n', null, undefined],
      avatar_url: ['a', null, undefined],
      hasOnboardedCli: [true, false, null, undefined],
    };
    let fastHits = 0;
    let zodOk = 0;
    for (let i = 0; i < 100_000; i++) {
      let body: any;
      if (r(20) === 0) body = pick();
      else {
        body = r(10) === 0 ? Object.create(null) : {};
        for (const k of ['code', 'message', 'data', 'extra']) if (r(3)) body[k] = pick();
        if (r(6)) {
          const d: any = r(15) === 0 ? Object.create(null) : r(30) === 0 ? [] : {};
          for (const k of ['id', 'email', 'name', 'avatar_url', 'hasOnboardedCli', 'other']) {
            if (r(4)) d[k] = r(3) && good[k] ? good[k]![r(good[k]!.length)] : pick();
          }
          body.data = d;
        }
        if (r(2) && 'code' in body) body.code = [200, 'OK', undefined][r(3)];
        if (r(2) && 'message' in body) body.message = ['OK', undefined][r(2)];
      }
      const z = userMeResponse.safeParse(body);
      if (z.success) zodOk++;
      const f = fastUserMe(body);
      if (f === undefined) continue;
      fastHits++;
      const same =
        z.success &&
        isDeepStrictEqual(Object.keys(f), Object.keys(z.data)) &&
        isDeepStrictEqual(Object.keys(f.data), Object.keys(z.data.data)) &&
        isDeepStrictEqual(f, z.data);
      if (!same) expect({ body, fast: f, zod: z.success ? z.data : z.error.issues }).toBe('fastUserMe and zod agree');
    }
    // Both paths were exercised: the hand check took a real share, and zod accepted at least as many.
    expect(fastHits).toBeGreaterThan(1000);
    expect(zodOk).toBeGreaterThanOrEqual(fastHits);
  });

  it('the usual ByteRover answer takes the hand check', () => {
    const body = { code: 200, message: 'OK', data: { id: 'usr_1', email: 'a@b.c', name: 'A', hasOnboardedCli: true } };
    expect(fastUserMe(JSON.parse(JSON.stringify(body)))).toEqual(userMeResponse.parse(body));
  });
});
