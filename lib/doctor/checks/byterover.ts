/**
 * ByteRover itself: are credentials present and accepted (IAM `user/me`, the call `whoami` makes),
 * and how far is this machine's clock from the server's (`Date` of that answer)? A skewed clock
 * makes OAuth expiry checks, webhook timestamp tolerance and claw-api token validation fail in
 * ways that look like bad credentials.
 */
import type { CredentialSummary } from '../../byterover/auth/index.js';
import type { ByteRoverUser } from '../../byterover/types.js';
import type { HttpClient, HttpRequest, HttpResponse } from '../../http/types.js';
import { errorMessage, isClawError } from '../../errors.js';
import { ev, outcome, type Check, type CheckOutcome, type Evidence } from '../types.js';

/** A response the doctor saw, with the local time it arrived. */
export interface SeenResponse {
  endpoint: string;
  status: number;
  date?: string;
  requestId?: string;
  /** Local clock (ms) when the answer arrived. */
  receivedAt: number;
  /** Local clock (ms) when the request was sent (bounds the server's moment). */
  sentAt: number;
}

/** Wraps a transport so the doctor can read the `Date` of what ByteRover answered. */
export function recordingHttp(
  inner: HttpClient,
  now: () => number = Date.now,
): HttpClient & { last(): SeenResponse | undefined } {
  let last: SeenResponse | undefined;
  return {
    async request<T>(req: HttpRequest): Promise<HttpResponse<T>> {
      const sentAt = now();
      const res = await inner.request<T>(req);
      last = {
        endpoint: req.endpoint ?? String(req.url),
        status: res.status,
        ...(res.headers.date ? { date: res.headers.date } : {}),
        ...(res.requestId ? { requestId: res.requestId } : {}),
        receivedAt: now(),
        sentAt,
      };
      return res;
    },
    close: () => inner.close(),
    last: () => last,
  };
}

export interface ByteRoverCheckOptions {
  profile: string;
  /** Where the session comes from (`env BYTEROVER_API_KEY`, `store`, …). */
  credentialSource: string;
  describeCredential(): Promise<CredentialSummary | undefined>;
  /** IAM user/me through `http` below. */
  me(): Promise<ByteRoverUser>;
  http: { last(): SeenResponse | undefined };
  iamBaseUrl: string;
  /**
   * `doctor --require-cloud`: no credentials at all is a failure. Without it, a machine used only
   * locally (no login, no API key) is "not configured for cloud use": skip, exit 0.
   */
  requireCloud?: boolean;
  now?: () => number;
}

/** Skew thresholds (seconds): under WARN is fine; from FAIL on, time-based checks break. */
export const CLOCK_SKEW_WARN_S = 30;
export const CLOCK_SKEW_FAIL_S = 300;

