/**
 * Reading configuration from its three everyday sources: a YAML/JSON file, the environment and
 * command-line flags (OpenClaw plugin config is one more layer given to resolveConfig directly).
 *
 * Precedence, lowest first: schema defaults < file top level < file `profiles.<name>` < environment
 * < flags. The profile is chosen by `--profile`, then `CLAW_BYTEROVER_PROFILE`, then the file's
 * `profile` key, then `default`.
 */
import { readFile, writeFile, mkdir, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseDocument, isMap, YAMLError } from 'yaml';
import { ClawError } from '../errors.js';
import { BRIDGE_PART_ENV } from '../bridge/config.js';
import { CONFIG_ENV as BYTEROVER_ENV } from '../byterover/config.js';
import { ConfigFileSchema } from './schema.js';
import {
  CONFIG_KEYS,
  coerceValue,
  isSecretPath,
  resolveConfig,
  setPath,
  suggestKey,
  type ConfigLayer,
  type ResolvedConfig,
} from './resolve.js';
import { ConfigErrorCode } from '../errors.js';
import { CONFIG_PATH_ENV, PROFILE_ENV, configFilePath, envValue, type Env } from './plain.js';

/** Environment variables read into the config, in precedence order per key (first set wins). */
export const ENV_VARS: ReadonlyArray<{
  name: string;
  path: string;
  description: string;
  implies?: Record<string, unknown>;
}> = [
  { name: 'CLAW_BYTEROVER_LOG_LEVEL', path: 'logLevel', description: 'log level (fatal…trace, silent)' },
  { name: 'CLAW_BYTEROVER_DATA_DIR', path: 'dataDir', description: 'credentials and local state directory' },
  { name: 'CLAW_BYTEROVER_CONTEXT_TREE', path: 'contextTree', description: 'context tree directory' },
  { name: 'CLAW_BYTEROVER_TEAM', path: 'team', description: 'default team id' },
  { name: 'CLAW_BYTEROVER_SPACE', path: 'space', description: 'default space id' },
  { name: 'CLAW_BYTEROVER_BRANCH', path: 'branch', description: 'CoGit branch' },
  { name: 'BYTEROVER_API_KEY', path: 'apiKey', description: 'ByteRover API key (secret)' },
  { name: 'BRV_API_KEY', path: 'apiKey', description: 'ByteRover API key (secret), alternative name' },
  { name: 'CLAW_BYTEROVER_OAUTH_ISSUER', path: 'oauth.issuer', description: 'OAuth issuer URL' },
  { name: 'CLAW_BYTEROVER_OAUTH_CLIENT_ID', path: 'oauth.clientId', description: 'OAuth public client id' },
  {
    name: 'CLAW_BYTEROVER_OAUTH_OFFLINE_ACCESS',
    path: 'oauth.offlineAccess',
    description: 'request offline_access (refresh token) from a standard OIDC issuer',
  },
  {
    name: 'CLAW_BYTEROVER_CLIENT_ID',
    path: 'clientCredentials.clientId',
    description: 'client credentials: client id',
  },
  {
    name: 'CLAW_BYTEROVER_CLIENT_SECRET',
    path: 'clientCredentials.clientSecret',
    description: 'client credentials: client secret (secret)',
  },
  // The bridge service (`serve`). Lists are comma-separated.
  { name: 'CLAW_BYTEROVER_BRIDGE_HOST', path: 'bridge.host', description: 'bridge: address to listen on' },
  {
    name: 'CLAW_BYTEROVER_BRIDGE_PORT',
    path: 'bridge.port',
    description: 'bridge: port to listen on (0 = any free port)',
  },
  {
    name: 'PORT',
    path: 'bridge.port',
    description: 'bridge: port to listen on (platform convention; CLAW_BYTEROVER_BRIDGE_PORT wins)',
  },
  {
    name: 'CLAW_BYTEROVER_WEBHOOK_SECRETS',
    path: 'bridge.webhooks.byteroverSecrets',
    description: 'bridge: x-byterover-signature secrets, comma-separated, newest first (secret)',
  },
  {
    name: 'CLAW_BYTEROVER_STANDARD_WEBHOOK_SECRETS',
    path: 'bridge.webhooks.standardSecrets',
    description: 'bridge: Standard Webhooks whsec_ secrets, comma-separated (secret)',
  },
  {
    name: 'CLAW_BYTEROVER_DATABASE_URL',
    path: 'bridge.store.url',
    implies: { 'bridge.store.kind': 'postgres' },
    description:
      'bridge: PostgreSQL URL for shared state (switches the store to postgres; secret when it holds a password)',
  },
  {
    name: 'CLAW_BYTEROVER_REDIS_URL',
    path: 'bridge.store.redisUrl',
    description: 'bridge: Redis URL for the BullMQ queue (with CLAW_BYTEROVER_DATABASE_URL)',
  },
  // Skill invoke, the bridge's web login, claw-api registration.
  ...BRIDGE_PART_ENV.map((e) => ({ ...e, path: `bridge.${e.path}` })),
  // lib/byterover's own variables (BRV_IAM_BASE_URL, …), under the `byterover` key.
  ...Object.entries(BYTEROVER_ENV).map(([key, name]) => ({
    name,
    path: key.endsWith('TimeoutMs') ? `byterover.timeouts.${key.slice(0, -'TimeoutMs'.length)}` : `byterover.${key}`,
    description: key.endsWith('TimeoutMs')
      ? `ByteRover ${key.slice(0, -'TimeoutMs'.length)} timeout (ms)`
      : `ByteRover ${key}`,
  })),
];

