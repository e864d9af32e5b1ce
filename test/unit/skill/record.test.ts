/**
 * The `record` skill action: a bridge whose project is bound to a ByteRover v4 space serves search,
 * recall and record over the space (pull/push answer 503: ByteRover's daemon syncs spaces); an invalid
 * topic answers 400 with every violation; a v3 project answers record with 503.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSkillActions } from '../../../lib/bridge/skill/actions.js';
import { replyForError } from '../../../lib/bridge/skill/errors.js';
import { validateInvoke } from '../../../lib/bridge/skill/schemas.js';
import { nativeRecallForTests } from '../../helpers/native-recall.js';
import { fixture, v4Home } from '../memory/v4/helpers.js';

const native = await nativeRecallForTests();
const ctx = { signal: new AbortController().signal, caller: 'test', requestId: 'r1' };

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a failure');
}

describe.skipIf(!native.factory)('skill action record (ByteRover v4 spaces)', () => {
  it('records into the bound space, search finds it; violations answer 400 with each code', async () => {
    const h = await v4Home();
    const id = await h.addSpace('Eng', { 'auth/jwt_design.html': await fixture('jwt_design.html') });
    const proj = join(h.work, 'proj');
    await h.marker(proj, { space_id: id, space_name: 'Eng' });
    const prev = process.env.BRV_DATA_DIR;
    process.env.BRV_DATA_DIR = h.data;
    const opened = await openSkillActions({ projectRoot: proj, watch: false });
    try {
      const v = validateInvoke(
        { action: 'record', payload: { path: 'ops/pager', title: 'Pager', body: 'The pager rotates on Mondays.' } },
        undefined,
      );
      expect(v.ok).toBe(true);
      if (!v.ok || v.request.action !== 'record') throw new Error('validation');
      const r = await opened.actions.record(v.request.payload, ctx);
      expect(r).toMatchObject({ path: 'ops/pager', created: true, space: { id, name: 'Eng' } });
      expect((await opened.actions.search({ query: 'pager rotates mondays' }, ctx)).hits[0]?.path).toBe(
        'ops/pager.html',
      );
      expect((await opened.actions.recall({ query: 'clock drift tokens' }, ctx)).text).toContain('📚 From ByteRover:');

      const e = await caught(
        opened.actions.record(
          { path: 'ops/x', html: '<bv-topic path="ops/y" importance="1"><bv-fact>z</bv-fact></bv-topic>' },
          ctx,
        ),
      );
      const reply = replyForError(e, 'record')!;
      expect(reply.status).toBe(400);
      const codes = (reply.body.violations as { code: string }[]).map((x) => x.code);
      expect(new Set(codes)).toEqual(new Set(['BV_PATH_MISMATCH', 'BV_SYSTEM_ATTRIBUTE', 'BV_REQUIRED_ATTRIBUTE']));
      const exists = await caught(opened.actions.record({ path: 'ops/pager', title: 'P', body: 'b' }, ctx));
      expect(replyForError(exists, 'record')?.status).toBe(409);
      const pull = await caught((async () => opened.actions.pull({}, ctx))());
      expect(replyForError(pull, 'pull')).toMatchObject({ status: 503, body: { code: 'SKILL_ACTION_UNAVAILABLE' } });
    } finally {
      await opened.close();
      if (prev === undefined) delete process.env.BRV_DATA_DIR;
      else process.env.BRV_DATA_DIR = prev;
    }
  });

  it('a v3 project answers record with 503 SKILL_ACTION_UNAVAILABLE', async () => {
    const h = await v4Home();
    const prev = process.env.BRV_DATA_DIR;
    process.env.BRV_DATA_DIR = h.data;
    const opened = await openSkillActions({ projectRoot: h.work, watch: false });
    try {
      const e = await caught(opened.actions.record({ path: 'a/b', title: 't', body: 'b' }, ctx));
      expect(replyForError(e, 'record')).toMatchObject({ status: 503, body: { code: 'SKILL_ACTION_UNAVAILABLE' } });
    } finally {
      await opened.close();
      if (prev === undefined) delete process.env.BRV_DATA_DIR;
      else process.env.BRV_DATA_DIR = prev;
    }
  });
});
