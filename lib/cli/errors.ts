/**
 * The command line's own error codes (usage, files, prompts, team/space choice). Exit codes are
 * separate: lib/cli/exit.ts.
 */
export const CliErrorCode = {
  INVALID_ARGUMENT: 'CLI_INVALID_ARGUMENT',
  USAGE: 'CLI_USAGE',
  FILE_UNREADABLE: 'CLI_FILE_UNREADABLE',
  PATH_OUTSIDE_TREE: 'CLI_PATH_OUTSIDE_TREE',
  FILE_NOT_FOUND: 'CLI_FILE_NOT_FOUND',
  INTERNAL: 'CLI_INTERNAL',
  INTERRUPTED: 'CLI_INTERRUPTED',
  INPUT_TOO_LONG: 'CLI_INPUT_TOO_LONG',
  SECRET_EMPTY: 'CLI_SECRET_EMPTY',
  NO_TEAMS: 'CLI_NO_TEAMS',
  TEAM_REQUIRED: 'CLI_TEAM_REQUIRED',
  NO_SPACES: 'CLI_NO_SPACES',
  SPACE_REQUIRED: 'CLI_SPACE_REQUIRED',
  /** The data dir is a file, read-only, unwritable or on a pseudo filesystem (/proc, /sys). */
  DATA_DIR_UNUSABLE: 'CLI_DATA_DIR_UNUSABLE',
  /** `curate --file` named an empty (or whitespace-only) file. */
  FILE_EMPTY: 'CLI_FILE_EMPTY',
} as const;
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];
