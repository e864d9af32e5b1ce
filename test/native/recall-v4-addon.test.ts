/**
 * ByteRover v4 topics through Node-API (native/src/addon.cc, lib/native.ts): parseTopic on the
 * vocabulary's own example and on malformed input (warnings with reasons, never a throw), isTopicPath,
 * hits that name their element (elementId/elementType) with a snippet from it, setSignals changing
 * the order as native/src/recall/index.h documents, and warnings handed out once per (path, content).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createRecallIndex, isTopicPath, parseTopic } from '../../lib/native.js';
import { missingTools } from '../helpers/tools.js';
import { ensureNativeBuilt } from './helpers.js';
import { hangGuard } from '../helpers/timeout.js';

const skip = missingTools(['c++', 'make'], 'apt-get install -y build-essential python3');

/** From skills/byterover/vocabulary.md ("Realistic full example"), shortened to four elements. */
const JWT = `<bv-topic path="auth/jwt_design"
          title="JWT authentication design"
          summary="Service-to-service tokens use RS256 with 24h expiry"
          keywords="auth,jwt,rs256,security">
  <bv-decision id="d-rs256">
    Use RS256 for all service tokens; reject HS256.
  </bv-decision>
  <bv-fact subject="algorithm" category="convention" value="RS256">
    Production enforces RS256 exclusively.
  </bv-fact>
  <bv-bug severity="medium" id="b-clock-skew">
    Services with &plusmn;5min clock drift reject otherwise-valid tokens.
  </bv-bug>
  <bv-fix id="f-clock-skew">
    Use the 30-second leeway: <code>verifyJwt(token, { tolerance: 30 })</code>.
  </bv-fix>
</bv-topic>`;

const topic = (path: string, text: string): string =>
  `<bv-topic path="${path}" title="T ${path}"><bv-fact subject="s" category="other">${text}</bv-fact></bv-topic>`;