export async function checkCredentials(o: ByteRoverCheckOptions): Promise<CheckOutcome> {
  const evidence: Evidence[] = [
    ev('profile', o.profile),
    ev('credential source', o.credentialSource),
    ev('IAM', o.iamBaseUrl),
  ];
  let cred: CredentialSummary | undefined;
  try {
    cred = await o.describeCredential();
  } catch (e) {
    evidence.push(ev('stored credential', `unreadable: ${isClawError(e) ? e.code : ''} ${errorMessage(e)}`));
  }
  if (cred) {
    evidence.push(
      ev(
        'stored credential',
        `${cred.kind}${cred.expiresAt ? `, access token expires ${cred.expiresAt}` : ''}${cred.refreshable ? ', refreshable' : ''}${cred.scope ? `, scope "${cred.scope}"` : ''}`,
      ),
    );
  }
  try {
    const user = await o.me();
    const seen = o.http.last();
    evidence.push(
      ev('user/me', `HTTP ${seen?.status ?? 200}${seen?.requestId ? `, request id ${seen.requestId}` : ''}`),
    );
    const who = user.name ? `${user.name}${user.email ? ` <${user.email}>` : ''}` : (user.email ?? user.id);
    evidence.push(ev('signed in as', `${who} (id ${user.id})`));
    return outcome('pass', `credentials accepted: ${who}`, evidence, [], {
      data: {
        user: { id: user.id, email: user.email ?? null },
        source: o.credentialSource,
        ...(cred ? { kind: cred.kind, expiresAt: cred.expiresAt ?? null } : {}),
      },
    });
  } catch (e) {
    const code = isClawError(e) ? e.code : 'UNEXPECTED';
    const seen = o.http.last();
    if (seen)
      evidence.push(ev('user/me', `HTTP ${seen.status}${seen.requestId ? `, request id ${seen.requestId}` : ''}`));
    evidence.push(ev('error', `${code}: ${errorMessage(e)}`));
    const hint = isClawError(e) && e.hint ? e.hint : undefined;
    if (code === 'AUTH_NOT_LOGGED_IN' || code === 'BYTEROVER_NO_SESSION') {
      if (!o.requireCloud) {
        return outcome(
          'skip',
          'not configured for ByteRover cloud use (no login, no API key): local search, recall and curate need none',
          evidence,
          [
            `${hint ?? 'Run `claw-byterover login` (or set BYTEROVER_API_KEY)'} for pull, push and sync; \`doctor --require-cloud\` makes this a failure.`,
          ],
          { code: 'BYTEROVER_NO_CREDENTIALS' },
        );
      }
      return outcome(
        'fail',
        'no ByteRover credentials for this profile',
        evidence,
        [hint ?? 'Run `claw-byterover login` (or set BYTEROVER_API_KEY).'],
        { code: 'BYTEROVER_NO_CREDENTIALS' },
      );
    }
    if (/UNAUTHORI[SZ]ED|REAUTH|INVALID_TOKEN|^AUTH_/.test(code)) {
      return outcome(
        'fail',
        `ByteRover rejected the credentials (${code})`,
        evidence,
        [hint ?? 'Run `claw-byterover login` again; an API key must be an active one from the ByteRover console.'],
        { code },
      );
    }
    return outcome(
      'fail',
      `could not check the credentials: ${code}`,
      evidence,
      [hint ?? `Check that ${o.iamBaseUrl} is reachable from here.`],
      { code },
    );
  }
}

export async function checkClock(o: ByteRoverCheckOptions): Promise<CheckOutcome> {
  const seen = o.http.last();
  if (!seen)
    return outcome(
      'skip',
      'no answer from ByteRover to read a Date from',
      [],
      ['Fix the ByteRover credentials check first (the clock is read from its answer).'],
    );
  if (!seen.date)
    return outcome(
      'warn',
      `ByteRover's answer (${seen.endpoint}) carried no Date header`,
      [ev('answer', `HTTP ${seen.status}`)],
      ['A proxy may be stripping headers; compare the clock with an NTP source instead (`timedatectl`).'],
    );
  const server = Date.parse(seen.date);
  if (Number.isNaN(server))
    return outcome('warn', `unparseable Date header "${seen.date}"`, [], ['A proxy may be rewriting headers.']);
  // The server stamped its answer between sentAt and receivedAt, at one-second resolution.
  const mid = (seen.sentAt + seen.receivedAt) / 2;
  const skewS = Math.round((mid - server) / 1000);
  const rtt = seen.receivedAt - seen.sentAt;
  const evidence = [
    ev('server Date', `${seen.date} (${seen.endpoint})`),
    ev('local clock', new Date(mid).toUTCString()),
    ev('skew', `${skewS >= 0 ? '+' : ''}${skewS} s (local minus server; ±1 s Date resolution, round trip ${rtt} ms)`),
  ];
  const data = { skewSeconds: skewS, serverDate: seen.date };
  const abs = Math.abs(skewS);
  const fix =
    'Synchronise the clock (NTP: `timedatectl set-ntp true`, or chrony/ntpd); token expiry and webhook timestamps are checked against it.';
  if (abs >= CLOCK_SKEW_FAIL_S)
    return outcome('fail', `this clock is ${abs} s ${skewS > 0 ? 'ahead of' : 'behind'} ByteRover's`, evidence, [fix], {
      code: 'CLOCK_SKEW',
      data,
    });
  if (abs >= CLOCK_SKEW_WARN_S)
    return outcome('warn', `this clock is ${abs} s ${skewS > 0 ? 'ahead of' : 'behind'} ByteRover's`, evidence, [fix], {
      code: 'CLOCK_SKEW',
      data,
    });
  return outcome('pass', `clock within ${Math.max(abs, 1)} s of ByteRover's`, evidence, [], { data });
}

export const credentialsCheck: Check<ByteRoverCheckOptions> = {
  id: 'byterover.credentials',
  title: 'ByteRover credentials',
  run: checkCredentials,
};
export const clockCheck: Check<ByteRoverCheckOptions> = {
  id: 'byterover.clock',
  title: 'Clock skew against ByteRover',
  run: checkClock,
};
