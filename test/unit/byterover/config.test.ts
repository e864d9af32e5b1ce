/**
 * ByteRover configuration: brv's environment variable names, defaults, overrides, and validation
 * errors that name the variable at fault.
 */
import { describe, expect, it } from 'vitest';
import { isClawError } from '../../../lib/errors.js';
import { DEFAULT_BASE_URLS, loadByteRoverConfig, parseByteRoverConfig } from '../../../lib/byterover/index.js';

describe('loadByteRoverConfig', () => {
  it('defaults to ByteRover production and brv timeouts', () => {
    expect(loadByteRoverConfig({})).toEqual({
      iamBaseUrl: 'https://iam.byterover.dev',
      cogitBaseUrl: 'https://v3-cgit.byterover.dev',
      billingBaseUrl: 'https://v3-billing.byterover.dev',
      llmBaseUrl: 'https://llm.byterover.dev',
      legacyBaseUrl: 'https://api.byterover.dev/api/v1',
      timeouts: { iam: 10_000, cogit: 30_000, billing: 10_000, legacy: 10_000 },
      pageSize: 100,
    });
    expect(DEFAULT_BASE_URLS.cogit).toBe('https://v3-cgit.byterover.dev');
  });

  it('reads the same variables as brv, strips trailing slashes, and ignores empty ones', () => {
    const c = loadByteRoverConfig({
      BRV_IAM_BASE_URL: 'http://127.0.0.1:4001/',
      BRV_COGIT_BASE_URL: 'http://127.0.0.1:4002',
      BRV_BILLING_BASE_URL: 'http://127.0.0.1:4003//',
      BRV_LLM_BASE_URL: '  ',
      BYTEROVER_API_URL: 'http://127.0.0.1:4004/api/v1',
      CLAW_BYTEROVER_IAM_TIMEOUT_MS: '2500',
      CLAW_BYTEROVER_COGIT_TIMEOUT_MS: '60000',
    });
    expect(c).toMatchObject({
      iamBaseUrl: 'http://127.0.0.1:4001',
      cogitBaseUrl: 'http://127.0.0.1:4002',
      billingBaseUrl: 'http://127.0.0.1:4003',
      llmBaseUrl: 'https://llm.byterover.dev',
      legacyBaseUrl: 'http://127.0.0.1:4004/api/v1',
      timeouts: { iam: 2500, cogit: 60_000, billing: 10_000, legacy: 10_000 },
    });
  });

  it('lets explicit overrides win over the environment, field by field', () => {
    const c = loadByteRoverConfig(
      {
        BRV_IAM_BASE_URL: 'http://127.0.0.1:1',
        CLAW_BYTEROVER_IAM_TIMEOUT_MS: '1000',
        CLAW_BYTEROVER_COGIT_TIMEOUT_MS: '2000',
      },
      { iamBaseUrl: 'http://127.0.0.1:2', timeouts: { iam: 3000 } },
    );
    expect(c.iamBaseUrl).toBe('http://127.0.0.1:2');
    expect(c.timeouts).toEqual({ iam: 3000, cogit: 2000, billing: 10_000, legacy: 10_000 });
  });

  it('fails with BYTEROVER_CONFIG_INVALID naming each variable and what is wrong', () => {
    let err: unknown;
    try {
      loadByteRoverConfig({
        BRV_COGIT_BASE_URL: 'ftp://files.example',
        BRV_IAM_BASE_URL: 'not a url',
        BRV_BILLING_BASE_URL: 'https://user:pw@billing.example',
        CLAW_BYTEROVER_IAM_TIMEOUT_MS: 'soon',
      });
    } catch (e) {
      err = e;
    }
    expect(isClawError(err, 'BYTEROVER_CONFIG_INVALID')).toBe(true);
    const msg = (err as Error).message;
    expect(msg).toContain('BRV_COGIT_BASE_URL (cogitBaseUrl): must use http or https, found ftp:');
    expect(msg).toContain('BRV_IAM_BASE_URL (iamBaseUrl): must be an absolute http(s) URL');
    expect(msg).toContain('BRV_BILLING_BASE_URL (billingBaseUrl): must not carry credentials');
    expect(msg).toContain('CLAW_BYTEROVER_IAM_TIMEOUT_MS (timeouts.iam)');
    expect(msg).not.toContain('pw@');
    expect((err as { hint?: string }).hint).toContain('environment variable');
  });

  it('rejects a query string and a page size over the server cap', () => {
    expect(() => parseByteRoverConfig({ iamBaseUrl: 'https://iam.example/?token=x' })).toThrow(
      /must not carry a query string/,
    );
    expect(() => parseByteRoverConfig({ pageSize: 500 })).toThrow(/pageSize/);
  });
});
