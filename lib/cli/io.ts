/**
 * Everything the CLI touches outside itself, passed in so tests can run it in-process:
 * streams, environment, working directory, cancellation and a browser opener.
 */
import type { Readable } from 'node:stream';
import { spawn } from 'node:child_process';

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
   * Opens a URL in the user's browser. Absent: the URL is only printed. Must never log the URL
   * (it carries `state` and the PKCE challenge).
   */
  openUrl?: (url: string) => Promise<void>;
  /** How long an operation runs before a progress indicator appears on a TTY stderr (ms). */
  progressDelayMs?: number;
}

/** Opens a URL with the platform opener, silently doing nothing when there is none. */
export function platformOpenUrl(env: Record<string, string | undefined>): ((url: string) => Promise<void>) | undefined {
  if (env.CI || env.CLAW_BYTEROVER_NO_BROWSER) return undefined;
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  if (process.platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY) return undefined;
  return (url: string) =>
    new Promise<void>((resolve) => {
      try {
        const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
        child.on('error', () => resolve());
        child.unref();
        resolve();
      } catch {
        resolve();
      }
    });
}

/** The real process's io, with SIGINT turned into an abort of the running command. */
export function processIo(): CliIo {
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort(new Error('interrupted')));
  const openUrl = platformOpenUrl(process.env);
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    signal: ac.signal,
    ...(openUrl ? { openUrl } : {}),
  };
}