export { CONFIG_PATH_ENV, PROFILE_ENV, configFilePath, type Env } from './plain.js';

export interface ConfigFile {
  path: string;
  exists: boolean;
  /** Settings shared by every profile. */
  base: Record<string, unknown>;
  profiles: Record<string, Record<string, unknown>>;
  defaultProfile: string | undefined;
}

function yamlProblem(e: unknown): string {
  // The yaml library quotes the offending source line in its message; the line may hold a secret,
  // so only the position and the error code are reported.
  if (e instanceof YAMLError) {
    const pos = e.linePos?.[0];
    return `${e.code}${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}`;
  }
  return 'unreadable';
}

/** Reads and structurally checks the config file; a missing default file is an empty one. */
export async function readConfigFile(path: string, explicit: boolean): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) {
      return { path, exists: false, base: {}, profiles: {}, defaultProfile: undefined };
    }
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new ClawError(
      code === 'ENOENT' ? 'CONFIG_NOT_FOUND' : 'CONFIG_UNREADABLE',
      `Expected a readable config file at ${path}, got ${code}.`,
      { hint: `Create the file, fix its permissions, or point --config / ${CONFIG_PATH_ENV} elsewhere.` },
    );
  }
  const doc = parseDocument(text); // prettyErrors (default) fills linePos
  if (doc.errors.length > 0) {
    throw new ClawError(
      ConfigErrorCode.INVALID,
      `Expected YAML or JSON in ${path}, found a syntax error: ${yamlProblem(doc.errors[0])}.`,
      {
        hint: 'Fix the syntax at that position (YAML is a superset of JSON).',
      },
    );
  }
  return { path, exists: true, ...fileSettings(path, doc.toJS()) };
}

/** Splits a parsed config file into shared settings, profiles and the default profile name. */
function fileSettings(path: string, raw: unknown): Omit<ConfigFile, 'path' | 'exists'> {
  const parsed = ConfigFileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ClawError(ConfigErrorCode.INVALID, `Expected a mapping of settings in ${path}, found: ${where}.`, {
      hint: 'The file holds settings at the top level and an optional `profiles: {name: {...}}` map.',
    });
  }
  const { profile, profiles, ...base } = parsed.data;
  return { base, profiles: (profiles ?? {}) as ConfigFile['profiles'], defaultProfile: profile };
}

/** The environment as a config layer (first set variable wins for a key). */
export function envLayer(env: Env): ConfigLayer[] {
  const layers: ConfigLayer[] = [];
  const seen = new Set<string>();
  for (const { name, path, implies } of ENV_VARS) {
    const v = envValue(env, name);
    if (v === undefined || seen.has(path)) continue;
    seen.add(path);
    const values: Record<string, unknown> = {};
    for (const [p, value] of Object.entries(implies ?? {})) setPath(values, p, value);
    setPath(values, path, coerceValue(path, v));
    layers.push({ source: `env ${name}`, values });
  }
  return layers;
}

export interface LoadConfigOptions {
  env?: Env;
  cwd?: string;
  /** `--config`. */
  configPath?: string;
  /** `--profile`. */
  profile?: string;
  /** Flag values by dotted config path (undefined entries are ignored), with the flag's name for messages. */
  flags?: Array<{ path: string; value: unknown; flag: string }>;
  /** Extra layers applied after env and before flags (e.g. an OpenClaw plugin config block). */
  layers?: ConfigLayer[];
}

