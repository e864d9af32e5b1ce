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

  it('splits secret lists on commas, drops blanks, and registers each secret with the redactor', () => {
    const a = 'rotating-secret-new-0123456789';
    const b = 'rotating-secret-old-0123456789';
    const c = resolveEnv({ CLAW_BYTEROVER_WEBHOOK_SECRETS: ` ${a}, ,${b} ` });
    expect(c.bridge.webhooks.byteroverSecrets).toEqual([a, b]);
    expect(redactString(`got ${a} and ${b}`)).not.toContain(a);
    expect(redactString(`got ${a} and ${b}`)).not.toContain(b);
  });

  it('a database URL switches the store to postgres and its password is redacted', () => {
    const c = resolveEnv({ CLAW_BYTEROVER_DATABASE_URL: 'postgres://claw:pw-Zq81x@127.0.0.1:5432/claw', CLAW_BYTEROVER_REDIS_URL: 'redis://127.0.0.1:6379' });
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
