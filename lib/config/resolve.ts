/**
 * Merging configuration layers and validating the result once.
 *
 * A layer is a nested partial config plus the name of its source (`file ~/.config/…`,
 * `env BRV_IAM_BASE_URL`, `flag --team`, `openclaw plugins.entries.byterover.config`). Later layers
 * win key by key. The resolved config remembers which source gave each value, so errors and
 * `claw-byterover config show` can say where a value came from.
 */
import { z } from 'zod';
import { ClawError } from '../errors.js';
import { redactString } from '../log/redact.js';
import { flatten, registerSecretValue, setPath } from './plain.js';
import { ClawConfigSchema, SECRET_PATHS, type ClawConfig } from './schema.js';
import { ConfigErrorCode } from '../errors.js';

export { flatten, setPath } from './plain.js';

export interface ConfigLayer {
  /** Where these values came from, shown in errors and `config show`. */
  source: string;
  /** Nested partial config; values are validated after merging. */
  values: Record<string, unknown>;
}

export interface ResolvedConfig {
  config: ClawConfig;
  /** The profile these settings belong to (also the token store slot). */
  profile: string;
  /** Dotted leaf path → source of the value in effect (`default` when the schema supplied it). */
  sources: Record<string, string>;
}

type LeafKind = 'string' | 'number' | 'boolean' | 'enum' | 'list';

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema as z.ZodType & { def: { innerType?: z.ZodType } };
  while (s.def.innerType) s = s.def.innerType as typeof s;
  return s;
}

function collectLeaves(schema: z.ZodType, prefix: string, out: Map<string, LeafKind>): void {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodUnion && (inner.options as z.ZodType[]).some((o) => unwrap(o) instanceof z.ZodObject)) {
    // A union of objects (e.g. bridge.store by `kind`): the keys of every variant are valid paths.
    for (const option of inner.options as z.ZodType[]) collectLeaves(option, prefix, out);
    return;
  }
  if (inner instanceof z.ZodObject) {
    for (const [key, child] of Object.entries(inner.shape as Record<string, z.ZodType>)) {
      collectLeaves(child, prefix ? `${prefix}.${key}` : key, out);
    }
    return;
  }
  if (out.has(prefix)) return;
  out.set(
    prefix,
    inner instanceof z.ZodNumber
      ? 'number'
      : inner instanceof z.ZodBoolean
        ? 'boolean'
        : inner instanceof z.ZodEnum
          ? 'enum'
          : inner instanceof z.ZodArray
            ? 'list'
            : 'string',
  );
}

/** Every settable dotted path of the schema and the kind of value it takes. */
export const CONFIG_KEYS: ReadonlyMap<string, LeafKind> = (() => {
  const m = new Map<string, LeafKind>();
  collectLeaves(ClawConfigSchema, '', m);
  return m;
})();

export function isSecretPath(path: string): boolean {
  return SECRET_PATHS.includes(path);
}

/**
 * Converts a string from env, a flag or `config set` to the kind its key takes.
 * Returns the string unchanged for string keys; numbers and booleans (true/false, 1/0, yes/no, on/off)
 * are parsed, lists are split on commas and whitespace (blank items dropped), anything else is left for validation
 * to report.
 */
export function coerceValue(path: string, raw: string): unknown {
  const kind = CONFIG_KEYS.get(path);
  const v = raw.trim();
  if (kind === 'list') {
    return v.split(/[\s,]+/).filter((x) => x !== '');
  }
  if (kind === 'number') {
    const n = Number(v);
    return v !== '' && Number.isFinite(n) ? n : raw;
  }
  if (kind === 'boolean') {
    if (/^(true|1|yes|on)$/i.test(v)) return true;
    if (/^(false|0|no|off)$/i.test(v)) return false;
  }
  return raw;
}

