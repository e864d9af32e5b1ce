/**
 * The service objects a command uses, built once per run from the validated config and closed when
 * the command ends: the one HTTP transport, the token store, the session provider and the ByteRover
 * API client.
 *
 * Where the session comes from is decided by lib/byterover/auth's resolveCredential (the one resolver,
 * shared with the OpenClaw plugin and the bridge): a configured API key, else the profile's stored
 * credential, else client credentials from the configuration.
 */
import { createHttpClient, type HttpClient, type HttpObserver } from '../http/index.js';
import { createByteRoverClient, type ByteRoverClient } from '../byterover/index.js';
import {
  clientCredentialsSettings,
  oauthIssuer,
  resolveCredential,
  resolveDataDir,
  type AuthRefreshEvent,
  type CredentialSummary,
  type FileTokenStore,
  type SessionProvider,
} from '../byterover/auth/index.js';
import type { CommandContext } from './context.js';
import { checkDataDir } from './data-dir.js';

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

/** The login issuer and the client-credentials grant of a config: lib/byterover/auth's answers (one source). */
export { oauthIssuer, clientCredentialsSettings };

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
  // The credential store lives in the data dir: an unusable one fails here, at once and clearly.
  await checkDataDir(
    config.dataDir ?? resolveDataDir(ctx.io.env),
    config.dataDir ? `dataDir from ${sources.dataDir ?? 'the config'}` : 'the default data dir',
  );
  const logger = await ctx.logger();
  const observers = observersOf.get(ctx);
  const http = createHttpClient({ logger, ...(observers?.http ? { observers: observers.http } : {}) });
  ctx.onCleanup(() => http.close());
  // The one resolver (lib/byterover/auth/resolve.ts): the plugin and the bridge resolve the same way.
  const cred = resolveCredential({
    settings: config,
    apiKeySource: sources.apiKey,
    profile,
    http,
    env: ctx.io.env,
    logger,
    onRefresh: observers?.onAuthRefresh,
  });
  const { store, session } = cred;
  const client = createByteRoverClient({ http, session, config: config.byterover, logger });
  return {
    http,
    store,
    session,
    client,
    credentialSource: cred.source,
    describeCredential: () => cred.describe(),
  };
}
