/**
 * Webhook attacks against the real bridge (loopback HTTP, worker off so the queue depth is exactly
 * what was enqueued), on every store: SQLite on disk, PostgreSQL, and PostgreSQL dedupe + the Redis
 * queue through BullMQ (whose two-step dedupe is a path of its own). Each attack asserts the status, the stable code, AND that
 * nothing was enqueued. The Standard Webhooks path is checked against an independent implementation,
 * the npm `standardwebhooks` package: it signs what we must accept, and verifies what our signer makes.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createBridge,
  parseBridgeConfig,
  standardSignature,
  standardKey,
  type Bridge,
  type BridgeStore,
} from '../../../lib/bridge/index.js';
import { createLogger } from '../../../lib/log/index.js';
import { allBackends } from './backends.js';

const OLD = `whsec_${randomBytes(32).toString('base64')}`;
const NEW = `whsec_${randomBytes(32).toString('base64')}`;
const STRANGER = `whsec_${randomBytes(32).toString('base64')}`;
const BRV_OLD = randomBytes(24).toString('hex');
const BRV_NEW = randomBytes(24).toString('hex');
const LIMIT = 16 * 1024;
const silent = createLogger({ level: 'silent' });

let bridge: Bridge;
let url: string;
let dir: string;
const depth = async (): Promise<number> => (await bridge.store.queue.stats()).depth;
const nowSec = (): number => Math.floor(Date.now() / 1000);
const newId = (): string => `msg_${randomBytes(8).toString('hex')}`;
const body = (type = 'memory.updated', extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ type, timestamp: new Date().toISOString(), data: { space: 'sp1', ...extra } });

/** Standard Webhooks headers made by the oracle. */
function oracleHeaders(secret: string, id: string, ts: number, payload: string): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': new Webhook(secret).sign(id, new Date(ts * 1000), payload),
  };
}

async function post(
  payload: string | Buffer,
  headers: Record<string, string>,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await request(url, {
    method: 'POST',
    body: payload,
    headers: { 'content-type': 'application/json', ...headers },
  });
  return { status: r.statusCode, json: (await r.body.json()) as Record<string, unknown> };
}

/** Sends, then asserts the refusal and that the queue did not grow. */
async function expectRefused(
  payload: string | Buffer,
  headers: Record<string, string>,
  status: number,
  code: string,
): Promise<Record<string, unknown>> {
  const before = await depth();
  const r = await post(payload, headers);
  expect(r.status).toBe(status);
  expect(r.json).toMatchObject({ ok: false, code });
  expect(typeof r.json.message).toBe('string');
  expect(await depth()).toBe(before);
  return r.json;
}

async function expectAccepted(payload: string, headers: Record<string, string>): Promise<void> {
  const before = await depth();
  const r = await post(payload, headers);
  expect(r.status).toBe(200);
  expect(r.json.ok).toBe(true);
  expect(r.json.code).toBeUndefined();
  expect(await depth()).toBe(before + 1);
}

