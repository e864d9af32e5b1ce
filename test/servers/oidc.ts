/**
 * A REAL OAuth 2.0 / OpenID Connect authorization server for tests: oidc-provider 9 on 127.0.0.1,
 * port 0, mounted at ByteRover's issuer path (`/api/v1/oidc`) with ByteRover's fixed endpoint names
 * (`/authorize`, `/token`), so it stands where `{IAM}/api/v1/oidc` stands.
 *
 * - `byterover-cli-client`: a native public client (RFC 8252), auth code + PKCE S256, loopback redirect
 *   URIs `http://localhost/callback` and `http://127.0.0.1/callback` (any port, RFC 8252 §7.3), rotating
 *   refresh tokens (issued for `offline_access` with `prompt=consent`, as oidc-provider requires).
 * - `claw-service`: a confidential client for client_credentials (client_secret_basic or _post).
 * - Access tokens are JWTs (RFC 9068) for the resource `urn:byterover:api` (Resource Indicators,
 *   RFC 8707) signed with a fresh ES256 key published at `{issuer}/jwks`; their TTL is settable per test.
 * - Logins finish without a browser: the interaction endpoint logs in `accountId` and grants every
 *   requested scope; `denyNextLogin()` answers the next one with an OAuth error instead. The test plays
 *   the browser with `browse()` (a cookie jar plus manual redirects).
 * - The provider's own events count token-endpoint outcomes (`grant.success`, `grant.error`,
 *   `grant.revoked`).
 * - Optional ByteRover behaviour: `sessionKeys: true` adds a `session_key` to token responses.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify, type JWTPayload } from 'jose';
import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';

export const ISSUER_PATH = '/api/v1/oidc';
export const PUBLIC_CLIENT_ID = 'byterover-cli-client';
export const SERVICE_CLIENT_ID = 'claw-service';
export const RESOURCE = 'urn:byterover:api';

export interface OidcServerOptions {
  /** Access token lifetime in seconds (default 600); changeable later with `setAccessTokenTTL`. */
  accessTokenTTL?: number;
  /** Subject the interaction logs in (default `user-1`). */
  accountId?: string;
  /** false: the discovery document answers 404 (clients must fall back to fixed endpoints). */
  discovery?: boolean;
  /** Add a ByteRover-style `session_key` to every successful token response. */
  sessionKeys?: boolean;
}

export interface TokenEndpointStats {
  /** Successful token responses per grant_type. */
  success: Record<string, number>;
  /** Failed token requests: grant_type and OAuth error code, in order. */
  errors: Array<{ grant: string; error: string; description?: string | undefined }>;
  /** Grants revoked by the provider (e.g. refresh token reuse detected). */
  revokedGrants: number;
}

export interface OidcServer {
  readonly origin: string;
  /** `http://127.0.0.1:<port>/api/v1/oidc` */
  readonly issuer: string;
  /** What `BRV_IAM_BASE_URL` would be for this server. */
  readonly iamBaseUrl: string;
  readonly jwksUri: string;
  readonly resource: string;
  readonly service: { clientId: string; clientSecret: string };
  readonly provider: Provider;
  readonly stats: TokenEndpointStats;
  /** Refresh-token grants answered with tokens. */
  refreshCount(): number;
  /** Every token-endpoint request so far (successes and failures). */
  tokenRequests(): number;
  setAccessTokenTTL(seconds: number): void;
  /** The next login interaction ends with `error` instead of logging in. */
  denyNextLogin(error?: string): void;
  /** Session keys issued (with `sessionKeys: true`). */
  readonly issuedSessionKeys: Set<string>;
  /** Verifies an access token as a resource server would (JWKS over HTTP, issuer, audience, typ at+jwt). */
  verifyAccessToken(token: string): Promise<JWTPayload>;
  /** Stops accepting the refresh token family of a grant (like an admin revoking it). */
  revokeGrant(grantId: string): Promise<void>;
  close(): Promise<void>;
}

