/**
 * The ordered diagnosis of a refused claw-api call (401, 403, or 400 with a Bearer challenge).
 * Pure: every input is a value (the header that was sent, the response's headers, a clock), so each
 * cause is unit-testable. The checks run in this order and the first one that finds a problem names
 * the cause:
 *
 *  a. header shape      RFC 6750 §2.1: `Bearer`, one space, a b64token; not empty, no quotes,
 *                       whitespace or newlines, not "Bearer Bearer …".
 *  b. challenge         RFC 6750 §3 / RFC 9110 §11.6.1: the server's `WWW-Authenticate` (scheme,
 *                       `error`, `error_description`, `scope`). Another scheme, `invalid_request`
 *                       or an unknown error code ends the diagnosis here; `invalid_token` and
 *                       `insufficient_scope` are refined by the next checks.
 *  c. expiry            `exp`/`nbf` against the local clock, and the server's `Date` header
 *                       (RFC 9110 §6.6.1) to tell "token expired" from "a clock is off".
 *  d. token type        RFC 9068 §2.1 `typ: at+jwt`; an OpenID Connect ID token (no at+jwt,
 *                       `nonce`/`at_hash`/`c_hash`, `aud` = the client id) is named as such.
 *  e. audience          `aud` vs the claw-api's resource identifier (RFC 8707 / RFC 9728).
 *  f. scope             `scope` (or `scp`) vs the required scopes.
 *
 * JWTs are decoded with jose (decodeJwt / decodeProtectedHeader) without verification: the client
 * only reads claims to explain a refusal. An opaque token skips c–f with a note. The token itself
 * never appears in the result, not even a prefix: evidence holds claim values only, and every
 * string that came from the server is scrubbed of the token before it is used.
 */
import { decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import { redactString } from '../log/redact.js';

/** Stable ids of the causes (`details.cause` of CLAW_API_UNAUTHORIZED). */
export const DIAGNOSIS_CAUSES = [
  'header_shape',
  'server_error',
  'header_missing',
  'expired',
  'clock_skew',
  'id_token',
  'token_type',
  'audience',
  'scope',
  'unknown',
] as const;
export type DiagnosisCause = (typeof DIAGNOSIS_CAUSES)[number];

export type CheckId = 'header_shape' | 'challenge' | 'expiry' | 'token_type' | 'audience' | 'scope';
export interface DiagnosisCheck {
  id: CheckId;
  outcome: 'pass' | 'fail' | 'skip' | 'note';
  note: string;
}

export type Evidence = Record<string, string | number | boolean>;

export interface Diagnosis {
  cause: DiagnosisCause;
  /** The check that named the cause (`none` when no check did). */
  check: CheckId | 'none';
  message: string;
  hint: string;
  evidence: Evidence;
  /** Every check in order with what it saw. */
  checks: DiagnosisCheck[];
}

/** Where the token came from; only tunes the hints. */
export type TokenOrigin = 'static' | 'client_credentials' | 'unknown';

export interface AuthFailureInput {
  /** HTTP status of the refusal; undefined when the header was refused before sending. */
  status?: number | undefined;
  /** The exact `Authorization` header value that was (or would have been) sent. Never output. */
  authorization: string | undefined;
  /** The response's `WWW-Authenticate` header. */
  wwwAuthenticate?: string | undefined;
  /** The response's `Date` header. */
  serverDate?: string | undefined;
  /** `detail` of the problem+json body, if any (scrubbed before use). */
  problemDetail?: string | undefined;
  /** Local clock in epoch ms. */
  now: number;
  /** The audience the claw-api expects (its resource identifier), when known. */
  expectedAudience?: string | undefined;
  /** Scopes the call needs. */
  requiredScopes?: readonly string[] | undefined;
  /** Our OAuth client id, when the token came from client credentials (spots ID tokens). */
  clientId?: string | undefined;
  tokenOrigin?: TokenOrigin | undefined;
  /** Clock difference (server Date vs local) above which clocks count as off, in seconds. Default 30. */
  clockToleranceSeconds?: number | undefined;
}

// ---------------------------------------------------------------------------------------------
// a. header shape

/** RFC 6750 §2.1 b64token. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

export type HeaderShape =
  { ok: true; token: string } | { ok: false; problem: string; hint: string; evidence: Evidence };

const ENV_HINT = 'CLAW_API_TOKEN / bridge.clawApi.token';

/** Checks a credential `Bearer <token>` header value (RFC 6750 §2.1). */
export function checkAuthorizationHeader(value: string | undefined): HeaderShape {
  if (value === undefined || value === '') {
    return {
      ok: false,
      problem: 'no Authorization header would be sent (no token configured)',
      hint: `set ${ENV_HINT}, or bridge.clawApi.issuer/clientId/clientSecret for client credentials`,
      evidence: { headerPresent: false },
    };
  }
  const sp = value.indexOf(' ');
  const scheme = sp < 0 ? value : value.slice(0, sp);
  const rest = sp < 0 ? '' : value.slice(sp + 1);
  if (scheme !== 'Bearer') {
    const lower = scheme.toLowerCase() === 'bearer';
    return {
      ok: false,
      problem: lower
        ? `the scheme is written "${scheme}"; claw-api expects exactly "Bearer" (some servers refuse other spellings)`
        : `the scheme is not "Bearer" (found a ${scheme.length}-character scheme)`,
      hint: 'send "Authorization: Bearer <token>"; the client adds the scheme itself, so configure the bare token',
      evidence: { schemeIsBearer: false, schemeCaseInsensitiveBearer: lower },
    };
  }
  return checkToken(rest);
}

/** The token part of the header (what follows `Bearer `). */
export function checkToken(token: string): HeaderShape {
  const ev = (extra: Evidence): Evidence => ({ tokenLength: token.length, ...extra });
  if (token === '' || token.trim() === '') {
    return {
      ok: false,
      problem: token === '' ? 'the token is empty ("Bearer " with nothing after it)' : 'the token is only whitespace',
      hint: `set a token in ${ENV_HINT}, or configure client credentials`,
      evidence: ev({ empty: true }),
    };
  }
  if (/^bearer\s/i.test(token)) {
    return {
      ok: false,
      problem: 'the header reads "Bearer Bearer …": the configured token itself starts with "Bearer "',
      hint: `configure the bare token in ${ENV_HINT}, without the "Bearer " prefix (the client adds the scheme)`,
      evidence: ev({ doubleBearer: true }),
    };
  }
  if (token.startsWith(' ')) {
    return {
      ok: false,
      problem: 'more than one space separates "Bearer" from the token',
      hint: 'remove the leading spaces from the configured token',
      evidence: ev({ leadingSpace: true }),
    };
  }
  if (/[\r\n]/.test(token)) {
    return {
      ok: false,
      problem: /[\r\n]+$/.test(token) ? 'the token ends with a newline' : 'the token contains a newline',
      hint: "remove the newline from the token (a file read with its trailing newline: use `tr -d '\\n'` or trim it)",
      evidence: ev({ newline: true }),
    };
  }
  if (/^["']|["']$/.test(token)) {
    return {
      ok: false,
      problem: 'the token is wrapped in quotes',
      hint: 'remove the quotes around the token (they were copied along from a shell line or a JSON/YAML file)',
      evidence: ev({ quoted: true }),
    };
  }
  if (/\s/.test(token)) {
    return {
      ok: false,
      problem: /\s$/.test(token) ? 'the token ends with whitespace' : 'the token contains whitespace',
      hint: 'remove the spaces or tabs from the configured token',
      evidence: ev({ whitespace: true }),
    };
  }
  if (!B64TOKEN.test(token)) {
    let bad = 0;
    let first = -1;
    for (let i = 0; i < token.length; i++) {
      if (!/[A-Za-z0-9\-._~+/=]/.test(token[i] as string)) {
        bad++;
        if (first < 0) first = i;
      }
    }
    return {
      ok: false,
      problem:
        bad > 0
          ? `the token has ${bad} character(s) outside the RFC 6750 b64token set (letters, digits, - . _ ~ + /, trailing =), the first at position ${first + 1}`
          : 'the token has "=" padding before its end',
      hint: 'copy the token again exactly as the issuer returned it (URL-encoding or a copy/paste may have changed it)',
      evidence: ev({ invalidCharacters: bad }),
    };
  }
  return { ok: true, token };
}

// ---------------------------------------------------------------------------------------------
// b. challenge

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a `WWW-Authenticate` value (RFC 9110 §11.6.1): one or more challenges, each a scheme with
 * either a token68 or comma-separated `name=value` / `name="quoted value"` parameters.
 */
export function parseWwwAuthenticate(header: string | undefined): Challenge[] {
  if (!header) return [];
  const out: Challenge[] = [];
  let i = 0;
  const s = header;
  const skipWs = (): void => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < s.length && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(s[i] as string)) i++;
    return s.slice(start, i);
  };
  while (i < s.length) {
    skipWs();
    while (s[i] === ',') {
      i++;
      skipWs();
    }
    const scheme = readToken();
    if (!scheme) break;
    const ch: Challenge = { scheme, params: {} };
    out.push(ch);
    skipWs();
    // parameters until the next challenge (a token not followed by "=")
    for (;;) {
      skipWs();
      const save = i;
      const name = readToken();
      if (!name) break;
      skipWs();
      if (s[i] !== '=') {
        i = save; // the next challenge's scheme
        break;
      }
      i++;
      skipWs();
      let value = '';
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i];
          i++;
        }
        i++;
      } else {
        const start = i;
        while (i < s.length && s[i] !== ',' && s[i] !== ' ') i++;
        value = s.slice(start, i);
      }
      ch.params[name.toLowerCase()] = value;
      skipWs();
      if (s[i] === ',') {
        i++;
        continue;
      }
      break;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// helpers

