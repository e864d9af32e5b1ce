/**
 * The node's device identity: one Ed25519 key pair, created on first use and kept in
 * `<dataDir>/agent/device-identity.json` (file 0600, folder 0700). `dataDir` follows the credential
 * store's rules (lib/byterover/auth/paths.ts: `$CLAW_BYTEROVER_DATA_DIR`, else
 * `$XDG_DATA_HOME/claw-byterover`, else `~/.local/share/claw-byterover`).
 *
 * What the gateway expects (OpenClaw src/infra/device-identity-store.ts and ed25519-signature.ts):
 * - device id = lowercase hex SHA-256 of the raw 32-byte Ed25519 public key (`fingerprintPublicKey`);
 *   the gateway refuses a `device.id` that does not match the key (DEVICE_AUTH_DEVICE_ID_MISMATCH);
 * - `device.publicKey` = the raw 32-byte key, base64url without padding;
 * - `device.signature` = Ed25519 signature of the UTF-8 payload, base64url without padding.
 *
 * Creation is race-free across processes: the new identity is written to a temp file and hard-linked
 * into place (link fails when another process won), then the winner is read back.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveDataDir } from '../byterover/auth/index.js';
import { errorMessage } from '../errors.js';
import { createFileExclusive } from '../fsx/index.js';
import { agentError } from './errors.js';

/** SPKI DER prefix of an Ed25519 public key (RFC 8410): the raw key follows these 12 bytes. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const FILE_VERSION = 1;

export interface DeviceIdentity {
  /** Hex SHA-256 of the raw public key: the node id the gateway shows (`openclaw nodes list`). */
  readonly deviceId: string;
  /** Raw public key, base64url (what `connect.params.device.publicKey` carries). */
  readonly publicKey: string;
  readonly publicKeyPem: string;
  readonly createdAtMs: number;
  /** Where it is stored. */
  readonly path: string;
  /** Ed25519 signature of `payload` (UTF-8), base64url. */
  sign(payload: string): string;
}

interface StoredIdentity {
  version: number;
  deviceId: string;
  publicKeyPem: string;
  privateKeyPem: string;
  createdAtMs: number;
}

/** The raw 32-byte Ed25519 public key of a KeyObject or PEM. */
export function rawPublicKey(key: KeyObject | string): Buffer {
  const der = (typeof key === 'string' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' });
  if (
    der.length !== ED25519_SPKI_PREFIX.length + 32 ||
    !der.subarray(0, ED25519_SPKI_PREFIX.length).equals(ED25519_SPKI_PREFIX)
  ) {
    throw new Error('not an Ed25519 public key');
  }
  return der.subarray(ED25519_SPKI_PREFIX.length);
}

/** The device id the gateway derives from a raw public key (hex SHA-256). */
export function deviceIdFromPublicKey(raw: Uint8Array): string {
  return createHash('sha256').update(raw).digest('hex');
}

/** Default file of the identity under a data dir. */
export function identityPath(dataDir: string): string {
  return join(dataDir, 'agent', 'device-identity.json');
}

function fromStored(s: StoredIdentity, path: string): DeviceIdentity {
  const privateKey = createPrivateKey(s.privateKeyPem);
  const publicKey = createPublicKey(s.publicKeyPem);
  if (privateKey.asymmetricKeyType !== 'ed25519' || publicKey.asymmetricKeyType !== 'ed25519')
    throw new Error('keys are not Ed25519');
  const raw = rawPublicKey(publicKey);
  if (!rawPublicKey(createPublicKey(privateKey)).equals(raw))
    throw new Error('the private key does not match the public key');
  if (deviceIdFromPublicKey(raw) !== s.deviceId) throw new Error('deviceId is not the SHA-256 of the public key');
  return Object.freeze({
    deviceId: s.deviceId,
    publicKey: raw.toString('base64url'),
    publicKeyPem: s.publicKeyPem,
    createdAtMs: s.createdAtMs,
    path,
    sign: (payload: string) => sign(null, Buffer.from(payload, 'utf8'), privateKey).toString('base64url'),
  });
}

function parseStored(text: string): StoredIdentity {
  let j: Partial<StoredIdentity>;
  try {
    j = JSON.parse(text) as Partial<StoredIdentity>;
  } catch {
    // V8's message quotes part of the input, which holds the private key: never pass it on.
    throw new Error('the file is not valid JSON');
  }
  if (
    j.version !== FILE_VERSION ||
    typeof j.deviceId !== 'string' ||
    !/^[0-9a-f]{64}$/.test(j.deviceId) ||
    typeof j.publicKeyPem !== 'string' ||
    typeof j.privateKeyPem !== 'string' ||
    typeof j.createdAtMs !== 'number'
  ) {
    throw new Error(`expected {version: ${FILE_VERSION}, deviceId, publicKeyPem, privateKeyPem, createdAtMs}`);
  }
  return j as StoredIdentity;
}

function invalid(path: string, e: unknown) {
  return agentError(
    'AGENT_IDENTITY_INVALID',
    `Expected a valid device identity in ${path}, found one that cannot be used: ${errorMessage(e)}`,
    {
      hint: `Move the file aside to create a new identity (the gateway then sees a new device that must be paired again): mv ${path} ${path}.bak`,
      details: { path },
      cause: e,
    },
  );
}

function newStored(now: number): StoredIdentity {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    version: FILE_VERSION,
    deviceId: deviceIdFromPublicKey(rawPublicKey(publicKey)),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    createdAtMs: now,
  };
}

export interface IdentityOptions {
  /** Data dir (default: resolveDataDir(env)). */
  dataDir?: string;
  /** The identity file itself (overrides dataDir). */
  path?: string;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

/** Loads the persisted identity, creating it (0600) on first use. Throws AGENT_IDENTITY_INVALID. */
export async function loadOrCreateIdentity(opts: IdentityOptions = {}): Promise<DeviceIdentity> {
  const path = opts.path ?? identityPath(opts.dataDir ?? resolveDataDir(opts.env));
  const existing = await readIdentity(path);
  if (existing) return existing;
  const dir = join(path, '..');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const stored = newStored((opts.now ?? Date.now)());
  // First writer wins, durably (lib/fsx: link(2) of an fsynced 0600 temp file, or an exclusive copy
  // where there are no hard links); a loser reads the winner's identity below.
  await createFileExclusive(path, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  const created = await readIdentity(path);
  if (!created) throw invalid(path, new Error('the file vanished right after it was created'));
  return created;
}

/** The identity stored at `path`, or undefined when there is none. Throws AGENT_IDENTITY_INVALID. */
export async function readIdentity(path: string): Promise<DeviceIdentity | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw invalid(path, e);
  }
  try {
    return fromStored(parseStored(text), path);
  } catch (e) {
    throw invalid(path, e);
  }
}
