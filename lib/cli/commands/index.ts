/**
 * Every command of `claw-byterover`, in help order. A new command is one module here: its entry
 * names the commands it registers (with the term and description the top-level help shows) and
 * imports the module only when one of them runs, so a process loads the one command module it uses
 * (`--version` and the top-level `--help` load none). test/unit/cli/commands-manifest.test.ts
 * checks each entry against what its module registers.
 */
import type { CommandModule } from '../program.js';

/** One top-level command as the top-level help lists it, before its module is loaded. */
export interface CommandSummary {
  name: string;
  /** How the help's command list shows it: name, `[options]`, arguments. */
  term: string;
  description: string;
}

/** A command module: the commands it registers, and how to load it. */
export interface CommandEntry {
  commands: CommandSummary[];
  load: () => Promise<CommandModule>;
}

export const COMMANDS: CommandEntry[] = [
  {
    commands: [
      {
        name: 'login',
        term: 'login [options]',
        description: 'log in to ByteRover: OAuth in the browser (default) or an API key',
      },
      { name: 'logout', term: 'logout', description: "delete this profile's stored credential" },
      {
        name: 'whoami',
        term: 'whoami',
        description: 'show the signed-in user and the credential in use (checks it with ByteRover)',
      },
    ],
    load: async () => (await import('./auth.js')).authCommands,
  },
  {
    commands: [
      { name: 'teams', term: 'teams [options]', description: 'list your ByteRover teams (* marks the default)' },
      {
        name: 'spaces',
        term: 'spaces [options]',
        description: 'list spaces (of one team with --team or a configured team; * marks the default)',
      },
    ],
    load: async () => (await import('./teams.js')).teamCommands,
  },
  {
    commands: [
      {
        name: 'pull',
        term: 'pull [options]',
        description: "download the space's snapshot into the context tree (local unpushed or changed notes are kept)",
      },
      {
        name: 'push',
        term: 'push [options] [files...]',
        description:
          'send notes to ByteRover: everything queued (curated notes), plus the named tree files that changed',
      },
    ],
    load: async () => (await import('./sync.js')).syncCommands,
  },
  {
    commands: [
      {
        name: 'search',
        term: 'search [options] <query...>',
        description: "rank the context tree's notes for a query (BM25 over title, headings and body)",
      },
      {
        name: 'recall',
        term: 'recall [options] <query...>',
        description: 'the memory block an agent would get for this prompt, within a token budget',
      },
      {
        name: 'curate',
        term: 'curate [options] [text...]',
        description: 'write a new note into the context tree and queue it for push',
      },
      {
        name: 'index',
        term: 'index [options]',
        description: 'the recall index: --stats shows documents, terms, memory and sync state',
      },
    ],
    load: async () => (await import('./memory.js')).memoryCommands,
  },
  {
    commands: [
      {
        name: 'record',
        term: 'record [options] <topic-path>',
        description:
          "write a ByteRover v4 topic (<bv-topic> HTML, validated against ByteRover's vocabulary) into this folder's space",
      },
    ],
    load: async () => (await import('./record.js')).recordCommands,
  },
  {
    commands: [
      { name: 'config', term: 'config', description: 'show the effective configuration, or edit the config file' },
    ],
    load: async () => (await import('./config.js')).configCommands,
  },
  {
    commands: [
      {
        name: 'agent',
        term: 'agent',
        description: 'the claw-agent link: join an OpenClaw gateway as a node serving ByteRover memory',
      },
    ],
    load: async () => (await import('./agent.js')).agentCommands,
  },
  {
    commands: [
      {
        name: 'serve',
        term: 'serve [options]',
        description:
          'run the bridge service on the configured store (embedded SQLite by default): webhooks on a durable queue, skill invoke, the web login, /metrics, /healthz, /readyz, claw-api registration',
      },
    ],
    load: async () => (await import('./serve.js')).serveCommands,
  },
  {
    commands: [
      {
        name: 'doctor',
        term: 'doctor [options]',
        description:
          'diagnose the native plugin, the agent handshake, claw-api registration, telemetry, ByteRover credentials and the context tree',
      },
    ],
    load: async () => (await import('./doctor.js')).doctorCommands,
  },
];
