/**
 * Reading a secret (an API key) from stdin: on a TTY without echo (raw mode, nothing printed per
 * key), otherwise the whole piped input (`printf %s "$KEY" | claw-byterover login --api-key -`).
 */
import { ClawError } from '../errors.js';
import { registerSecret } from '../log/redact.js';
import type { CliIo } from './io.js';
import { CliErrorCode } from './errors.js';

const MAX_SECRET = 16 * 1024;

function interrupted(): ClawError {
  return new ClawError(CliErrorCode.INTERRUPTED, 'Interrupted while reading the secret; nothing was stored.', {
    exitCode: 130,
  });
}

/** Reads one line from a TTY with echo off. Ctrl-C aborts, Ctrl-U clears, Backspace erases. */
function readHiddenLine(io: CliIo, prompt: string): Promise<string> {
  const stdin = io.stdin;
  return new Promise<string>((resolve, reject) => {
    let value = '';
    const finish = (err?: Error): void => {
      stdin.off('data', onData);
      io.signal?.removeEventListener('abort', onAbort);
      stdin.setRawMode?.(false);
      stdin.pause();
      io.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onAbort = (): void => finish(interrupted());
    const onData = (chunk: Buffer | string): void => {
      for (const ch of String(chunk)) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(interrupted());
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch === '\u0015') value = '';
        else if (ch >= ' ') value += ch;
        if (value.length > MAX_SECRET)
          return finish(
            new ClawError(CliErrorCode.INPUT_TOO_LONG, `Expected a secret under ${MAX_SECRET} characters.`),
          );
      }
    };
    io.stderr.write(prompt);
    stdin.setRawMode?.(true);
    stdin.setEncoding('utf8');
    stdin.on('data', onData);
    io.signal?.addEventListener('abort', onAbort, { once: true });
    stdin.resume();
  });
}

/** Reads all of a piped stdin (bounded), trimmed. */
async function readPiped(io: CliIo): Promise<string> {
  let text = '';
  for await (const chunk of io.stdin) {
    text += String(chunk);
    if (text.length > MAX_SECRET)
      throw new ClawError(CliErrorCode.INPUT_TOO_LONG, `Expected a secret under ${MAX_SECRET} characters on stdin.`);
  }
  return text.trim();
}

/**
 * Reads a secret from stdin and registers it with the redactor before returning it.
 * Throws CLI_SECRET_EMPTY when nothing was entered.
 */
export async function readSecret(io: CliIo, prompt: string, what: string): Promise<string> {
  const value = (io.stdin.isTTY ? await readHiddenLine(io, prompt) : await readPiped(io)).trim();
  if (!value) {
    throw new ClawError(CliErrorCode.SECRET_EMPTY, `Expected ${what} on stdin, got nothing.`, {
      hint: `Paste ${what} at the prompt, pipe it in, or set BYTEROVER_API_KEY.`,
      exitCode: 2,
    });
  }
  registerSecret(value);
  return value;
}