export async function startOidcServer(opts: OidcServerOptions = {}): Promise<OidcServer> {
  const state = {
    accessTokenTTL: opts.accessTokenTTL ?? 600,
    deny: undefined as string | undefined,
    accountId: opts.accountId ?? 'user-1',
  };
  const stats: TokenEndpointStats = { success: {}, errors: [], revokedGrants: 0 };
  const issuedSessionKeys = new Set<string>();
  const serviceSecret = `svc-secret-${randomBytes(18).toString('base64url')}`;

  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  const issuer = `${origin}${ISSUER_PATH}`;

  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = {
    ...(await exportJWK(privateKey)),
    kid: `k-${randomBytes(4).toString('hex')}`,
    alg: 'ES256',
    use: 'sig',
  };

  const configuration: Configuration = {
    // oidc-provider's own in-memory adapter, passed explicitly (the implicit default prints a warning).
    adapter: createMemoryAdapter(),
    // Errors shown to the "browser" as plain text, so a failing test says what the provider refused.
    renderError: async (ctx, out) => {
      ctx.type = 'text/plain';
      ctx.body = Object.entries(out)
        .map(([k, v]) => `${k}: ${String(v)}`)
        .join('\n');
    },
    clients: [
      {
        client_id: PUBLIC_CLIENT_ID,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ['http://localhost/callback', 'http://127.0.0.1/callback'],
        id_token_signed_response_alg: 'ES256',
      },
      {
        client_id: SERVICE_CLIENT_ID,
        client_secret: serviceSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: [jwk as never] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    scopes: ['openid', 'offline_access', 'read', 'write'],
    claims: { openid: ['sub'], email: ['email'] },
    routes: { authorization: '/authorize' },
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, email: `${sub}@example.test` }) }),
    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) =>
          Array.isArray(oneOf) ? (oneOf[0] ?? RESOURCE) : (oneOf ?? RESOURCE),
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, indicator) => {
          if (indicator !== RESOURCE) throw new errors.InvalidTarget();
          return {
            scope: 'read write',
            audience: RESOURCE,
            accessTokenTTL: state.accessTokenTTL,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
    rotateRefreshToken: true,
    ttl: {
      AccessToken: () => state.accessTokenTTL,
      ClientCredentials: () => state.accessTokenTTL,
      AuthorizationCode: 60,
      RefreshToken: 24 * 3600,
      Grant: 24 * 3600,
      Interaction: 600,
      Session: 24 * 3600,
      IdToken: 3600,
    },
  };

  const provider = new Provider(issuer, configuration);
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const grant = String(ctx.oidc.params?.grant_type ?? 'unknown');
    stats.success[grant] = (stats.success[grant] ?? 0) + 1;
  });
  provider.on('grant.error', (ctx: KoaContextWithOIDC, err: errors.OIDCProviderError) => {
    stats.errors.push({
      grant: String(ctx.oidc?.params?.grant_type ?? 'unknown'),
      error: err.error,
      description: err.error_description,
    });
  });
  provider.on('grant.revoked', () => {
    stats.revokedGrants++;
  });
  if (opts.sessionKeys) {
    provider.use(async (ctx, next) => {
      await next();
      const body = ctx.body as Record<string, unknown> | undefined;
      if (ctx.path === '/token' && ctx.status === 200 && body && typeof body === 'object' && 'access_token' in body) {
        const key = `brs_${randomBytes(24).toString('base64url')}`;
        issuedSessionKeys.add(key);
        body.session_key = key;
      }
    });
  }

  const providerCallback = provider.callback();

  async function interaction(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    const prompt = details.prompt;
    let result: Record<string, unknown>;
    if (state.deny !== undefined) {
      result = { error: state.deny, error_description: 'the test server denied this login' };
      state.deny = undefined;
    } else if (prompt.name === 'login') {
      result = { login: { accountId: state.accountId } };
    } else if (prompt.name === 'consent') {
      const d = prompt.details as {
        missingOIDCScope?: string[];
        missingOIDCClaims?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({
            accountId: details.session?.accountId ?? state.accountId,
            clientId: String(details.params.client_id),
          });
      if (!grant) throw new Error('grant vanished during consent');
      if (d.missingOIDCScope?.length) grant.addOIDCScope(d.missingOIDCScope.join(' '));
      if (d.missingOIDCClaims?.length) grant.addOIDCClaims(d.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {}))
        grant.addResourceScope(indicator, scopes.join(' '));
      result = { consent: { grantId: await grant.save() } };
    } else {
      throw new Error(`unexpected prompt ${prompt.name}`);
    }
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
  }

  server.on('request', (req, res) => {
    const path = new URL(req.url ?? '/', origin).pathname;
    if (path.startsWith('/interaction/')) {
      interaction(req, res).catch((e: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`interaction failed: ${(e as Error).message}\n`);
      });
      return;
    }
    if (opts.discovery === false && path === `${ISSUER_PATH}/.well-known/openid-configuration`) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
      return;
    }
    if (path === ISSUER_PATH || path.startsWith(`${ISSUER_PATH}/`)) {
      // Mount the provider under the issuer path the way express does (originalUrl + stripped url),
      // which oidc-provider reads to build its absolute URLs.
      const r = req as IncomingMessage & { originalUrl?: string };
      r.originalUrl = req.url;
      req.url = (req.url ?? '/').slice(ISSUER_PATH.length) || '/';
      void providerCallback(req, res);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });

  const jwksUri = `${issuer}/jwks`;
  const jwks = createRemoteJWKSet(new URL(jwksUri));

  return {
    origin,
    issuer,
    iamBaseUrl: origin,
    jwksUri,
    resource: RESOURCE,
    service: { clientId: SERVICE_CLIENT_ID, clientSecret: serviceSecret },
    provider,
    stats,
    issuedSessionKeys,
    refreshCount: () => stats.success.refresh_token ?? 0,
    tokenRequests: () => Object.values(stats.success).reduce((a, b) => a + b, 0) + stats.errors.length,
    setAccessTokenTTL(seconds) {
      state.accessTokenTTL = seconds;
    },
    denyNextLogin(error = 'access_denied') {
      state.deny = error;
    },
    async verifyAccessToken(token) {
      const { payload } = await jwtVerify(token, jwks, {
        issuer,
        audience: RESOURCE,
        typ: 'at+jwt',
        clockTolerance: 5,
      });
      return payload;
    },
    async revokeGrant(grantId) {
      const grant = await provider.Grant.find(grantId);
      await grant?.destroy();
      for (const model of [provider.RefreshToken, provider.AccessToken]) await model.revokeByGrantId(grantId);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface BrowseResult {
  /** The last URL requested (the page that did not redirect). */
  url: string;
  status: number;
  body: string;
  /** Every URL visited, in order. */
  visited: string[];
}

/**
 * Plays the user's browser: GETs `start`, keeps cookies, follows redirects (to the provider's
 * interaction pages, back to the provider, and finally to the loopback callback).
 * `rewrite` may replace a URL before it is requested (e.g. to tamper with the callback).
 */
export async function browse(
  start: string,
  o: { rewrite?: (url: URL) => URL; maxHops?: number } = {},
): Promise<BrowseResult> {
  const jar = new Map<string, string>();
  const visited: string[] = [];
  let url = new URL(start);
  for (let hop = 0; hop < (o.maxHops ?? 20); hop++) {
    if (o.rewrite) url = o.rewrite(url);
    visited.push(url.href);
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    for (const sc of res.headers.getSetCookie()) {
      const [pair = ''] = sc.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (!value || /expires=Thu, 01 Jan 1970/i.test(sc)) jar.delete(name);
      else jar.set(name, value);
    }
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.arrayBuffer();
      url = new URL(location, url);
      continue;
    }
    return { url: url.href, status: res.status, body: await res.text(), visited };
  }
  throw new Error(`browse: more than ${o.maxHops ?? 20} redirects from ${start}`);
}
