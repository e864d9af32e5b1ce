/**
 * Everything the CLI prints goes through here, and through the redactor on its way out.
 *
 * - Human mode: results on stdout as text, notes and errors on stderr.
 * - `--json`: exactly one JSON document on stdout per run: the command's result object, or
 *   `{"error":{"code","message","hint",...}}`. Notes and logs stay on stderr.
 */
import { inspect } from 'node:util';
import { CommanderError } from './commander.js';
import { ClawError, isClawError } from '../errors.js';
import { redact, redactString } from '../log/redact.js';
import { ExitCode, exitCodeFor, type ExitCodeValue } from './exit.js';
import type { CliOutStream } from './io.js';
import { CliErrorCode } from './errors.js';

export interface CliErrorView {
  code: string;
  message: string;
  hint?: string;
  exitCode: ExitCodeValue;
  /** HTTP status and request id when a server answered (useful in bug reports). */
  status?: number;
  requestId?: string;
  details?: Record<string, unknown>;
  /** Code of the underlying error when a wrapper reports it (e.g. BYTEROVER_CONFLICT under MEMORY_PUSH_FAILED). */
  causeCode?: string;
}

function pick<T>(obj: unknown, key: string, type: 'string' | 'number'): T | undefined {
  if (!obj || typeof obj !== 'object') return undefined;
  const v = (obj as Record<string, unknown>)[key];
  return typeof v === type ? (v as T) : undefined;
}

function isAbort(e: unknown): boolean {
  return e instanceof Error && (e.name === 'AbortError' || (e as { code?: unknown }).code === 'ABORT_ERR');
}

/** The user-facing view of any thrown value: stable code, message, next step, exit code. */
export function toErrorView(e: unknown): CliErrorView {
  if (e instanceof CommanderError) {
    return {
      code: 'CLI_USAGE',
      message: redactString(e.message.replace(/^error:\s*/i, '')),
      hint: 'Run `claw-byterover --help` (or `claw-byterover <command> --help`) for usage.',
      exitCode: ExitCode.USAGE,
    };
  }
  if (isAbort(e)) {
    return {
      code: 'CLI_INTERRUPTED',
      message: 'Interrupted before the command finished.',
      exitCode: ExitCode.INTERRUPTED,
    };
  }
  const view: CliErrorView = isClawError(e)
    ? {
        code: e.code,
        message: redactString(e.message),
        ...(e.hint ? { hint: redactString(e.hint) } : {}),
        exitCode: exitCodeFor(e),
      }
    : {
        code: pick<string>(e, 'code', 'string') ?? 'CLI_UNEXPECTED',
        message: redactString(e instanceof Error ? e.message : String(e)),
        hint: 'This is unexpected: rerun with --debug and report the output (secrets are redacted).',
        exitCode: exitCodeFor(e),
      };
  const status =
    pick<number>(e, 'status', 'number') ?? pick<number>((e as { details?: unknown })?.details, 'status', 'number');
  const requestId =
    pick<string>(e, 'requestId', 'string') ??
    pick<string>((e as { details?: unknown })?.details, 'requestId', 'string');
  if (status !== undefined) view.status = status;
  if (requestId !== undefined) view.requestId = redactString(requestId);
  if (isClawError(e) && e.details) view.details = redact(e.details);
  const causeCode = pick<string>(e instanceof Error ? e.cause : undefined, 'code', 'string');
  if (causeCode !== undefined && causeCode !== view.code) view.causeCode = causeCode;
  return view;
}

/** A redacted, getter-expanding dump of an error and its cause chain (for --debug only). */
export function debugDump(e: unknown): string {
  return redactString(inspect(e, { depth: 6, getters: true, breakLength: 120 }));
}

export interface OutputOptions {
  json: boolean;
  debug: boolean;
}

export class Output {
  readonly json: boolean;
  readonly debug: boolean;
  private printedResult = false;

  constructor(
    private readonly stdout: CliOutStream,
    private readonly stderr: CliOutStream,
    opts: OutputOptions,
  ) {
    this.json = opts.json;
    this.debug = opts.debug;
  }

  get stderrIsTTY(): boolean {
    return this.stderr.isTTY === true;
  }

  /** Raw write to stderr (redacted); used by the progress indicator and the logger. */
  writeErr(text: string): void {
    this.stderr.write(redactString(text));
  }

  /** A line for the human on stderr: status, next steps, the login URL. Shown in --json mode too. */
  note(line: string): void {
    this.writeErr(`${line}\n`);
  }

  /**
   * Shows a URL the user must open (the OAuth authorization URL) on stderr. The URL itself is written
   * unredacted on purpose: its `state` and `code_challenge` are what the browser must carry (neither
   * is a secret: the PKCE verifier never leaves the process). The label still goes through the redactor.
   */
  showUrl(label: string, url: string): void {
    this.stderr.write(`${redactString(label)}\n\n  ${url}\n\n`);
  }

  /** The command's result: one JSON document in --json mode, else the human text on stdout. */
  result(data: Record<string, unknown>, human?: string | string[]): void {
    if (this.printedResult) throw new ClawError(CliErrorCode.INTERNAL, 'A command printed two results.');
    this.printedResult = true;
    if (this.json) {
      this.stdout.write(`${redactString(JSON.stringify(redact(data), null, 2))}\n`);
      return;
    }
    const text = human === undefined ? '' : Array.isArray(human) ? human.join('\n') : human;
    if (text) this.stdout.write(`${redactString(text)}\n`);
  }

  /** Prints a failure (once) and returns the exit code it maps to. */
  error(e: unknown): ExitCodeValue {
    const view = toErrorView(e);
    if (this.json) {
      const { exitCode, ...rest } = view;
      if (!this.printedResult) {
        this.printedResult = true;
        this.stdout.write(`${redactString(JSON.stringify({ error: { ...rest, exitCode } }, null, 2))}\n`);
      }
      if (this.debug) this.writeErr(`${debugDump(e)}\n`);
      return exitCode;
    }
    const lines = [`error ${view.code}${view.causeCode ? ` (${view.causeCode})` : ''}: ${view.message}`];
    if (view.status !== undefined || view.requestId !== undefined) {
      lines.push(
        `  server: ${[
          view.status !== undefined ? `HTTP ${view.status}` : '',
          view.requestId ? `request id ${view.requestId}` : '',
        ]
          .filter(Boolean)
          .join(', ')}`,
      );
    }
    if (view.hint) lines.push(`  next: ${view.hint}`);
    if (this.debug) lines.push(debugDump(e));
    else if (view.code === 'CLI_UNEXPECTED') lines.push('  (rerun with --debug for details)');
    this.writeErr(`${lines.join('\n')}\n`);
    return view.exitCode;
  }
}
