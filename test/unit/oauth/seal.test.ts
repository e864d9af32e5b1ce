/**
 * Sealing of the web login's records (AES-256-GCM, the store key bound as AAD) and the key file the
 * embedded default creates.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isClawError } from '../../../lib/errors.js';
import { createSealer, KEY_FILE_NAME, loadSealer } from '../../../lib/bridge/oauth/index.js';
import { cookieNameOf, loginIdOf, parseCookies } from '../../../lib/bridge/oauth/login.js';

describe('sealer', () => {
  const key = randomBytes(32);
  const sealer = createSealer(key, 'test');
  const plain = Buffer.from('{"refresh_token":"rt-abcdef"}');

  it('round-trips, with a fresh IV each time and no plaintext in the blob', () => {
    const a = sealer.seal('oauth:v1:tokens:default', plain);
    const b = sealer.seal('oauth:v1:tokens:default', plain);
    expect(a.equals(b)).toBe(false);
    expect(a.length).toBe(1 + 12 + 16 + plain.length);
    expect(a.includes(Buffer.from('rt-abcdef'))).toBe(false);
    expect(sealer.open('oauth:v1:tokens:default', a)?.equals(plain)).toBe(true);
  });

  it('refuses a blob under another store key, a flipped bit, a truncation, another key', () => {
    const blob = sealer.seal('oauth:v1:tokens:default', plain);
    expect(sealer.open('oauth:v1:tokens:other', blob)).toBeUndefined();
    for (const i of [0, 5, 20, blob.length - 1]) {
      const t = Buffer.from(blob);
      t[i] = (t[i] ?? 0) ^ 1;
      expect(sealer.open('oauth:v1:tokens:default', t), `byte ${i}`).toBeUndefined();
    }
    expect(sealer.open('oauth:v1:tokens:default', blob.subarray(0, 20))).toBeUndefined();
    expect(createSealer(randomBytes(32), 'other').open('oauth:v1:tokens:default', blob)).toBeUndefined();
  });

  it('takes only 32-byte keys', () => {
    expect(() => createSealer(randomBytes(16), 'short')).toThrow(RangeError);
  });
});

describe('key file (no encryptionKey configured)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'claw-oauth-key-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is created once with 32 random bytes, mode 0600, in a 0700 directory, and reused', async () => {
    const data = join(dir, 'data');
    const first = await loadSealer({ dataDir: data });
    const path = join(data, KEY_FILE_NAME);
    expect(first.source).toBe(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(data).mode & 0o777).toBe(0o700);
    const bytes = readFileSync(path);
    expect(bytes.length).toBe(32);
    const second = await loadSealer({ dataDir: data });
    expect(second.open('k', first.seal('k', Buffer.from('x')))?.toString()).toBe('x');
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it('concurrent first starts agree on one key', async () => {
    const sealers = await Promise.all(Array.from({ length: 8 }, () => loadSealer({ dataDir: dir })));
    const blob = sealers[0]!.seal('k', Buffer.from('same'));
    for (const s of sealers) expect(s.open('k', blob)?.toString()).toBe('same');
  });

  it('a key file of the wrong size is OAUTH_KEY_FILE_INVALID naming the file, not silently replaced', async () => {
    writeFileSync(join(dir, KEY_FILE_NAME), randomBytes(16), { mode: 0o600 });
    const err = await loadSealer({ dataDir: dir }).catch((e: unknown) => e);
    expect(isClawError(err, 'OAUTH_KEY_FILE_INVALID')).toBe(true);
    expect((err as Error).message).toContain(KEY_FILE_NAME);
    expect(readFileSync(join(dir, KEY_FILE_NAME)).length).toBe(16);
  });

  it('a configured encryptionKey wins and touches no file', async () => {
    const k = randomBytes(32);
    const s = await loadSealer({ dataDir: dir, encryptionKey: k.toString('base64') });
    expect(s.source).toBe('bridge.oauth.encryptionKey');
    expect(
      createSealer(k, 'x')
        .open('k', s.seal('k', Buffer.from('y')))
        ?.toString(),
    ).toBe('y');
    expect(() => statSync(join(dir, KEY_FILE_NAME))).toThrow();
  });
});

describe('login ids and cookies', () => {
  it('the store id is a hash of the state (the state is never stored), one cookie name per login', () => {
    const a = loginIdOf('state-a');
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a).not.toContain('state-a');
    expect(loginIdOf('state-b')).not.toBe(a);
    expect(cookieNameOf(a)).toMatch(/^claw_oauth_[A-Za-z0-9]{16}$/);
    expect(cookieNameOf(loginIdOf('state-b'))).not.toBe(cookieNameOf(a));
  });

  it('parses a Cookie header (first occurrence wins, junk ignored)', () => {
    const c = parseCookies('a=1; b = 2 ;junk; a=3; =x; c=');
    expect([...c]).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['c', ''],
    ]);
    expect(parseCookies(undefined).size).toBe(0);
  });
});
