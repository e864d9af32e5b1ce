/**
 * A `code` is an error code in log lines (readable) and an OAuth authorization code in redirects
 * (secret): redaction tells them apart (issue 14, item 9: the bridge log showed `code=[REDACTED]`).
 */
import { describe, expect, it } from 'vitest';
import { humanLogLine } from '../../../lib/cli/context.js';
import { redact, redactString } from '../../../lib/log/redact.js';

const OAUTH_CODES = ['SplxlOBeZQQYbYS6WxSbIA', 'a3f9c2e1b7d8', 'Qm9fX2-_zz81kLLp0aa', 'A3F9C2E1B7D84F00'];

describe('error codes stay visible', () => {
  it('in the human log line the CLI prints (code=… key=value text)', () => {
    const line = JSON.stringify({ level: 50, time: 1, msg: 'sync failed', code: 'AUTH_INVALID_TOKEN', status: 401 });
    expect(redactString(humanLogLine(line))).toBe('error: sync failed code=AUTH_INVALID_TOKEN status=401\n');
  });

  it('for Node errno names, ERR_ codes and HTTP statuses, in text and in objects', () => {
    for (const c of ['ENOENT', 'ECONNREFUSED', 'ERR_SOCKET_TIMEOUT', 'HTTP_NETWORK', '503']) {
      expect(redactString(`bridge: upstream failed code=${c}`)).toBe(`bridge: upstream failed code=${c}`);
      expect(redact({ code: c })).toEqual({ code: c });
    }
    expect(redact({ err: { code: 'MEMORY_TREE_MISSING' }, status: 404 })).toEqual({
      err: { code: 'MEMORY_TREE_MISSING' },
      status: 404,
    });
  });
});

describe('OAuth authorization codes stay redacted', () => {
  it('in a URL query string, even when the value looks like an error code', () => {
    for (const c of [...OAUTH_CODES, 'AUTH_LOOKS_LIKE_A_CODE']) {
      const out = redactString(`GET /oauth/callback?code=${c}&state=xyz123456 302`);
      expect(out).not.toContain(c);
      expect(out).toContain('?code=[REDACTED]&state=[REDACTED]');
      expect(redactString(`https://x.test/cb?state=s1&code=${c}`)).toBe(
        'https://x.test/cb?state=[REDACTED]&code=[REDACTED]',
      );
    }
  });

  it('in free text and in objects, when the value does not read as an error code', () => {
    for (const c of OAUTH_CODES) {
      expect(redactString(`exchanging code=${c} for tokens`)).toBe('exchanging code=[REDACTED] for tokens');
      expect(redact({ code: c, grant_type: 'authorization_code' })).toEqual({
        code: '[REDACTED]',
        grant_type: 'authorization_code',
      });
    }
    // Other *_code keys are never treated as error codes.
    expect(redactString('device_code=ABC_DEF')).toBe('device_code=[REDACTED]');
  });
});
