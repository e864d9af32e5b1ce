/**
 * The default TokenStore: one AES-256-GCM encrypted file per profile.
 *
 * Layout (directory mode 0700, files 0600):
 *   <dataDir>/.token-key                32 random bytes, the AES-256 key (created once, never rewritten)
 *   <dataDir>/profiles/<profile>.cred    `v1:<iv>:<tag>:<ciphertext>` (base64), one credential as JSON
 *   <dataDir>/profiles/<profile>.cred.lock   proper-lockfile's lock directory while a writer holds it
 *
 * Every write uses a fresh 96-bit IV (NIST SP 800-38D §8.2.2 random IV construction) and binds the
 * profile name as additional authenticated data, so a file copied under another profile's name fails
 * authentication like any other tampering. Writes are atomic (lib/fsx writeFileAtomic): temp file (0600)
 * → fsync → rename → fsync of the directory, so a crash leaves either the old or the new credential.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import { z } from 'zod';
import {
  readKeyFile,
  readOrCreateKeyFile,
  unlinkDurable,
  writeFileAtomic,
  type KeyFileOptions,
} from '../../fsx/index.js';
import type { Logger } from '../../log/index.js';
import { registerSecret } from '../../log/redact.js';
import { lockTimeout, storeCorrupt } from './errors.js';
import { checkProfile, resolveDataDir } from './paths.js';
import type { StoredCredential, TokenStore } from './types.js';

const FORMAT = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;

export interface FileTokenStoreOptions {
  /** Directory for the key and credentials; default from resolveDataDir(env). */
  dir?: string;
  env?: NodeJS.ProcessEnv;
  /** A lock older than this is considered abandoned by a crashed process (proper-lockfile `stale`, ≥ 2000). */
  lockStaleMs?: number;
  /** How long withLock waits for another holder before AUTH_LOCK_TIMEOUT. */
  lockTimeoutMs?: number;
  logger?: Logger;
}

export interface FileTokenStore extends TokenStore {
  readonly dir: string;
  readonly keyPath: string;
  credentialPath(profile?: string): string;
  /** Profiles that have a credential file. */
  profiles(): Promise<string[]>;
}

const credentialSchema = z.object({
  kind: z.enum(['api-key', 'oauth', 'client-credentials']),
  sessionKey: z.string().min(1),
  accessToken: z.string().optional(),
  refreshToken: z.string().optional(),
  idToken: z.string().optional(),
  expiresAt: z.number().optional(),
  issuedAt: z.number().optional(),
  scope: z.string().optional(),
  issuer: z.string().optional(),
  clientId: z.string().optional(),
  user: z.object({ id: z.string(), email: z.string().optional(), name: z.string().optional() }).optional(),
  version: z.number().int().nonnegative(),
  updatedAt: z.string(),
});