for (const backend of allBackends()) {
  describe.skipIf(backend.skip)(`webhook attacks, ${backend.name} store`, () => {
    let store: BridgeStore | undefined;
    beforeAll(async () => {
      await backend.start();
      dir = mkdtempSync(join(tmpdir(), 'claw-webhooks-'));
      const config = parseBridgeConfig({
        webhooks: { standardSecrets: [OLD, NEW], byteroverSecrets: [BRV_OLD, BRV_NEW], maxBodyBytes: LIMIT },
        store: { kind: 'sqlite', path: join(dir, 'bridge.db') },
      });
      store = (await backend.open()).store;
      bridge = await createBridge({ config, dataDir: dir, worker: false, logger: silent, store });
      url = `${(await bridge.listen(0, '127.0.0.1')).url}/webhooks/byterover`;
    });
    afterAll(async () => {
      await bridge?.close();
      await store?.close();
      await backend.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    describe('POST /webhooks/byterover: Standard Webhooks (oracle: npm standardwebhooks)', () => {
      it('accepts a delivery the oracle signed, and queues the exact bytes with their type', async () => {
        const id = newId();
        const payload = body('memory.updated', { note: 'ünïcödé ✓' });
        const r = await post(payload, oracleHeaders(NEW, id, nowSec(), payload));
        expect(r).toEqual({ status: 200, json: { ok: true, id } });
        const leases = await bridge.store.queue.claim(100);
        const mine = leases.find((l) => l.id === `wh:${id}`);
        expect(mine).toMatchObject({ type: 'memory.updated', payload });
        await bridge.store.queue.ack(leases);
      });

      it('our signer agrees with the oracle (the oracle verifies what we sign)', () => {
        const id = newId();
        const ts = nowSec();
        const payload = body();
        const sig = standardSignature(standardKey(NEW), id, String(ts), Buffer.from(payload)).toString('base64');
        expect(() =>
          new Webhook(NEW).verify(payload, {
            'webhook-id': id,
            'webhook-timestamp': String(ts),
            'webhook-signature': `v1,${sig}`,
          }),
        ).not.toThrow();
      });

      it('rotation: the old secret, the new one, and both signatures together are accepted; a stranger is not', async () => {
        for (const secret of [OLD, NEW]) {
          const id = newId();
          const p = body();
          await expectAccepted(p, oracleHeaders(secret, id, nowSec(), p));
        }
        const id = newId();
        const ts = nowSec();
        const p = body();
        const both = `${oracleHeaders(OLD, id, ts, p)['webhook-signature']} ${oracleHeaders(NEW, id, ts, p)['webhook-signature']}`;
        await expectAccepted(p, { ...oracleHeaders(NEW, id, ts, p), 'webhook-signature': both });
        const id2 = newId();
        await expectRefused(p, oracleHeaders(STRANGER, id2, ts, p), 401, 'WEBHOOK_SIGNATURE_MISMATCH');
      });

      it('bad signature (random bytes of the right length): 401, nothing queued', async () => {
        const id = newId();
        const p = body();
        await expectRefused(
          p,
          { ...oracleHeaders(NEW, id, nowSec(), p), 'webhook-signature': `v1,${randomBytes(32).toString('base64')}` },
          401,
          'WEBHOOK_SIGNATURE_MISMATCH',
        );
      });

      it('wrong secret: 401, nothing queued (and the oracle agrees it is invalid)', async () => {
        const id = newId();
        const ts = nowSec();
        const p = body();
        const h = oracleHeaders(STRANGER, id, ts, p);
        expect(() => new Webhook(NEW).verify(p, h)).toThrow();
        await expectRefused(p, h, 401, 'WEBHOOK_SIGNATURE_MISMATCH');
      });

      it('truncated signature (one byte short, and cut base64): 401, nothing queued', async () => {
        const id = newId();
        const ts = nowSec();
        const p = body();
        const full = Buffer.from(oracleHeaders(NEW, id, ts, p)['webhook-signature']!.slice(3), 'base64');
        await expectRefused(
          p,
          { ...oracleHeaders(NEW, id, ts, p), 'webhook-signature': `v1,${full.subarray(0, 31).toString('base64')}` },
          401,
          'WEBHOOK_SIGNATURE_MISMATCH',
        );
        const sig = oracleHeaders(NEW, id, ts, p)['webhook-signature']!;
        await expectRefused(
          p,
          { ...oracleHeaders(NEW, id, ts, p), 'webhook-signature': sig.slice(0, sig.length - 6) },
          401,
          'WEBHOOK_SIGNATURE_MISMATCH',
        );
        await expectRefused(
          p,
          { ...oracleHeaders(NEW, id, ts, p), 'webhook-signature': 'v1,' },
          401,
          'WEBHOOK_SIGNATURE_MISMATCH',
        );
      });

      it('tampered body (signed one body, sent another) and tampered id: 401, nothing queued', async () => {
        const id = newId();
        const ts = nowSec();
        const signed = body('memory.updated', { n: 1 });
        const sent = body('memory.updated', { n: 2 });
        await expectRefused(sent, oracleHeaders(NEW, id, ts, signed), 401, 'WEBHOOK_SIGNATURE_MISMATCH');
        await expectRefused(
          signed,
          { ...oracleHeaders(NEW, id, ts, signed), 'webhook-id': newId() },
          401,
          'WEBHOOK_SIGNATURE_MISMATCH',
        );
      });

      it('expired timestamp (correctly signed, 301 s old): 401 WEBHOOK_TIMESTAMP_EXPIRED, nothing queued; the oracle refuses it too', async () => {
        const id = newId();
        const ts = nowSec() - 301;
        const p = body();
        const h = oracleHeaders(NEW, id, ts, p);
        expect(() => new Webhook(NEW).verify(p, h)).toThrow(/too old/i);
        const j = await expectRefused(p, h, 401, 'WEBHOOK_TIMESTAMP_EXPIRED');
        expect(j.message).toMatch(/within 300 s .* in the past/);
      });

      it('future timestamp (correctly signed, 301 s ahead): 401 WEBHOOK_TIMESTAMP_IN_FUTURE, nothing queued; the oracle refuses it too', async () => {
        const id = newId();
        const ts = nowSec() + 301;
        const p = body();
        const h = oracleHeaders(NEW, id, ts, p);
        expect(() => new Webhook(NEW).verify(p, h)).toThrow(/too new/i);
        await expectRefused(p, h, 401, 'WEBHOOK_TIMESTAMP_IN_FUTURE');
      });

      it('timestamps just inside the tolerance both ways are accepted', async () => {
        for (const skew of [-290, 290]) {
          const id = newId();
          const p = body();
          await expectAccepted(p, oracleHeaders(NEW, id, nowSec() + skew, p));
        }
      });

      it('replay inside the window: the same delivery (and the same id re-signed later) is a 200 duplicate, queued once', async () => {
        const id = newId();
        const p = body();
        const h = oracleHeaders(NEW, id, nowSec(), p);
        await expectAccepted(p, h);
        const before = await depth();
        const again = await post(p, h);
        expect(again).toEqual({
          status: 200,
          json: { ok: true, id, code: 'WEBHOOK_DUPLICATE', message: 'already received' },
        });
        const resigned = await post(p, oracleHeaders(OLD, id, nowSec() + 5, p));
        expect(resigned.json.code).toBe('WEBHOOK_DUPLICATE');
        expect(await depth()).toBe(before);
        // Concurrent replays of one new id: exactly one is queued.
        const id2 = newId();
        const h2 = oracleHeaders(NEW, id2, nowSec(), p);
        const rs = await Promise.all(Array.from({ length: 20 }, () => post(p, h2)));
        expect(rs.every((r) => r.status === 200)).toBe(true);
        expect(rs.filter((r) => r.json.code === undefined)).toHaveLength(1);
        expect(await depth()).toBe(before + 1);
      });

      it('oversized body: 413 from the declared length without reading it, and from a chunked body cut off at the limit; nothing queued', async () => {
        const before = await depth();
        const big = Buffer.alloc(LIMIT + 1, 0x20);
        const id = newId();
        const h = oracleHeaders(NEW, id, nowSec(), big.toString());
        const declared = await rawPost(big, { ...h, 'content-length': String(big.length) });
        expect(declared.status).toBe(413);
        expect(JSON.parse(declared.body)).toMatchObject({ ok: false, code: 'HTTP_BODY_TOO_LARGE' });
        expect(declared.connection).toBe('close');
        const chunked = await rawPost(Buffer.alloc(LIMIT * 4, 0x20), { ...h, 'transfer-encoding': 'chunked' }, 1024);
        expect(chunked.status).toBe(413);
        expect(await depth()).toBe(before);
        expect(bridge.counters.get('HTTP_BODY_TOO_LARGE')).toBeGreaterThanOrEqual(2);
      });

      it('malformed JSON after a valid signature: 400, nothing queued, and the id is not burnt', async () => {
        const id = newId();
        const bad = '{"type":"memory.updated",';
        await expectRefused(bad, oracleHeaders(NEW, id, nowSec(), bad), 400, 'WEBHOOK_BODY_INVALID_JSON');
        await expectRefused('[1,2]', oracleHeaders(NEW, id, nowSec(), '[1,2]'), 400, 'WEBHOOK_PAYLOAD_INVALID');
        const good = body();
        await expectAccepted(good, oracleHeaders(NEW, id, nowSec(), good));
      });

      it('missing or malformed headers: stable codes, nothing queued', async () => {
        const id = newId();
        const ts = nowSec();
        const p = body();
        const h = oracleHeaders(NEW, id, ts, p);
        await expectRefused(p, {}, 401, 'WEBHOOK_SIGNATURE_MISSING');
        await expectRefused(p, { 'webhook-id': id, 'webhook-timestamp': String(ts) }, 401, 'WEBHOOK_SIGNATURE_MISSING');
        await expectRefused(
          p,
          { 'webhook-signature': h['webhook-signature']!, 'webhook-timestamp': String(ts) },
          400,
          'WEBHOOK_HEADER_MISSING',
        );
        const j = await expectRefused(
          p,
          { 'webhook-signature': h['webhook-signature']!, 'webhook-id': id },
          400,
          'WEBHOOK_HEADER_MISSING',
        );
        expect(j.message).toContain('no webhook-timestamp');
        await expectRefused(p, { ...h, 'webhook-timestamp': 'yesterday' }, 400, 'WEBHOOK_TIMESTAMP_INVALID');
        await expectRefused(p, { ...h, 'webhook-id': 'has space' }, 400, 'WEBHOOK_ID_INVALID');
      });
    });

    describe('POST /webhooks/byterover: x-byterover-signature (hex HMAC-SHA256 of the raw body)', () => {
      const sign = (secret: string, payload: string): string =>
        createHmac('sha256', secret).update(payload).digest('hex');

      it('accepts both secrets (rotation), with and without the sha256= prefix; a replay is a duplicate', async () => {
        const p1 = body('memory.updated', { n: randomBytes(4).toString('hex') });
        await expectAccepted(p1, { 'x-byterover-signature': sign(BRV_OLD, p1) });
        const p2 = body('memory.updated', { n: randomBytes(4).toString('hex') });
        await expectAccepted(p2, { 'x-byterover-signature': `sha256=${sign(BRV_NEW, p2)}` });
        const before = await depth();
        const r = await post(p1, { 'x-byterover-signature': sign(BRV_NEW, p1) });
        expect(r.status).toBe(200);
        expect(r.json.code).toBe('WEBHOOK_DUPLICATE');
        expect(r.json.id).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect(await depth()).toBe(before);
      });

      it('bad, wrong-secret, truncated and tampered signatures: 401, nothing queued', async () => {
        const p = body('memory.updated', { n: randomBytes(4).toString('hex') });
        const good = sign(BRV_NEW, p);
        await expectRefused(
          p,
          { 'x-byterover-signature': randomBytes(32).toString('hex') },
          401,
          'WEBHOOK_SIGNATURE_MISMATCH',
        );
        await expectRefused(
          p,
          { 'x-byterover-signature': sign('not-the-secret-at-all', p) },
          401,
          'WEBHOOK_SIGNATURE_MISMATCH',
        );
        await expectRefused(p, { 'x-byterover-signature': good.slice(0, 62) }, 401, 'WEBHOOK_SIGNATURE_MISMATCH');
        await expectRefused(p, { 'x-byterover-signature': `${good}00` }, 401, 'WEBHOOK_SIGNATURE_MISMATCH');
        await expectRefused(p, { 'x-byterover-signature': 'zz' + good.slice(2) }, 401, 'WEBHOOK_SIGNATURE_MISMATCH');
        await expectRefused(
          p.replace('sp1', 'sp2'),
          { 'x-byterover-signature': good },
          401,
          'WEBHOOK_SIGNATURE_MISMATCH',
        );
      });

      it('malformed JSON after a valid signature: 400, nothing queued', async () => {
        const bad = 'not json';
        await expectRefused(bad, { 'x-byterover-signature': sign(BRV_OLD, bad) }, 400, 'WEBHOOK_BODY_INVALID_JSON');
      });
    });

    describe('the bridge HTTP server around the route', () => {
      it('wrong method: 405 with Allow; unknown path: 404', async () => {
        const g = await request(url, { method: 'GET' });
        expect(g.statusCode).toBe(405);
        expect(g.headers.allow).toBe('POST');
        expect(await g.body.json()).toMatchObject({ ok: false, code: 'METHOD_NOT_ALLOWED' });
        const n = await request(url.replace('/webhooks/byterover', '/nope'), { method: 'POST', body: '{}' });
        expect(n.statusCode).toBe(404);
        expect(await n.body.json()).toMatchObject({ ok: false, code: 'NOT_FOUND' });
      });

      it('a store that cannot persist means no 2xx: 503 WEBHOOK_QUEUE_UNAVAILABLE with Retry-After', async () => {
        const d = mkdtempSync(join(tmpdir(), 'claw-webhooks-down-'));
        const config = parseBridgeConfig({
          webhooks: { standardSecrets: [NEW] },
          store: { kind: 'sqlite', path: join(d, 'b.db') },
        });
        const down = await createBridge({ config, dataDir: d, worker: false, logger: silent });
        const u = `${(await down.listen(0)).url}/webhooks/byterover`;
        await down.store.close();
        const p = body();
        const r = await request(u, { method: 'POST', body: p, headers: oracleHeaders(NEW, newId(), nowSec(), p) });
        expect(r.statusCode).toBe(503);
        expect(r.headers['retry-after']).toBe('5');
        expect(await r.body.json()).toMatchObject({ ok: false, code: 'WEBHOOK_QUEUE_UNAVAILABLE' });
        await down.close();
        rmSync(d, { recursive: true, force: true });
      });
    });

    /** POST with node:http, resolving on the response even if the server closes while we still write. */
    function rawPost(
      payload: Buffer,
      headers: Record<string, string>,
      chunk?: number,
    ): Promise<{ status: number; body: string; connection: string | undefined }> {
      return new Promise((resolve, reject) => {
        const req = httpRequest(url, { method: 'POST', headers }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, connection: res.headers.connection }));
          res.on('error', reject);
        });
        req.on('error', () => undefined); // EPIPE/ECONNRESET after the early 413 is expected
        if (chunk === undefined) req.end(payload);
        else {
          let off = 0;
          const pump = (): void => {
            while (off < payload.length) {
              const ok = req.write(payload.subarray(off, off + chunk));
              off += chunk;
              if (!ok) return void req.once('drain', pump);
            }
            req.end();
          };
          pump();
        }
      });
    }
  });
}