export interface LoadedConfig extends ResolvedConfig {
  file: Pick<ConfigFile, 'path' | 'exists'>;
}

export async function loadConfig(opts: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const env = opts.env ?? process.env;
  const { path, explicit } = configFilePath(env, opts.configPath, opts.cwd);
  const file = await readConfigFile(path, explicit);
  const profile = opts.profile ?? envValue(env, PROFILE_ENV) ?? file.defaultProfile ?? 'default';
  const layers: ConfigLayer[] = [{ source: `file ${path}`, values: file.base }];
  const profileValues = file.profiles[profile];
  if (profileValues) layers.push({ source: `file ${path} (profiles.${profile})`, values: profileValues });
  layers.push(...envLayer(env), ...(opts.layers ?? []));
  for (const f of opts.flags ?? []) {
    if (f.value === undefined) continue;
    const values: Record<string, unknown> = {};
    setPath(values, f.path, f.value);
    layers.push({ source: `flag ${f.flag}`, values });
  }
  const resolved = resolveConfig(layers, profile);
  return { ...resolved, file: { path, exists: file.exists } };
}

/**
 * Sets (or with `value === undefined` removes) one key in the config file, keeping its comments
 * and layout. Secrets are refused: they belong in the token store (`login`) or the environment.
 * With `profile`, the key is written under `profiles.<profile>`.
 */
export async function writeConfigValue(
  filePath: string,
  key: string,
  value: string | undefined,
  profile?: string,
): Promise<void> {
  if (!CONFIG_KEYS.has(key)) {
    const guess = suggestKey(key);
    throw new ClawError(
      ConfigErrorCode.UNKNOWN_KEY,
      guess
        ? `Expected a configuration key, found "${key}": did you mean ${guess}?`
        : `Expected one of ${[...CONFIG_KEYS.keys()].join(', ')}; got "${key}".`,
      {
        hint: guess
          ? `claw-byterover config set ${guess} <value>`
          : 'Run `claw-byterover config show` to see every key.',
        exitCode: 2,
      },
    );
  }
  if (isSecretPath(key)) {
    throw new ClawError(ConfigErrorCode.SECRET_REFUSED, `Refusing to write the secret "${key}" into the config file.`, {
      hint:
        key === 'apiKey'
          ? 'Run `claw-byterover login --api-key` (stored encrypted), or set BYTEROVER_API_KEY in the environment.'
          : 'Set CLAW_BYTEROVER_CLIENT_SECRET in the environment.',
      exitCode: 2,
    });
  }
  let text = '';
  try {
    text = await readFile(filePath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    throw new ClawError(
      ConfigErrorCode.INVALID,
      `Expected YAML in ${filePath}, found a syntax error: ${yamlProblem(doc.errors[0])}.`,
      {
        hint: 'Fix the file by hand first.',
      },
    );
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    throw new ClawError(
      ConfigErrorCode.INVALID,
      `Expected a mapping of settings in ${filePath}, found another YAML value.`,
      {
        hint: 'The file holds settings at the top level and an optional `profiles: {name: {...}}` map.',
      },
    );
  }
  const path = [...(profile ? ['profiles', profile] : []), ...key.split('.')];
  const next = value === undefined ? undefined : coerceValue(key, value);
  // Validate the whole file as it would read after the change, before touching the disk.
  const probe = doc.clone();
  if (next === undefined) probe.deleteIn(path);
  else probe.setIn(path, next);
  const probed = fileSettings(filePath, probe.toJS());
  const layers: ConfigLayer[] = [{ source: `file ${filePath}`, values: probed.base }];
  const pv = profile ? probed.profiles[profile] : undefined;
  if (pv) layers.push({ source: `file ${filePath} (profiles.${profile})`, values: pv });
  // The value being set is named as its own source, so a bad one is blamed on this command, not the file.
  if (next !== undefined) {
    const values: Record<string, unknown> = {};
    key.split('.').reduce<Record<string, unknown>>((o, k, i, all) => {
      o[k] = i === all.length - 1 ? next : {};
      return o[k] as Record<string, unknown>;
    }, values);
    layers.push({ source: `\`config set ${key}\``, values });
  }
  resolveConfig(layers, profile);
  if (next === undefined) doc.deleteIn(path);
  else doc.setIn(path, next);
  await mkdir(dirname(filePath), { recursive: true });
  const tmp = `${filePath}.${process.pid}.tmp`;
  await writeFile(tmp, doc.toString(), { mode: 0o600 });
  await rename(tmp, filePath);
}
