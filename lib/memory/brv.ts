/**
 * The `brv` backend: drives ByteRover's own CLI (npm `byterover-cli`) as a subprocess, for users who
 * prefer ByteRover's engine and daemon over the in-process native index.
 *
 * Each call spawns `brv <command> … --format json` in the project directory with stdin closed
 * (`'ignore'`), reads stdout (one JSON object per line, `{command, success, data, timestamp}`; the last
 * one is the result), and:
 * - kills the process with SIGKILL when `timeoutMs` passes (MEMORY_BRV_TIMEOUT) or the caller's
 *   AbortSignal fires (MEMORY_BRV_ABORTED); `brv`'s daemon is a separate process and stays warm;
 * - keeps at most `maxOutputChars` (512,000) of stdout (the tail, since the result is the last line)
 *   and 16,000 of stderr;
 * - turns a missing executable into MEMORY_BRV_NOT_FOUND (hint: `npm install -g byterover-cli`), and a
 *   non-zero exit, `success: false` or unparseable output into MEMORY_BRV_FAILED naming what `brv`
 *   said. `brv` exits 0 even when `success` is false, so `success` is what counts.
 * recall() is `brv search` plus the same token budget as the local backend (no LLM involved); `query()`
 * exposes `brv query` (an LLM-synthesised answer; needs a provider configured in `brv`).
 */
import { spawn } from 'node:child_process';
import { ClawError } from '../errors.js';
import { logger as rootLogger, redactString, type Logger } from '../log/index.js';
import { fitToBudget } from './budget.js';
import { checkSecrets } from './hygiene/index.js';
import { noteId } from './outbox.js';
import { ContextTree } from './tree.js';
import type {
  CurateOptions,
  CurateResult,
  MemoryBackend,
  MemoryStats,
  Note,
  RecallHit,
  RecallOptions,
  RecallResult,
  SearchOptions,
} from './types.js';
import { MemoryErrorCode } from './errors.js';

export const BRV_MAX_OUTPUT_CHARS = 512_000;
const STDERR_CAP = 16_000;
const QUERY_CAP = 5000;

export interface BrvOptions {
  /** The project directory (holds `.brv/`); `brv` runs there. */
  projectRoot: string;
  /** Executable (default `brv`, looked up on PATH). */
  brvPath?: string;
  /** Environment for the subprocess (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Per-command timeouts in ms (defaults: search 5 s, query 12 s, curate 60 s). */
  timeouts?: Partial<Record<'search' | 'query' | 'curate', number>>;
  maxOutputChars?: number;
  logger?: Logger;
}

export interface BrvResult {
  command: string;
  success: boolean;
  data: Record<string, unknown>;
  timestamp?: string;
}

const INSTALL_HINT = "Install ByteRover's CLI with `npm install -g byterover-cli` (or set brvPath), then try again.";

/** The last line of `out` that parses as a JSON object. */
export function lastJsonLine(out: string): Record<string, unknown> | undefined {
  const lines = out.split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]?.trim();
    if (!line || line[0] !== '{') continue;
    try {
      const v: unknown = JSON.parse(line);
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // not JSON: keep looking upwards
    }
  }
  return undefined;
}

export interface RunBrvOptions {
  brvPath: string;
  cwd: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  signal?: AbortSignal;
  maxOutputChars?: number;
}

