/**
 * The shapes of a doctor run. `DoctorReport` is what `claw-byterover doctor --json` prints; its JSON
 * Schema is docs/doctor.schema.json (a test validates real output against it). Field meanings are
 * documented there and in docs/readme/doctor.md.
 */

/** How a check ended. Only `fail` makes the run fail; `warn` is worth a look; `skip` was not run. */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export const CHECK_STATUSES: readonly CheckStatus[] = ['pass', 'warn', 'fail', 'skip'];

/** One thing the check saw, as a label and a one-line value (never a secret). */
export interface Evidence {
  label: string;
  value: string;
}

/** What a check's `run` returns. */
export interface CheckOutcome {
  status: CheckStatus;
  /** One line: what was found. */
  summary: string;
  /** Stable code of the finding (SCREAMING_SNAKE), e.g. NATIVE_ENTRY_HIDDEN; absent on a plain pass. */
  code?: string;
  evidence: Evidence[];
  /** Next steps, most useful first (empty on pass). */
  next: string[];
  /** Structured, check-specific facts (documented per check in docs/readme/doctor.md). */
  data?: Record<string, unknown>;
}

/** One check of the report. */
export interface CheckResult extends CheckOutcome {
  /** Stable id, e.g. `native.load`, `agent.handshake`. */
  id: string;
  title: string;
  /** The classic integration failure this check diagnoses, in the words users search for. */
  symptom?: string;
}

export interface DoctorReport {
  /** Identifies the document shape; bumps only on an incompatible change. */
  schema: 'claw-byterover.doctor/v1';
  /** claw-byterover's version. */
  version: string;
  /** True when no check failed. */
  ok: boolean;
  /** The process exit code this report maps to (0 or DOCTOR_EXIT_CHECK_FAILED). */
  exitCode: number;
  counts: Record<CheckStatus, number>;
  environment: { platform: string; arch: string; node: string; napi: string | null; libc: string };
  checks: CheckResult[];
}

/** A check: an id, a title and how to run it. */
export interface Check<C = unknown> {
  id: string;
  title: string;
  symptom?: string;
  run(ctx: C): Promise<CheckOutcome>;
}

/** Exit code of `doctor` when at least one check failed (distinct from every other CLI exit code). */
export const DOCTOR_EXIT_CHECK_FAILED = 7;

/** Shorthand builders for check outcomes. */
export function outcome(
  status: CheckStatus,
  summary: string,
  evidence: Evidence[] = [],
  next: string[] = [],
  extra: { code?: string; data?: Record<string, unknown> } = {},
): CheckOutcome {
  return {
    status,
    summary,
    evidence,
    next,
    ...(extra.code ? { code: extra.code } : {}),
    ...(extra.data ? { data: extra.data } : {}),
  };
}

export function ev(label: string, value: unknown): Evidence {
  return { label, value: typeof value === 'string' ? value : value === undefined ? '(none)' : JSON.stringify(value) };
}

/** The worst of several statuses (fail > warn > pass > skip). */
export function worst(statuses: CheckStatus[]): CheckStatus {
  const rank: Record<CheckStatus, number> = { skip: 0, pass: 1, warn: 2, fail: 3 };
  return statuses.reduce<CheckStatus>((a, b) => (rank[b] > rank[a] ? b : a), 'skip');
}

/**
 * A URL the user gave, as the report may show it: credentials in the user-info part and the query
 * string (where tokens travel: `?access_token=…`) replaced by [REDACTED]; scheme, host, port and
 * path kept, because they are what a user checks. Nothing to hide, or not a URL: returned as typed
 * (the runner's redactor still scrubs known secrets from every string).
 */
export function reportUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return raw;
  }
  if (!u.username && !u.password && !u.search) return raw;
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol))
    return raw.replace(/\/\/[^/@]*@/, '//[REDACTED]@').replace(/\?.*$/, (q) => (q ? '?[REDACTED]' : ''));
  return `${u.protocol}//${u.username || u.password ? '[REDACTED]@' : ''}${u.host}${u.pathname}${u.search ? '?[REDACTED]' : ''}`;
}
