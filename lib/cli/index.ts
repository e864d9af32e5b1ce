#!/usr/bin/env node
/**
 * `claw-byterover`: the command-line face of the project. `run(argv, io)` is the whole CLI and
 * never exits the process, so tests drive it in-process; executed directly, this file runs it on
 * the real process and sets `process.exitCode`.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CommanderError, type Command } from './commander.js';
import { registerSecret } from '../log/redact.js';
import { ExitCode, type ExitCodeValue } from './exit.js';
import { processIo, type CliIo } from './io.js';
import { Output } from './output.js';
import { addCommands, buildProgram, commandsFor, type CommandModule, type RunState } from './program.js';
import { COMMANDS } from './commands/index.js';

export { ExitCode, EXIT_CODE_TABLE, exitCodeFor } from './exit.js';
export type { CliIo } from './io.js';
export type { CommandModule, CliRuntime, CommandResult } from './program.js';

export interface RunOptions {
  /**
   * Command modules to register, all loaded (tests). Default: the entries of commands/index.ts, of
   * which only the module of the command being run is loaded.
   */
  commands?: CommandModule[];
}

/**
 * Runs the CLI with `argv` (the user's arguments, without `node` and the script) and returns the
 * exit code. Everything it prints goes to `io.stdout` / `io.stderr`, redacted.
 */
export async function run(argv: string[], io: CliIo, opts: RunOptions = {}): Promise<ExitCodeValue> {
  registerArgvSecrets(argv);
  // --json and --debug shape even the errors commander raises before any action runs.
  const dashDash = argv.indexOf('--');
  const flagsPart = dashDash === -1 ? argv : argv.slice(0, dashDash);
  const out = new Output(io.stdout, io.stderr, {
    json: flagsPart.includes('--json'),
    debug: flagsPart.includes('--debug'),
  });
  const state: RunState = { exitCode: ExitCode.OK };
  try {
    const program = opts.commands
      ? buildProgram(io, out, state, opts.commands)
      : await programFor(argv, io, out, state);
    if (argv.length === 0) {
      program.outputHelp({ error: true });
      return ExitCode.USAGE;
    }
    await program.parseAsync(argv, { from: 'user' });
    return state.exitCode;
  } catch (e) {
    if (e instanceof CommanderError && e.exitCode === 0) return ExitCode.OK; // --help, --version
    if (e instanceof CommanderError && e.code === 'commander.help') return ExitCode.USAGE; // help shown for a bare group
    return out.error(e);
  }
}

/**
 * The program for this argv, loading only the command module it runs (commands/index.ts). The global
 * options are read from the program before any command is added, so the argv scan skips their values.
 */
async function programFor(argv: string[], io: CliIo, out: Output, state: RunState): Promise<Command> {
  const program = buildProgram(io, out, state, []);
  const valueOptions = new Set(
    program.options
      .filter((o) => o.required || o.optional)
      .flatMap((o) => [o.long, o.short])
      .filter((f): f is string => f !== undefined),
  );
  const { modules, summaries } = await commandsFor(argv, COMMANDS, valueOptions);
  addCommands(program, modules, summaries);
  return program;
}

/**
 * A secret given as a flag value is registered with the redactor before parsing, so no message
 * (not even commander's usage errors about other arguments) can echo it.
 */
const SECRET_FLAGS = ['--api-key', '--token'];

function registerArgvSecrets(argv: string[]): void {
  argv.forEach((arg, i) => {
    const next = argv[i + 1];
    for (const flag of SECRET_FLAGS) {
      if (arg === flag && next !== undefined && !next.startsWith('-')) registerSecret(next);
      else if (arg.startsWith(`${flag}=`)) registerSecret(arg.slice(flag.length + 1));
    }
  });
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/** Runs the CLI on the real process (argv, stdio) and sets `process.exitCode`. */
export function main(): void {
  const io = processIo();
  run(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      // run() catches everything; this is the last resort and still prints no stack or secret.
      process.stderr.write(`error CLI_UNEXPECTED: ${e instanceof Error ? e.name : 'failure'}\n`);
      process.exitCode = ExitCode.FAILURE;
    },
  );
}

// Run directly (`node dist/cli/index.js …`, as tests and older links do): the same as the bin.
if (isMain()) main();