/** Removes the token (and its JWT segments) from a server-supplied string, then the usual redaction. */
export function scrubToken(text: string, token: string | undefined): string {
  let out = text;
  if (token && token.length >= 4) {
    out = out.split(token).join('[REDACTED]');
    for (const seg of token.split('.')) if (seg.length >= 8) out = out.split(seg).join('[REDACTED]');
  }
  return redactString(out);
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : String(ms);
}

function seconds(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 120) return `${s} s`;
  if (s < 3 * 3600) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function audList(aud: JWTPayload['aud']): string[] {
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud)) return aud.filter((a): a is string => typeof a === 'string');
  return [];
}

function scopeList(p: JWTPayload): string[] | undefined {
  if (typeof p.scope === 'string') return p.scope.split(/\s+/).filter(Boolean);
  const scp = (p as { scp?: unknown }).scp;
  if (Array.isArray(scp)) return scp.filter((x): x is string => typeof x === 'string');
  if (typeof scp === 'string') return scp.split(/\s+/).filter(Boolean);
  return undefined;
}

interface Decoded {
  header: { typ?: string | undefined; alg?: string | undefined };
  payload: JWTPayload;
}

function decode(token: string): Decoded | undefined {
  if (token.split('.').length !== 3) return undefined;
  try {
    const h = decodeProtectedHeader(token);
    const payload = decodeJwt(token);
    return {
      header: {
        typ: typeof h.typ === 'string' ? h.typ : undefined,
        alg: typeof h.alg === 'string' ? h.alg : undefined,
      },
      payload,
    };
  } catch {
    return undefined;
  }
}

function tokenHint(origin: TokenOrigin): string {
  return origin === 'client_credentials'
    ? 'the bridge fetches a new token by itself'
    : `issue a new token and update ${ENV_HINT} (or let the bridge fetch short-lived tokens itself with client credentials: bridge.clawApi.issuer/clientId/clientSecret)`;
}

