/**
 * The configuration helpers that need neither the schema (zod) nor the YAML parser: nested-object
 * paths, secret registration and where the config file is. resolve.ts, load.ts and the fast path
 * (fast.ts) share them, so a process that finds nothing to validate loads none of those libraries.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { registerSecret } from '../log/redact.js';

export type Env = Record<string, string | undefined>;

export const CONFIG_PATH_ENV = 'CLAW_BYTEROVER_CONFIG';
export const PROFILE_ENV = 'CLAW_BYTEROVER_PROFILE';

/** An environment variable's value; blank counts as unset. */
export function envValue(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v;
}

/** The config file in effect: `--config`, then $CLAW_BYTEROVER_CONFIG, then the XDG config dir. */
export function configFilePath(env: Env, explicit?: string, cwd = process.cwd()): { path: string; explicit: boolean } {
  const chosen = explicit ?? envValue(env, CONFIG_PATH_ENV);
  if (chosen) return { path: isAbsolute(chosen) ? chosen : resolvePath(cwd, chosen), explicit: true };
  const base = envValue(env, 'XDG_CONFIG_HOME') ?? join(envValue(env, 'HOME') ?? homedir(), '.config');
  return { path: join(base, 'claw-byterover', 'config.yaml'), explicit: false };
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Dotted leaf paths of a nested object (arrays and scalars are leaves). */
export function flatten(obj: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (isPlainObject(v)) Object.assign(out, flatten(v, path));
    else if (v !== undefined) out[path] = v;
  }
  return out;
}

/** Sets `path` (dotted) in a nested object, creating intermediate objects. */
export function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = obj;
  for (const part of parts.slice(0, -1)) {
    const next = cur[part];
    if (!isPlainObject(next)) cur[part] = {};
    cur = cur[part] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1] as string] = value;
}

/**
 * Registers a secret value (a string or each string of an array) with the log redactor; for a URL
 * with credentials (`postgres://user:pw@host`) the password alone too, since it may be logged apart.
 */
export function registerSecretValue(value: unknown): void {
  if (Array.isArray(value)) {
    for (const v of value) registerSecretValue(v);
    return;
  }
  if (isPlainObject(value) && typeof value.key === 'string') {
    // A list entry naming its secret (`{key, caller}` of bridge.skill.apiKeys).
    registerSecretValue(value.key);
    return;
  }
  if (typeof value !== 'string') return;
  registerSecret(value);
  if (!URL.canParse(value)) return;
  const { password } = new URL(value);
  if (password) {
    registerSecret(password);
    registerSecret(decodeURIComponent(password));
  }
}
