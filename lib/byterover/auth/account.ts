/**
 * Profile-level operations the CLI needs besides logging in: what is stored, and logout.
 * ByteRover has no revocation endpoint (byterover.md), so logout deletes the local credential only.
 */
import { isClawError } from '../../errors.js';
import { describeCredential, type CredentialSummary } from './credential.js';
import { AuthErrorCode } from './errors.js';
import { checkProfile } from './paths.js';
import type { TokenStore } from './types.js';

/**
 * Version of what is stored, for a monotonic `version` across re-logins. A corrupt credential counts
 * as absent: logging in again is the documented repair for AUTH_STORE_CORRUPT.
 */
export async function currentVersion(store: TokenStore, profile: string): Promise<number> {
  try {
    return (await store.load(profile))?.version ?? 0;
  } catch (e) {
    if (isClawError(e, AuthErrorCode.STORE_CORRUPT)) return 0;
    throw e;
  }
}

/** The stored credential without its secrets, or undefined when the profile has none. */
export async function credentialStatus(o: {
  store: TokenStore;
  profile?: string;
}): Promise<CredentialSummary | undefined> {
  const profile = checkProfile(o.profile);
  const cred = await o.store.load(profile);
  return cred ? describeCredential(cred, profile) : undefined;
}

/**
 * Deletes the profile's credential (under its lock, so no refresh writes it back afterwards).
 * Resolves true when something was deleted. A corrupt credential is deleted too.
 */
export async function logout(o: { store: TokenStore; profile?: string }): Promise<boolean> {
  const profile = checkProfile(o.profile);
  return o.store.withLock(async () => {
    let existed: boolean;
    try {
      existed = (await o.store.load(profile)) !== undefined;
    } catch (e) {
      if (!isClawError(e, AuthErrorCode.STORE_CORRUPT)) throw e;
      existed = true;
    }
    await o.store.delete(profile);
    return existed;
  }, profile);
}
