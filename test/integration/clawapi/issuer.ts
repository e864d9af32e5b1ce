/**
 * A REAL authorization server for the claw-api tests: oidc-provider 9 on 127.0.0.1 (port 0) issuing
 * RFC 9068 JWT access tokens per RFC 8707 resource indicator (`features.resourceIndicators` with
 * `accessTokenFormat: 'jwt'`):
 * - `CLAW_AUDIENCE` (scopes nodes:write nodes:read): what the claw-api stand-in accepts;
 * - `OTHER_AUDIENCE` (scope other:read): another API, for wrong-audience tokens.
 * Clients: `claw-node` (client credentials, secret), `claw-reader` (client credentials, allowed only
 * nodes:read), `claw-cli` (public native client, authorization code + PKCE, for real ID tokens).
 * Logins finish without a browser (the interaction logs `node-admin` in and consents to what was
 * asked); the test plays the browser with test/servers/oidc.ts's `browse`.
 * The access token TTL is per-test settable.
 * (test/servers/oidc.ts's server has a single fixed resource, hence this one.)
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import * as oidc from 'openid-client';
import Provider, { errors, type Configuration } from 'oidc-provider';
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';
import { browse } from '../../servers/oidc.js';

export const CLAW_AUDIENCE = 'urn:claw:api';
export const OTHER_AUDIENCE = 'urn:other:api';
export const NODE_CLIENT = 'claw-node';
export const READER_CLIENT = 'claw-reader';
export const CLI_CLIENT = 'claw-cli';

const RESOURCES: Record<string, string> = { [CLAW_AUDIENCE]: 'nodes:write nodes:read', [OTHER_AUDIENCE]: 'other:read' };

export interface ClawIssuer {
  readonly issuer: string;
  readonly jwksUri: string;
  readonly node: { clientId: string; clientSecret: string };
  readonly reader: { clientId: string; clientSecret: string };
  /** Token endpoint successes by grant type. */
  readonly grants: Record<string, number>;
  setAccessTokenTTL(seconds: number): void;
  /** An access token by client credentials, as a service would fetch it. */
  clientCredentialsToken(o?: { clientId?: string; resource?: string; scope?: string }): Promise<string>;
  /** An ID token from a real authorization code + PKCE login of `claw-cli` (with a nonce). */
  idToken(): Promise<string>;
  close(): Promise<void>;
}

