/**
 * The plugin on a workspace bound to a ByteRover v4 space: the engine's addition cites each hit by
 * title, path and element within the budget, carries the record guidance unless ByteRover's own plugin
 * is enabled (or it is configured off), and byterover_record writes validated topics.
 */
import { describe, expect, it } from 'vitest';
import { ClawError } from '../../../lib/errors.js';
import { estimateTokens } from '../../../lib/memory/budget.js';
import { nativeRecallForTests } from '../../helpers/native-recall.js';
import { createContextEngine } from '../../../lib/openclaw/engine.js';
import { createTools } from '../../../lib/openclaw/tools.js';
import { byteroverPluginEnabled, RECORD_GUIDANCE, V4_ADDITION_HEADER } from '../../../lib/openclaw/v4.js';
import { fixture, v4Home } from '../memory/v4/helpers.js';
import { testRuntime } from './helpers.js';

const native = await nativeRecallForTests();

async function boundRuntime(config: Record<string, unknown> = {}) {
  const h = await v4Home();
  const id = await h.addSpace('Eng', { 'auth/jwt_design.html': await fixture('jwt_design.html') });
  const t = await testRuntime({ withFixture: false, env: { BRV_DATA_DIR: h.data }, config });
  await h.marker(t.project, { space_id: id, space_name: 'Eng' });
  return { ...t, h, id };
}

const turn = (prompt: string) => ({ sessionId: 's', sessionKey: 'k', messages: [], prompt, tokenBudget: 200_000 });

describe('byteroverPluginEnabled', () => {
  it("sees ByteRover's own plugin in the host config", () => {
    expect(byteroverPluginEnabled(undefined)).toBe(false);
    expect(byteroverPluginEnabled({ plugins: { entries: { byterover: {} } } })).toBe(true);
    expect(byteroverPluginEnabled({ plugins: { entries: { byterover: { enabled: false } } } })).toBe(false);
    expect(byteroverPluginEnabled({ plugins: { slots: { contextEngine: 'byterover' } } })).toBe(true);
    expect(byteroverPluginEnabled({ plugins: { entries: { byterover: {} }, deny: ['byterover'] } })).toBe(false);
    expect(byteroverPluginEnabled({ plugins: { entries: { byterover: {} }, allow: ['claw-byterover'] } })).toBe(false);
    expect(byteroverPluginEnabled({ plugins: { entries: { 'claw-byterover': {} } } })).toBe(false);
  });
});

describe.skipIf(!native.factory)('the plugin on a ByteRover v4 space', () => {
  it('assemble cites each hit by title, path and element, with the record guidance, within the budget', async () => {
    const { rt } = await boundRuntime({ recall: { maxTokens: 400 } });
    const ce = createContextEngine({ runtime: rt });
    const r = await ce.assemble(turn('why do services with clock drift reject valid tokens?'));
    const add = r.systemPromptAddition ?? '';
    expect(add.startsWith(V4_ADDITION_HEADER)).toBe(true);
    expect(add).toMatch(
      /📚 From ByteRover:\n- JWT authentication design \(bug\) — auth\/jwt_design\.html#b-clock-skew/,
    );
    expect(add.endsWith(RECORD_GUIDANCE)).toBe(true);
    expect(estimateTokens(add)).toBeLessThanOrEqual(400);
    // a tiny budget still holds (fewer hits or none), never more than the budget
    const small = await createContextEngine({
      runtime: (await boundRuntime({ recall: { maxTokens: 120 } })).rt,
    }).assemble(turn('clock drift tokens'));
    expect(estimateTokens(small.systemPromptAddition ?? '')).toBeLessThanOrEqual(120);
  });

  it("the guidance is off by default when ByteRover's own plugin is enabled, on when configured", async () => {
    const { rt } = await boundRuntime();
    const add = (await createContextEngine({ runtime: rt, byteroverPlugin: true }).assemble(turn('clock drift tokens')))
      .systemPromptAddition;
    expect(add).toContain('📚 From ByteRover:');
    expect(add).not.toContain('byterover_record');
    const on = await boundRuntime({ recall: { recordGuidance: 'on' } });
    const add2 = (await createContextEngine({ runtime: on.rt, byteroverPlugin: true }).assemble(turn('clock drift')))
      .systemPromptAddition;
    expect(add2).toContain(RECORD_GUIDANCE);
    const off = await boundRuntime({ recall: { recordGuidance: 'off' } });
    expect(
      (await createContextEngine({ runtime: off.rt }).assemble(turn('clock drift'))).systemPromptAddition,
    ).not.toContain('byterover_record');
  });

  it('byterover_record writes a validated topic that recall then finds; violations come back with codes', async () => {
    const { rt } = await boundRuntime();
    const tools = createTools(rt, {});
    const rec = tools.find((t) => t.name === 'byterover_record')!;
    const html =
      '<bv-topic path="ops/pager" title="Pager rotation"><bv-task>Who carries the pager.</bv-task><bv-structure>The pager rotates every Monday between three platform engineers.</bv-structure></bv-topic>';
    const r = await rec.execute('1', { path: 'ops/pager', html });
    expect(r.details).toMatchObject({ path: 'ops/pager', created: true, space: 'Eng' });
    const recall = tools.find((t) => t.name === 'byterover_recall')!;
    const got = await recall.execute('2', { query: 'pager rotates monday' });
    expect((got.details as { paths: string[] }).paths[0]).toBe('ops/pager.html');
    expect((got.details as { citation: string }).citation).toContain(
      '- Pager rotation (structure) — ops/pager.html#bve-',
    );
    const bad = await rec
      .execute('3', { path: 'ops/other', html: html.replace('title="Pager rotation"', '') })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ClawError);
    expect((bad as ClawError).code).toBe('BV_TOPIC_INVALID');
    expect((bad as ClawError).message).toMatch(
      /BV_PATH_MISMATCH.*BV_REQUIRED_ATTRIBUTE|BV_REQUIRED_ATTRIBUTE.*BV_PATH_MISMATCH/,
    );
  });

  it('byterover_record on a v3 workspace says so', async () => {
    const t = await testRuntime();
    const rec = createTools(t.rt, {}).find((x) => x.name === 'byterover_record')!;
    const e = await rec
      .execute('1', { path: 'a/b', html: '<bv-topic path="a/b" title="t"></bv-topic>' })
      .catch((x: unknown) => x);
    expect((e as ClawError).code).toBe('BV_RECORD_NO_SPACE');
  });
});
