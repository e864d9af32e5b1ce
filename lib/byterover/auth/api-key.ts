/**
 * API-key login, as `brv login --api-key` does it: the key is checked with IAM `GET /api/v1/user/me`
 * (sent in `x-byterover-session-id`, like every ByteRover call), then stored and used as the session key.
 */
import { z } from 'zod';
import type { HttpClient } from '../../http/types.js';
import { registerSecret } from '../../log/redact.js';
import { currentVersion } from './account.js';
import { describeCredential, nextVersion, type CredentialSummary, type UserInfo } from './credential.js';
import { apiKeyCheckFailed, apiKeyInvalid, configInvalid } from './errors.js';
import { checkProfile } from './paths.js';
import type { TokenStore } from './types.js';

/** Checks a key and returns the user it belongs to; throws AUTH_API_KEY_INVALID when rejected. */
export type ApiKeyValidator = (apiKey: string) => Promise<UserInfo>;

const userMeBody = z.object({
  data: z.object({
    id: z.union([z.string(), z.number()]).transform(String),
    email: z.string().optional(),
    name: z.string().optional(),
  }),
});

/**
 * The default validator: one `GET {iam}/api/v1/user/me` through lib/http with the key in
 * `x-byterover-session-id`. 401/403 → AUTH_API_KEY_INVALID; any other non-200 or an unexpected
 * body → AUTH_API_KEY_CHECK_FAILED. Transport failures keep lib/http's codes.
 */
export function iamUserMeValidator(o: { http: HttpClient; iamBaseUrl: string; timeoutMs?: number }): ApiKeyValidator {
  return async (apiKey) => {
    const res = await o.http.request<unknown>({
      method: 'GET',
      url: `${o.iamBaseUrl.replace(/\/+$/, '')}/api/v1/user/me`,
      headers: { 'x-byterover-session-id': apiKey, accept: 'application/json' },
      timeoutMs: o.timeoutMs ?? 10_000,
      endpoint: 'iam.user.me',
      responseType: 'text',
    });
    if (res.status === 401 || res.status === 403) throw apiKeyInvalid(res.status);
    if (res.status !== 200) throw apiKeyCheckFailed(`HTTP ${res.status}`, res.status);
    let json: unknown;
    try {
      json = JSON.parse(String(res.body));
    } catch {
      throw apiKeyCheckFailed('a body that is not JSON', res.status);
    }
    const parsed = userMeBody.safeParse(json);
    if (!parsed.success) throw apiKeyCheckFailed('a body without data.id', res.status);
    const u: UserInfo = { id: parsed.data.data.id };
    if (parsed.data.data.email) u.email = parsed.data.data.email;
    if (parsed.data.data.name) u.name = parsed.data.data.name;
    return u;
  };
}

export interface ApiKeyLoginOptions {
  apiKey: string;
  store: TokenStore;
  profile?: string;
  /** How the key is checked, e.g. iamUserMeValidator(...) or the API client's `me()`. */
  validate: ApiKeyValidator;
  clock?: () => number;
}

/** Validates the key, then stores it as the profile's session key (under the profile lock). */
export async function loginWithApiKey(o: ApiKeyLoginOptions): Promise<CredentialSummary> {
  const profile = checkProfile(o.profile);
  const apiKey = o.apiKey.trim();
  if (apiKey === '')
    throw configInvalid(
      'Expected a ByteRover API key, found an empty value.',
      'pass the key from the web app: `claw-byterover login --api-key <key>`',
    );
  registerSecret(apiKey);
  const user = await o.validate(apiKey);
  const clock = o.clock ?? Date.now;
  const saved = await o.store.withLock(async () => {
    const cred = nextVersion(
      await currentVersion(o.store, profile),
      { kind: 'api-key', sessionKey: apiKey, user },
      clock,
    );
    await o.store.save(cred, profile);
    return cred;
  }, profile);
  return describeCredential(saved, profile);
}
