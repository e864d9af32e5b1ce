/**
 * Issue 11, "What it must show": every element kind of ByteRover's vocabulary is found by a term
 * that occurs only in it. One topic holds one element of each of the 18 kinds (bv-topic is the root),
 * each with its own made-up word (nested markup and entities included); querying the word must return
 * that topic with that element named (elementType, elementId) and a snippet cut from the element.
 * The same words inside a second, plain markdown note of the same index are not element hits (mixed tree).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createRecallIndex } from '../../lib/native.js';
import { missingTools } from '../helpers/tools.js';
import { ensureNativeBuilt } from './helpers.js';
import { hangGuard } from '../helpers/timeout.js';

const skip = missingTools(['c++', 'make'], 'apt-get install -y build-essential python3');

const KINDS = [
  ['bv-reason', ''],
  ['bv-task', ''],
  ['bv-changes', ''],
  ['bv-files', ''],
  ['bv-flow', ''],
  ['bv-timestamp', ''],
  ['bv-author', ''],
  ['bv-pattern', ' flags="g" description="d"'],
  ['bv-structure', ''],
  ['bv-dependencies', ''],
  ['bv-highlights', ''],
  ['bv-rule', ' severity="must"'],
  ['bv-examples', ''],
  ['bv-diagram', ''],
  ['bv-fact', ' subject="s" category="project"'],
  ['bv-decision', ''],
  ['bv-bug', ''],
  ['bv-fix', ''],
] as const;

/** A distinct made-up word per kind: "qz" + letters of its index (no digits: the tokenizer keeps them, but plain). */
const word = (i: number): string => `qz${String.fromCharCode(97 + i)}${String.fromCharCode(97 + ((i * 7) % 26))}vort`;

const TOPIC = `<bv-topic path="all/kinds" title="Every kind" summary="One element of each kind">
${KINDS.map(
  ([k, attrs], i) =>
    `  <${k}${attrs} id="bve-${String(i).padStart(8, '0')}"><p>Common filler &amp; text about <strong>${word(i)}</strong> here.</p><ul><li><code>x</code></li></ul></${k}>`,
).join('\n')}
</bv-topic>`;

describe.skipIf(skip)('every ByteRover v4 element kind is found by a unique term', () => {
  beforeAll(async () => {
    await ensureNativeBuilt();
  }, hangGuard(600_000));

  it('names the element of each of the 18 kinds, with a snippet from it', () => {
    const idx = createRecallIndex();
    idx.upsert('all/kinds.html', TOPIC);
    idx.upsert('notes/other.md', '# Other\nCommon filler text here, about nothing in particular.');
    for (const [i, [kind]] of KINDS.entries()) {
      const hits = idx.query(word(i), 5);
      expect(hits.length, kind).toBe(1);
      expect(hits[0], kind).toMatchObject({
        path: 'all/kinds.html',
        elementType: kind,
        elementId: `bve-${String(i).padStart(8, '0')}`,
      });
      expect(hits[0]!.excerpt, kind).toContain(word(i));
    }
    expect(idx.takeWarnings()).toEqual([]);
    idx.close();
  });
});
