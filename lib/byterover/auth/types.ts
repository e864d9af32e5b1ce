/**
 * What the ByteRover API client needs from auth: a session key for `x-byterover-session-id`.
 * Implemented by lib/byterover/auth (API key, OAuth PKCE with refresh, client credentials).
 */
export interface SessionProvider {
  /** A currently valid session key; refreshes first when the credential is about to expire. */
  sessionKey(signal?: AbortSignal): Promise<string>;
  /**
   * The key `sessionKey()` would resolve with at once, when it is already in memory and needs no
   * renewal; undefined otherwise (then call `sessionKey()`). Lets a caller skip a promise per request.
   */
  currentKey?(): string | undefined;
  /**
   * Called once after the API answered 401 with this key. Returns true when a new key is available
   * (the call is then retried once), false when the user must log in again.
   */
  onUnauthorized?(rejectedKey: string): Promise<boolean>;
}

/** What a token store persists for one credential (one profile). */
export interface StoredCredential {
  kind: 'api-key' | 'oauth' | 'client-credentials';
  /** The value sent as x-byterover-session-id. */
  sessionKey: string;
  accessToken?: string;
  refreshToken?: string;
  idToken?: string;
  /** Epoch seconds. */
  expiresAt?: number;
  /** Epoch seconds when the token response was received (bounds the refresh margin for short-lived tokens). */
  issuedAt?: number;
  scope?: string;
  issuer?: string;
  clientId?: string;
  user?: { id: string; email?: string; name?: string };
  /** Monotonic version, bumped on every save (detects a concurrent rotation on re-read). */
  version: number;
  updatedAt: string;
}

export interface TokenStore {
  load(profile?: string): Promise<StoredCredential | undefined>;
  save(cred: StoredCredential, profile?: string): Promise<void>;
  delete(profile?: string): Promise<void>;
  /** Runs fn while holding a cross-process lock on this profile's credential. */
  withLock<T>(fn: () => Promise<T>, profile?: string): Promise<T>;
}
