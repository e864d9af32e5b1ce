/**
 * Check 3, "401 from claw-api": a registration attempt (`POST /v1/nodes`, the bridge's own call)
 * with the token the bridge would use, and on a 401 the ordered diagnosis of lib/clawapi
 * (`probeRegistration`): header shape, the WWW-Authenticate error, expiry against the local clock,
 * token type (ID token instead of access token), audience, scopes. The token is never printed: the
 * evidence holds only what the probe derived from it (expiry, audience, scopes, type).
 */
import { probeRegistration, type RegistrationProbe } from '../../clawapi/index.js';
import type { NodeRegistration } from '../../clawapi/types.js';
import type { HttpClient } from '../../http/types.js';
import type { Logger } from '../../log/index.js';
import { registerSecret } from '../../log/redact.js';
import { ev, outcome, reportUrl, type Check, type CheckOutcome, type Evidence } from '../types.js';

export interface ClawApiCheckOptions {
  url?: string;
  /** The bearer token, or how to get one (client credentials); never printed. */
  token?: string | (() => Promise<string>);
  /** Where the token comes from, for the evidence (`env CLAW_API_TOKEN`, `client credentials`). */
  tokenSource?: string;
  node?: NodeRegistration;
  audience?: string;
  requiredScopes?: string[];
  http?: HttpClient;
  /** Where the claw-api client logs (doctor passes one that keeps only errors: the check reports the rest). */
  logger?: Logger;
  now?: () => number;
}

/** The probe's evidence, less `url` and `status`: the check's own `claw-api` and `answer` lines show them. */
function evidenceOf(p: RegistrationProbe): Evidence[] {
  return Object.entries(p.evidence ?? {})
    .filter(([k]) => k !== 'url' && k !== 'status')
    .map(([k, v]) => ev(k, typeof v === 'string' ? v : String(v)));
}

export async function checkClawApi(o: ClawApiCheckOptions): Promise<CheckOutcome> {
  if (!o.url)
    return outcome(
      'skip',
      'no claw-api URL given or configured',
      [],
      [
        'To check node registration: claw-byterover doctor --claw-api https://claw-api.example (token from the bridge configuration, e.g. $CLAW_API_TOKEN)',
      ],
    );
  if (o.token === undefined)
    return outcome(
      'fail',
      'no claw-api token configured: every registration would get 401',
      [ev('claw-api', reportUrl(o.url))],
      ['Configure the token the bridge registers with (CLAW_API_TOKEN, or client credentials) and run doctor again.'],
      { code: 'CLAWAPI_NO_TOKEN' },
    );
  if (typeof o.token === 'string') registerSecret(o.token);
  const p = await probeRegistration({
    url: o.url,
    token: o.token,
    ...(o.node ? { node: o.node } : {}),
    ...(o.audience ? { audience: o.audience } : {}),
    ...(o.requiredScopes ? { requiredScopes: o.requiredScopes } : {}),
    ...(o.http ? { http: o.http } : {}),
    ...(o.logger ? { logger: o.logger } : {}),
    ...(o.now ? { now: o.now } : {}),
  });
  const evidence: Evidence[] = [
    ev('claw-api', reportUrl(o.url)),
    ev('token source', o.tokenSource ?? 'configured'),
    ...(p.status !== undefined ? [ev('answer', `HTTP ${p.status}`)] : []),
    ...(p.cause ? [ev('cause', p.cause)] : []),
    ...evidenceOf(p),
  ];
  const data = { status: p.status ?? null, cause: p.cause ?? null, code: p.code };
  if (p.ok) return outcome('pass', p.message, evidence, [], { data, ...(p.code ? { code: p.code } : {}) });
  return outcome('fail', p.message, evidence, p.hint ? [p.hint] : [], { code: p.code, data });
}

export const clawApiCheck: Check<ClawApiCheckOptions> = {
  id: 'clawapi.registration',
  title: 'claw-api registration',
  symptom: '401 from claw-api',
  run: checkClawApi,
};