export async function startClawIssuer(): Promise<ClawIssuer> {
  const state = { ttl: 600 };
  const grants: Record<string, number> = {};
  const nodeSecret = `node-${randomBytes(18).toString('base64url')}`;
  const readerSecret = `reader-${randomBytes(18).toString('base64url')}`;
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = {
    ...(await exportJWK(privateKey)),
    kid: `c-${randomBytes(4).toString('hex')}`,
    alg: 'ES256',
    use: 'sig',
  };

  const configuration: Configuration = {
    adapter: createMemoryAdapter(),
    clients: [
      {
        client_id: NODE_CLIENT,
        client_secret: nodeSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        id_token_signed_response_alg: 'ES256',
      },
      {
        client_id: READER_CLIENT,
        client_secret: readerSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: 'nodes:read',
        id_token_signed_response_alg: 'ES256',
      },
      {
        client_id: CLI_CLIENT,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/callback'],
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: [jwk as never] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    scopes: ['openid', 'nodes:write', 'nodes:read', 'other:read'],
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => CLAW_AUDIENCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, indicator) => {
          const scope = RESOURCES[indicator];
          if (!scope) throw new errors.InvalidTarget();
          return {
            scope,
            audience: indicator,
            accessTokenTTL: state.ttl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
    ttl: {
      AccessToken: () => state.ttl,
      ClientCredentials: () => state.ttl,
      AuthorizationCode: 60,
      Grant: 3600,
      Interaction: 600,
      Session: 3600,
      IdToken: 3600,
    },
  };
  const provider = new Provider(issuer, configuration);
  provider.on('grant.success', (ctx) => {
    const g = String(ctx.oidc.params?.grant_type ?? 'unknown');
    grants[g] = (grants[g] ?? 0) + 1;
  });
  const callback = provider.callback();
  server.on('request', (req, res) => {
    if ((req.url ?? '').startsWith('/interaction/')) {
      // login, then consent (always asked of native clients) with a grant holding what was asked for
      (async () => {
        const d = await provider.interactionDetails(req, res);
        let result: Record<string, unknown>;
        if (d.prompt.name === 'login') result = { login: { accountId: 'node-admin' } };
        else {
          const missing = d.prompt.details as {
            missingOIDCScope?: string[];
            missingResourceScopes?: Record<string, string[]>;
          };
          const grant = new provider.Grant({
            accountId: d.session?.accountId ?? 'node-admin',
            clientId: String(d.params.client_id),
          });
          grant.addOIDCScope((missing.missingOIDCScope ?? ['openid']).join(' '));
          for (const [rs, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
            grant.addResourceScope(rs, scopes.join(' '));
          result = { consent: { grantId: await grant.save() } };
        }
        await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
      })().catch((e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(e.message));
      return;
    }
    void callback(req, res);
  });

  const discovered = new Map<string, Promise<oidc.Configuration>>();
  const configFor = (clientId: string, secret?: string): Promise<oidc.Configuration> => {
    let c = discovered.get(clientId);
    if (!c) {
      c = oidc.discovery(new URL(issuer), clientId, secret, secret ? oidc.ClientSecretBasic(secret) : oidc.None(), {
        execute: [oidc.allowInsecureRequests],
      });
      discovered.set(clientId, c);
    }
    return c;
  };

  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    node: { clientId: NODE_CLIENT, clientSecret: nodeSecret },
    reader: { clientId: READER_CLIENT, clientSecret: readerSecret },
    grants,
    setAccessTokenTTL(seconds) {
      state.ttl = seconds;
    },
    async clientCredentialsToken(o = {}) {
      const clientId = o.clientId ?? NODE_CLIENT;
      const secret = clientId === READER_CLIENT ? readerSecret : nodeSecret;
      const cfg = await configFor(clientId, secret);
      const t = await oidc.clientCredentialsGrant(cfg, {
        resource: o.resource ?? CLAW_AUDIENCE,
        ...(o.scope ? { scope: o.scope } : {}),
      });
      return t.access_token;
    },
    async idToken() {
      const cfg = await configFor(CLI_CLIENT);
      const verifier = oidc.randomPKCECodeVerifier();
      const nonce = oidc.randomNonce();
      const state = oidc.randomState();
      // The redirect target: a loopback listener on any port (RFC 8252 §7.3) that just answers 200.
      const cb = createServer((_q, s) => s.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
      await new Promise<void>((r) => cb.listen(0, '127.0.0.1', r));
      const redirectUri = `http://127.0.0.1:${(cb.address() as AddressInfo).port}/callback`;
      try {
        const authUrl = oidc.buildAuthorizationUrl(cfg, {
          redirect_uri: redirectUri,
          scope: 'openid nodes:write',
          resource: CLAW_AUDIENCE,
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          nonce,
          state,
        });
        const page = await browse(authUrl.href);
        if (!page.url.startsWith(redirectUri))
          throw new Error(`login did not reach the callback: ${page.status} ${page.body.slice(0, 300)}`);
        const tokens = await oidc.authorizationCodeGrant(
          cfg,
          new URL(page.url),
          { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state },
          { resource: CLAW_AUDIENCE },
        );
        if (!tokens.id_token) throw new Error('no id_token in the token response');
        return tokens.id_token;
      } finally {
        await new Promise<void>((r) => {
          cb.close(() => r());
          cb.closeAllConnections();
        });
      }
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
