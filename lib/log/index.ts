/**
 * The one logger (pino). Everything logs through `logger` or a `child` of it; nothing writes
 * secrets: known header/field paths are censored by pino's `redact`, and every message and string
 * field goes through `redactString` in a formatter, so secrets embedded in text are scrubbed too.
 * Every line is one line: the message and string fields go through `oneLine` (control characters and
 * escape sequences from the host or the network shown as \n, \x1b, ...), and an Error's message too.
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import { oneLine, oneLineDeep } from './escape.js';
import { redact, redactString } from './redact.js';

export { oneLine, oneLineDeep } from './escape.js';
export { redact, redactString, registerSecret, safeUrl, isSensitiveKey } from './redact.js';
export type { Logger } from 'pino';

const REDACT_PATHS = [
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["x-byterover-session-id"]',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-byterover-session-id"]',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.session_key',
  '*.client_secret',
  '*.apiKey',
];

export interface LoggerOptions {
  level?: string;
  destination?: DestinationStream;
  name?: string;
}

/**
 * Errors among the fields become pino's plain {type, message, stack, ...} first: the formatter runs
 * before pino's serializers, and `redact` copies only enumerable fields (an Error's message and
 * stack are not), so they are redacted and escaped like any other string.
 */
function serializeErrors(obj: Record<string, unknown>): Record<string, unknown> {
  let out = obj;
  for (const [k, v] of Object.entries(obj)) {
    if (v instanceof Error) {
      if (out === obj) out = { ...obj };
      out[k] = pino.stdSerializers.err(v);
    }
  }
  return out;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.CLAW_BYTEROVER_LOG_LEVEL ?? 'warn';
  return pino(
    {
      name: opts.name ?? 'claw-byterover',
      level,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      formatters: {
        log: (obj) => oneLineDeep(redact(serializeErrors(obj))),
      },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? oneLine(redactString(a)) : a));
          return method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    // Synchronous stderr: an asynchronous SonicBoom registers a process 'exit' listener per logger
    // (on-exit-leak-free), one of the listeners behind OpenClaw's "11 exit listeners" warning when
    // the plugin loads into a gateway; a synchronous one registers none and loses nothing on exit.
    opts.destination ?? pino.destination({ dest: 2, sync: true }),
  );
}

/** Process-wide default logger (stderr). Tests and services may pass their own. */
export const logger: Logger = createLogger();
