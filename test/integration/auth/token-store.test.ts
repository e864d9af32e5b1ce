/**
 * The encrypted file token store on the real filesystem: AES-256-GCM with a fresh IV per write,
 * modes 0600/0700, tamper and corruption detection, profiles, atomic writes, the cross-process lock.
 */
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isClawError } from '../../../lib/errors.js';
import {
  createFileTokenStore,
  credentialStatus,
  logout,
  resolveDataDir,
  type FileTokenStore,
  type StoredCredential,
} from '../../../lib/byterover/auth/index.js';

const cred = (over: Partial<StoredCredential> = {}): StoredCredential => ({
  kind: 'oauth',
  sessionKey: 'sk-SENTINEL-session-0123456789',
  accessToken: 'sk-SENTINEL-session-0123456789',
  refreshToken: 'rt-SENTINEL-refresh-0123456789',
  expiresAt: 2_000_000_000,
  issuedAt: 1_999_999_400,
  issuer: 'https://iam.example.test/api/v1/oidc',
  clientId: 'byterover-cli-client',
  version: 1,
  updatedAt: new Date(0).toISOString(),
  ...over,
});

const mode = async (p: string): Promise<number> => (await stat(p)).mode & 0o777;

async function expectCorrupt(store: FileTokenStore, profile?: string): Promise<Error> {
  const err = await store.load(profile).catch((e: unknown) => e);
  expect(isClawError(err, 'AUTH_STORE_CORRUPT')).toBe(true);
  return err as Error;
}

