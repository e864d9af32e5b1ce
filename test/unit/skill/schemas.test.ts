/**
 * Request validation names every field at fault at once, and the error mapping gives each known
 * failure its status (502 for ByteRover anywhere in the cause chain, 4xx for the caller's input, 503
 * when the bridge cannot do it now), leaving unknown failures to the server's 500.
 */
import { describe, expect, it } from 'vitest';
import { ByteRoverError } from '../../../lib/byterover/index.js';
import { replyForError } from '../../../lib/bridge/skill/errors.js';
import { formatPath, validateInvoke } from '../../../lib/bridge/skill/schemas.js';
import { ClawError } from '../../../lib/errors.js';

const paths = (v: ReturnType<typeof validateInvoke>): string[] => (v.ok ? [] : v.fields.map((f) => f.path).sort());

describe('validateInvoke', () => {
  it('accepts each action with its payload; an omitted payload is {}', () => {
    expect(validateInvoke({ action: 'whoami' }, undefined)).toEqual({
      ok: true,
      request: { action: 'whoami', payload: {}, idempotencyKey: undefined },
    });
    expect(validateInvoke({ action: 'search', payload: { query: ' jwt ', k: 3 } }, undefined)).toEqual({
      ok: true,
      request: { action: 'search', payload: { query: 'jwt', k: 3 }, idempotencyKey: undefined },
    });
    const curate = validateInvoke(
      { action: 'curate', payload: { content: 'x', title: 'T', tags: ['a'], path: 'd/n.md' }, idempotencyKey: 'k-1' },
      undefined,
    );
    expect(curate).toMatchObject({ ok: true, request: { action: 'curate', idempotencyKey: 'k-1' } });
    for (const action of ['pull', 'push', 'recall'] as const) {
      expect(
        validateInvoke({ action, payload: action === 'recall' ? { query: 'q', tokenBudget: 10 } : {} }, undefined).ok,
      ).toBe(true);
    }
  });

  it('names every field at fault, envelope and payload together', () => {
    const v = validateInvoke(
      { action: 'search', payload: { k: 0, extra: 1 }, idempotencyKey: '', more: true },
      undefined,
    );
    expect(paths(v)).toEqual(['idempotencyKey', 'more', 'payload.extra', 'payload.k', 'payload.query']);
    if (!v.ok) {
      expect(v.fields.find((f) => f.path === 'payload.extra')?.message).toBe('unexpected field (accepted: query, k)');
      for (const f of v.fields) expect(f.message.length).toBeGreaterThan(5);
    }
  });

  it('array items, wrong types, unknown actions and non-object bodies', () => {
    expect(
      paths(validateInvoke({ action: 'curate', payload: { content: '  ', tags: ['ok', '', 3] } }, undefined)),
    ).toEqual(['payload.content', 'payload.tags[1]', 'payload.tags[2]']);
    expect(paths(validateInvoke({ action: 'delete' }, undefined))).toEqual(['action']);
    expect(paths(validateInvoke({ payload: {} }, undefined))).toEqual(['action']);
    expect(paths(validateInvoke([1], undefined))).toEqual(['(body)']);
    expect(paths(validateInvoke(null, undefined))).toEqual(['(body)']);
    expect(paths(validateInvoke({ action: 'whoami', payload: [] }, undefined))).toEqual(['payload']);
    expect(paths(validateInvoke({ action: 'whoami', payload: { x: 1 } }, undefined))).toEqual(['payload.x']);
  });

  it('the Idempotency-Key header: used when the body has none, checked, and must equal the body key when both are sent', () => {
    expect(validateInvoke({ action: 'pull' }, 'hdr-1')).toMatchObject({
      ok: true,
      request: { idempotencyKey: 'hdr-1' },
    });
    expect(validateInvoke({ action: 'pull', idempotencyKey: 'same' }, 'same')).toMatchObject({
      ok: true,
      request: { idempotencyKey: 'same' },
    });
    expect(paths(validateInvoke({ action: 'pull', idempotencyKey: 'a' }, 'b'))).toEqual(['idempotencyKey']);
    expect(paths(validateInvoke({ action: 'pull' }, 'x'.repeat(256)))).toEqual(['headers.idempotency-key']);
    expect(paths(validateInvoke({ action: 'pull', idempotencyKey: 'tab\there' }, undefined))).toEqual([
      'idempotencyKey',
    ]);
    expect(validateInvoke({ action: 'pull', idempotencyKey: 'x'.repeat(255) }, undefined).ok).toBe(true);
  });

  it('formats paths', () => {
    expect(formatPath([])).toBe('(body)');
    expect(formatPath(['payload', 'tags', 0])).toBe('payload.tags[0]');
  });
});