/** Runs `brv args…` once; resolves with its parsed result line or rejects with a MEMORY_BRV_* ClawError. */
export function runBrv(args: string[], o: RunBrvOptions): Promise<BrvResult> {
  const cap = o.maxOutputChars ?? BRV_MAX_OUTPUT_CHARS;
  const command = args[0] ?? '';
  return new Promise<BrvResult>((resolve, reject) => {
    if (o.signal?.aborted) {
      reject(
        new ClawError(
          MemoryErrorCode.BRV_ABORTED,
          `expected \`brv ${command}\` to run, found the call aborted before it started`,
          { hint: 'The caller cancelled it.' },
        ),
      );
      return;
    }
    let out = '';
    let err = '';
    let truncated = false;
    let settled = false;
    let why: 'timeout' | 'abort' | undefined;
    const child = spawn(o.brvPath, args, { cwd: o.cwd, env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const kill = (reason: 'timeout' | 'abort'): void => {
      why ??= reason;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill('timeout'), o.timeoutMs);
    const onAbort = (): void => kill('abort');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (out.length > cap) {
        out = out.slice(out.length - cap);
        truncated = true;
      }
    });
    child.stderr.on('data', (chunk: string) => {
      err = (err + chunk).slice(-STDERR_CAP);
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      finish(() => {
        if (e.code === 'ENOENT') {
          reject(
            new ClawError(
              MemoryErrorCode.BRV_NOT_FOUND,
              `expected the ByteRover CLI at ${JSON.stringify(o.brvPath)}, found no such executable`,
              { hint: INSTALL_HINT, cause: e },
            ),
          );
        } else {
          reject(
            new ClawError(
              MemoryErrorCode.BRV_FAILED,
              `expected \`brv ${command}\` to start, found ${e.code ?? 'an error'}: ${e.message}`,
              { hint: INSTALL_HINT, cause: e },
            ),
          );
        }
      });
    });
    child.on('close', (code, signal) => {
      finish(() => {
        if (why === 'timeout') {
          reject(
            new ClawError(
              MemoryErrorCode.BRV_TIMEOUT,
              `expected \`brv ${command}\` to answer within ${o.timeoutMs} ms, found no answer (killed it)`,
              {
                hint: 'Check `brv status`; a cold daemon start can take several seconds. Raise the timeout or try again.',
                details: { command, timeoutMs: o.timeoutMs },
              },
            ),
          );
          return;
        }
        if (why === 'abort') {
          reject(
            new ClawError(
              MemoryErrorCode.BRV_ABORTED,
              `expected \`brv ${command}\` to finish, found the call aborted (killed it)`,
              { hint: 'The caller cancelled it.' },
            ),
          );
          return;
        }
        const last = lastJsonLine(out);
        const stderrTail = redactString(err.trim().split('\n').slice(-5).join('\n'));
        if (!last) {
          reject(
            new ClawError(
              MemoryErrorCode.BRV_FAILED,
              `expected \`brv ${command} --format json\` to print a JSON result line, found ${out.trim() ? (truncated ? `more than ${cap} characters of output` : 'none parseable') : 'no output'} (exit ${code ?? signal})`,
              {
                hint: stderrTail ? `brv said: ${stderrTail}` : INSTALL_HINT,
                details: { command, exitCode: code, signal, truncated },
              },
            ),
          );
          return;
        }
        const data = (last.data && typeof last.data === 'object' ? last.data : {}) as Record<string, unknown>;
        const success = last.success === true && code === 0;
        if (!success) {
          const said = [data.error, data.message].find((m): m is string => typeof m === 'string') ?? stderrTail ?? '';
          reject(
            new ClawError(
              MemoryErrorCode.BRV_FAILED,
              `expected \`brv ${command}\` to succeed, found ${last.success === false ? 'success: false' : `exit ${code ?? signal}`}${said ? `: ${redactString(said)}` : ''}`,
              {
                hint: /provider/i.test(said)
                  ? 'Connect an LLM provider in brv (`brv providers connect byterover`); `brv search` needs none.'
                  : 'Run the same brv command by hand to see its full output; `brv status` shows the daemon and project state.',
                details: { command, exitCode: code, status: data.status },
              },
            ),
          );
          return;
        }
        resolve({
          command: typeof last.command === 'string' ? last.command : command,
          success: true,
          data,
          ...(typeof last.timestamp === 'string' ? { timestamp: last.timestamp } : {}),
        });
      });
    });
  });
}

function toHit(r: unknown): RecallHit | undefined {
  if (!r || typeof r !== 'object') return undefined;
  const o = r as Record<string, unknown>;
  if (typeof o.path !== 'string') return undefined;
  return {
    path: o.path.replace(/^\/+/, ''),
    title: typeof o.title === 'string' && o.title ? o.title : o.path,
    score: typeof o.score === 'number' ? o.score : 0,
    excerpt: typeof o.excerpt === 'string' ? o.excerpt : '',
  };
}

