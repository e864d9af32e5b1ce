/**
 * Loading the configuration without the schema library (zod) or the YAML parser, when there is
 * nothing for them to do: only top-level plain settings (the log level, the context tree, the data
 * dir, team/space/branch, the API key), each obviously valid, from a config file of plain
 * `key: value` lines (what `config set` writes for them), the environment or flags. Then the result
 * is the schema's defaults (snapshot.ts, generated from the schema and checked against it by
 * test/unit/config/fast.test.ts) with those values, exactly what load.ts would return. Anything else
 * — any other YAML, another key, profiles, a value that is not plainly valid — goes to load.ts, which
 * parses and validates as it always does and reports errors the same way.
 *
 * This is what lets `claw-byterover search` start without loading ~80 zod modules and the YAML
 * parser (about 100 ms here, bench/open.ts).
 */
import { readFile } from 'node:fs/promises';
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

/** Words a YAML parser reads as something other than a string (null, booleans, infinities; 1.1 and 1.2). */
const NOT_TEXT = /^(~|null|y|yes|n|no|true|false|on|off|[-+]?\.inf|\.nan)$|^\.[0-9]/i;
/** A plain scalar that is certainly a string: starts with a letter, `.`, `/`, `_` or `~`, then no YAML syntax. */
const PLAIN = /^[A-Za-z_./~][A-Za-z0-9_./~@+=-]*(?: [A-Za-z0-9_./~@+=-]+)*$/;

/**
 * The settings of a config file made only of `key: value` lines (blank and `#` comment lines
 * allowed), each value a plain word or a quoted string without escapes, as a YAML parser reads it;
 * undefined for anything else (the YAML parser decides then).
 */
export function plainFile(text: string): Record<string, string> | undefined {
  if (/[\r\t\uFEFF]/.test(text)) return undefined;
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (/^\s*(#.*)?$/.test(line)) continue;
    const m = /^([A-Za-z]+): +(.*?)(?: +#.*)?$/.exec(line);
    if (!m) return undefined;
    const [, key, raw] = m as unknown as [string, string, string];
    if (Object.hasOwn(out, key)) return undefined; // a duplicate key is the parser's error to report
    // Quoted: printable characters only (no escapes, no quote inside).
    const quoted = /^"([^"\\\x00-\x1f\x7f-\x9f]*)"$|^'([^'\x00-\x1f\x7f-\x9f]*)'$/.exec(raw);
    let value: string;
    if (quoted) value = quoted[1] ?? quoted[2] ?? '';
    else if (PLAIN.test(raw) && !NOT_TEXT.test(raw)) value = raw;
    else return undefined;
    out[key] = value;
  }
  return out;
}

/** The config file's text; undefined when there is none (and none was asked for); `false` when it cannot be read plainly. */
async function fileText(path: string, explicit: boolean): Promise<string | undefined | false> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' && !explicit ? undefined : false;
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
 * loadConfig's answer when it is certain without the schema (plain top-level values only, from a
 * plain config file, the environment or flags); undefined when the schema must decide.
 */
export async function plainConfig(opts: LoadConfigOptions = {}): Promise<LoadedConfig | undefined> {
  const full = (): undefined => undefined;
  const env = opts.env ?? process.env;
  const { path, explicit } = configFilePath(env, opts.configPath, opts.cwd);
  if (opts.layers && opts.layers.length > 0) return full();
  const text = await fileText(path, explicit);
  if (text === false) return full();
  const fromFile = text === undefined ? {} : plainFile(text);
  if (fromFile === undefined) return full();
  // The layers load.ts would build (file, environment, then flags), each value checked.
  const layers: Array<{ source: string; path: string; value: string }> = [];
  for (const [key, raw] of Object.entries(fromFile)) {
    const value = plainValue(key, raw);
    if (value === undefined) return full();
    if (CONFIG_SECRET_PATHS.includes(key)) registerSecretValue(raw);
    layers.push({ source: `file ${path}`, path: key, value });
  }
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
    file: { path, exists: text !== undefined },
  };
}
