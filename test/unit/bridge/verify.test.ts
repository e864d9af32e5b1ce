/**
 * The webhook verifier as a pure function (clock as a parameter): scheme selection, every refusal
 * code, tolerance boundaries, rotation, and agreement with the npm `standardwebhooks` oracle.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { keysFrom, standardKey, verifyWebhook, type VerifyResult } from '../../../lib/bridge/webhooks/verify.js';

const S1 = `whsec_${randomBytes(32).toString('base64')}`;
const S2 = `whsec_${randomBytes(32).toString('base64')}`;
const B1 = 'byterover-secret-one';
const keys = keysFrom({ standardSecrets: [S1, S2], byteroverSecrets: [B1] });
const NOW = 1_800_000_000;
const opts = { nowSeconds: NOW, toleranceSeconds: 300 };
const body = Buffer.from('{"type":"memory.updated","data":{}}');

function std(secret: string, id: string, ts: number, payload = body): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': new Webhook(secret).sign(id, new Date(ts * 1000), payload),
  };
}
const code = (r: VerifyResult): string => (r.ok ? 'OK' : r.code);

describe('verifyWebhook: Standard Webhooks', () => {
  it('accepts oracle signatures from either secret; event id is wh:<webhook-id>', () => {
    for (const s of [S1, S2]) {
      const r = verifyWebhook(std(s, 'msg_1', NOW), body, keys, opts);
      expect(r).toEqual({ ok: true, scheme: 'standard', eventId: 'wh:msg_1', webhookId: 'msg_1', timestamp: NOW });
    }
  });

  it('tolerance is inclusive at ±300 s and refuses ±301 s, each way with its own code', () => {
    expect(code(verifyWebhook(std(S1, 'a', NOW - 300), body, keys, opts))).toBe('OK');
    expect(code(verifyWebhook(std(S1, 'a', NOW + 300), body, keys, opts))).toBe('OK');
    expect(code(verifyWebhook(std(S1, 'a', NOW - 301), body, keys, opts))).toBe('WEBHOOK_TIMESTAMP_EXPIRED');
    expect(code(verifyWebhook(std(S1, 'a', NOW + 301), body, keys, opts))).toBe('WEBHOOK_TIMESTAMP_IN_FUTURE');
  });

  it('checks the signature before the timestamp: a forged old request learns nothing about the clock', () => {
    const h = { ...std(S1, 'a', NOW - 1000), 'webhook-signature': `v1,${randomBytes(32).toString('base64')}` };
    expect(code(verifyWebhook(h, body, keys, opts))).toBe('WEBHOOK_SIGNATURE_MISMATCH');
  });

  it('ignores non-v1 entries and extra spaces; any matching v1 among several passes', () => {
    const good = std(S2, 'm', NOW)['webhook-signature']!;
    const h = {
      ...std(S2, 'm', NOW),
      'webhook-signature': `v1a,${randomBytes(64).toString('base64')}  v1,${randomBytes(32).toString('base64')} ${good}`,
    };
    expect(code(verifyWebhook(h, body, keys, opts))).toBe('OK');
    expect(code(verifyWebhook({ ...h, 'webhook-signature': `v2,${good.slice(3)}` }, body, keys, opts))).toBe(
      'WEBHOOK_SIGNATURE_MISMATCH',
    );
  });

  it('a secret without the whsec_ prefix means the same key (as in the reference libraries)', () => {
    expect(standardKey(S1).equals(standardKey(S1.slice(6)))).toBe(true);
  });

  it('refusal codes for missing and malformed headers', () => {
    const h = std(S1, 'msg', NOW);
    expect(code(verifyWebhook({}, body, keys, opts))).toBe('WEBHOOK_SIGNATURE_MISSING');
    expect(code(verifyWebhook({ 'webhook-id': 'x' }, body, keys, opts))).toBe('WEBHOOK_SIGNATURE_MISSING');
    expect(code(verifyWebhook({ ...h, 'webhook-id': undefined }, body, keys, opts))).toBe('WEBHOOK_HEADER_MISSING');
    expect(code(verifyWebhook({ ...h, 'webhook-timestamp': '' }, body, keys, opts))).toBe('WEBHOOK_HEADER_MISSING');
    expect(code(verifyWebhook({ ...h, 'webhook-timestamp': '1.5e9' }, body, keys, opts))).toBe(
      'WEBHOOK_TIMESTAMP_INVALID',
    );
    expect(code(verifyWebhook({ ...h, 'webhook-id': 'x'.repeat(257) }, body, keys, opts))).toBe('WEBHOOK_ID_INVALID');
    const r = verifyWebhook({ ...h, 'webhook-id': undefined, 'webhook-timestamp': undefined }, body, keys, opts);
    expect(r).toMatchObject({ ok: false, status: 400 });
    expect(r.ok ? '' : r.message).toContain('no webhook-id and no webhook-timestamp');
  });

  it('a scheme without configured secrets is refused as disabled', () => {
    const none = keysFrom({ standardSecrets: [], byteroverSecrets: [] });
    expect(code(verifyWebhook(std(S1, 'm', NOW), body, none, opts))).toBe('WEBHOOK_SCHEME_DISABLED');
    expect(code(verifyWebhook({ 'x-byterover-signature': 'ab' }, body, none, opts))).toBe('WEBHOOK_SCHEME_DISABLED');
  });

  it('when both schemes are present, Standard Webhooks (which has a timestamp) decides', () => {
    const brv = createHmac('sha256', B1).update(body).digest('hex');
    const h = { ...std(S1, 'm', NOW - 1000), 'x-byterover-signature': brv };
    expect(code(verifyWebhook(h, body, keys, opts))).toBe('WEBHOOK_TIMESTAMP_EXPIRED');
  });

  it('messages never contain a secret or the expected signature', () => {
    const h = std(S1, 'm', NOW, Buffer.from('other'));
    const r = verifyWebhook(h, body, keys, opts);
    const expected = new Webhook(S1).sign('m', new Date(NOW * 1000), body).slice(3);
    const text = JSON.stringify(r);
    for (const secret of [S1, S2, S1.slice(6), expected]) expect(text).not.toContain(secret);
  });
});

describe('verifyWebhook: x-byterover-signature', () => {
  const sig = (payload: Buffer, secret = B1): string => createHmac('sha256', secret).update(payload).digest('hex');

  it('accepts lower- and upper-case hex, with or without sha256=; event id is the body hash', () => {
    for (const s of [sig(body), sig(body).toUpperCase(), `sha256=${sig(body)}`]) {
      const r = verifyWebhook({ 'x-byterover-signature': s }, body, keys, opts);
      expect(r.ok && r.scheme).toBe('byterover');
      expect(r.ok && r.eventId).toMatch(/^sha256:[0-9a-f]{64}$/);
    }
  });

  it('refuses odd-length, non-hex, short, long and wrong signatures with WEBHOOK_SIGNATURE_MISMATCH', () => {
    const good = sig(body);
    for (const s of [
      good.slice(1),
      `g${good.slice(1)}`,
      good.slice(0, 62),
      `${good}ab`,
      sig(body, 'another-secret-value'),
      '',
    ]) {
      expect(code(verifyWebhook({ 'x-byterover-signature': s }, body, keys, opts))).toBe('WEBHOOK_SIGNATURE_MISMATCH');
    }
  });
});
