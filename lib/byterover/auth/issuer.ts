/**
 * Locating the authorization server and talking to it through the project's one HTTP transport.
 *
 * - discoverAuthorizationServer: OpenID Connect Discovery 1.0 §4 (`{issuer}/.well-known/openid-configuration`),
 *   falling back to ByteRover's fixed endpoints `{issuer}/authorize` and `{issuer}/token` when
 *   discovery fails (what `brv` does).
 * - fetchOverHttpClient: openid-client's `customFetch` hook implemented with lib/http, so token and
 *   discovery requests get the same timeouts, retry policy (GET only: token POSTs carry no
 *   idempotency key and are never retried) and redacted logs as every other call.
 */
import * as oidc from 'openid-client';
import type { HttpClient } from '../../http/types.js';
import type { Logger } from '../../log/index.js';
import { safeUrl } from '../../log/redact.js';
import { insecureIssuer } from './errors.js';

/** Loopback hosts where plain http is acceptable (RFC 8252 §8.3 treats loopback as local). */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

/** Rejects an http:// issuer unless it is on loopback (RFC 6749 §3.1 / §3.2 require TLS). */
export function checkIssuerUrl(issuer: string): URL {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw insecureIssuer(issuer);
  }
  if (url.protocol === 'https:' || isLoopbackHttp(url)) return url;
  throw insecureIssuer(safeUrl(url));
}

function endpointLabel(url: string): string {
  const path = new URL(url).pathname;
  if (path.includes('/.well-known/')) return 'oauth.discovery';
  if (path.endsWith('/token')) return 'oauth.token';
  if (path.endsWith('/jwks') || path.endsWith('/certs')) return 'oauth.jwks';
  return 'oauth.request';
}

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/** openid-client `customFetch` over lib/http (Fetch API in, Fetch Response out). */
export function fetchOverHttpClient(http: HttpClient): oidc.CustomFetch {
  return async (url, options) => {
    const headers: Record<string, string> = {};
    new Headers(options.headers as ConstructorParameters<typeof Headers>[0]).forEach((v, k) => {
      headers[k] = v;
    });
    const raw = options.body as unknown;
    let body: string | Uint8Array | undefined;
    if (raw === undefined || raw === null) body = undefined;
    else if (raw instanceof URLSearchParams) body = raw.toString();
    else if (typeof raw === 'string' || raw instanceof Uint8Array) body = raw;
    else if (raw instanceof ArrayBuffer) body = new Uint8Array(raw);
    else throw new TypeError('unsupported request body type for the OAuth transport');
    const method = (options.method ?? 'GET').toUpperCase() as 'GET' | 'POST';
    const res = await http.request<Uint8Array>({
      method,
      url,
      headers,
      ...(body === undefined ? {} : { body }),
      ...(options.signal ? { signal: options.signal } : {}),
      responseType: 'bytes',
      endpoint: endpointLabel(url),
      ...(method === 'GET' ? {} : { retry: false as const }),
    });
    const out = new Headers();
    for (const [k, v] of Object.entries(res.headers)) out.set(k, v);
    const payload = NULL_BODY_STATUS.has(res.status) ? null : toBodyInit(res.body);
    return new Response(payload, { status: res.status, headers: out });
  };
}

function toBodyInit(b: unknown): ConstructorParameters<typeof Response>[0] {
  if (b === undefined || b === null) return null;
  if (b instanceof Uint8Array) return b;
  if (typeof b === 'string') return b;
  return JSON.stringify(b);
}

export interface AuthorizationServerOptions {
  /** Issuer identifier, e.g. `https://iam.byterover.dev/api/v1/oidc`. */
  issuer: string;
  clientId: string;
  /** Client authentication (RFC 6749 §2.3); default `none` (public client, RFC 8252). */
  clientAuth?: oidc.ClientAuth;
  http: HttpClient;
  logger?: Logger;
  /** Skip discovery and use the fixed endpoints directly. */
  skipDiscovery?: boolean;
}

/**
 * The openid-client Configuration for an issuer: discovery first, fixed endpoints as a fallback.
 * Plain http is enabled only for loopback issuers.
 */
export async function discoverAuthorizationServer(o: AuthorizationServerOptions): Promise<oidc.Configuration> {
  const issuerUrl = checkIssuerUrl(o.issuer);
  const fetchImpl = fetchOverHttpClient(o.http);
  const clientAuth = o.clientAuth ?? oidc.None();
  const insecure = isLoopbackHttp(issuerUrl);
  if (!o.skipDiscovery) {
    try {
      return await oidc.discovery(issuerUrl, o.clientId, undefined, clientAuth, {
        [oidc.customFetch]: fetchImpl,
        execute: insecure ? [oidc.allowInsecureRequests] : [],
      });
    } catch (e) {
      o.logger?.warn(
        { issuer: safeUrl(issuerUrl), err: e instanceof Error ? e.message : String(e) },
        'OIDC discovery failed; using the fixed /authorize and /token endpoints',
      );
    }
  }
  return fixedEndpointConfiguration(issuerUrl, o.clientId, clientAuth, fetchImpl, insecure);
}

/** ByteRover's fixed endpoints under the issuer path: `{issuer}/authorize`, `{issuer}/token`. */
export function fixedEndpointConfiguration(
  issuerUrl: URL,
  clientId: string,
  clientAuth: oidc.ClientAuth,
  fetchImpl: oidc.CustomFetch,
  insecure: boolean,
): oidc.Configuration {
  const base = issuerUrl.href.replace(/\/+$/, '');
  const config = new oidc.Configuration(
    { issuer: base, authorization_endpoint: `${base}/authorize`, token_endpoint: `${base}/token` },
    clientId,
    undefined,
    clientAuth,
  );
  config[oidc.customFetch] = fetchImpl;
  if (insecure) oidc.allowInsecureRequests(config);
  return config;
}
