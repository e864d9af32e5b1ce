/**
 * An in-memory CliIo for running the CLI in-process: captured stdout/stderr, a scripted stdin
 * (piped text, or a fake TTY with raw mode), an env that never leaks the real one, and an abort.
 */
import { PassThrough, Readable } from 'node:stream';
import type { CliIo, CliInStream } from '../../../lib/cli/io.js';

export interface MemoryIoOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Piped stdin content (not a TTY). */
  stdin?: string;
  /** A TTY stdin: returned so the test can type into it. */
  ttyStdin?: boolean;
  stdoutTTY?: boolean;
  stderrTTY?: boolean;
  progressDelayMs?: number;
  openUrl?: (url: string) => Promise<boolean>;
  signal?: AbortSignal;
}

export interface FakeTty extends PassThrough {
  isTTY: true;
  rawModes: boolean[];
  setRawMode(mode: boolean): FakeTty;
}

export interface MemoryIo extends CliIo {
  out(): string;
  err(): string;
  /** Everything written to either stream, in order. */
  all(): string;
  tty: FakeTty | undefined;
}

export function memoryIo(opts: MemoryIoOptions = {}): MemoryIo {
  const outChunks: string[] = [];
  const errChunks: string[] = [];
  const allChunks: string[] = [];
  let stdin: CliInStream;
  let tty: FakeTty | undefined;
  if (opts.ttyStdin) {
    const t = new PassThrough() as FakeTty;
    t.isTTY = true;
    t.rawModes = [];
    t.setRawMode = (mode: boolean) => {
      t.rawModes.push(mode);
      return t;
    };
    tty = t;
    stdin = t;
  } else {
    stdin = Readable.from(opts.stdin === undefined ? [] : [opts.stdin]) as CliInStream;
  }
  return {
    stdout: {
      write: (s: string) => (outChunks.push(s), allChunks.push(s), true),
      isTTY: opts.stdoutTTY ?? false,
    },
    stderr: {
      write: (s: string) => (errChunks.push(s), allChunks.push(s), true),
      isTTY: opts.stderrTTY ?? false,
    },
    stdin,
    env: { HOME: '/nonexistent-home', ...opts.env },
    cwd: opts.cwd ?? process.cwd(),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.openUrl ? { openUrl: opts.openUrl } : {}),
    ...(opts.progressDelayMs !== undefined ? { progressDelayMs: opts.progressDelayMs } : {}),
    out: () => outChunks.join(''),
    err: () => errChunks.join(''),
    all: () => allChunks.join(''),
    tty,
  };
}