describe.skipIf(skip)('ByteRover v4 topics through Node-API', () => {
  beforeAll(async () => {
    await ensureNativeBuilt();
  }, hangGuard(600_000));

  it('parseTopic returns attributes, elements and no warnings for a well-formed topic', () => {
    const t = parseTopic(JWT);
    expect(t.isTopic).toBe(true);
    expect(t.warnings).toEqual([]);
    expect(t.attrs).toMatchObject({ path: 'auth/jwt_design', title: 'JWT authentication design' });
    expect(t.elements.map((e) => e.type)).toEqual(['bv-decision', 'bv-fact', 'bv-bug', 'bv-fix']);
    expect(t.elements[1]).toMatchObject({
      type: 'bv-fact',
      id: '',
      attrs: { subject: 'algorithm', category: 'convention', value: 'RS256' },
      text: 'Production enforces RS256 exclusively.',
    });
    expect(t.elements[3]?.text).toBe('Use the 30-second leeway: verifyJwt(token, { tolerance: 30 }).');
    expect(JWT.slice(t.elements[2]?.offset ?? 0)).toMatch(/^<bv-bug /);
    // The same bytes as a Uint8Array give the same result.
    expect(parseTopic(new TextEncoder().encode(JWT))).toEqual(t);
  });

  it('parseTopic reports malformed input as warnings with a code and a reason, never a throw', () => {
    const t = parseTopic('<bv-topic path="a" path="b"><bv-bug>x</bv-fix><bv-fact subject=s>y');
    expect(t.isTopic).toBe(true);
    expect(t.attrs.path).toBe('a');
    expect(t.attrList).toEqual([{ name: 'path', value: 'a' }]); // the duplicate is a warning
    const codes = t.warnings.map((w) => w.code);
    expect(codes).toEqual(
      expect.arrayContaining([
        'HTML_DUPLICATE_ATTRIBUTE',
        'HTML_MISMATCHED_END_TAG',
        'HTML_BAD_ATTRIBUTE',
        'HTML_UNCLOSED_ELEMENT',
      ]),
    );
    for (const w of t.warnings) expect(w.reason).toMatch(/expected/);
    const md = parseTopic('# a markdown note');
    expect(md.isTopic).toBe(false);
    expect(md.warnings.map((w) => w.code)).toEqual(['HTML_ROOT', 'HTML_NOT_A_TOPIC']);
    expect(() => parseTopic(42 as unknown as string)).toThrow(TypeError);
  });

  it('isTopicPath skips index.html, _manifest.json and archived migrations', () => {
    expect(isTopicPath('auth/jwt_design.html')).toBe(true);
    expect(isTopicPath('index.html')).toBe(false);
    expect(isTopicPath('_manifest.json')).toBe(false);
    expect(isTopicPath('.brv/_migrations/auth/jwt.html')).toBe(false);
  });

  it('a hit names its best element and cuts the snippet from it', () => {
    const idx = createRecallIndex();
    idx.upsert('auth/jwt_design.html', JWT);
    idx.upsert('notes/clock.md', '# Clock\nNTP keeps the clock in sync.');
    const hits = idx.query('clock drift', 5);
    expect(hits[0]).toMatchObject({
      path: 'auth/jwt_design.html',
      title: 'JWT authentication design',
      elementId: 'b-clock-skew',
      elementType: 'bv-bug',
    });
    expect(hits[0]?.excerpt).toContain('clock drift');
    expect(hits[0]?.excerpt).not.toContain('RS256');
    const md = hits.find((h) => h.path === 'notes/clock.md');
    expect(md).toBeDefined();
    expect(md && 'elementType' in md).toBe(false);
    idx.close();
  });

  it('setSignals changes the order as documented (importance, recency, maturity tier)', () => {
    const idx = createRecallIndex();
    idx.upsert('strong.html', topic('strong', 'alpha alpha beta'));
    idx.upsert('weak.html', topic('weak', 'alpha beta gamma'));
    const plain = idx.query('alpha', 5);
    expect(plain.map((h) => h.path)).toEqual(['strong.html', 'weak.html']);
    const bmWeak = (plain[1]?.score ?? 0) / (plain[0]?.score ?? 1);
    idx.setSignals('weak.html', { importance: 100, recency: 1, maturity: 'core' });
    idx.setSignals('strong.html', { importance: 0, recency: 0, maturity: 'draft' });
    const ranked = idx.query('alpha', 5);
    expect(ranked.map((h) => h.path)).toEqual(['weak.html', 'strong.html']);
    expect(ranked[0]?.score).toBeCloseTo((0.6 * bmWeak + 0.2 + 0.2) * 1.15, 9);
    expect(ranked[1]?.score).toBeCloseTo(0.6 * 0.85, 9);
    idx.setSignals('weak.html', null);
    idx.setSignals('strong.html', null);
    expect(idx.query('alpha', 5)).toEqual(plain);
    expect(() => idx.setSignals('weak.html', { maturity: 'gold' as 'core' })).toThrow(
      /expected `maturity` to be "draft", "validated" or "core", got "gold"/,
    );
    expect(() => idx.setSignals('weak.html', { importance: 101 })).toThrow(RangeError);
    idx.close();
  });

  it('warnings of malformed files come once per (path, content)', () => {
    const idx = createRecallIndex();
    const bad = '<bv-topic path="a" title="A"><bv-task>x</bv-topic>';
    idx.upsert('a.html', bad);
    const w = idx.takeWarnings();
    expect(w).toEqual([
      {
        path: 'a.html',
        code: 'HTML_MISMATCHED_END_TAG',
        reason: 'expected </bv-task>, found </bv-topic> (closing both)',
        offset: bad.indexOf('</bv-topic>'),
      },
    ]);
    idx.addBatch([{ path: 'a.html', doc: bad }]);
    idx.upsert('a.html', bad);
    expect(idx.takeWarnings()).toEqual([]);
    idx.upsert('a.html', bad + '\n');
    expect(idx.takeWarnings()).toHaveLength(1);
    expect(idx.query('x', 5)[0]).toMatchObject({ path: 'a.html', elementType: 'bv-task' });
    idx.close();
  });
});
