import { describe, expect, it } from 'vitest';
import { envLayer, resolveConfig } from '../../../lib/config/index.js';
import { isClawError } from '../../../lib/errors.js';
import { redactString } from '../../../lib/log/redact.js';

const resolveEnv = (env: Record<string, string>) => resolveConfig(envLayer(env)).config;

describe('config from the environment: bridge settings', () => {
  it('reads port and host, numbers parsed', () => {
    const c = resolveEnv({ CLAW_BYTEROVER_BRIDGE_PORT: '9001', CLAW_BYTEROVER_BRIDGE_HOST: '0.0.0.0' });
    expect(c.bridge.port).toBe(9001);
    expect(c.bridge.host).toBe('0.0.0.0');
  });

  it('prefers CLAW_BYTEROVER_BRIDGE_PORT over PORT, and uses PORT alone', () => {
    expect(resolveEnv({ PORT: '7000', CLAW_BYTEROVER_BRIDGE_PORT: '7001' }).bridge.port).toBe(7001);
    expect(resolveEnv({ PORT: '7000' }).bridge.port).toBe(7000);
  });

  it('splits secret lists on commas and spaces, drops blanks, and registers each secret with the redactor', () => {
    const a = 'rotating-secret-new-0123456789';
    const b = 'rotating-secret-old-0123456789';
    const c = resolveEnv({ CLAW_BYTEROVER_WEBHOOK_SECRETS: ` ${a}, ,${b} ` });
    expect(c.bridge.webhooks.byteroverSecrets).toEqual([a, b]);
    expect(redactString(`got ${a} and ${b}`)).not.toContain(a);
    expect(redactString(`got ${a} and ${b}`)).not.toContain(b);
  });

  it('a database URL switches the store to postgres and its password is redacted', () => {
    const c = resolveEnv({
      CLAW_BYTEROVER_DATABASE_URL: 'postgres://claw:pw-Zq81x@127.0.0.1:5432/claw',
      CLAW_BYTEROVER_REDIS_URL: 'redis://127.0.0.1:6379',
    });
    expect(c.bridge.store.kind).toBe('postgres');
    if (c.bridge.store.kind !== 'postgres') throw new Error('unreachable');
    expect(c.bridge.store.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(redactString('password pw-Zq81x')).not.toContain('pw-Zq81x');
  });

  it('a bad value is CONFIG_INVALID naming the key and the variable it came from', () => {
    let err: unknown;
    try {
      resolveEnv({ CLAW_BYTEROVER_BRIDGE_PORT: 'eighty' });
    } catch (e) {
      err = e;
    }
    expect(isClawError(err) && err.code).toBe('CONFIG_INVALID');
    expect((err as Error).message).toContain('bridge.port');
    expect((err as Error).message).toContain('env CLAW_BYTEROVER_BRIDGE_PORT');
  });

  it('a Standard Webhooks secret without whsec_ is refused without echoing it', () => {
    let err: unknown;
    try {
      resolveEnv({ CLAW_BYTEROVER_STANDARD_WEBHOOK_SECRETS: 'not-a-whsec-secret-value' });
    } catch (e) {
      err = e;
    }
    expect(isClawError(err) && err.code).toBe('CONFIG_INVALID');
    expect((err as Error).message).not.toContain('not-a-whsec-secret-value');
  });
});

describe('config from the environment: the bridge parts', () => {
  it('skill API keys, space- or comma-separated, are secrets', () => {
    const k1 = 'skill-key-aaaaaaaaaaaaaaaa1';
    const k2 = 'skill-key-bbbbbbbbbbbbbbbb2';
    const c = resolveEnv({ CLAW_BYTEROVER_SKILL_API_KEYS: `${k1} ${k2}` });
    expect(c.bridge.skill.apiKeys).toEqual([k1, k2]);
    expect(redactString(k2)).not.toContain(k2);
  });

  it('skill keys given as {key, caller} in a layer are registered as secrets too', () => {
    const k = 'skill-key-cccccccccccccccc3';
    const c = resolveConfig([
      { source: 'file test', values: { bridge: { skill: { apiKeys: [{ key: k, caller: 'ci' }] } } } },
    ]).config;
    expect(c.bridge.skill.apiKeys).toEqual([{ key: k, caller: 'ci' }]);
    expect(redactString(`x ${k}`)).not.toContain(k);
  });

  it('claw-api URL, token and scopes', () => {
    const token = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.sig-value-123';
    const c = resolveEnv({
      CLAW_API_URL: 'http://127.0.0.1:9/api',
      CLAW_API_TOKEN: token,
      CLAW_API_SCOPES: 'nodes:write, nodes:read',
    });
    expect(c.bridge.clawApi.url).toBe('http://127.0.0.1:9/api');
    expect(c.bridge.clawApi.scopes).toEqual(['nodes:write', 'nodes:read']);
    expect(redactString(token)).not.toContain(token);
  });

  it('the bridge web login: issuer and public URL, encryption key a secret', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const c = resolveEnv({
      CLAW_BYTEROVER_BRIDGE_OAUTH_ISSUER: 'https://issuer.example/oidc',
      CLAW_BYTEROVER_BRIDGE_PUBLIC_URL: 'https://bridge.example',
      CLAW_BYTEROVER_BRIDGE_OAUTH_ENCRYPTION_KEY: key,
    });
    expect(c.bridge.oauth.issuer).toBe('https://issuer.example/oidc');
    expect(c.bridge.oauth.publicUrl).toBe('https://bridge.example');
    expect(redactString(key)).not.toContain(key);
  });

  it('an issuer without a callback URL is CONFIG_INVALID naming bridge.oauth.redirectUri', () => {
    expect(() => resolveEnv({ CLAW_BYTEROVER_BRIDGE_OAUTH_ISSUER: 'https://issuer.example/oidc' })).toThrow(
      /bridge\.oauth\.redirectUri/,
    );
  });
});
