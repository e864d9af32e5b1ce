/**
 * Every command of `claw-byterover`, in help order. A new command is one module here.
 */
import type { CommandModule } from '../program.js';
import { agentCommands } from './agent.js';
import { authCommands } from './auth.js';
import { configCommands } from './config.js';
import { doctorCommands } from './doctor.js';
import { memoryCommands } from './memory.js';
import { recordCommands } from './record.js';
import { serveCommands } from './serve.js';
import { syncCommands } from './sync.js';
import { teamCommands } from './teams.js';

export const COMMANDS: CommandModule[] = [
  authCommands,
  teamCommands,
  syncCommands,
  memoryCommands,
  recordCommands,
  configCommands,
  agentCommands,
  serveCommands,
  doctorCommands,
];
