/**
 * The log levels, in a module of their own (no dependencies) so the CLI can declare `--log-level`
 * without loading the config schema (zod) before a command runs.
 */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
