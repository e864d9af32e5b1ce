/**
 * Every command of `claw-byterover`, in help order. A new command is one module here.
 */
import type { CommandModule } from '../program.js';
import { configCommands } from './config.js';

export const COMMANDS: CommandModule[] = [configCommands];