export function createFileTokenStore(opts: FileTokenStoreOptions = {}): FileTokenStore {
  const dir = opts.dir ?? resolveDataDir(opts.env);
  const keyPath = join(dir, '.token-key');
  const profilesDir = join(dir, 'profiles');
  const lockStaleMs = Math.max(opts.lockStaleMs ?? 10_000, 2_000);
  const lockTimeoutMs = opts.lockTimeoutMs ?? 30_000;
  const log = opts.logger;
  let cachedKey: Buffer | undefined;

  const credentialPath = (profile?: string): string => join(profilesDir, `${checkProfile(profile)}.cred`);

  async function ensureDirs(): Promise<void> {
    for (const d of [dir, profilesDir]) {
      await mkdir(d, { recursive: true, mode: 0o700 });
      const st = await stat(d);
      if ((st.mode & 0o077) !== 0) await chmod(d, 0o700);
    }
  }

  const keyFileOptions: KeyFileOptions = {
    bytes: KEY_BYTES,
    wrongSize: (n) => storeCorrupt(keyPath, `a key of ${n} bytes instead of ${KEY_BYTES}`),
    vanished: () => storeCorrupt(keyPath, 'no key right after creating it'),
  };
  const readKey = (): Promise<Buffer | undefined> => readKeyFile(keyPath, keyFileOptions);

  /** The key, created on first use (race-free across processes: see readOrCreateKeyFile). */
  async function keyForWrite(): Promise<Buffer> {
    return (cachedKey = await readOrCreateKeyFile(keyPath, { ...keyFileOptions, ensureDir: ensureDirs }));
  }

  async function decryptFile(path: string, profile: string, text: string): Promise<StoredCredential> {
    const attempt = (key: Buffer): Buffer | undefined => {
      try {
        return decrypt(key, text, aadFor(profile));
      } catch {
        return undefined;
      }
    };
    let plain = cachedKey ? attempt(cachedKey) : undefined;
    if (!plain) {
      // The key file may have been replaced by another process since we cached it: re-read once.
      const key = await readKey();
      if (!key) throw storeCorrupt(path, `a credential but no key file at ${keyPath}`);
      cachedKey = key;
      plain = attempt(key);
    }
    if (!plain)
      throw storeCorrupt(
        path,
        'data that fails AES-256-GCM authentication (tampered, truncated or encrypted with another key)',
      );
    let json: unknown;
    try {
      json = JSON.parse(plain.toString('utf8'));
    } catch {
      throw storeCorrupt(path, 'authenticated data that is not JSON');
    }
    const parsed = credentialSchema.safeParse(json);
    if (!parsed.success) throw storeCorrupt(path, 'a credential that does not match the expected shape');
    return parsed.data;
  }

  const store: FileTokenStore = {
    dir,
    keyPath,
    credentialPath,

    async load(profile) {
      const name = checkProfile(profile);
      const path = credentialPath(name);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
        const st = await stat(path);
        if ((st.mode & 0o077) !== 0) {
          log?.warn({ path }, 'credential file was readable by others; restoring mode 0600');
          await chmod(path, 0o600);
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
      const cred = await decryptFile(path, name, text);
      registerCredentialSecrets(cred);
      return cred;
    },

    async save(cred, profile) {
      const name = checkProfile(profile);
      const parsed = credentialSchema.parse(cred);
      registerCredentialSecrets(parsed);
      const key = await keyForWrite();
      await ensureDirs();
      const body = encrypt(key, Buffer.from(JSON.stringify(parsed), 'utf8'), aadFor(name));
      await writeFileAtomic(credentialPath(name), body, { mode: 0o600 });
    },

    async delete(profile) {
      await unlinkDurable(credentialPath(profile));
    },

    async profiles() {
      try {
        const names = await readdir(profilesDir);
        return names
          .filter((n) => n.endsWith('.cred'))
          .map((n) => n.slice(0, -'.cred'.length))
          .sort();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw e;
      }
    },

    async withLock(fn, profile) {
      const path = credentialPath(profile);
      await ensureDirs();
      const release = await acquireLock(path, { staleMs: lockStaleMs, timeoutMs: lockTimeoutMs, log });
      try {
        return await fn();
      } finally {
        await release();
      }
    },
  };
  return store;
}

function registerCredentialSecrets(c: StoredCredential): void {
  registerSecret(c.sessionKey);
  registerSecret(c.accessToken);
  registerSecret(c.refreshToken);
  registerSecret(c.idToken);
}

function aadFor(profile: string): Buffer {
  return Buffer.from(`claw-byterover:credential:${FORMAT}:${profile}`, 'utf8');
}

/** AES-256-GCM with a random 96-bit IV and a 128-bit tag; output `v1:iv:tag:ciphertext` (base64). */
export function encrypt(key: Buffer, plain: Buffer, aad: Buffer): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const data = Buffer.concat([cipher.update(plain), cipher.final()]);
  const tag = cipher.getAuthTag();
  return `${FORMAT}:${iv.toString('base64')}:${tag.toString('base64')}:${data.toString('base64')}\n`;
}

/** Inverse of encrypt; throws on any format or authentication failure. */
export function decrypt(key: Buffer, text: string, aad: Buffer): Buffer {
  const parts = text.trim().split(':');
  if (parts.length !== 4 || parts[0] !== FORMAT) throw new Error('unknown credential format');
  const iv = Buffer.from(parts[1] ?? '', 'base64');
  const tag = Buffer.from(parts[2] ?? '', 'base64');
  const data = Buffer.from(parts[3] ?? '', 'base64');
  if (iv.length !== IV_BYTES || tag.length !== 16) throw new Error('bad iv or tag length');
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(data), decipher.final()]);
}

interface LockOptions {
  staleMs: number;
  timeoutMs: number;
  log: Logger | undefined;
}

/**
 * Takes proper-lockfile's lock on `path` (an atomic mkdir of `<path>.lock`, refreshed while held,
 * taken over once older than staleMs so a crashed holder cannot block forever). Polls with jitter
 * until timeoutMs, then AUTH_LOCK_TIMEOUT.
 */
async function acquireLock(path: string, o: LockOptions): Promise<() => Promise<void>> {
  const started = Date.now();
  for (;;) {
    try {
      const release = await lockfile.lock(path, {
        realpath: false,
        stale: o.staleMs,
        retries: 0,
        onCompromised: (err) => {
          o.log?.warn({ path, err: err.message }, 'credential lock was compromised (held past its stale time)');
        },
      });
      return async () => {
        await release().catch((e: unknown) => {
          o.log?.warn({ path, err: (e as Error).message }, 'credential lock release failed');
        });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
      const waited = Date.now() - started;
      if (waited >= o.timeoutMs) throw lockTimeout(`${path}.lock`, waited);
      await sleep(10 + Math.floor(Math.random() * 40));
    }
  }
}