// ---------------------------------------------------------------------------------------------
// the diagnosis

export function diagnoseAuthFailure(input: AuthFailureInput): Diagnosis {
  const checks: DiagnosisCheck[] = [];
  const evidence: Evidence = {};
  const origin = input.tokenOrigin ?? 'unknown';
  const status = input.status;
  if (status !== undefined) evidence.status = status;
  const answered = status === undefined ? 'claw-api was not called' : `claw-api answered ${status}`;
  const done = (cause: DiagnosisCause, check: CheckId | 'none', message: string, hint: string): Diagnosis => ({
    cause,
    check,
    message,
    hint,
    evidence,
    checks,
  });

  // a. header shape
  const shape = checkAuthorizationHeader(input.authorization);
  const token = shape.ok ? shape.token : undefined;
  if (!shape.ok) {
    Object.assign(evidence, shape.evidence);
    checks.push({ id: 'header_shape', outcome: 'fail', note: shape.problem });
    return done(
      'header_shape',
      'header_shape',
      `${answered}: the Authorization header is malformed: ${shape.problem} (expected "Bearer <token>": the scheme Bearer, one space, then the token in RFC 6750 b64token characters).`,
      shape.hint,
    );
  }
  checks.push({ id: 'header_shape', outcome: 'pass', note: 'Bearer, one space, a b64token' });
  const scrub = (t: string): string => scrubToken(t, token);

  // b. challenge
  const challenges = parseWwwAuthenticate(input.wwwAuthenticate);
  const bearer = challenges.find((c) => c.scheme.toLowerCase() === 'bearer');
  const error = bearer?.params.error;
  const description =
    bearer?.params.error_description !== undefined ? scrub(bearer.params.error_description) : undefined;
  const challengeScope = bearer?.params.scope;
  const detail = input.problemDetail !== undefined ? scrub(input.problemDetail).slice(0, 300) : undefined;
  if (error) evidence.error = error;
  if (description) evidence.errorDescription = description.slice(0, 300);
  if (challengeScope) evidence.challengeScope = challengeScope;
  if (bearer?.params.realm) evidence.realm = scrub(bearer.params.realm);
  const server = error ? ` (${error}${description ? `: "${description}"` : ''})` : '';

  if (challenges.length > 0 && !bearer) {
    const schemes = challenges.map((c) => c.scheme).join(', ');
    evidence.challengeSchemes = schemes;
    checks.push({ id: 'challenge', outcome: 'fail', note: `challenge scheme ${schemes}, not Bearer` });
    return done(
      'server_error',
      'challenge',
      `${answered} with a "${schemes}" challenge, not "Bearer": something in front of the claw-api (a proxy or gateway) asked for its own credentials.`,
      'check that bridge.clawApi.url points at the claw-api itself; if a proxy guards it, give the proxy its credentials or route around it',
    );
  }
  if (!bearer) {
    evidence.challenge = 'none';
    checks.push({
      id: 'challenge',
      outcome: 'note',
      note: `no WWW-Authenticate challenge${detail ? `; problem detail: "${detail}"` : ''} (RFC 9110 requires one on a 401)`,
    });
  } else if (error === 'invalid_request' || (error && error !== 'invalid_token' && error !== 'insufficient_scope')) {
    checks.push({ id: 'challenge', outcome: 'fail', note: `server error ${error}` });
    return done(
      'server_error',
      'challenge',
      `${answered}${server}: the claw-api found the request itself malformed, although the Authorization header the client sent is well formed.`,
      'look for a proxy that rewrites, duplicates or strips the Authorization header; compare with `curl -i -X POST <url>/v1/nodes -H "Authorization: Bearer $CLAW_API_TOKEN" …`',
    );
  } else {
    checks.push({
      id: 'challenge',
      outcome: 'note',
      note: error
        ? `server error ${error}${description ? `: ${description}` : ''}`
        : 'Bearer challenge without error code',
    });
  }
  if (bearer && !error && status === 401) {
    // RFC 6750 §3.1: no error code means the server saw no credentials at all.
    return done(
      'header_missing',
      'challenge',
      `${answered} with a Bearer challenge without an error code, which means it received no credentials, although the client sent an Authorization header: a proxy or a redirect dropped it.`,
      'point bridge.clawApi.url at the final URL (a redirect to another origin drops Authorization) and make sure proxies forward the Authorization header',
    );
  }

  // c–f need a JWT
  const jwt = token ? decode(token) : undefined;
  const required = [...(input.requiredScopes ?? [])];
  if (required.length) evidence.requiredScope = required.join(' ');
  if (input.expectedAudience) evidence.expectedAudience = input.expectedAudience;
  if (!jwt) {
    evidence.tokenFormat = 'opaque';
    const note = 'the token is not a JWT (opaque): expiry, type, audience and scope can only be judged by the server';
    for (const id of ['expiry', 'token_type', 'audience', 'scope'] as const) checks.push({ id, outcome: 'skip', note });
  } else {
    evidence.tokenFormat = 'jwt';
    const p = jwt.payload;
    evidence.typ = jwt.header.typ ?? '(absent)';
    if (jwt.header.alg) evidence.alg = jwt.header.alg;
    if (typeof p.iss === 'string') evidence.iss = p.iss;
    const auds = audList(p.aud);
    if (auds.length) evidence.aud = auds.join(' ');
    const scopes = scopeList(p);
    evidence.scope = scopes ? scopes.join(' ') : '(absent)';
    const cid = (p as { client_id?: unknown }).client_id;
    if (typeof cid === 'string') evidence.clientIdClaim = cid;

    // c. expiry
    const local = input.now;
    evidence.localTime = iso(local);
    const serverMs = input.serverDate ? Date.parse(input.serverDate) : Number.NaN;
    const tol = (input.clockToleranceSeconds ?? 30) * 1000;
    let offset: number | undefined;
    if (Number.isFinite(serverMs)) {
      offset = serverMs - local;
      evidence.serverTime = iso(serverMs);
      evidence.clockOffsetSeconds = Math.round(offset / 1000);
    }
    const skewed = offset !== undefined && Math.abs(offset) > tol;
    const clockHint =
      'one of the clocks is wrong: compare this host and the claw-api host with a time source (`timedatectl`, `chronyc tracking`) and enable NTP on the one that is off';
    const serverClause =
      offset === undefined
        ? ''
        : skewed
          ? `; the claw-api's clock (Date: ${iso(serverMs)}) differs from the local clock by ${offset > 0 ? '+' : '-'}${seconds(offset)}`
          : "; the claw-api's clock agrees with the local clock";
    if (typeof p.exp === 'number') {
      evidence.exp = p.exp;
      evidence.expAt = iso(p.exp * 1000);
    }
    if (typeof p.nbf === 'number') evidence.nbf = p.nbf;
    if (typeof p.iat === 'number') evidence.iat = p.iat;
    if (typeof p.exp === 'number' && p.exp * 1000 <= local) {
      checks.push({ id: 'expiry', outcome: 'fail', note: `exp ${iso(p.exp * 1000)} is before the local clock` });
      return done(
        'expired',
        'expiry',
        `${answered}${server}: the access token expired at ${iso(p.exp * 1000)}, ${seconds(local - p.exp * 1000)} before the local clock (${iso(local)})${serverClause}.`,
        `get a new token: ${tokenHint(origin)}${skewed ? `; also, ${clockHint}` : ''}`,
      );
    }
    if (typeof p.exp === 'number' && offset !== undefined && skewed && p.exp * 1000 <= serverMs) {
      checks.push({ id: 'expiry', outcome: 'fail', note: 'valid by the local clock, expired by the claw-api clock' });
      return done(
        'clock_skew',
        'expiry',
        `${answered}${server}: the access token is valid by the local clock until ${iso(p.exp * 1000)}, but the claw-api's clock (Date: ${iso(serverMs)}) is ${seconds(offset)} ${offset > 0 ? 'ahead of' : 'behind'} the local clock (${iso(local)}), so the claw-api sees it expired.`,
        clockHint,
      );
    }
    if (typeof p.nbf === 'number' && p.nbf * 1000 > local + tol) {
      checks.push({ id: 'expiry', outcome: 'fail', note: 'nbf is after the local clock' });
      return done(
        'clock_skew',
        'expiry',
        `${answered}${server}: the access token is not valid before ${iso(p.nbf * 1000)} (nbf), ${seconds(p.nbf * 1000 - local)} after the local clock (${iso(local)}): the issuer's clock runs ahead${serverClause}.`,
        clockHint,
      );
    }
    if (typeof p.nbf === 'number' && offset !== undefined && p.nbf * 1000 > serverMs + tol) {
      checks.push({ id: 'expiry', outcome: 'fail', note: 'nbf is after the claw-api clock' });
      return done(
        'clock_skew',
        'expiry',
        `${answered}${server}: the access token is not valid before ${iso(p.nbf * 1000)} (nbf), but the claw-api's clock says ${iso(serverMs)}: its clock is ${seconds(-offset)} behind the local clock.`,
        clockHint,
      );
    }
    // An expiry within the tolerance of the server clock: expired in flight.
    if (typeof p.exp === 'number' && offset !== undefined && p.exp * 1000 <= serverMs) {
      checks.push({ id: 'expiry', outcome: 'fail', note: 'expired by the claw-api clock within the tolerance' });
      return done(
        'expired',
        'expiry',
        `${answered}${server}: the access token expired at ${iso(p.exp * 1000)}, just before the claw-api's clock (${iso(serverMs)}); the local clock (${iso(local)}) agrees within ${seconds(tol)}.`,
        `get a new token: ${tokenHint(origin)}; renew tokens earlier than their expiry`,
      );
    }
    checks.push({
      id: 'expiry',
      outcome: 'pass',
      note:
        typeof p.exp === 'number'
          ? `valid until ${iso(p.exp * 1000)}${offset !== undefined ? `, clock offset ${Math.round(offset / 1000)} s` : ''}`
          : 'no exp claim',
    });

    // d. token type
    const typ = jwt.header.typ;
    const isAt = typeof typ === 'string' && typ.toLowerCase().replace(/^application\//, '') === 'at+jwt';
    const signals: string[] = [];
    if (p.nonce !== undefined) signals.push('nonce');
    if ((p as { at_hash?: unknown }).at_hash !== undefined) signals.push('at_hash');
    if ((p as { c_hash?: unknown }).c_hash !== undefined) signals.push('c_hash');
    if (input.clientId && auds.includes(input.clientId)) signals.push(`aud is the client id "${input.clientId}"`);
    const azp = (p as { azp?: unknown }).azp;
    if (typeof azp === 'string' && auds.length === 1 && auds[0] === azp) signals.push(`aud equals azp "${azp}"`);
    if (signals.length) {
      evidence.hasNonce = p.nonce !== undefined;
      evidence.hasAtHash = (p as { at_hash?: unknown }).at_hash !== undefined;
    }
    if (!isAt && signals.length > 0) {
      checks.push({ id: 'token_type', outcome: 'fail', note: `ID token: ${signals.join(', ')}` });
      return done(
        'id_token',
        'token_type',
        `${answered}${server}: the token is an OpenID Connect ID token, not an access token: its typ is ${typ ? `"${typ}"` : 'absent'} (an access token has "at+jwt", RFC 9068) and it carries ${signals.join(', ')}${auds.length ? `; its aud is "${auds.join(' ')}"` : ''}.`,
        'send the access_token of the token response, not the id_token; or let the bridge fetch its own access token with client credentials (bridge.clawApi.issuer/clientId/clientSecret, audience and scopes)',
      );
    }
    if (!isAt) {
      checks.push({ id: 'token_type', outcome: 'fail', note: `typ ${typ ?? 'absent'}` });
      return done(
        'token_type',
        'token_type',
        `${answered}${server}: the token's typ is ${typ ? `"${typ}"` : 'absent'}; the claw-api accepts JWT access tokens with typ "at+jwt" (RFC 9068).`,
        'have the issuer mint RFC 9068 access tokens for the claw-api resource (typ at+jwt; e.g. oidc-provider: resourceIndicators with accessTokenFormat "jwt")',
      );
    }
    checks.push({ id: 'token_type', outcome: 'pass', note: 'typ at+jwt' });

    // e. audience
    if (!input.expectedAudience) {
      checks.push({
        id: 'audience',
        outcome: 'skip',
        note: 'the claw-api audience is unknown (set bridge.clawApi.audience)',
      });
    } else if (!auds.includes(input.expectedAudience)) {
      checks.push({ id: 'audience', outcome: 'fail', note: `aud ${auds.join(' ') || '(absent)'}` });
      return done(
        'audience',
        'audience',
        `${answered}${server}: the token's aud is ${auds.length ? `"${auds.join(' ')}"` : 'absent'}, the claw-api expects "${input.expectedAudience}".`,
        `request the token with resource=${input.expectedAudience} (RFC 8707; bridge.clawApi.audience) so the issuer sets aud to the claw-api`,
      );
    } else {
      checks.push({ id: 'audience', outcome: 'pass', note: `aud includes ${input.expectedAudience}` });
    }

    // f. scope
    const needed = required.length ? required : challengeScope ? challengeScope.split(/\s+/).filter(Boolean) : [];
    if (!needed.length) {
      checks.push({ id: 'scope', outcome: 'skip', note: 'no required scope known' });
    } else {
      const missing = needed.filter((s) => !(scopes ?? []).includes(s));
      if (missing.length) {
        checks.push({ id: 'scope', outcome: 'fail', note: `missing ${missing.join(' ')}` });
        return done(
          'scope',
          'scope',
          `${answered}${server}: the token's scope is ${scopes && scopes.length ? `"${scopes.join(' ')}"` : 'empty'}, the claw-api requires "${needed.join(' ')}" (missing "${missing.join(' ')}").`,
          `request the token with scope "${needed.join(' ')}" (bridge.clawApi.scopes) and make sure the issuer allows that scope for this client`,
        );
      }
      checks.push({ id: 'scope', outcome: 'pass', note: `scope includes ${needed.join(' ')}` });
    }
  }

  // No local check found it: the server's word is the cause.
  if (error === 'insufficient_scope') {
    const need = challengeScope ?? required.join(' ');
    return done(
      'scope',
      'challenge',
      `${answered}${server}: the token lacks the scope the claw-api requires${need ? ` ("${need}")` : ''}${evidence.tokenFormat === 'opaque' ? ' (the token is opaque, so only the server can tell)' : ''}.`,
      `request the token with scope "${need || 'nodes:write'}" (bridge.clawApi.scopes) and make sure the issuer allows it for this client`,
    );
  }
  if (error === 'invalid_token') {
    return done(
      'server_error',
      'challenge',
      `${answered}${server}: the claw-api refused the token and the local checks ${evidence.tokenFormat === 'opaque' ? 'could not look inside it (opaque token)' : 'passed (expiry, type, audience, scope)'}: the claw-api does not trust the token's issuer or signature, or the token was revoked.`,
      'check that the token comes from an issuer the claw-api trusts (authorization_servers in <claw-api>/.well-known/oauth-protected-resource), then get a new token',
    );
  }
  return done(
    'unknown',
    'none',
    `${answered}${server}${detail ? ` ("${detail}")` : ''}: none of the checks (header shape, challenge, expiry, type, audience, scope) found the cause.`,
    `ask the claw-api operator for the server log of this request${typeof evidence.serverTime === 'string' ? ` (Date: ${evidence.serverTime})` : ''}`,
  );
}
