/**
 * The one logger (pino). Everything logs through `logger` or a `child` of it; nothing writes
 * secrets: known header/field paths are censored by pino's `redact`, and every message and string
 * field goes through `redactString` in a formatter, so secrets embedded in text are scrubbed too.
 * Every line is one line: the message and string fields go through `oneLine` (control characters and
 * escape sequences from the host or the network shown as \n, \x1b, ...), and an Error's message too.
 *
 * pino itself (a CommonJS package of ~20 files with its writers) is loaded only when a logger first
 * writes a line at an enabled level, or is used in a way only pino can answer: a command that logs
 * nothing (a `search` at the CLI's default level) never loads it (bench/open.ts).
 */
import { createRequire } from 'node:module';
import type { Logger, DestinationStream, pino as PinoFn } from 'pino';
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
let pinoFn: typeof PinoFn | undefined;

/** pino, required on first use (the same module instance `import 'pino'` gives). */
function loadPino(): typeof PinoFn {
  // Spelled `require('pino')` so scripts/openclaw-package.mjs sees the dependency.
  const require = createRequire(import.meta.url);
  pinoFn ??= (require('pino') as { pino: typeof PinoFn }).pino;
  return pinoFn;
}

function serializeErrors(obj: Record<string, unknown>): Record<string, unknown> {
  let out = obj;
  for (const [k, v] of Object.entries(obj)) {
    if (v instanceof Error) {
      if (out === obj) out = { ...obj };
      out[k] = loadPino().stdSerializers.err(v);
    }
  }
  return out;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.CLAW_BYTEROVER_LOG_LEVEL ?? 'warn';
  const make = (): Logger => pinoLogger(level, opts);
  // An unknown level is refused by pino when the logger is made, as before: made at once.
  return LEVEL_VALUES.has(level) ? deferredLogger(make, () => level) : make();
}

function pinoLogger(level: string, opts: LoggerOptions): Logger {
  const pino = loadPino();
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

/** pino's default levels (a logger's level is one of them; `silent` writes nothing). */
const LEVEL_VALUES: ReadonlyMap<string | symbol, number> = new Map([
  ['trace', 10],
  ['debug', 20],
  ['info', 30],
  ['warn', 40],
  ['error', 50],
  ['fatal', 60],
  ['silent', Infinity],
]);

/**
 * A pino logger made on first need. Until then it answers what needs no pino: its `level` (read or
 * set), a call at a level below it (nothing to write), `silent`, and `child()` (another deferred
 * logger, made from this one's pino logger when it is needed). A child follows its parent's level
 * until its own is set (or given to child()), as pino's children do. Anything else makes the logger
 * and is forwarded to it, so it behaves as the pino logger it stands for.
 *
 * `inherited` is the level while none is set on this logger: the one given to createLogger, or the
 * parent's current level.
 */
function deferredLogger(make: () => Logger, inherited: () => string): Logger {
  let real: Logger | undefined;
  let own: string | undefined;
  const level = (): string => (real ? real.level : (own ?? inherited()));
  const materialize = (): Logger => {
    if (!real) {
      real = make();
      if (own !== undefined && real.level !== own) real.level = own;
    }
    return real;
  };
  const noop = (): void => {};
  return new Proxy({} as Logger, {
    get(_target, key) {
      if (!real) {
        if (key === 'level') return level();
        if (key === 'silent') return noop;
        // A pino logger has no `then`: an async function returning this logger looks for one.
        if (key === 'then') return undefined;
        const at = LEVEL_VALUES.get(key);
        if (at !== undefined && at < (LEVEL_VALUES.get(level()) as number)) return noop;
        if (key === 'child') {
          return (bindings: Record<string, unknown>, options?: { level?: string }): Logger => {
            const makeChild = (): Logger => materialize().child(bindings, options);
            const given = options?.level;
            if (given !== undefined && !LEVEL_VALUES.has(given)) return makeChild(); // pino refuses it now
            return deferredLogger(makeChild, given === undefined ? level : () => given);
          };
        }
      }
      const r = materialize();
      const v: unknown = Reflect.get(r, key, r);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(r) : v;
    },
    set(_target, key, value) {
      if (!real && key === 'level' && typeof value === 'string' && LEVEL_VALUES.has(value)) {
        own = value;
        return true;
      }
      return Reflect.set(materialize(), key, value);
    },
    has(_target, key) {
      return key in materialize();
    },
  });
}

/** Process-wide default logger (stderr). Tests and services may pass their own. */
export const logger: Logger = createLogger();
