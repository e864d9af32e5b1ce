/**
 * v4 signals and the persisted index (native/src/recall/persist.h): signals are not saved in the
 * file (coord/recall-native.md), so a loaded index must rank exactly like a freshly built one once
 * the caller sets the signals — whether it sets them before loadFile (index.h: signals "may be set
 * before the document is indexed") or after. Element hits (elementId/elementType) survive the file.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecallIndex } from '../../lib/native.js';
import { missingTools } from '../helpers/tools.js';
import { ensureNativeBuilt } from './helpers.js';
import { hangGuard } from '../helpers/timeout.js';

const skip = missingTools(['c++', 'make'], 'apt-get install -y build-essential python3');

const topic = (path: string, text: string): string =>
  `<bv-topic path="${path}" title="T ${path}"><bv-rule severity="must" id="bve-${path.padEnd(8, 'x')}">${text}</bv-rule></bv-topic>`;
const DOCS: [string, string][] = [
  ['strong.html', topic('strong', 'alpha alpha beta')],
  ['weak.html', topic('weak', 'alpha beta gamma')],
  ['other.html', topic('other', 'gamma delta')],
];
const SIGNALS = { importance: 100, recency: 1, maturity: 'core' } as const;
const LOW = { importance: 0, recency: 0, maturity: 'draft' } as const;

describe.skipIf(skip)('v4 signals with a persisted index', () => {
  let dir = '';
  beforeAll(async () => {
    await ensureNativeBuilt();
    dir = await mkdtemp(join(tmpdir(), 'claw-v4-persist-'));
  }, hangGuard(600_000));
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a loaded index ranks like a built one once signals are set, before or after loading', () => {
    const built = createRecallIndex();
    for (const [p, t] of DOCS) built.upsert(p, t);
    const file = join(dir, 'index.bin');
    if (!built.saveFile) throw new Error('this addon has no saveFile');
    built.saveFile(file, '{}');
    built.setSignals('weak.html', SIGNALS);
    built.setSignals('strong.html', LOW);
    const expected = built.query('alpha', 5);
    expect(expected.map((h) => h.path)).toEqual(['weak.html', 'strong.html']);
    expect(expected[0]).toMatchObject({ elementType: 'bv-rule', elementId: 'bve-weakxxxx' });

    const before = createRecallIndex();
    before.setSignals('weak.html', SIGNALS);
    before.setSignals('strong.html', LOW);
    before.loadFile!(file);
    expect(before.query('alpha', 5)).toEqual(expected);

    const after = createRecallIndex();
    after.loadFile!(file);
    expect(after.query('alpha', 5).map((h) => h.path)).toEqual(['strong.html', 'weak.html']);
    after.setSignals('weak.html', SIGNALS);
    after.setSignals('strong.html', LOW);
    expect(after.query('alpha', 5)).toEqual(expected);
    for (const i of [built, before, after]) i.close();
  });
});
