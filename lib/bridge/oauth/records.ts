/**
 * The web login's records in the bridge's state store (`state.kv`), every one sealed (seal.ts) and
 * checked against a schema when read:
 *
 *   oauth:v1:key-check          a known text: proves every instance seals with the same key
 *   oauth:v1:tokens:<profile>   the token set (StoredCredential) + a "sign in again" mark
 *   oauth:v1:login:<id>         a login in progress (PKCE verifier, nonce, browser binding, return_to),
 *                               then a "used" tombstone until it would have expired
 *   oauth:v1:logins             the index of login records, so expired ones are deleted
 *
 * Writes that must not lose a concurrent update use the store's compare-and-set versions.
 */
import { z } from 'zod';
import type { StoredCredential } from '../../byterover/auth/index.js';
import { registerSecret } from '../../log/redact.js';
import type { KvStore } from '../store/types.js';
import { storeCorrupt } from './errors.js';
import type { Sealer } from './seal.js';

export const KEY_CHECK_KEY = 'oauth:v1:key-check';
export const LOGIN_INDEX_KEY = 'oauth:v1:logins';
export const tokensKey = (profile: string): string => `oauth:v1:tokens:${profile}`;
export const loginKey = (id: string): string => `oauth:v1:login:${id}`;
export const KEY_CHECK_TEXT = 'claw-byterover bridge oauth key check v1';

/**
 * The fields this module relies on; the rest of StoredCredential rides along unchecked (the record is
 * authenticated by AES-GCM, so only a format change, never a tamperer, could alter it).
 */
const credentialSchema = z.looseObject({
  kind: z.literal('oauth'),
  sessionKey: z.string().min(1),
  refreshToken: z.string().optional(),
  expiresAt: z.number().optional(),
  version: z.number().int().nonnegative(),
  updatedAt: z.string(),
});

export const TokenRecordSchema = z.object({
  cred: credentialSchema,
  /** Set when the refresh token was refused: nobody refreshes again until a new login. */
  reauth: z.object({ at: z.number(), reason: z.string() }).optional(),
});
export interface TokenRecord {
  cred: StoredCredential;
  reauth?: { at: number; reason: string } | undefined;
}

export const LoginRecordSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('pending'),
    profile: z.string(),
    verifier: z.string(),
    nonce: z.string().optional(),
    /** SHA-256 (base64url) of the browser cookie set by /auth/login. */
    browser: z.string(),
    redirectUri: z.string(),
    returnTo: z.string().optional(),
    createdAt: z.number(),
    expiresAt: z.number(),
  }),
  z.object({ kind: z.literal('used'), usedAt: z.number(), expiresAt: z.number() }),
]);
export type LoginRecord = z.infer<typeof LoginRecordSchema>;

export const LoginIndexSchema = z.object({ entries: z.array(z.tuple([z.string(), z.number()])) });
export type LoginIndex = z.infer<typeof LoginIndexSchema>;

export interface Versioned<T> {
  value: T;
  version: number;
}

/** `state.kv` with sealing and schema checks on every value. */
export class SealedKv {
  constructor(
    readonly kv: KvStore,
    readonly sealer: Sealer,
  ) {}

  async get<T>(key: string, schema: z.ZodType<T>): Promise<Versioned<T> | undefined> {
    const entry = await this.kv.get(key);
    if (!entry) return undefined;
    const plain = this.sealer.open(key, entry.value);
    if (!plain)
      throw storeCorrupt(
        `a record under "${key}" that fails AES-256-GCM authentication (tampered, or sealed with another key)`,
      );
    let json: unknown;
    try {
      json = JSON.parse(plain.toString('utf8'));
    } catch {
      throw storeCorrupt(`authenticated data under "${key}" that is not JSON`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw storeCorrupt(`a record under "${key}" of an unexpected shape`);
    return { value: parsed.data, version: entry.version };
  }

  set(key: string, value: unknown, now: number, expectVersion?: number): Promise<{ ok: boolean; version: number }> {
    return this.kv.set(key, this.sealer.seal(key, Buffer.from(JSON.stringify(value), 'utf8')), now, expectVersion);
  }

  delete(key: string): Promise<void> {
    return this.kv.delete(key);
  }

  async getTokens(profile: string): Promise<Versioned<TokenRecord> | undefined> {
    const r = await this.get(tokensKey(profile), TokenRecordSchema);
    if (r) registerCredentialSecrets(r.value.cred);
    return r as Versioned<TokenRecord> | undefined;
  }
}

export function registerCredentialSecrets(c: StoredCredential): void {
  registerSecret(c.sessionKey);
  registerSecret(c.accessToken);
  registerSecret(c.refreshToken);
  registerSecret(c.idToken);
}
