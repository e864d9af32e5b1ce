/**
 * `claw-byterover config [show|path|set|unset]`: the effective configuration and where each value
 * came from (secrets shown as [REDACTED]), and editing the config file's non-secret keys.
 */
import type { CommandContext } from '../context.js';
import type { CommandModule, CommandResult } from '../program.js';

/** lib/config, loaded when a `config` command runs (or its help is shown), not for every command. */
const configModule = () => import('../../config/index.js');

/** The file `set`/`unset` edit: the one in effect, which need not exist yet. */
async function editedFile(ctx: CommandContext): Promise<string> {
  const { configFilePath } = await configModule();
  return configFilePath(ctx.io.env, ctx.globals.config, ctx.io.cwd).path;
}

/**
 * Which memory the memory commands use here: the ByteRover v4 space this folder is bound to (found
 * how), or the v3 context tree. Resolution only: nothing is opened or indexed. A broken binding is
 * shown with its code instead of failing `config show`.
 */
async function memoryInUse(
  ctx: CommandContext,
  treeConfigured: boolean,
): Promise<{ kind: string; summary: string; found?: string; treeRoot: string; code?: string }> {
  const [{ treeLocation }, { boundSpace, dataDir }] = await Promise.all([
    import('../tree.js'),
    import('../../memory/v4/space.js'),
  ]);
  const tree = await treeLocation(ctx);
  const v3 = {
    kind: 'context-tree',
    summary: `v3 context tree (${treeConfigured ? 'configured' : 'the project default'})`,
    treeRoot: tree.treeRoot,
  };
  if (treeConfigured) return v3;
  try {
    const sp = await boundSpace(ctx.io.cwd, { dataDir: dataDir({ env: ctx.io.env }) });
    if (!sp) return v3;
    return {
      kind: 'v4-space',
      summary: `ByteRover v4 space ${sp.spaceName ? `"${sp.spaceName}" ` : ''}(${sp.spaceId})`,
      found: sp.how,
      treeRoot: sp.treeRoot,
    };
  } catch (e) {
    const code = (e as { code?: string }).code ?? 'BRV_SPACE_UNUSABLE';
    return { kind: 'error', summary: `${code}: ${(e as Error).message}`, treeRoot: tree.treeRoot, code };
  }
}

async function show(ctx: CommandContext): Promise<CommandResult> {
  const { displayConfig, flatten, CONFIG_KEYS } = await configModule();
  const { resolveDataDir } = await import('../../byterover/auth/paths.js');
  const loaded = await ctx.config();
  const values = displayConfig(loaded.config);
  // Every key, set or not (unset ones as "(unset)"), with the values this run really uses: the
  // data dir's default location, and the CLI's own log level default (errors only).
  const flat: Record<string, unknown> = {};
  const shown = flatten(values);
  const sources: Record<string, string> = { ...loaded.sources };
  for (const key of CONFIG_KEYS.keys()) {
    if (key in shown) flat[key] = shown[key];
    else if (key === 'dataDir') {
      flat[key] = resolveDataDir(ctx.io.env);
      sources[key] = 'default';
    } else {
      flat[key] = '(unset)';
      sources[key] = 'unset';
    }
  }
  for (const [key, value] of Object.entries(shown)) if (!(key in flat)) flat[key] = value;
  if (loaded.sources.logLevel === 'default') {
    flat.logLevel = 'error';
    sources.logLevel = 'default (the CLI logs errors only unless a level is set)';
  }
  const width = Math.max(...Object.keys(flat).map((k) => k.length));
  const memory = await memoryInUse(
    ctx,
    loaded.sources.contextTree !== undefined && loaded.sources.contextTree !== 'default',
  );
  return {
    data: {
      profile: loaded.profile,
      file: loaded.file,
      config: values,
      // A list, not a map keyed by setting: a key named `apiKey` would itself look like a secret.
      settings: Object.entries(flat).map(([key, value]) => ({ key, value, source: sources[key] ?? 'default' })),
      memory,
    },
    human: [
      `profile: ${loaded.profile}`,
      `file:    ${loaded.file.path}${loaded.file.exists ? '' : ' (not found; defaults apply)'}`,
      '',
      ...Object.entries(flat).map(([k, v]) => `${k.padEnd(width)}  ${String(v).padEnd(32)}  ${sources[k] ?? ''}`),
      '',
      `memory:  ${memory.summary}`,
      ...(memory.found ? [`found:   ${memory.found}`] : []),
      `tree:    ${memory.treeRoot}`,
    ],
  };
}

export const configCommands: CommandModule = (program, rt) => {
  const config = program.command('config').description('show the effective configuration, or edit the config file');
  // The key and variable lists come from lib/config's schema: loaded (async) just before `config`
  // or one of its subcommands parses its arguments, so its help shows them.
  program.hook('preSubcommand', async (_program, sub) => {
    if (sub !== config) return;
    const { CONFIG_KEYS, ENV_VARS } = await configModule();
    config.addHelpText(
      'after',
      `\nKeys: ${[...CONFIG_KEYS.keys()].join(', ')}\nEnvironment: ${ENV_VARS.map((e) => e.name).join(', ')}`,
    );
  });

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
        const { writeConfigValue } = await configModule();
        const path = await editedFile(ctx);
        await writeConfigValue(path, key as string, value as string, ctx.globals.profile);
        return { data: { path, key, value, profile: ctx.globals.profile ?? null }, human: `set ${key} in ${path}` };
      }),
    );

  config
    .command('unset <key>')
    .description('remove a key from the config file (under profiles.<name> with --profile)')
    .action(
      rt.action(async (ctx, _opts, [key]) => {
        const { writeConfigValue } = await configModule();
        const path = await editedFile(ctx);
        await writeConfigValue(path, key as string, undefined, ctx.globals.profile);
        return { data: { path, key, profile: ctx.globals.profile ?? null }, human: `removed ${key} from ${path}` };
      }),
    );
};