export class BrvMemory implements MemoryBackend {
  readonly kind = 'brv' as const;
  private readonly o: BrvOptions;
  private readonly tree: ContextTree;
  private readonly log: Logger;

  constructor(opts: BrvOptions) {
    this.o = opts;
    this.tree = new ContextTree({ projectRoot: opts.projectRoot, ...(opts.logger ? { logger: opts.logger } : {}) });
    this.log = (opts.logger ?? rootLogger).child({ component: 'memory.brv' });
  }

  private run(args: string[], kind: 'search' | 'query' | 'curate', signal?: AbortSignal): Promise<BrvResult> {
    const defaults = { search: 5000, query: 12_000, curate: 60_000 };
    this.log.debug({ command: kind }, 'running brv');
    return runBrv(args, {
      brvPath: this.o.brvPath ?? 'brv',
      cwd: this.tree.projectRoot,
      timeoutMs: this.o.timeouts?.[kind] ?? defaults[kind],
      ...(this.o.env ? { env: this.o.env } : {}),
      ...(signal ? { signal } : {}),
      ...(this.o.maxOutputChars ? { maxOutputChars: this.o.maxOutputChars } : {}),
    });
  }

  async search(query: string, opts: SearchOptions = {}): Promise<RecallHit[]> {
    const q = query.trim().slice(0, QUERY_CAP);
    if (!q) return [];
    const k = Math.min(50, Math.max(1, opts.k ?? 10));
    const res = await this.run(['search', '--format', 'json', '--limit', String(k), '--', q], 'search', opts.signal);
    const results = Array.isArray(res.data.results) ? res.data.results : [];
    return results
      .map(toHit)
      .filter((h): h is RecallHit => h !== undefined)
      .slice(0, k);
  }

  async recall(query: string, opts: RecallOptions = {}): Promise<RecallResult> {
    const hits = await this.search(query, opts);
    return fitToBudget(hits, opts.tokenBudget === undefined ? {} : { tokenBudget: opts.tokenBudget });
  }

  /** `brv query`: an answer synthesised by brv's LLM provider from the tree. */
  async query(
    question: string,
    opts: { signal?: AbortSignal } = {},
  ): Promise<{ answer: string; data: Record<string, unknown> }> {
    const res = await this.run(['query', '--format', 'json', '--', question.slice(0, QUERY_CAP)], 'query', opts.signal);
    const answer = typeof res.data.result === 'string' ? res.data.result : '';
    return { answer, data: res.data };
  }

  /** `brv curate --detach`: brv's own curation (LLM) decides the file; we get its task id. */
  async curate(note: Note, opts: Pick<CurateOptions, 'signal' | 'secrets'> = {}): Promise<CurateResult> {
    if (!note || typeof note.content !== 'string' || note.content.trim() === '') {
      throw new ClawError(MemoryErrorCode.NOTE_EMPTY, 'expected a note with non-empty content, found none', {
        hint: 'Pass the text to remember.',
      });
    }
    const tags = note.tags ?? [];
    // Secrets never reach brv (lib/memory/hygiene): refused, or redacted on request.
    const { text, redacted } = checkSecrets(
      [note.title ? `${note.title}: ` : '', note.content.trim(), tags.length ? `\nTags: ${tags.join(', ')}` : ''].join(
        '',
      ),
      opts.secrets ?? 'refuse',
    );
    const res = await this.run(['curate', '--detach', '--format', 'json', '--', text], 'curate', opts.signal);
    const id =
      typeof res.data.taskId === 'string'
        ? res.data.taskId
        : noteId({ title: note.title ?? '', content: note.content, tags, path: note.path });
    return { id, path: undefined, status: 'queued', ...(redacted.length > 0 ? { redacted } : {}) };
  }

  async stats(): Promise<MemoryStats> {
    await this.tree.refresh();
    return { backend: 'brv', treeRoot: this.tree.root, documents: this.tree.size };
  }

  async close(): Promise<void> {
    await this.tree.close();
  }
}
