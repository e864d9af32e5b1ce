/**
 * The TypeScript <bv-topic> reader (entities, comments, nesting, warnings with the native codes, never
 * a throw), the signal rules (ByteRover's tiers and decay), citation formatting, and a v3-style note
 * curated into a v4 space.
 */
import { describe, expect, it } from 'vitest';
import { nativeRecallForTests } from '../../../helpers/native-recall.js';
import { citationBlock, compoundScore, confidenceOf, coverage } from '../../../../lib/memory/v4/cite.js';
import { readTopicHtml } from '../../../../lib/memory/v4/html.js';
import { SpaceMemory } from '../../../../lib/memory/v4/memory.js';
import {
  afterCurateUpdate,
  decayed,
  defaultSignals,
  determineTier,
  parseSignals,
} from '../../../../lib/memory/v4/signals.js';
import { spacePaths } from '../../../../lib/memory/v4/space.js';
import { v4Home } from './helpers.js';

describe('readTopicHtml', () => {
  it('reads attributes, element text with entities and nested markup, and skips comments', () => {
    const p = readTopicHtml(
      '<!-- c --><bv-topic path="a/b" title="A &amp; B"><bv-fact subject="s" category="project">x &lt; y &#x2192; <strong>z</strong><br>w</bv-fact>' +
        '<bv-changes><li>one</li><li>two</li></bv-changes></bv-topic>',
    );
    expect(p.isTopic).toBe(true);
    expect(p.attrs.title).toBe('A & B');
    expect(p.elements.map((e) => [e.type, e.text])).toEqual([
      ['bv-fact', 'x < y → z w'],
      ['bv-changes', 'one two'],
    ]);
    expect(p.warnings).toEqual([]);
  });

  it('reports malformed input as warnings with the native codes, never throwing', () => {
    const codes = (h: string) => readTopicHtml(h).warnings.map((w) => w.code);
    expect(codes('<div>x</div>')).toContain('HTML_NOT_A_TOPIC');
    expect(codes('<bv-topic path="a" title="t"><bv-task>x</bv-topic>')).toContain('HTML_MISMATCHED_END_TAG');
    expect(codes('<bv-topic path="a" title="t"><bv-task>x')).toContain('HTML_UNCLOSED_ELEMENT');
    expect(codes('<bv-topic path="a" title="t" title="u"></bv-topic>')).toContain('HTML_DUPLICATE_ATTRIBUTE');
    expect(codes('<bv-topic path=a title="t"></bv-topic>')).toContain('HTML_BAD_ATTRIBUTE');
    expect(codes('<bv-topic path="a" title="t"><!-- open')).toContain('HTML_UNTERMINATED_COMMENT');
    expect(codes('<bv-topic path="a" title="t"></bv-topic> trailing')).toContain('HTML_CONTENT_AFTER_ROOT');
    expect(codes('<bv-topic path="a" title="t"><bv-bug>x<bv-fix>y</bv-fix></bv-bug></bv-topic>')).toContain(
      'HTML_NESTED_ELEMENT',
    );
    for (const junk of ['', '<', '<<<>>>', '<bv-topic', '"\'<bv-topic a="', "\u0000\uffff<x y='z"])
      expect(() => readTopicHtml(junk)).not.toThrow();
  });
});

describe('signals (ByteRover rules)', () => {
  it('tiers, the update rule, decay, and tolerant parsing', () => {
    expect(defaultSignals()).toEqual({ accessCount: 0, importance: 50, maturity: 'draft', recency: 1, updateCount: 0 });
    expect(determineTier(85, 'draft')).toBe('core');
    expect(determineTier(65, 'draft')).toBe('validated');
    expect(determineTier(59, 'core')).toBe('validated');
    expect(determineTier(34, 'validated')).toBe('draft');
    expect(determineTier(50, 'validated')).toBe('validated');
    let s = defaultSignals();
    for (let i = 0; i < 3; i++) s = afterCurateUpdate(s);
    expect(s).toEqual({ accessCount: 0, importance: 65, maturity: 'validated', recency: 1, updateCount: 3 });
    const d = decayed({ ...s, recency: 1 }, 30);
    expect(d.recency).toBeCloseTo(Math.exp(-1), 10);
    expect(d.importance).toBeCloseTo(65 * 0.995 ** 30, 10);
    expect(parseSignals('{"importance": 500, "maturity": "legend", "recency": 0.5}')).toEqual({
      accessCount: 0,
      importance: 50,
      maturity: 'draft',
      recency: 0.5,
      updateCount: 0,
    });
    expect(parseSignals('not json')).toBeUndefined();
  });

  it('confidence follows ByteRover cut-offs; citations skip weak hits', () => {
    expect(confidenceOf(compoundScore(1, { importance: 50, recency: 1, maturity: 'draft' }))).toBe('high');
    expect(confidenceOf(compoundScore(0.5, { importance: 50, recency: 1, maturity: 'draft' }))).toBe('medium');
    expect(confidenceOf(compoundScore(0.1, { importance: 0, recency: 0.2, maturity: 'draft' }))).toBe('low');
    expect(coverage(['tokens', 'policy'], 'a token policies text')).toBe(1);
    const c = citationBlock([
      {
        title: 'A',
        path: 'a.html',
        excerpt: 'first',
        elementId: 'bve-aaaaaaaa',
        elementType: 'bv-rule',
        confidence: 'high',
      },
      { title: 'B', path: 'b.html', excerpt: 'weak', elementType: 'bv-fact', confidence: 'low' },
      { title: 'C', path: 'c.html', excerpt: 'x'.repeat(400), confidence: 'medium' },
    ]);
    expect(c.cited).toBe(2);
    expect(c.text.split('\n')).toEqual([
      '📚 From ByteRover:',
      '- A (rule) — a.html#bve-aaaaaaaa',
      '  > first',
      '- C (topic) — c.html',
      `  > ${'x'.repeat(159)}…`,
    ]);
  });
});

const native = await nativeRecallForTests();
describe.skipIf(!native.factory)('SpaceMemory.curate', () => {
  it('turns a v3-style note into a topic at notes/<snake_case title>, _2 when taken', async () => {
    const h = await v4Home();
    const s = spacePaths(h.data, await h.addSpace('C'));
    const mem = await SpaceMemory.open({ space: s, watch: false });
    try {
      const a = await mem.curate({ title: 'Deploy Window!', content: 'Tuesdays before noon.', tags: ['ops'] });
      const b = await mem.curate({ title: 'Deploy window', content: 'Thursdays too.' });
      expect([a.path, b.path]).toEqual(['notes/deploy_window.html', 'notes/deploy_window_2.html']);
      expect(a.id).toMatch(/^tpc_/);
      expect((await mem.search('thursdays'))[0]?.path).toBe('notes/deploy_window_2.html');
    } finally {
      await mem.close();
    }
  });
});
