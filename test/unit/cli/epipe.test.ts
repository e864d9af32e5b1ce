/**
 * A reader that closes the pipe before the CLI writes (`claw-byterover --help | head -1`, a pager
 * quit early) ends the run quietly: no unhandled EPIPE, no stack trace, exit code 0.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');

describe('CLI with its stdout closed early', () => {
  it('exits 0 without an EPIPE stack', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'lib', 'cli', 'index.ts'), '--help'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Closed before the child can have started node, so its first write meets a closed pipe.
    child.stdout.destroy();
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    expect(err).not.toMatch(/EPIPE|Unhandled|at /);
    expect(code).toBe(0);
  });
});
