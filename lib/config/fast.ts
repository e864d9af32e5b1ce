/**
 * Loading the configuration without the schema library (zod) or the YAML parser, when there is
 * nothing for them to do: no config file, and only top-level plain settings (the log level, the
 * context tree, the data dir, team/space/branch, the API key) given by the environment or flags,
 * each obviously valid. Then the result is the schema's defaults (snapshot.ts, generated from the
 * schema and checked against it by test/unit/config/fast.test.ts) with those values, exactly what
 * load.ts would return. Anything else — a config file, another key, a value that is not plainly
 * valid — goes to load.ts, which validates with the schema and reports errors as it always does.
 *
 * This is what lets `claw-byterover search` start without loading ~80 zod modules and the YAML
 * parser (about 100 ms here, bench/open.ts).
 */
import { stat } from 'node:fs/promises';
import { LOG_LEVELS } from './levels.js';
import type { LoadConfigOptions, LoadedConfig } from './load.js';
import { configFilePath, envValue, flatten, PROFILE_ENV, registerSecretValue } from './plain.js';
import { CONFIG_DEFAULTS, CONFIG_ENV_VARS, CONFIG_KEY_ORDER, CONFIG_SECRET_PATHS } from './snapshot.js';

/** Top-level keys the schema takes as trimmed non-empty text (`nonEmpty` in schema.ts). */
const TEXT_KEYS: ReadonlySet<string> = new Set(['dataDir', 'contextTree', 'team', 'space', 'branch', 'apiKey']);

/** The value the schema would give `path` for `value`, when that is certain; undefined otherwise. */
function plainValue(path: string, value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (TEXT_KEYS.has(path)) return value.trim() === '' ? undefined : value.trim();
  if (path === 'logLevel') return (LOG_LEVELS as readonly string[]).includes(value) ? value : undefined;
  return undefined;
}

/** Whether a config file is there to read (or may be: anything but "no such file" counts as there). */
async function fileMayExist(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/**
 * The configuration as load.ts's loadConfig returns it: answered here when there is nothing to
 * validate beyond plain top-level values, else by loadConfig itself (loaded on demand).
 */
export async function loadConfigFast(opts: LoadConfigOptions = {}): Promise<LoadedConfig> {
  return (await plainConfig(opts)) ?? (await import('./load.js')).loadConfig(opts);
}

/**
 * loadConfig's answer when it is certain without the schema (no config file, plain top-level values
 * only); undefined when the schema must decide.
 */
export async function plainConfig(opts: LoadConfigOptions = {}): Promise<LoadedConfig | undefined> {
  const full = (): undefined => undefined;
  const env = opts.env ?? process.env;
  const { path, explicit } = configFilePath(env, opts.configPath, opts.cwd);
  if (explicit || (opts.layers && opts.layers.length > 0) || (await fileMayExist(path))) return full();
  // The layers load.ts would build (environment, then flags), each value checked.
  const layers: Array<{ source: string; path: string; value: string }> = [];
  const seen = new Set<string>();
  for (const { name, path: key, implies } of CONFIG_ENV_VARS) {
    const raw = envValue(env, name);
    if (raw === undefined || seen.has(key)) continue;
    seen.add(key);
    const value = implies ? undefined : plainValue(key, raw);
    if (value === undefined) return full();
    if (CONFIG_SECRET_PATHS.includes(key)) registerSecretValue(raw);
    layers.push({ source: `env ${name}`, path: key, value });
  }
  for (const f of opts.flags ?? []) {
    if (f.value === undefined) continue;
    const value = plainValue(f.path, f.value);
    if (value === undefined) return full();
    if (CONFIG_SECRET_PATHS.includes(f.path)) registerSecretValue(f.value);
    layers.push({ source: `flag ${f.flag}`, path: f.path, value });
  }
  const given: Record<string, string> = {};
  const sources: Record<string, string> = {};
  for (const l of layers) {
    given[l.path] = l.value;
    sources[l.path] = l.source;
  }
  const defaults = CONFIG_DEFAULTS as unknown as Record<string, unknown>;
  const config = Object.fromEntries(
    CONFIG_KEY_ORDER.map((k) => [k, given[k] ?? structuredClone(defaults[k])]).filter(([, v]) => v !== undefined),
  ) as unknown as LoadedConfig['config'];
  const effective = flatten(config as unknown as Record<string, unknown>);
  for (const p of Object.keys(effective)) sources[p] ??= 'default';
  for (const p of CONFIG_SECRET_PATHS) registerSecretValue(effective[p]);
  return {
    config,
    profile: opts.profile ?? envValue(env, PROFILE_ENV) ?? 'default',
    sources,
    file: { path, exists: false },
  };
}
