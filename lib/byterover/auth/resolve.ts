/**
 * The one credential resolver: where the ByteRover session key of a run comes from. The CLI
 * (lib/cli/services.ts), the OpenClaw plugin (lib/openclaw/runtime.ts), the bridge and library users
 * all call `resolveCredential`, so a setup that works in one works in every other.
 *
 * First match wins (like `gh` with GH_TOKEN):
 * 1. an API key in the settings (BYTEROVER_API_KEY / BRV_API_KEY, config file, plugin config);
 * 2. the profile's stored credential (`login`), refreshed when it is about to expire;
 * 3. client credentials from the settings (services, CI), fetched on first use.
 * 2 and 3 are one managed session provider over the token store (it falls back to client credentials
 * when the profile holds no credential), with the refresh observer (telemetry) attached.
 *
 * The settings are structural (lib/config's ClawConfig satisfies them), so this layer stays below
 * lib/config.
 */
import type { HttpClient } from '../../http/types.js';
import type { Logger } from '../../log/index.js';
import type { CredentialSummary } from './credential.js';
import { createFileTokenStore, type FileTokenStore } from './file-store.js';
import { issuerForIam } from './oauth-login.js';
import type { ClientCredentialsSettings } from './refresh.js';
import { createSessionProvider, type AuthRefreshEvent } from './session.js';
import type { SessionProvider } from './types.js';

/** The settings a credential is resolved from (a subset of lib/config's ClawConfig). */
export interface CredentialSettings {
  apiKey?: string | undefined;
  dataDir?: string | undefined;
  oauth: { issuer?: string | undefined };
  byterover: { iamBaseUrl: string };
  clientCredentials?:
    { issuer?: string | undefined; clientId: string; clientSecret: string; scope?: string | undefined } | undefined;
}

export interface ResolveCredentialOptions {
  settings: CredentialSettings;
  /** Where `settings.apiKey` came from (lib/config's source line), for `source`. */
  apiKeySource?: string | undefined;
  /** The token store slot (default `default`). */
  profile?: string | undefined;
  /** Transport for token and discovery requests. */
  http: HttpClient;
  /** Environment for the default data directory. */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Called once per renewal (telemetry). */
  onRefresh?: ((e: AuthRefreshEvent) => void) | undefined;
  /** The token store (default: the file store in `settings.dataDir`, else the default data directory). */
  store?: FileTokenStore;
}

export interface ResolvedCredential {
  session: SessionProvider;
  store: FileTokenStore;
  /** `api-key`: a key from the settings; `managed`: the token store, with client credentials as fallback. */
  kind: 'api-key' | 'managed';
  /** Where the session key comes from (never the key): `env BYTEROVER_API_KEY`, `store`, … */
  source: string;
  /** The client-credentials settings in use (undefined when none are configured or an API key wins). */
  clientCredentials: ClientCredentialsSettings | undefined;
  /** The stored credential without secrets (undefined when none is stored or a configured key is used). */
  describe(): Promise<CredentialSummary | undefined>;
}

/** The issuer of interactive logins: `oauth.issuer`, else `{IAM}/api/v1/oidc`. */
export function oauthIssuer(settings: Pick<CredentialSettings, 'oauth' | 'byterover'>): string {
  return settings.oauth.issuer ?? issuerForIam(settings.byterover.iamBaseUrl);
}

/** The configured client-credentials grant (issuer defaulting to the login issuer), or undefined. */
export function clientCredentialsSettings(
  settings: Pick<CredentialSettings, 'oauth' | 'byterover' | 'clientCredentials'>,
): ClientCredentialsSettings | undefined {
  const cc = settings.clientCredentials;
  if (!cc) return undefined;
  return {
    issuer: cc.issuer ?? oauthIssuer(settings),
    clientId: cc.clientId,
    clientSecret: cc.clientSecret,
    ...(cc.scope ? { scope: cc.scope } : {}),
  };
}

export function resolveCredential(o: ResolveCredentialOptions): ResolvedCredential {
  const { settings } = o;
  const store =
    o.store ??
    createFileTokenStore({
      ...(settings.dataDir ? { dir: settings.dataDir } : {}),
      ...(o.env ? { env: o.env } : {}),
      ...(o.logger ? { logger: o.logger } : {}),
    });
  if (settings.apiKey) {
    const key = settings.apiKey;
    return {
      session: { sessionKey: async () => key, onUnauthorized: async () => false },
      store,
      kind: 'api-key',
      source: o.apiKeySource ?? 'config apiKey',
      clientCredentials: undefined,
      describe: async () => undefined,
    };
  }
  const cc = clientCredentialsSettings(settings);
  const managed = createSessionProvider({
    store,
    ...(o.profile !== undefined ? { profile: o.profile } : {}),
    http: o.http,
    ...(o.logger ? { logger: o.logger } : {}),
    ...(cc ? { clientCredentials: cc } : {}),
    ...(o.onRefresh ? { onRefresh: o.onRefresh } : {}),
  });
  return {
    session: managed,
    store,
    kind: 'managed',
    source: 'store',
    clientCredentials: cc,
    describe: () => managed.describe(),
  };
}
