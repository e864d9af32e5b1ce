/**
 * Everything the CLI touches outside itself, passed in so tests can run it in-process:
 * streams, environment, working directory, cancellation and a browser opener.
 */
import type { Readable } from 'node:stream';

export interface CliOutStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CliInStream extends Readable {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export interface CliIo {
  stdout: CliOutStream;
  stderr: CliOutStream;
  stdin: CliInStream;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Aborted when the user interrupts (SIGINT); every network call and wait observes it. */
  signal?: AbortSignal;
  /**
   * Opens a URL in the user's browser; resolves false when none could be opened. Absent: the URL
   * is only printed. Must never log the URL (it carries `state` and the PKCE challenge).
   */
  openUrl?: (url: string) => Promise<boolean>;
  /** How long an operation runs before a progress indicator appears on a TTY stderr (ms). */
  progressDelayMs?: number;
}

/** The real process's io, with SIGINT turned into an abort of the running command. */
export function processIo(): CliIo {
  const ac = new AbortController();
  // A persistent listener, not `once`: signal-exit (loaded later by proper-lockfile) re-raises a
  // signal when its own handlers are the only listeners left, and a `once` listener is removed before
  // it runs, so the first Ctrl-C killed the process (exit by signal, no cleanup) instead of aborting.
  // The first SIGINT aborts the command (exit 130 after cleanup); a second one exits at once.
  process.on('SIGINT', () => {
    if (ac.signal.aborted) process.exit(130);
    ac.abort(new Error('interrupted'));
  });
  // A reader that goes away (`claw-byterover search x | head -1`) is not a failure of ours: what
  // is left to print is dropped and the command still finishes its work (a pull half-applied
  // because its reader quit would lose more than a line), with no EPIPE stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
  return {
    stdout: process.stdout,
    // Made on first use: a run that writes nothing to stderr (--version, a search) never makes it.
    stderr: {
      write: (chunk: string) => process.stderr.write(chunk),
      get isTTY() {
        return process.stderr.isTTY;
      },
      get columns() {
        return process.stderr.columns;
      },
    },
    // A getter: process.stdin makes its stream on first access, and only prompts read it.
    get stdin() {
      return process.stdin;
    },
    env: process.env,
    cwd: process.cwd(),
    signal: ac.signal,
    // lib/byterover/auth decides whether a browser can exist here (graphical session, opener on PATH).
    // Loaded when a command opens a URL (login), not by every process.
    openUrl: async (url) => (await import('../byterover/auth/browser.js')).openBrowser(url, { env: process.env }),
  };
}
