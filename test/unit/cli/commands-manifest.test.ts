/**
 * commands/index.ts lists each command module's commands (name, help term, description) so the
 * top-level help and the unknown-command suggestion need no command module. These tests load every
 * module and check the list against what it registers, and that the top-level help built from the
 * list is the help built from the modules, character for character.
 */
import { describe, expect, it } from 'vitest';
import { Help } from '../../../lib/cli/commander.js';
import { COMMANDS } from '../../../lib/cli/commands/index.js';
import { Output } from '../../../lib/cli/output.js';
import { buildProgram, commandsFor, type CommandModule } from '../../../lib/cli/program.js';
import { run } from '../../../lib/cli/index.js';
import { memoryIo } from './memory-io.js';

async function allModules(): Promise<CommandModule[]> {
  return Promise.all(COMMANDS.map((e) => e.load()));
}

function helpOf(modules: CommandModule[], summaries: Parameters<typeof buildProgram>[4] = []): string {
  const io = memoryIo();
  const out = new Output(io.stdout, io.stderr, { json: false, debug: false });
  return buildProgram(io, out, { exitCode: 0 }, modules, summaries).helpInformation();
}

describe('commands/index.ts: the list of commands without their modules', () => {
  it('each entry names exactly the commands its module registers, with their help term and description', async () => {
    const help = new Help();
    for (const entry of COMMANDS) {
      const io = memoryIo();
      const out = new Output(io.stdout, io.stderr, { json: false, debug: false });
      const program = buildProgram(io, out, { exitCode: 0 }, [await entry.load()]);
      expect(
        program.commands.map((c) => ({ name: c.name(), term: help.subcommandTerm(c), description: c.description() })),
      ).toEqual(entry.commands);
    }
    const names = COMMANDS.flatMap((e) => e.commands.map((c) => c.name));
    expect(new Set(names).size).toBe(names.length);
  });

  it('the top-level help from the list equals the help with every module loaded', async () => {
    const fromModules = helpOf(await allModules());
    const fromList = helpOf(
      [],
      COMMANDS.flatMap((e) => e.commands),
    );
    expect(fromList).toBe(fromModules);
    expect(fromList).toContain('search [options] <query...>');
  });

  it('an argv loads the module of the command it names, past global options and their values', async () => {
    const values = new Set(['--profile', '--config', '--log-level']);
    const memory = COMMANDS.find((e) => e.commands.some((c) => c.name === 'search'))!;
    const pick = async (argv: string[]) => (await commandsFor(argv, COMMANDS, values)).modules;
    expect(await pick(['--profile', 'search', 'recall', 'x'])).toEqual([await memory.load()]);
    expect(await pick(['--json', 'search', 'x'])).toEqual([await memory.load()]);
    expect(await pick(['help', 'search'])).toEqual([await memory.load()]);
    expect(await pick(['--', 'search', 'x'])).toEqual([await memory.load()]); // commander dispatches on it too
    for (const argv of [[], ['--version'], ['--help'], ['serch', 'x'], ['--', '--json'], ['help']]) {
      const r = await commandsFor(argv, COMMANDS, values);
      expect(r.modules).toEqual([]);
      expect(r.summaries.map((s) => s.name)).toContain('search');
    }
  });

  it("`help <command>` and `<command> --help` print the command module's own help", async () => {
    const a = memoryIo();
    const b = memoryIo();
    expect(await run(['help', 'search'], a)).toBe(0);
    expect(await run(['search', '--help'], b)).toBe(0);
    expect(a.out()).toBe(b.out());
    expect(a.out()).toContain('--backend <name>'); // an option the stand-in would not have
  });

  it('an unknown command is still answered with the closest command name', async () => {
    const io = memoryIo();
    expect(await run(['serch', 'x'], io)).toBe(2);
    expect(io.err()).toContain("unknown command 'serch'");
    expect(io.err()).toContain('Did you mean search?');
  });
});
