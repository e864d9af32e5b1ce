/**
 * Services (the bridge, CI jobs) authenticate as themselves with the client credentials grant
 * (RFC 6749 §4.4): issuer, client id and secret come from configuration; the secret is never stored.
 */
import * as oidc from 'openid-client';
import type { HttpClient } from '../../http/types.js';
import type { Logger } from '../../log/index.js';
import { registerSecret } from '../../log/redact.js';
import { currentVersion } from './account.js';
import { credentialFromTokenResponse, describeCredential, type CredentialSummary } from './credential.js';
import { requestClientCredentialsToken } from './grants.js';
import { discoverAuthorizationServer } from './issuer.js';
import { checkProfile } from './paths.js';
import type { ClientCredentialsSettings } from './refresh.js';
import type { TokenStore } from './types.js';

/** Client authentication (RFC 6749 §2.3.1): HTTP Basic by default, or the secret in the form body. */
export function clientAuthFor(s: ClientCredentialsSettings): oidc.ClientAuth {
  registerSecret(s.clientSecret);
  return s.authMethod === 'client_secret_post'
    ? oidc.ClientSecretPost(s.clientSecret)
    : oidc.ClientSecretBasic(s.clientSecret);
}

export function clientCredentialsServer(
  s: ClientCredentialsSettings,
  http: HttpClient,
  extra: { logger?: Logger | undefined; skipDiscovery?: boolean | undefined } = {},
): Promise<oidc.Configuration> {
  return discoverAuthorizationServer({
    issuer: s.issuer,
    clientId: s.clientId,
    clientAuth: clientAuthFor(s),
    http,
    ...(extra.logger ? { logger: extra.logger } : {}),
    ...(extra.skipDiscovery ? { skipDiscovery: true } : {}),
  });
}

export interface ClientCredentialsLoginOptions {
  settings: ClientCredentialsSettings;
  store: TokenStore;
  profile?: string;
  http: HttpClient;
  logger?: Logger;
  skipDiscovery?: boolean;
  clock?: () => number;
}

/** Obtains a token now and stores it for the profile; the session provider renews it later. */
export async function loginWithClientCredentials(o: ClientCredentialsLoginOptions): Promise<CredentialSummary> {
  const profile = checkProfile(o.profile);
  const clock = o.clock ?? Date.now;
  const config = await clientCredentialsServer(o.settings, o.http, {
    logger: o.logger,
    skipDiscovery: o.skipDiscovery,
  });
  const tokens = await requestClientCredentialsToken(config, {
    scope: o.settings.scope,
    resource: o.settings.resource,
  });
  const saved = await o.store.withLock(async () => {
    const cred = credentialFromTokenResponse(
      tokens,
      { kind: 'client-credentials', issuer: config.serverMetadata().issuer, clientId: o.settings.clientId },
      undefined,
      clock,
    );
    cred.version = (await currentVersion(o.store, profile)) + 1;
    await o.store.save(cred, profile);
    return cred;
  }, profile);
  return describeCredential(saved, profile);
}
