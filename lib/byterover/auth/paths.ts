/**
 * Where credentials live: `$CLAW_BYTEROVER_DATA_DIR`, else `$XDG_DATA_HOME/claw-byterover`
 * (XDG Base Directory Specification: only an absolute XDG_DATA_HOME counts), else
 * `~/.local/share/claw-byterover`.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { profileInvalid } from './errors.js';

export const DEFAULT_PROFILE = 'default';
const PROFILE_RE = /^(?!\.)[A-Za-z0-9._-]{1,64}$/;

export function resolveDataDir(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const explicit = env.CLAW_BYTEROVER_DATA_DIR;
  if (explicit && explicit.trim() !== '') return resolve(explicit);
  const xdg = env.XDG_DATA_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'claw-byterover');
  return join(home, '.local', 'share', 'claw-byterover');
}

/** A profile name safe to use as a file name; throws AUTH_PROFILE_INVALID otherwise. */
export function checkProfile(profile: string | undefined): string {
  const p = profile ?? DEFAULT_PROFILE;
  if (!PROFILE_RE.test(p)) throw profileInvalid(p);
  return p;
}
