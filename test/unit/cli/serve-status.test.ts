/**
 * serve's status lines: one at start, then only on a change — on a TTY too. Before, a TTY got the
 * same line again every 5 s (a wall of identical lines for an idle bridge).
 */
import { describe, expect, it } from 'vitest';
import { shouldPrintStatus } from '../../../lib/cli/commands/serve-run.js';

describe('serve status lines', () => {
  it('an unchanged status is not printed again on a TTY, however long since the last line', () => {
    for (const sinceLastMs of [0, 5_000, 60_000, 3_600_000]) {
      expect(shouldPrintStatus({ force: false, key: 'k', lastKey: 'k', tty: true, sinceLastMs })).toBe(false);
      expect(shouldPrintStatus({ force: false, key: 'k', lastKey: 'k', tty: false, sinceLastMs })).toBe(false);
    }
  });
  it('a change is printed at once, and the first line always', () => {
    expect(shouldPrintStatus({ force: false, key: 'b', lastKey: 'a', tty: true, sinceLastMs: 0 })).toBe(true);
    expect(shouldPrintStatus({ force: true, key: 'a', lastKey: 'a', tty: false, sinceLastMs: 0 })).toBe(true);
  });
});
