/**
 * What a command's handler gets: the io, the output, the global options, and lazily the validated
 * configuration, the logger and the service clients (created on first use, closed after the command).
 */
import type { Logger } from 'pino';
import { createLogger } from '../log/index.js';
import { loadConfigFast } from '../config/fast.js';
import type { LoadedConfig } from '../config/load.js';
import type { LogLevel } from '../config/levels.js';
import type { CliIo } from './io.js';
import type { Output } from './output.js';
import { createProgress, type Progress } from './progress.js';

export interface GlobalOptions {
  json: boolean;
  debug: boolean;
  profile?: string;
  logLevel?: LogLevel;
  config?: string;
}

/** A command option that feeds a config key (e.g. `--team` → `team`, `--dir` → `contextTree`). */
export interface ConfigFlag {
  /** The commander option's attribute name, e.g. `team`. */
  option: string;
  /** Dotted config path, e.g. `team`. */
  path: string;
  /** How the user spells it, for messages: `--team`. */
  flag: string;
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/**
 * pino writes one JSON line per record. In --json mode those lines go to stderr unchanged; for a
 * human they become `warn: message key=value …` (still redacted: the logger scrubbed them first and
 * Output.writeErr scrubs again).
 */
export function humanLogLine(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { level, msg, time: _t, pid: _p, hostname: _h, name: _n, ...rest } = rec;
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${LEVEL_NAMES[Number(level)] ?? String(level)}: ${String(msg ?? '')}${fields ? ` ${fields}` : ''}\n`;
}

export class CommandContext {
  readonly signal: AbortSignal;
  private loaded: Promise<LoadedConfig> | undefined;
  private log: Logger | undefined;
  private readonly cleanups: Array<() => Promise<void> | void> = [];

  constructor(
    readonly io: CliIo,
    readonly out: Output,
    readonly globals: GlobalOptions,
    /** The command's options that map to config keys, with their values. */
    private readonly configFlags: Array<{ path: string; value: unknown; flag: string }> = [],
  ) {
    this.signal = io.signal ?? new AbortController().signal;
  }

  /**
   * The validated configuration for this run (file < env < flags), loaded once; the schema and the
   * YAML parser are loaded only when there is something for them to check (lib/config/fast.ts).
   */
  config(): Promise<LoadedConfig> {
    this.loaded ??= loadConfigFast({
      env: this.io.env,
      cwd: this.io.cwd,
      ...(this.globals.config ? { configPath: this.globals.config } : {}),
      ...(this.globals.profile ? { profile: this.globals.profile } : {}),
      flags: [...this.configFlags, { path: 'logLevel', value: this.globals.logLevel, flag: '--log-level' }],
    });
    return this.loaded;
  }

  /**
   * The one logger of this run, writing to the io's stderr at the configured level. Unless a level
   * is configured (flag, env, file), the CLI logs errors only: every failure a user meets is already
   * printed as code + message + next step, and warnings would repeat it.
   */
  async logger(): Promise<Logger> {
    if (this.log) return this.log;
    const { config, sources } = await this.config();
    const out = this.out;
    this.log = createLogger({
      level: sources.logLevel === 'default' ? 'error' : config.logLevel,
      destination: { write: (s: string) => out.writeErr(out.json ? s : humanLogLine(s)) },
    });
    return this.log;
  }

  /**
   * A progress indicator on stderr (only on a TTY, only once the operation runs longer than
   * `delayMs`, default 400 ms; the io's progressDelayMs, when set, wins).
   */
  progress(delayMs?: number): Progress {
    const p = createProgress(this.out, this.io.progressDelayMs ?? delayMs);
    this.cleanups.push(() => p.done());
    return p;
  }

  /** Registers something to close when the command ends (success or failure). */
  onCleanup(fn: () => Promise<void> | void): void {
    this.cleanups.push(fn);
  }

  async close(): Promise<void> {
    for (const fn of this.cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch {
        // Closing is best effort; the command's own outcome is what the user needs to see.
      }
    }
  }
}
