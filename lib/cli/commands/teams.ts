/**
 * `teams` and `spaces [--team <id>]`: what the account can reach, with the defaults marked.
 */
import type { CommandModule } from '../program.js';
import { table } from '../table.js';

export const teamCommands: CommandModule = (program, rt) => {
  program
    .command('teams')
    .description('list your ByteRover teams (* marks the default)')
    .option('--active', 'only active teams')
    .action(
      rt.action<{ active?: boolean }>(async (ctx, opts) => {
        const { services } = await import('../services.js');
        const s = await services(ctx);
        const teams = await s.client.teams({ signal: ctx.signal, ...(opts.active ? { isActive: true } : {}) });
        return {
          data: { teams, total: teams.length },
          human:
            teams.length === 0
              ? 'No teams. Create or join one in the ByteRover web app.'
              : table(
                  ['', 'ID', 'NAME', 'SLUG', 'ACTIVE'],
                  teams.map((t) => [t.isDefault ? '*' : '', t.id, t.displayName, t.slug, t.isActive ? 'yes' : 'no']),
                ),
        };
      }),
    );

  program
    .command('spaces')
    .description('list spaces (of one team with --team or a configured team; * marks the default)')
    .option('--team <id>', 'team id (default: the configured team, else every team)')
    .action(
      rt.action<{ team?: string }>(
        async (ctx) => {
          const { config } = await ctx.config();
          const { services } = await import('../services.js');
          const s = await services(ctx);
          const spaces = await s.client.spaces(config.team, { signal: ctx.signal });
          return {
            data: { team: config.team ?? null, spaces, total: spaces.length },
            human:
              spaces.length === 0
                ? `No spaces${config.team ? ` in team ${config.team}` : ''}. Create one in the ByteRover web app.`
                : table(
                    ['', 'ID', 'NAME', 'TEAM', 'BRANCH'],
                    spaces.map((sp) => [
                      sp.isDefault ? '*' : '',
                      sp.id,
                      sp.name,
                      sp.teamName ?? sp.teamId,
                      sp.defaultBranch,
                    ]),
                  ),
          };
        },
        [{ option: 'team', path: 'team', flag: '--team' }],
      ),
    );
};
