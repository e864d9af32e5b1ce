/**
 * commander, loaded through `require`: it is a CommonJS package, and importing it from ESM costs a
 * pass of Node's CommonJS export lexer and an ESM wrapper on every process (~7 ms of a ~45 ms
 * `--version` here, bench/open.ts). The classes are the same objects as `import … from 'commander'`
 * gives (one CommonJS module instance), so `instanceof` holds across both.
 */
import { createRequire } from 'node:module';
import type * as Commander from 'commander';

// Spelled `require('commander')` so scripts/openclaw-package.mjs and other scanners see the dependency.
const require = createRequire(import.meta.url);
const commander = require('commander') as typeof Commander;

export const { Command, CommanderError, Help, InvalidArgumentError, Option } = commander;
export type Command = Commander.Command;
export type CommanderError = Commander.CommanderError;
export type Help = Commander.Help;
export type Option = Commander.Option;
