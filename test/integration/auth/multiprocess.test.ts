/**
 * Separate processes sharing one encrypted store (real child processes via tsx, real oidc-provider):
 * they refresh once between them, and a process killed in the middle of a refresh leaves a usable
 * credential on disk because the rotated refresh token is written before it is used. The contrast
 * run shows what a crash before the write costs with rotating refresh tokens: the grant.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isClawError } from '../../../lib/errors.js';
import { createSessionProvider } from '../../../lib/byterover/auth/index.js';
import { expireStored, loginPlayingBrowser, startAuthEnv, type AuthEnv } from './setup.js';

const CHILD = fileURLToPath(new URL('./fixtures/refresh-child.ts', import.meta.url));

interface Child {
  proc: ChildProcessWithoutNullStreams;
  ready: Promise<void>;
  result: Promise<{ key?: string; error?: string; signal: NodeJS.Signals | null; code: number | null }>;
}

function startChild(dir: string, mode: string): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: { ...process.env, CLAW_BYTEROVER_DATA_DIR: dir, CHILD_MODE: mode, CLAW_BYTEROVER_LOG_LEVEL: 'error' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let onReady!: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  proc.stdout.on('data', (d: Buffer) => {
    out += String(d);
    if (out.includes('ready\n')) onReady();
  });
  proc.stderr.on('data', (d: Buffer) => (err += String(d)));
  const result = new Promise<{ key?: string; error?: string; signal: NodeJS.Signals | null; code: number | null }>(
    (resolve) => {
      proc.on('exit', (code, signal) => {
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (!line && signal === null && code !== 0) throw new Error(`child failed (${code}): ${err}`);
        resolve({ ...(line ? (JSON.parse(line) as { key?: string; error?: string }) : {}), signal, code });
      });
    },
  );
  return { proc, ready, result };
}

describe('several processes, one credential store (real oidc-provider)', () => {
  let env: AuthEnv;
  beforeEach(async () => {
    env = await startAuthEnv();
    await loginPlayingBrowser(env);
  });
  afterEach(async () => {
    await env.close();
  });

  it('two processes released at once refresh exactly once between them and agree on the key', async () => {
    const expired = await expireStored(env.store);
    const a = startChild(env.dir, 'normal');
    const b = startChild(env.dir, 'normal');
    await Promise.all([a.ready, b.ready]);
    a.proc.stdin.write('go\n');
    b.proc.stdin.write('go\n');
    const [ra, rb] = await Promise.all([a.result, b.result]);
    expect(ra.error).toBeUndefined();
    expect(rb.error).toBeUndefined();
    expect(ra.key).toBeTruthy();
    expect(ra.key).toBe(rb.key);
    expect(ra.key).not.toBe(expired.sessionKey);
    expect(env.oidc.refreshCount()).toBe(1);
    expect(env.oidc.stats.errors).toEqual([]);
    expect((await env.store.load())!.sessionKey).toBe(ra.key);
  });

  it('a process killed right after persisting the rotated token leaves a usable credential on disk', async () => {
    const expired = await expireStored(env.store);
    const c = startChild(env.dir, 'kill-after-persist');
    await c.ready;
    c.proc.stdin.write('go\n');
    const r = await c.result;
    expect(r.signal).toBe('SIGKILL');
    expect(env.oidc.refreshCount()).toBe(1);

    const onDisk = (await env.store.load())!;
    expect(onDisk.refreshToken).not.toBe(expired.refreshToken);
    await env.oidc.verifyAccessToken(onDisk.sessionKey);
    // The dead process's lock goes stale; this process then uses the stored token and can refresh it.
    const sp = createSessionProvider({ store: env.store, http: env.http });
    expect(await sp.sessionKey()).toBe(onDisk.sessionKey);
    expect(await sp.onUnauthorized!(onDisk.sessionKey)).toBe(true);
    expect(env.oidc.refreshCount()).toBe(2);
    expect(env.oidc.stats.errors).toEqual([]);
  });

  it('contrast: a crash after the token response but before the write loses the grant (rotation revoked the old token)', async () => {
    const expired = await expireStored(env.store);
    const c = startChild(env.dir, 'kill-after-token-response');
    await c.ready;
    c.proc.stdin.write('go\n');
    const r = await c.result;
    expect(r.signal).toBe('SIGKILL');
    expect(env.oidc.refreshCount()).toBe(1); // the provider did rotate …
    const onDisk = (await env.store.load())!;
    expect(onDisk.refreshToken).toBe(expired.refreshToken); // … but the new token never reached the disk
    const sp = createSessionProvider({ store: env.store, http: env.http });
    const err = await sp.sessionKey().catch((e: unknown) => e);
    expect(isClawError(err, 'AUTH_REAUTH_REQUIRED')).toBe(true);
    expect(env.oidc.stats.errors.map((e) => e.error)).toEqual(['invalid_grant']);
  });
});
