/**
 * lib/byterover/auth: how claw-byterover gets and keeps a ByteRover session key.
 * - loginWithApiKey: key checked with IAM user/me, stored, used as the session key;
 * - loginWithOAuth: authorization code + PKCE (S256) with a loopback callback (RFC 8252);
 * - loginWithClientCredentials: services' own tokens (RFC 6749 §4.4);
 * - createSessionProvider: what the API client calls; renews before expiry, one renewal at a time
 *   per credential across callers and processes; rotated refresh tokens persisted before use;
 * - createFileTokenStore: AES-256-GCM encrypted credentials, one file per profile (default store);
 * - logout / credentialStatus;
 * - resolveCredential: the one answer to "where does this run's session key come from" (every face).
 * User-facing description: docs/readme/auth.md.
 */
export type { SessionProvider, StoredCredential, TokenStore } from './types.js';
export { createFileTokenStore, type FileTokenStore, type FileTokenStoreOptions } from './file-store.js';
export { createMemoryTokenStore } from './memory-store.js';
export { resolveDataDir, DEFAULT_PROFILE } from './paths.js';
export { loginWithApiKey, iamUserMeValidator, type ApiKeyLoginOptions, type ApiKeyValidator } from './api-key.js';
export {
  loginWithOAuth,
  issuerForIam,
  buildAuthorizationRequest,
  BYTEROVER_CLI_CLIENT_ID,
  DEFAULT_SCOPES,
  type OAuthLoginOptions,
} from './oauth-login.js';
export { loginWithClientCredentials, type ClientCredentialsLoginOptions } from './client-credentials.js';
export type { ClientCredentialsSettings } from './refresh.js';
export {
  createSessionProvider,
  type SessionProviderOptions,
  type ManagedSessionProvider,
  type AuthRefreshEvent,
} from './session.js';
export { logout, credentialStatus } from './account.js';
export {
  resolveCredential,
  oauthIssuer,
  clientCredentialsSettings,
  type CredentialSettings,
  type ResolveCredentialOptions,
  type ResolvedCredential,
} from './resolve.js';
export {
  describeCredential,
  needsRefresh,
  DEFAULT_REFRESH_SKEW_SECONDS,
  type CredentialSummary,
  type UserInfo,
} from './credential.js';
export { AuthErrorCode, LOGIN_HINT, type AuthErrorCodeValue } from './errors.js';
export { browserOpener, openBrowser } from './browser.js';
export { DEFAULT_LOGIN_TIMEOUT_MS } from './loopback.js';
