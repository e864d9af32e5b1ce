import { describe, expect, it } from 'vitest';
import { Output } from '../../../lib/cli/output.js';
import { createProgress, NO_PROGRESS } from '../../../lib/cli/progress.js';
import { readSecret } from '../../../lib/cli/prompt.js';
import { redactString } from '../../../lib/log/redact.js';
import { memoryIo } from './memory-io.js';

/** Resolves once `cond()` holds, checking on every macrotask (no wall-clock assertion). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setImmediate(r));
}

describe('progress indicator', () => {
  it('prints nothing when stderr is not a TTY', () => {
    const io = memoryIo({ stderrTTY: false });
    const p = createProgress(new Output(io.stdout, io.stderr, { json: false, debug: false }), 0);
    expect(p).toBe(NO_PROGRESS);
    p.update('downloading', 1, 2);
    p.done();
    expect(io.all()).toBe('');
  });

  it('on a TTY, appears after the delay, shows phase and counter, and erases itself', async () => {
    const io = memoryIo({ stderrTTY: true });
    const p = createProgress(new Output(io.stdout, io.stderr, { json: false, debug: false }), 0);
    p.update('writing files', 3, 12);
    await until(() => io.err().includes('writing files'));
    expect(io.err()).toMatch(/\r. writing files \[#####-+\] 3\/12/);
    p.update('writing files', 12, 12);
    expect(io.err()).toContain('[####################] 12/12');
    p.done();
    expect(io.err().endsWith('\r')).toBe(true);
    const before = io.err().length;
    p.done();
    p.update('late', 1, 1);
    expect(io.err().length).toBe(before);
    expect(io.out()).toBe('');
  });

  it('a command that ends before the delay prints nothing', () => {
    const io = memoryIo({ stderrTTY: true });
    const p = createProgress(new Output(io.stdout, io.stderr, { json: false, debug: false }), 60_000);
    p.update('quick');
    p.done();
    expect(io.err()).toBe('');
  });
});

describe('readSecret', () => {
  it('reads a TTY line in raw mode without echoing it, honouring backspace, and registers it as a secret', async () => {
    const io = memoryIo({ ttyStdin: true });
    const pending = readSecret(io, 'API key: ', 'a ByteRover API key');
    await until(() => io.tty!.rawModes.length > 0);
    io.tty!.write('tty-secret-abcX');
    io.tty!.write('\u007f');
    io.tty!.write('d\r');
    const value = await pending;
    expect(value).toBe('tty-secret-abcd');
    expect(io.tty!.rawModes).toEqual([true, false]);
    expect(io.err()).toBe('API key: \n');
    expect(io.out()).toBe('');
    expect(redactString('x tty-secret-abcd y')).toBe('x [REDACTED] y');
  });

  it('Ctrl-C at the prompt aborts with exit 130 and restores the terminal', async () => {
    const io = memoryIo({ ttyStdin: true });
    const pending = readSecret(io, 'API key: ', 'a key');
    await until(() => io.tty!.rawModes.length > 0);
    io.tty!.write('abc\u0003');
    await expect(pending).rejects.toMatchObject({ code: 'CLI_INTERRUPTED', exitCode: 130 });
    expect(io.tty!.rawModes).toEqual([true, false]);
  });

  it('reads piped stdin whole and trimmed; empty input is a usage error', async () => {
    expect(await readSecret(memoryIo({ stdin: '  piped-secret-777\n' }), 'p', 'a key')).toBe('piped-secret-777');
    await expect(readSecret(memoryIo({ stdin: '\n' }), 'p', 'a key')).rejects.toMatchObject({
      code: 'CLI_SECRET_EMPTY',
      exitCode: 2,
    });
  });
});
