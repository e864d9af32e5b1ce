/**
 * Log lines are one line (issue 13): every value from the host or the network that enters a log line
 * is escaped (control characters and escape sequences as \n, \x1b, ...), in the message, in string
 * fields (nested too) and in an Error's message; and the redaction patterns that scan every logged
 * string stay linear on hostile text.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, oneLine, redactString } from '../../../lib/log/index.js';

function capture(): { lines: () => string[]; stream: Writable } {
  let out = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString('utf8');
      cb();
    },
  });
  return { lines: () => out.split('\n').slice(0, -1), stream };
}

const HOSTILE = 'evil\nhost {"level":50,"msg":"forged"}\r\x1b[2J\x1b]0;title\x07\u009b31m\u2028\u2029\ud800';

describe('oneLine', () => {
  it('shows control characters and escape sequences as escapes, keeps the rest', () => {
    expect(oneLine('a\nb\rc\td')).toBe('a\\nb\\rc\\td');
    expect(oneLine('\x1b[31mred\x1b[0m')).toBe('\\x1b[31mred\\x1b[0m');
    expect(oneLine('\x00\x7f\u0085\u009b')).toBe('\\x00\\x7f\\u0085\\u009b');
    expect(oneLine('ls\u2028ps\u2029')).toBe('ls\\u2028ps\\u2029');
    expect(oneLine('lone \ud800 and \udc00, pair \ud83d\ude00')).toBe('lone \\ud800 and \\udc00, pair \ud83d\ude00');
    expect(oneLine('café – C:\\path "quoted"')).toBe('café – C:\\path "quoted"');
  });
});

describe('the logger writes one line per call, whatever the values hold', () => {
  it('message, string fields, nested fields, keys and an Error', () => {
    const c = capture();
    const log = createLogger({ level: 'info', destination: c.stream });
    log.info({ host: HOSTILE, nested: { deep: [HOSTILE] }, [HOSTILE]: 1 }, HOSTILE);
    log.error({ err: new Error(HOSTILE) }, 'failed');
    log.warn(HOSTILE);
    const lines = c.lines();
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      const text = JSON.parse(line) as Record<string, unknown>;
      // After JSON decoding (what a log viewer shows), no control character and no line separator.
      const decoded = JSON.stringify(text, (_k, v: unknown) => v);
      const values: string[] = [];
      JSON.parse(decoded, (k, v: unknown) => {
        values.push(k);
        if (typeof v === 'string') values.push(v);
        return v;
      });
      for (const v of values) {
        expect(v).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
      }
    }
    const first = JSON.parse(lines[0] ?? '{}') as { msg: string; host: string; nested: { deep: string[] } };
    expect(first.msg).toBe(oneLine(HOSTILE));
    expect(first.host).toContain('evil\\nhost');
    expect(first.host).toContain('\\x1b[2J');
    expect(first.nested.deep[0]).toBe(oneLine(HOSTILE));
    const second = JSON.parse(lines[1] ?? '{}') as { err: { message: string; stack: string } };
    expect(second.err.message).toContain('evil\\nhost');
    expect(second.err.stack).not.toContain('\n');
  });
});

describe('redaction stays linear on hostile text (1,000,000 characters)', () => {
  const N = 1_000_000;
  it('a run of key characters without "=", many eyJ, an unclosed secret value', () => {
    // Before: a lazy key pattern retried at every "-" boundary (O(n²)), a JWT pattern at every eyJ,
    // and "secret":" without a closing quote rescanned the rest at every field.
    expect(redactString('a-'.repeat(N / 2)).length).toBe(N);
    expect(redactString('eyJ-'.repeat(N / 4)).length).toBe(N);
    expect(redactString('"secret":"x'.repeat(N / 11))).toContain('[REDACTED]');
    // Still redacting what it did.
    expect(redactString('GET /cb?code=abc123&state=xyz')).toBe('GET /cb?code=[REDACTED]&state=[REDACTED]');
    expect(redactString('x-bridge-api-key=s3cr3t other=1')).toBe('x-bridge-api-key=[REDACTED] other=1');
    expect(redactString('{"client_secret": "abc", "b": 1}')).toBe('{"client_secret": "[REDACTED]", "b": 1}');
  });
});