describe('replyForError', () => {
  const upstream = new ByteRoverError('SERVICE_UNAVAILABLE', 'Reading the signed-in user: found HTTP 503', {
    status: 503,
    requestId: 'req-123',
    endpoint: 'iam.user.me',
    hint: 'try later',
  });

  it('ByteRover errors, direct or as a cause, are 502 with the upstream status, code and request id', () => {
    const direct = replyForError(upstream, 'whoami');
    expect(direct).toMatchObject({
      status: 502,
      body: {
        ok: false,
        code: 'SKILL_UPSTREAM_ERROR',
        hint: 'try later',
        upstream: { status: 503, code: 'SERVICE_UNAVAILABLE', requestId: 'req-123', endpoint: 'iam.user.me' },
      },
      release: true,
    });
    const wrapped = replyForError(
      new ClawError('MEMORY_PUSH_FAILED', 'expected ByteRover to accept 1 note(s)', { cause: upstream }),
      'push',
    );
    expect(wrapped).toMatchObject({
      status: 502,
      body: {
        code: 'SKILL_UPSTREAM_ERROR',
        message: 'expected ByteRover to accept 1 note(s)',
        upstream: { status: 503, requestId: 'req-123' },
      },
      release: false,
    });
    const limited = replyForError(new ByteRoverError('TOO_MANY_REQUESTS', 'rate limited', { status: 429 }), 'push');
    expect(limited).toMatchObject({
      status: 502,
      headers: { 'retry-after': '60' },
      release: true,
      body: { upstream: { status: 429, requestId: null } },
    });
  });

  it('transport failures reaching ByteRover are 502/504 with the transport code', () => {
    const net = new ClawError('HTTP_NETWORK', 'could not connect', { hint: 'check the network' });
    expect(replyForError(new ClawError('MEMORY_PUSH_FAILED', 'push failed', { cause: net }), 'push')).toMatchObject({
      status: 502,
      body: { upstream: { status: null, code: 'HTTP_NETWORK', requestId: null } },
      release: false,
    });
    expect(replyForError(new ClawError('HTTP_TIMEOUT', 'slow'), 'whoami')).toMatchObject({
      status: 504,
      release: true,
    });
  });

  it("the caller's own input: 400 with the field; not configured or unavailable: 503, key released", () => {
    const escape = replyForError(
      new ClawError('MEMORY_PATH_ESCAPE', 'expected a path inside the context tree, found "../x"', {
        hint: 'relative path',
      }),
      'curate',
    );
    expect(escape).toMatchObject({
      status: 400,
      body: { code: 'MEMORY_PATH_ESCAPE', hint: 'relative path', fields: [{ path: 'payload.path' }] },
      release: false,
    });
    for (const code of [
      'SKILL_ACTION_UNAVAILABLE',
      'AUTH_NOT_LOGGED_IN',
      'MEMORY_ENGINE_UNAVAILABLE',
      'STORE_UNAVAILABLE',
    ]) {
      expect(replyForError(new ClawError(code, 'nope', { hint: 'do this' }), 'push'), code).toMatchObject({
        status: 503,
        body: { code, hint: 'do this' },
        release: true,
      });
    }
    expect(replyForError(new ByteRoverError('BYTEROVER_NO_SESSION', 'no session'), 'whoami')).toMatchObject({
      status: 503,
      body: { code: 'BYTEROVER_NO_SESSION' },
    });
  });

  it('unknown failures are left to the server (500)', () => {
    expect(replyForError(new Error('ENOTDIR: /tmp/x'), 'curate')).toBeUndefined();
    expect(replyForError(new ClawError('MEMORY_STATE_CORRUPT', 'bad state'), 'pull')).toBeUndefined();
    expect(replyForError('a string', 'search')).toBeUndefined();
  });
});
