/**
 * The service objects a command uses, built once per run from the validated config and closed when
 * the command ends: the one HTTP transport, the token store, the session provider and the ByteRover
 * API client.
 *
 * Where the session comes from, first match wins (like `gh` with GH_TOKEN):
 * 1. an API key in the configuration (BYTEROVER_API_KEY / BRV_API_KEY, config file, plugin config);
 * 2. the profile's stored credential (`login`), refreshed when it is about to expire;
 * 3. client credentials from the configuration (services, CI), fetched on first use.
 */
import { createHttpClient, type HttpClient, type HttpObserver } from '../http/index.js';
import { createByteRoverClient, type ByteRoverClient } from '../byterover/index.js';
import {
  createFileTokenStore,
  createSessionProvider,
  issuerForIam,
  type AuthRefreshEvent,
  type ClientCredentialsSettings,
  type CredentialSummary,
  type FileTokenStore,
  type SessionProvider,
} from '../byterover/auth/index.js';
import type { ClawConfig } from '../config/index.js';
import type { CommandContext } from './context.js';

export interface Services {
  http: HttpClient;
  store: FileTokenStore;
  session: SessionProvider;
  client: ByteRoverClient;
  /** Where the session key comes from, for `whoami` and error hints: `env BYTEROVER_API_KEY`, `store`, … */
  credentialSource: string;
  /** The stored credential without secrets (undefined when none is stored or a configured key is used). */
  describeCredential(): Promise<CredentialSummary | undefined>;
}

/** The issuer of interactive logins: `oauth.issuer`, else `{IAM}/api/v1/oidc`. */
export function oauthIssuer(config: ClawConfig): string {
  return config.oauth.issuer ?? issuerForIam(config.byterover.iamBaseUrl);
}

export function clientCredentialsSettings(config: ClawConfig): ClientCredentialsSettings | undefined {
  const cc = config.clientCredentials;
  if (!cc) return undefined;
  return {
    issuer: cc.issuer ?? oauthIssuer(config),
    clientId: cc.clientId,
    clientSecret: cc.clientSecret,
    ...(cc.scope ? { scope: cc.scope } : {}),
  };
}

const built = new WeakMap<CommandContext, Promise<Services>>();

/** Observers a long-running command (serve) attaches before the services are built: telemetry. */
export interface ServiceObservers {
  http?: HttpObserver[];
  onAuthRefresh?: (e: AuthRefreshEvent) => void;
}
const observersOf = new WeakMap<CommandContext, ServiceObservers>();

/** Sets the observers the services of `ctx` are built with (call before the first `services(ctx)`). */
export function observeServices(ctx: CommandContext, observers: ServiceObservers): void {
  if (built.has(ctx)) throw new Error('observeServices: the services of this command are already built');
  observersOf.set(ctx, observers);
}

export function services(ctx: CommandContext): Promise<Services> {
  let s = built.get(ctx);
  if (!s) {
    s = build(ctx);
    built.set(ctx, s);
  }
  return s;
}

async function build(ctx: CommandContext): Promise<Services> {
  const { config, profile, sources } = await ctx.config();
  const logger = await ctx.logger();
  const observers = observersOf.get(ctx);
  const http = createHttpClient({ logger, ...(observers?.http ? { observers: observers.http } : {}) });
  ctx.onCleanup(() => http.close());
  const store = createFileTokenStore({ ...(config.dataDir ? { dir: config.dataDir } : {}), env: ctx.io.env, logger });

  let session: SessionProvider;
  let credentialSource: string;
  let describeCredential: () => Promise<CredentialSummary | undefined>;
  if (config.apiKey) {
    const key = config.apiKey;
    session = { sessionKey: async () => key, onUnauthorized: async () => false };
    credentialSource = sources.apiKey ?? 'config apiKey';
    describeCredential = async () => undefined;
  } else {
    const cc = clientCredentialsSettings(config);
    const managed = createSessionProvider({
      store,
      profile,
      http,
      logger,
      ...(cc ? { clientCredentials: cc } : {}),
      ...(observers?.onAuthRefresh ? { onRefresh: observers.onAuthRefresh } : {}),
    });
    session = managed;
    credentialSource = 'store';
    describeCredential = () => managed.describe();
  }
  const client = createByteRoverClient({ http, session, config: config.byterover, logger });
  return { http, store, session, client, credentialSource, describeCredential };
}
