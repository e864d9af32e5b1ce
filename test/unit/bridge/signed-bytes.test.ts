/**
 * Webhooks keep the signed bytes, and the skill endpoint takes one credential (issue 13):
 *   - a correctly signed body that is not valid UTF-8 is refused (400 WEBHOOK_BODY_INVALID_UTF8):
 *     before, it was decoded leniently and the stored payload (U+FFFD in place of the bytes) was not
 *     what had been signed; a valid body is stored byte for byte, a BOM included;
 *   - two Authorization headers are refused (400 SKILL_AUTH_MALFORMED): before, Node kept the first;
 *   - the Authorization parser is linear (a lazy regexp over a header of blanks was quadratic).
 */
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpServer } from '../../../lib/bridge/server.js';
import { ApiKeyRing, authorizationValues } from '../../../lib/bridge/skill/auth.js';
import { webhookRoute } from '../../../lib/bridge/webhooks/route.js';
import { byteroverSignature } from '../../../lib/bridge/webhooks/verify.js';
import type { QueueEvent } from '../../../lib/bridge/store/types.js';
import { createLogger } from '../../../lib/log/index.js';

const SECRET = 'a-byterover-webhook-secret-0123456789';
const stored: QueueEvent[] = [];
let server: HttpServer;
let port = 0;

beforeAll(async () => {
  server = new HttpServer({
    logger: createLogger({ level: 'fatal', destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
  });
  server.route(
    'POST',
    '/webhooks/byterover',
    webhookRoute({
      keys: { standard: [], byterover: [Buffer.from(SECRET, 'utf8')] },
      toleranceSeconds: 300,
      maxBodyBytes: 1 << 20,
      intake: {
        submit: async (e: QueueEvent) => {
          stored.push(e);
          return 'enqueued' as const;
        },
      },
    }),
  );
  ({ port } = await server.listen(0));
});
afterAll(() => server.close());

async function deliver(body: Buffer): Promise<{ status: number; json: Record<string, unknown> }> {
  const sig = byteroverSignature(Buffer.from(SECRET, 'utf8'), body).toString('hex');
  const r = await fetch(`http://127.0.0.1:${port}/webhooks/byterover`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-byterover-signature': `sha256=${sig}` },
    body,
  });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

describe('webhooks keep the signed bytes', () => {
  it('refuses a signed body that is not valid UTF-8, and stores nothing', async () => {
    const before = stored.length;
    const body = Buffer.concat([
      Buffer.from('{"event":"memory.updated","note":"'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('"}'),
    ]);
    const r = await deliver(body);
    expect(r.status).toBe(400);
    expect(r.json.code).toBe('WEBHOOK_BODY_INVALID_UTF8');
    expect(stored.length).toBe(before);
  });

  it('stores a valid body byte for byte (multi-byte characters, escapes)', async () => {
    const body = Buffer.from('{"event":"memory.updated","note":"café \\u00e9 ✓ 😀","n":1}', 'utf8');
    const r = await deliver(body);
    expect(r.status).toBe(200);
    const e = stored.at(-1) as QueueEvent;
    expect(Buffer.from(e.payload, 'utf8').equals(body)).toBe(true);
  });

  it('a BOM is not dropped silently: the body then is not JSON, and is refused', async () => {
    const r = await deliver(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"event":"x"}')]));
    expect(r.status).toBe(400);
    expect(r.json.code).toBe('WEBHOOK_BODY_INVALID_JSON');
  });
});

describe('one Authorization header', () => {
  const ring = ApiKeyRing.from(['key-one-0123456789abcdef', 'key-two-0123456789abcdef']);

  it('collects every Authorization value from the raw headers (Node keeps only the first in req.headers)', async () => {
    const seen = await new Promise<{ values: string[]; parsed: unknown }>((resolve) => {
      const s = new HttpServer({ logger: createLogger({ level: 'fatal' }) });
      s.route('GET', '/x', (req, res) => {
        resolve({ values: authorizationValues(req.rawHeaders), parsed: req.headers.authorization });
        res.end();
        void s.close();
      });
      void s.listen(0).then(({ port: p }) => {
        const c = connect(p, '127.0.0.1', () =>
          c.end(
            'GET /x HTTP/1.1\r\nhost: x\r\nAuthorization: Bearer key-one-0123456789abcdef\r\nauthorization: Bearer key-two-0123456789abcdef\r\n\r\n',
          ),
        );
        c.on('error', () => {});
        c.resume();
      });
    });
    expect(seen.parsed).toBe('Bearer key-one-0123456789abcdef');
    expect(seen.values).toEqual(['Bearer key-one-0123456789abcdef', 'Bearer key-two-0123456789abcdef']);
    const r = ring.authenticate(seen.values);
    expect(r.ok).toBe(false);
    expect(r.ok ? 0 : r.status).toBe(400);
    expect(r.ok ? '' : r.code).toBe('SKILL_AUTH_MALFORMED');
  });

  it('one header still works; none is missing; the parser is linear on blanks', () => {
    expect(ring.authenticate(['Bearer key-two-0123456789abcdef']).ok).toBe(true);
    expect(ring.authenticate('  Bearer   key-one-0123456789abcdef  ').ok).toBe(true);
    const none = ring.authenticate([]);
    expect(none.ok ? '' : none.code).toBe('SKILL_AUTH_MISSING');
    const blanks = ring.authenticate(`Bearer ${' '.repeat(1_000_000)}x${' '.repeat(1_000_000)}y`);
    expect(blanks.ok ? '' : blanks.code).toBe('SKILL_AUTH_MALFORMED');
  });
});
