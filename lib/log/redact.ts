/**
 * Secret scrubbing for strings and objects. pino's `redact` covers known field paths; this covers
 * secrets inside free text: query strings, Authorization values, JWT-looking strings, and any value
 * registered at run time with `registerSecret` (API keys, tokens, client secrets as they are loaded).
 */
const REDACTED = '[REDACTED]';
const registered = new Set<string>();

/** Remember a secret value so every later log line, error message and CLI output scrubs it. */
export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 6) registered.add(value);
}

const SENSITIVE_KEY =
  /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-byterover-session-id|api[-_]?key|apikey|access[-_]?token|refresh[-_]?token|id[-_]?token|session[-_]?key|client[-_]?secret|secret|password|code|code[-_]?verifier|token|webhook[-_]?secret|x-byterover-signature|webhook-signature)$/i;

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

const SENSITIVE_SUFFIX =
  /(?:access_token|refresh_token|id_token|token|code|code_verifier|client_secret|api_key|api-key|apikey|key|session_key|password|secret|state)$/i;

/**
 * Text that reads as an error code, never as an OAuth authorization code (random base64url/hex of
 * mixed case): SCREAMING_SNAKE with at least one underscore (`AUTH_INVALID_TOKEN`, `ERR_SOCKET_TIMEOUT`),
 * a Node errno name (`ENOENT`, `ECONNREFUSED`) or an HTTP status.
 */
function isErrorCodeText(value: string): boolean {
  return /^(?:[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|E[A-Z]{2,15}|[1-5][0-9]{2})$/.test(value);
}

// String.replace passes the match offset as a number (and the whole string), hence any[].
const PATTERNS: Array<[RegExp, string | ((substring: string, ...args: any[]) => string)]> = [
  // Authorization schemes: "Bearer abc", "Basic abc"
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`],
  // JWT / JWS compact serialisation
  // (starts only where a run of token characters starts: "eyJ-eyJ-eyJ..." is scanned once, not once per eyJ)
  [/(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, REDACTED],
  // Header-style pairs in free text: "authorization: x", "x-byterover-signature: abc"
  [
    /\b(authorization|proxy-authorization|x-api-key|x-byterover-session-id|x-byterover-signature|webhook-signature|idempotency-key|cookie|set-cookie)(["']?\s*[:=]\s*["']?)(?!Bearer\b|Basic\b)([^\s"',;]+)/gi,
    `$1$2${REDACTED}`,
  ],
  // key=value pairs in query strings, form bodies and free text; the key may carry a prefix
  // (webhook_secret=, bridge-api-key=), so the match starts at any word boundary before it.
  // Matched from the start of each run of key characters only (the lookbehind), then the key's end
  // is checked: a lazy `[...]*?(?:a|b|...)=` retried at every boundary of a long "a-a-a-..." run
  // without "=" cost O(n²) (issue 13).
  // A `code` outside a URL query holding a stable error code (`code=AUTH_INVALID_TOKEN`, as the CLI
  // prints log fields) stays readable; in a query string (`?code=`, `&code=`: OAuth redirects) it is
  // always redacted.
  [
    /(?<![A-Za-z0-9_-])([A-Za-z0-9_-]+)=([^&\s"',;]+)/g,
    (m: string, key: string, value: string, offset: number, whole: string) =>
      !SENSITIVE_SUFFIX.test(key) ||
      (key.toLowerCase() === 'code' && !/[?&]$/.test(whole.slice(0, offset)) && isErrorCodeText(value))
        ? m
        : `${key}=${REDACTED}`,
  ],
  // JSON-ish "field":"value" for sensitive fields
  [
    // An unclosed value is redacted to the end (a failing `"[^"]*"` rescanned the rest at every field).
    /("(?:access_token|refresh_token|id_token|session_key|client_secret|api_key|apiKey|password|secret)"\s*:\s*)"[^"]*(?:"|$)/g,
    `$1"${REDACTED}"`,
  ],
];

export function redactString(input: string): string {
  let out = input;
  for (const secret of registered) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  for (const [re, rep] of PATTERNS) out = typeof rep === 'string' ? out.replace(re, rep) : out.replace(re, rep);
  return out;
}

/**
 * A field named `code` holds an OAuth authorization code in some places and a stable error code
 * (`AUTH_INVALID_TOKEN`, 401) in most: error codes are never secret, so they stay readable in logs.
 */
function isStableCode(key: string, value: unknown): boolean {
  if (key.toLowerCase() !== 'code') return false;
  return typeof value === 'number' || (typeof value === 'string' && value.length <= 64 && isErrorCodeText(value));
}

/** Deep copy of a plain value with sensitive keys and embedded secrets scrubbed. */
export function redact<T>(value: T, depth = 0): T {
  if (depth > 8) return value;
  if (typeof value === 'string') return redactString(value) as unknown as T;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1)) as unknown as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] =
        isSensitiveKey(k) && v !== undefined && v !== null && !isStableCode(k, v) ? REDACTED : redact(v, depth + 1);
    }
    return out as T;
  }
  return value;
}

/** URL for logs: origin + path only (query strings carry codes and tokens). */
export function safeUrl(url: string | URL): string {
  try {
    const u = new URL(String(url));
    return `${u.origin}${u.pathname}`;
  } catch {
    return redactString(String(url).split('?')[0] ?? '');
  }
}
