/**
 * The three token-endpoint grants this layer performs, each a thin wrapper over openid-client that
 * maps failures to stable codes:
 * - a transport failure keeps lib/http's code (HTTP_NETWORK, HTTP_TIMEOUT, …);
 * - `invalid_grant` is returned as a distinct kind so callers can re-read the store (RFC 6749 §5.2);
 * - any other OAuth error becomes AUTH_TOKEN_REQUEST_FAILED with the server's `error` code.
 */
import * as oidc from 'openid-client';
import { isClawError, type ClawError } from '../../errors.js';
import { registerSecret } from '../../log/redact.js';
import { tokenRequestFailed } from './errors.js';
import type { TokenResponseFields } from './credential.js';

export class InvalidGrantError extends Error {
  readonly description: string | undefined;
  constructor(description: string | undefined) {
    super(`invalid_grant${description ? `: ${description}` : ''}`);
    this.name = 'InvalidGrantError';
    this.description = description;
  }
}

/** The ClawError a transport failure carried through openid-client's ClientError wrapping, if any. */
function transportError(e: unknown): ClawError | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur; i++) {
    if (isClawError(cur)) return cur;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function mapGrantError(e: unknown, grant: string): Error {
  const transport = transportError(e);
  if (transport) return transport;
  if (e instanceof oidc.ResponseBodyError) {
    if (e.error === 'invalid_grant') return new InvalidGrantError(e.error_description);
    return tokenRequestFailed({ grant, error: e.error, description: e.error_description, status: e.status }, e);
  }
  return tokenRequestFailed({ grant }, e);
}

/** The response's fields, every secret in it registered with the redactor as soon as it arrives. */
function fields(t: oidc.TokenEndpointResponse): TokenResponseFields {
  const f = t as unknown as TokenResponseFields;
  registerSecret(f.access_token);
  registerSecret(f.refresh_token);
  registerSecret(f.id_token);
  if (typeof f.session_key === 'string') registerSecret(f.session_key);
  return f;
}

/** RFC 6749 §4.1.3 + RFC 7636 §4.5: exchange the code with the PKCE verifier (state re-checked, §10.12). */
export async function exchangeAuthorizationCode(
  config: oidc.Configuration,
  callbackUrl: URL,
  checks: { pkceCodeVerifier: string; expectedState: string },
): Promise<TokenResponseFields> {
  try {
    return fields(await oidc.authorizationCodeGrant(config, callbackUrl, { ...checks, idTokenExpected: false }));
  } catch (e) {
    throw mapGrantError(e, 'authorization_code');
  }
}

/** RFC 6749 §6: refresh an access token. Throws InvalidGrantError when the refresh token is rejected. */
export async function refreshAccessToken(
  config: oidc.Configuration,
  refreshToken: string,
): Promise<TokenResponseFields> {
  try {
    return fields(await oidc.refreshTokenGrant(config, refreshToken));
  } catch (e) {
    throw mapGrantError(e, 'refresh_token');
  }
}

/** RFC 6749 §4.4: a confidential client's own token; `resource` per RFC 8707 §2. */
export async function requestClientCredentialsToken(
  config: oidc.Configuration,
  params: { scope?: string | undefined; resource?: string | undefined },
): Promise<TokenResponseFields> {
  const p: Record<string, string> = {};
  if (params.scope) p.scope = params.scope;
  if (params.resource) p.resource = params.resource;
  try {
    return fields(await oidc.clientCredentialsGrant(config, p));
  } catch (e) {
    const mapped = mapGrantError(e, 'client_credentials');
    if (mapped instanceof InvalidGrantError)
      throw tokenRequestFailed(
        { grant: 'client_credentials', error: 'invalid_grant', description: mapped.description },
        e,
      );
    throw mapped;
  }
}
