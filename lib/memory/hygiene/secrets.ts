/**
 * The secret detector: what must never be written into a context tree (which is synced to ByteRover
 * and recalled into model prompts).
 *
 * Each rule has a stable `kind` (reported to the caller, never the matched text) and matches one of:
 *
 * | kind                 | what                                                                                  |
 * |----------------------|---------------------------------------------------------------------------------------|
 * | `private-key`        | a PEM private key block (`-----BEGIN … PRIVATE KEY-----`, RSA/EC/DSA/OPENSSH/PGP)     |
 * | `aws-access-key`     | AWS access key ids (`AKIA`/`ASIA` + 16 upper-case alphanumerics)                      |
 * | `github-token`       | GitHub tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` + 36, `github_pat_…`)           |
 * | `openai-key`         | OpenAI keys (`sk-…`, `sk-proj-…`, ≥ 20 chars after the prefix)                        |
 * | `anthropic-key`      | Anthropic keys (`sk-ant-…`)                                                           |
 * | `google-api-key`     | Google API keys (`AIza` + 35)                                                         |
 * | `slack-token`        | Slack tokens (`xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-`)                            |
 * | `stripe-key`         | Stripe secret/restricted keys (`sk_live_`, `rk_live_`, `sk_test_`)                    |
 * | `npm-token`          | npm tokens (`npm_` + 36)                                                              |
 * | `jwt`                | JSON Web Tokens (three base64url segments, the first two decoding to JSON: `eyJ…`)    |
 * | `bearer-token`       | `Authorization: Bearer <token>` / `Bearer <token>` with a token of ≥ 20 token chars   |
 * | `connection-string`  | URLs with credentials: `scheme://user:password@host` (postgres, mysql, mongodb, redis, amqp, https…) |
 * | `password-assignment`| `password = …`, `passwd: …`, `secret=…`, `api_key: …`, `token=…`, `client_secret`… with a literal value |
 *
 * Few false positives on prose: the assignment rule needs an assignment operator (`=` or `:`) right
 * after the key word and a value that looks like a literal (≥ 8 chars, no spaces, not a placeholder
 * such as `<your-password>`, `${VAR}`, `process.env.X`, `***`, `changeme`, `xxxxxxxx`), so "the
 * password rotation policy is 90 days" or "set the token in the environment" match nothing.
 * Connection strings with a placeholder or empty password (`postgres://user@host`,
 * `postgres://user:${PGPASSWORD}@host`) are not findings either.
 *
 * `scanSecrets(text)` lists findings (kind, line, column); `redactSecrets(text)` replaces each secret
 * value with `[REDACTED:<kind>]` and keeps the surrounding text (the key name of an assignment, the
 * user and host of a connection string).
 */

export type SecretKind =
  | 'private-key'
  | 'aws-access-key'
  | 'github-token'
  | 'openai-key'
  | 'anthropic-key'
  | 'google-api-key'
  | 'slack-token'
  | 'stripe-key'
  | 'npm-token'
  | 'jwt'
  | 'bearer-token'
  | 'connection-string'
  | 'password-assignment';

export interface SecretFinding {
  kind: SecretKind;
  /** 1-based line and column of the secret value. */
  line: number;
  column: number;
  /** Length of the secret value (the value itself is never reported). */
  length: number;
}

interface Rule {
  kind: SecretKind;
  re: RegExp;
  /** Index of the capture group holding the secret value (0: the whole match). */
  group?: number;
  /** Extra check on the value (false: not a finding). */
  accept?: (value: string) => boolean;
}

/** Values that are placeholders, not secrets. */
const PLACEHOLDER =
  /^(?:<[^>]*>|\$\{[^}]*\}|\$[A-Z_][A-Z0-9_]*|%[A-Z_]+%|\{\{[^}]*\}\}|process\.env\.[\w.]+|os\.environ.*|env\(.*\)|\*+|x{4,}|X{4,}|\.{3,}|\u2026|changeme|change-me|your[-_].*|example.*|placeholder|redacted|\[REDACTED[^\]]*\]|null|none|undefined|true|false|required|optional|string|secret|password|token)$/i;

