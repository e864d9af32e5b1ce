import { describe, expect, it } from 'vitest';
import { lastJsonLine } from '../../../lib/memory/brv.js';

describe('brv output parsing', () => {
  it('takes the last line that is a JSON object, skipping banners, progress and broken lines', () => {
    const out = [
      'Starting daemon…',
      '{"command":"search","success":true,"data":{"status":"progress"}}',
      '{"command":"search","success":true,"data":{"results":[{"path":"a.md"}]}}',
      '[1,2,3]',
      '{"truncated": ',
      '',
    ].join('\n');
    expect(lastJsonLine(out)).toEqual({ command: 'search', success: true, data: { results: [{ path: 'a.md' }] } });
    expect(lastJsonLine('no json here\n')).toBeUndefined();
    expect(lastJsonLine('\r\n{"a":1}\r\n')).toEqual({ a: 1 });
  });
});
