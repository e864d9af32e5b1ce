/**
 * Sealing OAuth records before they reach the bridge store: AES-256-GCM (NIST SP 800-38D) with a
 * fresh random 96-bit IV per write and the record's store key bound as additional authenticated data,
 * so a blob copied under another key fails authentication like any other tampering. The store only
 * ever holds `0x01 | iv(12) | tag(16) | ciphertext`.
 *
 * The key: `bridge.oauth.encryptionKey` (base64 of 32 bytes; what several instances share), else a
 * key file `<dataDir>/bridge-oauth.key` (32 random bytes, mode 0600) created on first start — the
 * embedded default, good for one machine.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeEncryptionKey } from './config.js';
import { keyFileInvalid } from './errors.js';

const FORMAT = 1;
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_FILE_NAME = 'bridge-oauth.key';

export interface Sealer {
  /** Where the key came from (`config` or the key file's path): for messages, never the key. */
  readonly source: string;
  seal(storeKey: string, plain: Buffer): Buffer;
  /** The plaintext, or undefined when the blob fails authentication (tampered, truncated, other key). */
  open(storeKey: string, blob: Buffer): Buffer | undefined;
}

function aad(storeKey: string): Buffer {
  return Buffer.from(`claw-byterover:bridge-oauth:v${FORMAT}:${storeKey}`, 'utf8');
}

export function createSealer(key: Buffer, source: string): Sealer {
  if (key.length !== KEY_BYTES) throw new RangeError(`an AES-256 key has ${KEY_BYTES} bytes, found ${key.length}`);
  const k = Buffer.from(key); // own copy
  return {
    source,
    seal(storeKey, plain) {
      const iv = randomBytes(IV_BYTES);
      const c = createCipheriv('aes-256-gcm', k, iv, { authTagLength: TAG_BYTES });
      c.setAAD(aad(storeKey));
      const data = Buffer.concat([c.update(plain), c.final()]);
      return Buffer.concat([Buffer.from([FORMAT]), iv, c.getAuthTag(), data]);
    },
    open(storeKey, blob) {
      if (blob.length < 1 + IV_BYTES + TAG_BYTES || blob[0] !== FORMAT) return undefined;
      try {
        const d = createDecipheriv('aes-256-gcm', k, blob.subarray(1, 1 + IV_BYTES), { authTagLength: TAG_BYTES });
        d.setAAD(aad(storeKey));
        d.setAuthTag(blob.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES));
        return Buffer.concat([d.update(blob.subarray(1 + IV_BYTES + TAG_BYTES)), d.final()]);
      } catch {
        return undefined;
      }
    },
  };
}

/** The configured key, else the key file in `dataDir` (created 0600 on first use, race-free across processes). */
export async function loadSealer(o: { encryptionKey?: string | undefined; dataDir: string }): Promise<Sealer> {
  if (o.encryptionKey !== undefined) {
    const key = decodeEncryptionKey(o.encryptionKey);
    if (!key) throw new RangeError('bridge.oauth.encryptionKey is not the base64 of 32 bytes (the schema should have refused it)');
    return createSealer(key, 'bridge.oauth.encryptionKey');
  }
  const path = join(o.dataDir, KEY_FILE_NAME);
  return createSealer(await keyFile(o.dataDir, path), path);
}

async function readKeyFile(path: string): Promise<Buffer | undefined> {
  let key: Buffer;
  try {
    key = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if (key.length !== KEY_BYTES) throw keyFileInvalid(path, `${key.length} bytes`);
  const st = await stat(path);
  if ((st.mode & 0o077) !== 0) await chmod(path, 0o600);
  return key;
}

/** Temp file (0600, fsynced) linked into place: link(2) fails with EEXIST when another process won, whose key is then used. */
async function keyFile(dir: string, path: string): Promise<Buffer> {
  const existing = await readKeyFile(path);
  if (existing) return existing;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(randomBytes(KEY_BYTES));
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  const dh = await open(dir, 'r');
  await dh.sync().catch(() => undefined);
  await dh.close();
  const key = await readKeyFile(path);
  if (!key) throw keyFileInvalid(path, 'no file right after creating it');
  return key;
}
