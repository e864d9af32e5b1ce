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
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readOrCreateKeyFile } from '../../fsx/index.js';
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
    if (!key)
      throw new RangeError(
        'bridge.oauth.encryptionKey is not the base64 of 32 bytes (the schema should have refused it)',
      );
    return createSealer(key, 'bridge.oauth.encryptionKey');
  }
  const path = join(o.dataDir, KEY_FILE_NAME);
  return createSealer(await keyFile(o.dataDir, path), path);
}

/** The key file in `dir`, created 0600 on first use, race-free across processes (lib/fsx, as the token store's key). */
function keyFile(dir: string, path: string): Promise<Buffer> {
  return readOrCreateKeyFile(path, {
    bytes: KEY_BYTES,
    wrongSize: (n) => keyFileInvalid(path, `${n} bytes`),
    vanished: () => keyFileInvalid(path, 'no file right after creating it'),
    tightenMode: true,
    ensureDir: async () => void (await mkdir(dir, { recursive: true, mode: 0o700 })),
  });
}
