/**
 * lib/bridge/oauth: the bridge's web login (authorization code + PKCE as a web app) and the
 * SessionProvider that serves its tokens to the bridge's ByteRover client.
 * - config.ts: OAuthConfigSchema (`bridge.oauth`), secret paths, suggested env vars;
 * - login.ts: /auth/login and /auth/callback as two steps any instance sharing the store can run;
 * - session.ts: refresh before expiry, single-flight in the process and across instances;
 * - seal.ts / records.ts: AES-256-GCM sealed records in `state.kv` (the store never sees a token);
 * - mount.ts: mountOAuth(bridge, …) registers the routes and returns the session provider.
 * User-facing description: docs/readme/bridge-oauth.md.
 */
export {
  OAuthConfigSchema,
  OAUTH_SECRET_PATHS,
  OAUTH_ENV_VARS,
  CALLBACK_PATH,
  LOGIN_PATH,
  STATUS_PATH,
  parseOAuthConfig,
  redirectUriOf,
  safeReturnTo,
  decodeEncryptionKey,
  type OAuthConfig,
  type OAuthConfigInput,
} from './config.js';
export { OAuthErrorCode } from './errors.js';
export { mountOAuth, type MountOAuthOptions, type OAuthMount, type OAuthStatusReport } from './mount.js';
export {
  createOAuthSessionProvider,
  type OAuthSessionProvider,
  type OAuthSessionOptions,
  type OAuthStatus,
  type RefreshInfo,
  type RefreshResult,
} from './session.js';
export { createSealer, loadSealer, KEY_FILE_NAME, type Sealer } from './seal.js';
export {
  SealedKv,
  tokensKey,
  loginKey,
  LOGIN_INDEX_KEY,
  KEY_CHECK_KEY,
  type TokenRecord,
  type LoginRecord,
} from './records.js';
export { loginIdOf, cookieNameOf } from './login.js';