describe('encrypted file token store', () => {
  let dir: string;
  let store: FileTokenStore;
  beforeEach(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'claw-store-')), 'data');
    store = createFileTokenStore({ dir });
  });
  afterEach(async () => {
    await rm(join(dir, '..'), { recursive: true, force: true });
  });

  it('round-trips a credential; nothing secret is readable in the file', async () => {
    await store.save(cred());
    expect(await store.load()).toEqual(cred());
    const raw = await readFile(store.credentialPath(), 'utf8');
    expect(raw).toMatch(/^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+\n$/);
    expect(raw).not.toContain('SENTINEL');
    expect(raw).not.toContain('iam.example.test');
  });

  it('creates the directory 0700 and the key and credential files 0600; the key is 32 random bytes', async () => {
    await store.save(cred());
    expect(await mode(dir)).toBe(0o700);
    expect(await mode(join(dir, 'profiles'))).toBe(0o700);
    expect(await mode(store.keyPath)).toBe(0o600);
    expect(await mode(store.credentialPath())).toBe(0o600);
    expect((await readFile(store.keyPath)).length).toBe(32);
  });

  it('uses a fresh IV for every write (same credential, different ciphertext)', async () => {
    await store.save(cred());
    const a = await readFile(store.credentialPath(), 'utf8');
    await store.save(cred());
    const b = await readFile(store.credentialPath(), 'utf8');
    expect(a).not.toBe(b);
    expect(a.split(':')[1]).not.toBe(b.split(':')[1]);
  });

  it('detects a flipped byte anywhere in the ciphertext, tag or IV (AUTH_STORE_CORRUPT, with a hint)', async () => {
    await store.save(cred());
    const original = await readFile(store.credentialPath(), 'utf8');
    for (const field of [1, 2, 3]) {
      const parts = original.trim().split(':');
      const bytes = Buffer.from(parts[field]!, 'base64');
      bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
      parts[field] = bytes.toString('base64');
      await writeFile(store.credentialPath(), `${parts.join(':')}\n`);
      const err = await expectCorrupt(store);
      expect(err.message).toContain(store.credentialPath());
      expect((err as { hint?: string }).hint).toContain('claw-byterover login');
    }
  });

  it('detects truncation, garbage, a replaced key, a short key and a missing key', async () => {
    await store.save(cred());
    const original = await readFile(store.credentialPath(), 'utf8');
    await writeFile(store.credentialPath(), original.slice(0, original.length - 10));
    await expectCorrupt(store);
    await writeFile(store.credentialPath(), 'not a credential');
    await expectCorrupt(store);
    await writeFile(store.credentialPath(), original);
    const key = await readFile(store.keyPath);
    await writeFile(store.keyPath, Buffer.alloc(32, 7));
    await expectCorrupt(createFileTokenStore({ dir }));
    await writeFile(store.keyPath, key.subarray(0, 16));
    await expectCorrupt(createFileTokenStore({ dir }));
    await rm(store.keyPath);
    await expectCorrupt(createFileTokenStore({ dir }));
  });

  it('binds a file to its profile: a credential copied under another profile name does not decrypt', async () => {
    await store.save(cred(), 'work');
    await copyFile(store.credentialPath('work'), store.credentialPath('home'));
    await expectCorrupt(store, 'home');
    expect((await store.load('work'))?.sessionKey).toBe(cred().sessionKey);
  });

  it('keeps profiles apart, lists them, and rejects unsafe profile names', async () => {
    await store.save(cred({ sessionKey: 'key-for-work-0001' }), 'work');
    await store.save(cred({ sessionKey: 'key-for-home-0002' }), 'home');
    expect(await store.profiles()).toEqual(['home', 'work']);
    expect((await store.load('work'))?.sessionKey).toBe('key-for-work-0001');
    expect(await store.load()).toBeUndefined();
    for (const bad of ['../x', '.hidden', 'a/b', '', 'x'.repeat(65)]) {
      const err = await store.load(bad).catch((e: unknown) => e);
      expect(isClawError(err, 'AUTH_PROFILE_INVALID')).toBe(true);
    }
  });

  it('writes atomically: concurrent writers and readers never see a partial file, no temp files remain', async () => {
    await store.save(cred());
    const writers = Array.from({ length: 20 }, (_, i) =>
      createFileTokenStore({ dir }).save(cred({ version: i + 2, sessionKey: `key-${i}-abcdef` })),
    );
    const readers = Array.from({ length: 40 }, () => createFileTokenStore({ dir }).load());
    const [, loaded] = await Promise.all([Promise.all(writers), Promise.all(readers)]);
    for (const c of loaded) expect(c?.kind).toBe('oauth');
    expect((await readdir(join(dir, 'profiles'))).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('creates one key even when many stores write their first credential at once', async () => {
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        createFileTokenStore({ dir }).save(cred({ sessionKey: `first-${i}-abcdef` }), `p${i}`),
      ),
    );
    const fresh = createFileTokenStore({ dir });
    for (let i = 0; i < 8; i++) expect((await fresh.load(`p${i}`))?.sessionKey).toBe(`first-${i}-abcdef`);
  });

  it('tightens a credential file left readable by others', async () => {
    await store.save(cred());
    await chmod(store.credentialPath(), 0o644);
    await store.load();
    expect(await mode(store.credentialPath())).toBe(0o600);
  });

  it('withLock excludes other holders; a waiter gives up with AUTH_LOCK_TIMEOUT', async () => {
    let release!: () => void;
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    const held = store.withLock(
      () =>
        new Promise<void>((r) => {
          release = r;
          entered();
        }),
    );
    await inside;
    const impatient = createFileTokenStore({ dir, lockTimeoutMs: 150 });
    const err = await impatient.withLock(async () => 'got it').catch((e: unknown) => e);
    expect(isClawError(err, 'AUTH_LOCK_TIMEOUT')).toBe(true);
    release();
    await held;
    expect(await impatient.withLock(async () => 'got it')).toBe('got it');
  });

  it('takes over a lock abandoned by a crashed process once it is stale', async () => {
    await store.save(cred());
    const lockDir = `${store.credentialPath()}.lock`;
    await mkdir(lockDir);
    const old = new Date(Date.now() - 60_000);
    await utimes(lockDir, old, old);
    expect(await createFileTokenStore({ dir, lockTimeoutMs: 5_000 }).withLock(async () => 'taken over')).toBe(
      'taken over',
    );
  });

  it('logout deletes the profile (also a corrupt one) and reports whether there was one', async () => {
    await store.save(cred());
    expect(await credentialStatus({ store })).toMatchObject({ kind: 'oauth', refreshable: true });
    expect(await logout({ store })).toBe(true);
    expect(await store.load()).toBeUndefined();
    expect(await logout({ store })).toBe(false);
    await store.save(cred(), 'broken');
    await writeFile(store.credentialPath('broken'), 'garbage');
    expect(await logout({ store, profile: 'broken' })).toBe(true);
    expect(await store.profiles()).toEqual([]);
  });

  it('resolves the data dir: CLAW_BYTEROVER_DATA_DIR, then an absolute XDG_DATA_HOME, then ~/.local/share', () => {
    expect(resolveDataDir({ CLAW_BYTEROVER_DATA_DIR: '/x/y', XDG_DATA_HOME: '/xdg' }, '/home/u')).toBe('/x/y');
    expect(resolveDataDir({ XDG_DATA_HOME: '/xdg' }, '/home/u')).toBe('/xdg/claw-byterover');
    expect(resolveDataDir({ XDG_DATA_HOME: 'relative/ignored' }, '/home/u')).toBe(
      '/home/u/.local/share/claw-byterover',
    );
    expect(resolveDataDir({}, '/home/u')).toBe('/home/u/.local/share/claw-byterover');
  });
});
