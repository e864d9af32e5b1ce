/**
 * Runs checks one after another, reporting progress, and assembles the report. A check that throws
 * is a `fail` with code DOCTOR_CHECK_CRASHED (the error's code and message as evidence), so one
 * broken check never hides the others.
 */
import { arch, platform } from 'node:os';
import { errorMessage } from '../errors.js';
import { describeLibc } from '../native.js';
import { redact, redactString } from '../log/redact.js';
import {
  CHECK_STATUSES,
  DOCTOR_EXIT_CHECK_FAILED,
  type Check,
  type CheckOutcome,
  type CheckResult,
  type CheckStatus,
  type DoctorReport,
} from './types.js';

export interface ProgressSink {
  write(text: string): void;
  /** Live redrawn lines when true; one plain line per event otherwise. */
  isTTY: boolean;
}

export interface Reporter {
  start(check: Check<never>, index: number, total: number): void;
  end(result: CheckResult, index: number, total: number): void;
  done(): void;
}

const MARK: Record<CheckStatus, string> = { pass: '✔', warn: '!', fail: '✘', skip: '-' };
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Progress on stderr: on a TTY a spinner line per running check, rewritten in place with its
 * outcome when it ends; otherwise a plain line when a check starts and one when it ends.
 */
export function progressReporter(sink: ProgressSink, tickMs = 100): Reporter {
  let timer: NodeJS.Timeout | undefined;
  let frame = 0;
  let line = '';
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };
  return {
    start(check, index, total) {
      const label = `[${index + 1}/${total}] ${check.title}`;
      if (!sink.isTTY) {
        sink.write(`doctor: ${label} …\n`);
        return;
      }
      line = label;
      const draw = () => sink.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${line} …`);
      draw();
      timer = setInterval(draw, tickMs);
      timer.unref?.();
    },
    end(result, index, total) {
      stop();
      const text = `[${index + 1}/${total}] ${result.title}: ${result.status} — ${result.summary}`;
      sink.write(sink.isTTY ? `\r\x1b[2K${MARK[result.status]} ${text}\n` : `doctor: ${text}\n`);
    },
    done: stop,
  };
}

export const SILENT_REPORTER: Reporter = { start() {}, end() {}, done() {} };

function crashed(e: unknown): CheckOutcome {
  const code =
    e && typeof e === 'object' && typeof (e as { code?: unknown }).code === 'string'
      ? (e as { code: string }).code
      : 'UNEXPECTED';
  const hint =
    e && typeof e === 'object' && typeof (e as { hint?: unknown }).hint === 'string'
      ? (e as { hint: string }).hint
      : undefined;
  return {
    status: 'fail',
    code: 'DOCTOR_CHECK_CRASHED',
    summary: `the check itself failed: ${code}: ${errorMessage(e).split('\n')[0]}`,
    evidence: [{ label: 'error', value: `${code}: ${errorMessage(e)}` }],
    next: [
      hint ??
        'This is a bug in claw-byterover doctor: rerun with --debug and report the output (secrets are redacted).',
    ],
  };
}

/** Every string of the outcome through the redactor (checks never put secrets there; this is the fence). */
function scrub(o: CheckOutcome): CheckOutcome {
  return {
    ...o,
    summary: redactString(o.summary),
    evidence: o.evidence.map((e) => ({ label: e.label, value: redactString(e.value) })),
    next: o.next.map(redactString),
    ...(o.data ? { data: redact(o.data) } : {}),
  };
}

export async function runChecks<C>(
  checks: ReadonlyArray<Check<C>>,
  ctx: C,
  reporter: Reporter = SILENT_REPORTER,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  try {
    for (const [i, check] of checks.entries()) {
      reporter.start(check as Check<never>, i, checks.length);
      let out: CheckOutcome;
      try {
        out = await check.run(ctx);
      } catch (e) {
        out = crashed(e);
      }
      const result: CheckResult = {
        id: check.id,
        title: check.title,
        ...(check.symptom ? { symptom: check.symptom } : {}),
        ...scrub(out),
      };
      results.push(result);
      reporter.end(result, i, checks.length);
    }
  } finally {
    reporter.done();
  }
  return results;
}

export function buildReport(
  checks: CheckResult[],
  version: string,
  env: NodeJS.ProcessEnv = process.env,
): DoctorReport {
  const counts = Object.fromEntries(CHECK_STATUSES.map((s) => [s, 0])) as Record<CheckStatus, number>;
  for (const c of checks) counts[c.status]++;
  const ok = counts.fail === 0;
  return {
    schema: 'claw-byterover.doctor/v1',
    version,
    ok,
    exitCode: ok ? 0 : DOCTOR_EXIT_CHECK_FAILED,
    counts,
    environment: {
      platform: platform(),
      arch: arch(),
      node: process.versions.node,
      napi: process.versions.napi ?? null,
      libc: describeLibc(env),
    },
    checks,
  };
}

/** The human report (stdout): each check with its evidence and next steps, then the tally. */
export function renderReport(report: DoctorReport): string {
  const lines: string[] = [];
  for (const c of report.checks) {
    lines.push(
      `${MARK[c.status]} ${c.status.toUpperCase().padEnd(4)}  ${c.title}${c.symptom ? `  (“${c.symptom}”)` : ''}`,
    );
    lines.push(`        ${c.summary}${c.code ? ` [${c.code}]` : ''}`);
    const width = Math.min(28, Math.max(0, ...c.evidence.map((e) => e.label.length)));
    for (const e of c.evidence) lines.push(`        ${e.label.padEnd(width)}  ${e.value}`);
    for (const n of c.next) lines.push(`        next: ${n}`);
    lines.push('');
  }
  const { pass, warn, fail, skip } = report.counts;
  lines.push(
    `${report.ok ? 'No check failed' : `${fail} check${fail === 1 ? '' : 's'} failed`}: ${pass} pass, ${warn} warn, ${fail} fail, ${skip} skip (exit ${report.exitCode}).`,
  );
  return lines.join('\n');
}
