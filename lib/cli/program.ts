/**
 * The commander program: global options, the command registry and the action wrapper that turns a
 * handler's result or failure into output and an exit code.
 *
 * Adding a command: write `commands/<name>.ts` exporting a `CommandModule` and list it in
 * `commands/index.ts` (with the commands it registers: the top-level help lists them from there). The handler returns `{data, human}`; printing, `--json`, errors, exit codes
 * and cleanup are handled here, the same way for every command.
 */
import { Command, Help, Option } from './commander.js';
import { LOG_LEVELS } from '../config/levels.js';
import { packageVersion } from '../version.js';
import type { CommandContext, ConfigFlag, GlobalOptions } from './context.js';
import { EXIT_CODE_TABLE, ExitCode, type ExitCodeValue } from './exit.js';
import type { CliIo } from './io.js';
import type { Output } from './output.js';
import type { CommandEntry, CommandSummary } from './commands/index.js';

export interface CommandResult {
  /** The machine result (`--json` prints it as the one document on stdout). Always an object. */
  data: Record<string, unknown>;
  /** What a human sees on stdout. */
  human?: string | string[];
  /** Exit code when the command "succeeded" with a finding (e.g. doctor with a failing check). */
  exitCode?: ExitCodeValue;
}

export type Handler<O> = (ctx: CommandContext, opts: O, args: string[]) => Promise<CommandResult>;

/** What command modules use to build their actions. */
export interface CliRuntime {
  readonly io: CliIo;
  /**
   * Wraps a handler into a commander action. `configFlags` names the command's options that set
   * config keys (they become the highest-precedence config layer).
   */
  action<O extends Record<string, unknown>>(
    handler: Handler<O>,
    configFlags?: ConfigFlag[],
  ): (...args: unknown[]) => Promise<void>;
}

/** A command (or group of commands) registering itself on the program. */
export type CommandModule = (program: Command, rt: CliRuntime) => void;

/** Options shared by the team/space/branch commands, mapped to config keys. */
export const SCOPE_FLAGS: ConfigFlag[] = [
  { option: 'team', path: 'team', flag: '--team' },
  { option: 'space', path: 'space', flag: '--space' },
  { option: 'branch', path: 'branch', flag: '--branch' },
  { option: 'dir', path: 'contextTree', flag: '--dir' },
];

export interface RunState {
  exitCode: ExitCodeValue;
}

/**
 * The program with the given command modules registered, and `summaries` as stand-ins for the
 * commands whose modules are not loaded (the top-level help and the unknown-command suggestion need
 * only their names, terms and descriptions).
 */
export function buildProgram(
  io: CliIo,
  out: Output,
  state: RunState,
  modules: CommandModule[],
  summaries: CommandSummary[] = [],
): Command {
  const terms = new Map<Command, string>();
  const help = new Help();
  const program = new Command('claw-byterover');
  program
    .description('ByteRover memory for OpenClaw-family agents: login, teams and spaces, context tree sync.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--json', 'machine output: one JSON document on stdout (errors as {"error":{…}})', false)
    .option('--profile <name>', 'credential and config profile (default: "default")')
    .addOption(new Option('--log-level <level>', 'log level on stderr').choices([...LOG_LEVELS]))
    .option('--config <path>', 'config file (default: $XDG_CONFIG_HOME/claw-byterover/config.yaml)')
    .option('--debug', 'show stack traces and error details (secrets stay redacted)', false)
    .configureHelp({
      showGlobalOptions: true,
      sortSubcommands: false,
      subcommandTerm: (cmd) => terms.get(cmd) ?? help.subcommandTerm(cmd),
    })
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // Usage errors are rendered by Output (code, message, next step; JSON in --json mode).
      outputError: () => {},
    })
    .addHelpText(
      'after',
      `\nExit codes: ${EXIT_CODE_TABLE.map((r) => `${r.code} ${r.short}`).join(', ')}.\nDocs: docs/readme/cli.md`,
    );

  const rt: CliRuntime = {
    io,
    action<O extends Record<string, unknown>>(handler: Handler<O>, configFlags: ConfigFlag[] = []) {
      return async (...args: unknown[]): Promise<void> => {
        const cmd = args[args.length - 1] as Command;
        const opts = cmd.opts<O>();
        const positional = args
          .slice(0, -2)
          .flatMap((a) => (Array.isArray(a) ? a.map(String) : a === undefined ? [] : [String(a)]));
        const globals = cmd.optsWithGlobals<GlobalOptions & Record<string, unknown>>();
        const flags = configFlags.map((f) => ({ path: f.path, value: opts[f.option], flag: f.flag }));
        // Loaded on first use: --version and --help never load the config schema or the logger.
        const { CommandContext } = await import('./context.js');
        const ctx = new CommandContext(io, out, globals, flags);
        try {
          const result = await handler(ctx, opts, positional);
          out.result(result.data, result.human);
          state.exitCode = result.exitCode ?? ExitCode.OK;
        } finally {
          await ctx.close();
        }
      };
    },
  };
  skeletons.set(program, { rt, terms });
  addCommands(program, modules, summaries);
  return program;
}

const skeletons = new WeakMap<Command, { rt: CliRuntime; terms: Map<Command, string> }>();

/** Registers command modules (and stand-ins for the commands not loaded) on a program from buildProgram. */
export function addCommands(program: Command, modules: CommandModule[], summaries: CommandSummary[] = []): void {
  const sk = skeletons.get(program);
  if (!sk) throw new TypeError('addCommands expects a program made by buildProgram');
  // Subcommands made with program.command() inherit exitOverride, output and help settings.
  for (const register of modules) register(program, sk.rt);
  for (const s of summaries) sk.terms.set(program.command(s.name).description(s.description), s.term);
}

/**
 * What this argv needs of the command modules: the module of the command it names (`search …`,
 * `help search`), loaded; or, when it names none (`--version`, `--help`, no arguments, a typo), the
 * summaries alone. `valueOptions` are the global options that take a value (their value is not a
 * command name).
 */
export async function commandsFor(
  argv: string[],
  entries: CommandEntry[],
  valueOptions: ReadonlySet<string>,
): Promise<{ modules: CommandModule[]; summaries: CommandSummary[] }> {
  const positional: string[] = [];
  let operands = false; // after `--` every argument is an operand (commander dispatches on it too)
  for (let i = 0; i < argv.length && positional.length < 2; i++) {
    const a = argv[i] as string;
    if (a === '--' && !operands) {
      operands = true;
      continue;
    }
    if (!operands && a.startsWith('-')) {
      if (valueOptions.has(a)) i++; // `--profile p`: p is the option's value
      continue;
    }
    positional.push(a);
    if (positional[0] !== 'help') break;
  }
  const name = positional[0] === 'help' ? positional[1] : positional[0];
  const entry = name === undefined ? undefined : entries.find((e) => e.commands.some((c) => c.name === name));
  if (entry) return { modules: [await entry.load()], summaries: [] };
  return { modules: [], summaries: entries.flatMap((e) => e.commands) };
}
