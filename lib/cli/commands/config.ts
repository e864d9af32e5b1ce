/**
 * `claw-byterover config [show|path|set|unset]`: the effective configuration and where each value
 * came from (secrets shown as [REDACTED]), and editing the config file's non-secret keys.
 */
import { displayConfig, writeConfigValue, CONFIG_KEYS, ENV_VARS, flatten } from '../../config/index.js';
import type { CommandContext } from '../context.js';
import type { CommandModule, CommandResult } from '../program.js';

async function show(ctx: CommandContext): Promise<CommandResult> {
  const loaded = await ctx.config();
  const values = displayConfig(loaded.config);
  const flat = flatten(values);
  const width = Math.max(...Object.keys(flat).map((k) => k.length));
  return {
    data: { profile: loaded.profile, file: loaded.file, config: values, sources: loaded.sources },
    human: [
      `profile: ${loaded.profile}`,
      `file:    ${loaded.file.path}${loaded.file.exists ? '' : ' (not found; defaults apply)'}`,
      '',
      ...Object.entries(flat).map(([k, v]) => `${k.padEnd(width)}  ${String(v).padEnd(32)}  ${loaded.sources[k] ?? ''}`),
    ],
  };
}

export const configCommands: CommandModule = (program, rt) => {
  const config = program
    .command('config')
    .description('show the effective configuration, or edit the config file')
    .addHelpText(
      'after',
      `\nKeys: ${[...CONFIG_KEYS.keys()].join(', ')}\nEnvironment: ${ENV_VARS.map((e) => e.name).join(', ')}`,
    );

  config
    .command('show', { isDefault: true })
    .description('print every setting in effect and its source (file, env, flag, default); secrets redacted')
    .action(rt.action(show));

  config
    .command('path')
    .description('print the config file path in effect')
    .action(
      rt.action(async (ctx) => {
        const { file } = await ctx.config();
        return { data: { path: file.path, exists: file.exists }, human: file.path };
      }),
    );

  config
    .command('set <key> <value>')
    .description('set a key in the config file (under profiles.<name> with --profile); secrets are refused')
    .action(
      rt.action(async (ctx, _opts, [key, value]) => {
        const { file } = await ctx.config();
        await writeConfigValue(file.path, key as string, value as string, ctx.globals.profile);
        return { data: { path: file.path, key, value, profile: ctx.globals.profile ?? null }, human: `set ${key} in ${file.path}` };
      }),
    );

  config
    .command('unset <key>')
    .description('remove a key from the config file (under profiles.<name> with --profile)')
    .action(
      rt.action(async (ctx, _opts, [key]) => {
        const { file } = await ctx.config();
        await writeConfigValue(file.path, key as string, undefined, ctx.globals.profile);
        return { data: { path: file.path, key, profile: ctx.globals.profile ?? null }, human: `removed ${key} from ${file.path}` };
      }),
    );
};