function describeIssue(
  issue: z.core.$ZodIssue,
  sources: Record<string, string>,
  merged: Record<string, unknown>,
): string {
  const path = issue.path.map(String).join('.');
  const from = sources[path];
  // zod messages name the expected type, never the rejected value; the value is added only for
  // keys that are not secrets, and redactString is the belt to those braces.
  const value = path ? flatten(merged)[path] : undefined;
  const found =
    !isSecretPath(path) && ['string', 'number', 'boolean'].includes(typeof value)
      ? `, found ${JSON.stringify(value)}`
      : '';
  return `${path || '(root)'}: ${redactString(issue.message + found)}${from ? ` (from ${from})` : ''}`;
}

/** Edit distance (Levenshtein) between two short strings: for "did you mean" on unknown keys. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The known key closest to `unknownKey` (same last segment first, then edit distance), if close enough. */
export function suggestKey(unknownKey: string, keys: readonly string[] = [...CONFIG_KEYS.keys()]): string | undefined {
  const lower = unknownKey.toLowerCase();
  const last = lower.split('.').pop() ?? lower;
  let best: { key: string; d: number } | undefined;
  for (const k of keys) {
    const kl = k.toLowerCase();
    const d = kl.split('.').pop() === last ? 0.5 : distance(lower, kl);
    if (!best || d < best.d) best = { key: k, d };
  }
  return best && best.d <= Math.max(2, Math.floor(lower.length / 4)) ? best.key : undefined;
}

/**
 * Merges the layers (later wins per leaf), validates once and registers every secret value with
 * the log redactor. Throws ClawError CONFIG_INVALID naming each bad key and its source.
 */
export function resolveConfig(layers: ConfigLayer[], profile = 'default'): ResolvedConfig {
  const merged: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  for (const layer of layers) {
    for (const [path, value] of Object.entries(flatten(layer.values))) {
      if (isSecretPath(path)) registerSecretValue(value);
      setPath(merged, path, value);
      sources[path] = layer.source;
    }
  }
  // Unknown keys are reported at any depth (composed sub-schemas may strip them silently).
  const keys = [...CONFIG_KEYS.keys()];
  const unknown = Object.keys(sources).filter((p) => !CONFIG_KEYS.has(p) && !keys.some((k) => k.startsWith(`${p}.`)));
  const parsed = ClawConfigSchema.safeParse(merged);
  if (!parsed.success || unknown.length > 0) {
    const problems = [
      ...unknown.map((p) => {
        const guess = suggestKey(p);
        return `unknown key ${p} (from ${sources[p]})${guess ? `: did you mean ${guess}?` : ''}`;
      }),
      ...(parsed.success
        ? []
        : parsed.error.issues
            .filter((i) => i.code !== 'unrecognized_keys')
            .map((i) => describeIssue(i, sources, merged))),
    ];
    // The ~100 valid keys are listed only when a key is unknown and nothing close was found.
    const lost = unknown.filter((p) => suggestKey(p) === undefined);
    throw new ClawError(ConfigErrorCode.INVALID, `Invalid configuration: ${problems.join('; ')}.`, {
      hint:
        lost.length > 0
          ? `Fix the key at its source. Valid keys: ${[...CONFIG_KEYS.keys()].join(', ')}.`
          : 'Fix the value at the source named above (config file, environment variable, flag or `config set`).',
      details: { problems },
    });
  }
  const config = parsed.data;
  const effective = flatten(config as unknown as Record<string, unknown>);
  for (const path of Object.keys(effective)) sources[path] ??= 'default';
  for (const path of Object.keys(sources)) if (!(path in effective)) delete sources[path];
  for (const path of SECRET_PATHS) registerSecretValue(effective[path]);
  return { config, profile, sources };
}

/** The resolved config as plain data with every secret replaced by `[REDACTED]` (for display). */
export function displayConfig(config: ClawConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [path, value] of Object.entries(flatten(config as unknown as Record<string, unknown>))) {
    const empty = Array.isArray(value) && value.length === 0;
    setPath(out, path, isSecretPath(path) && !empty ? '[REDACTED]' : value);
  }
  return out;
}
