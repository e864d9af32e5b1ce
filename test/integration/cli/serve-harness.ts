/**
 * `claw-byterover serve` as a child process for tests: stderr collected line by line, waits for a
 * line, the exit. The child runs with the repository as its working directory (see serve.test.ts).
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { REPO_ROOT, startCliProcess } from './harness.js';

export interface Served {
  child: ChildProcessWithoutNullStreams;
  /** stderr lines so far. */
  lines: string[];
  stdout: () => string;
  /** Resolves with the first stderr line (from `from` on) matching `pred`. */
  waitLine(pred: (line: string) => boolean, from?: number): Promise<{ line: string; index: number }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function serveProcess(argv: string[], env: Record<string, string>): Served {
  const child = startCliProcess(['serve', ...argv], { cwd: REPO_ROOT, env });
  child.stdin.end();
  const lines: string[] = [];
  let partial = '';
  let out = '';
  const waiters = new Set<() => void>();
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    partial += c;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    for (const w of [...waiters]) w();
  });
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      for (const w of [...waiters]) w();
      resolve({ code, signal });
    });
  });
  let closed = false;
  void exited.then(() => (closed = true));
  return {
    child,
    lines,
    stdout: () => out,
    exited,
    waitLine(pred, from = 0) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          for (let i = from; i < lines.length; i++) {
            const line = lines[i] as string;
            if (pred(line)) {
              waiters.delete(check);
              resolve({ line, index: i });
              return;
            }
          }
          if (closed || child.exitCode !== null) {
            waiters.delete(check);
            reject(new Error(`serve exited before the expected line; stderr:\n${lines.join('\n')}${partial}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}

export function jsonLine(line: string): Record<string, any> | undefined {
  try {
    const v = JSON.parse(line) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, any>) : undefined;
  } catch {
    return undefined;
  }
}

export const isEvent =
  (event: string, pred: (r: Record<string, any>) => boolean = () => true) =>
  (line: string) => {
    const r = jsonLine(line);
    return r?.event === event && pred(r);
  };
