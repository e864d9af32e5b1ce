/**
 * A TokenStore kept in process memory, for services that obtain their own tokens (client
 * credentials) and must not write to disk, and for embedding. The lock is per profile and per store
 * object, so it serializes callers within this process only.
 */
import { registerSecret } from '../../log/redact.js';
import { checkProfile } from './paths.js';
import type { StoredCredential, TokenStore } from './types.js';

export function createMemoryTokenStore(): TokenStore {
  const creds = new Map<string, StoredCredential>();
  const tails = new Map<string, Promise<void>>();
  return {
    async load(profile) {
      const c = creds.get(checkProfile(profile));
      return c ? structuredClone(c) : undefined;
    },
    async save(cred, profile) {
      registerSecret(cred.sessionKey);
      registerSecret(cred.accessToken);
      registerSecret(cred.refreshToken);
      registerSecret(cred.idToken);
      creds.set(checkProfile(profile), structuredClone(cred));
    },
    async delete(profile) {
      creds.delete(checkProfile(profile));
    },
    async withLock(fn, profile) {
      const name = checkProfile(profile);
      const before = tails.get(name) ?? Promise.resolve();
      let release!: () => void;
      const mine = new Promise<void>((r) => (release = r));
      const tail = before.then(() => mine);
      tails.set(name, tail);
      await before;
      try {
        return await fn();
      } finally {
        release();
        if (tails.get(name) === tail) tails.delete(name);
      }
    },
  };
}