function looksLikeLiteral(value: string): boolean {
  const v = value.replace(/^["'`]|["'`,;]+$/g, '');
  if (v.length < 8) return false;
  if (PLACEHOLDER.test(v)) return false;
  // A value that is a single repeated character or an English word list is not a credential.
  if (/^(.)\1+$/.test(v)) return false;
  return /[0-9]/.test(v) || /[^A-Za-z]/.test(v) || /[a-z]/.test(v) !== /[A-Z]/.test(v) || v.length >= 16;
}

function decodesToJson(segment: string): boolean {
  try {
    const text = Buffer.from(segment.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null;
  } catch {
    return false;
  }
}

const RULES: Rule[] = [
  {
    kind: 'private-key',
    re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|$)/g,
  },
  { kind: 'aws-access-key', re: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g },
  { kind: 'github-token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g },
  { kind: 'anthropic-key', re: /\bsk-ant-[A-Za-z0-9_-]{20,}/g },
  { kind: 'openai-key', re: /\bsk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/g },
  { kind: 'google-api-key', re: /\bAIza[0-9A-Za-z_-]{35}\b/g },
  { kind: 'slack-token', re: /\bxox[abposr]-[0-9A-Za-z-]{10,}/g },
  { kind: 'stripe-key', re: /\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}\b/g },
  { kind: 'npm-token', re: /\bnpm_[A-Za-z0-9]{36}\b/g },
  {
    kind: 'jwt',
    re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
    accept: (v) => {
      const [h, p] = v.split('.');
      return h !== undefined && p !== undefined && decodesToJson(h) && decodesToJson(p);
    },
  },
  {
    kind: 'bearer-token',
    re: /\bBearer\s+([A-Za-z0-9._~+/-]{20,}=*)/g,
    group: 1,
    accept: (v) => !PLACEHOLDER.test(v) && !/^eyJ/.test(v),
  },
  {
    kind: 'connection-string',
    re: /\b[a-z][a-z0-9+.-]{1,20}:\/\/[^\s:/@'"<>]+:([^\s@/'"<>]+)@[^\s/'"<>]+/gi,
    group: 1,
    accept: (v) => !PLACEHOLDER.test(decodeURIComponentSafe(v)) && decodeURIComponentSafe(v).length >= 3,
  },
  {
    kind: 'password-assignment',
    re: /(?<![A-Za-z0-9])(?:password|passwd|pwd|pass|passphrase|secret|client[_-]?secret|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|auth[_-]?token|access[_-]?token|refresh[_-]?token|token|private[_-]?key)["']?\s*(?:=|:|:=|=>)\s*(["'`]?)([^\s"'`,;]+)\1/gi,
    group: 2,
    accept: looksLikeLiteral,
  },
];

function decodeURIComponentSafe(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

interface Span {
  kind: SecretKind;
  start: number;
  end: number;
}

function spans(text: string): Span[] {
  const out: Span[] = [];
  for (const rule of RULES) {
    rule.re.lastIndex = 0;
    for (const m of text.matchAll(rule.re)) {
      const g = rule.group ?? 0;
      const value = m[g];
      if (value === undefined || m.index === undefined) continue;
      if (rule.accept && !rule.accept(value)) continue;
      const start = g === 0 ? m.index : m.index + m[0].lastIndexOf(value);
      out.push({ kind: rule.kind, start, end: start + value.length });
    }
  }
  // Keep the earliest-starting, longest span where rules overlap (a JWT after "Bearer", a key in an assignment).
  out.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: Span[] = [];
  for (const s of out) {
    const last = kept[kept.length - 1];
    if (last && s.start < last.end) {
      if (s.end > last.end) last.end = s.end;
      continue;
    }
    kept.push({ ...s });
  }
  return kept;
}

function position(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < index; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: index - lineStart + 1 };
}

/** The secrets in `text` (kind and position; never the value). */
export function scanSecrets(text: string): SecretFinding[] {
  return spans(text).map((s) => ({ kind: s.kind, ...position(text, s.start), length: s.end - s.start }));
}

/** `text` with every secret value replaced by `[REDACTED:<kind>]`, and what was replaced. */
export function redactSecrets(text: string): { text: string; findings: SecretFinding[] } {
  const found = spans(text);
  if (found.length === 0) return { text, findings: [] };
  let out = '';
  let at = 0;
  for (const s of found) {
    out += `${text.slice(at, s.start)}[REDACTED:${s.kind}]`;
    at = s.end;
  }
  out += text.slice(at);
  return {
    text: out,
    findings: found.map((s) => ({ kind: s.kind, ...position(text, s.start), length: s.end - s.start })),
  };
}

/** "2 secrets (openai-key at 3:12, password-assignment at 5:10)": for messages (no values). */
export function describeFindings(findings: readonly SecretFinding[]): string {
  const list = findings
    .slice(0, 10)
    .map((f) => `${f.kind} at line ${f.line}, column ${f.column}`)
    .join('; ');
  const more = findings.length > 10 ? `; and ${findings.length - 10} more` : '';
  return `${findings.length} secret${findings.length === 1 ? '' : 's'} (${list}${more})`;
}

export const SECRET_KINDS: readonly SecretKind[] = RULES.map((r) => r.kind);
