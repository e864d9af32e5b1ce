/**
 * Which team, space and branch a command works on: `--team/--space/--branch` flags, then the config
 * (file, profile, CLAW_BYTEROVER_TEAM/…), then the API's defaults (the team and space marked
 * `is_default`, or the only one there is). Listing happens only for what was not given.
 */
import { ClawError } from '../errors.js';
import type { ByteRoverSpace, ByteRoverTeam } from '../byterover/index.js';
import type { CommandContext } from './context.js';
import { ExitCode } from './exit.js';
import type { Services } from './services.js';
import { CliErrorCode } from './errors.js';

export interface Scope {
  teamId: string;
  spaceId: string;
  branch: string;
  /** Where each came from: `flag --team`, `env CLAW_BYTEROVER_TEAM`, `file …`, `default team`, `only team`. */
  teamSource: string;
  spaceSource: string;
}

function list<T extends { id: string; name: string }>(items: T[]): string {
  const shown = items.slice(0, 10).map((i) => `${i.id} (${i.name})`);
  return `${shown.join(', ')}${items.length > shown.length ? `, and ${items.length - shown.length} more` : ''}`;
}

export function pickDefault<T extends { isDefault: boolean }>(items: T[]): { item: T; why: string } | undefined {
  const marked = items.find((i) => i.isDefault);
  if (marked) return { item: marked, why: 'default' };
  if (items.length === 1 && items[0]) return { item: items[0], why: 'only' };
  return undefined;
}

export async function resolveTeam(ctx: CommandContext, s: Services): Promise<{ teamId: string; source: string }> {
  const { config, sources } = await ctx.config();
  if (config.team) return { teamId: config.team, source: sources.team ?? 'config' };
  const teams: ByteRoverTeam[] = await s.client.teams({ isActive: true, signal: ctx.signal });
  if (teams.length === 0) {
    throw new ClawError(
      CliErrorCode.NO_TEAMS,
      'Expected at least one active ByteRover team for this account, found none.',
      {
        hint: 'Create or join a team in the ByteRover web app, then run `claw-byterover teams`.',
        exitCode: ExitCode.NOT_FOUND,
      },
    );
  }
  const picked = pickDefault(teams);
  if (!picked) {
    throw new ClawError(
      CliErrorCode.TEAM_REQUIRED,
      `Expected a default team or --team, found ${teams.length} teams and none marked default: ${list(teams)}.`,
      {
        hint: 'Pass --team <id>, or remember one with `claw-byterover config set team <id>`.',
        exitCode: ExitCode.USAGE,
      },
    );
  }
  return { teamId: picked.item.id, source: `${picked.why} team` };
}

export async function resolveScope(ctx: CommandContext, s: Services): Promise<Scope> {
  const { config, sources } = await ctx.config();
  const team = await resolveTeam(ctx, s);
  let spaceId = config.space;
  let spaceSource = sources.space ?? 'config';
  if (!spaceId) {
    const spaces: ByteRoverSpace[] = await s.client.spaces(team.teamId, { signal: ctx.signal });
    if (spaces.length === 0) {
      throw new ClawError(CliErrorCode.NO_SPACES, `Expected at least one space in team ${team.teamId}, found none.`, {
        hint: 'Create a space in the ByteRover web app, or pass another --team.',
        exitCode: ExitCode.NOT_FOUND,
      });
    }
    const picked = pickDefault(spaces);
    if (!picked) {
      throw new ClawError(
        CliErrorCode.SPACE_REQUIRED,
        `Expected a default space or --space in team ${team.teamId}, found ${spaces.length} spaces and none marked default: ${list(spaces)}.`,
        {
          hint: 'Pass --space <id>, or remember one with `claw-byterover config set space <id>`.',
          exitCode: ExitCode.USAGE,
        },
      );
    }
    spaceId = picked.item.id;
    spaceSource = `${picked.why} space`;
  }
  return { teamId: team.teamId, spaceId, branch: config.branch, teamSource: team.source, spaceSource };
}
