/**
 * Where the interop tier keeps what it downloads (OpenClaw and its Node, byterover-cli, the Node
 * binaries of the version matrix), so a second run downloads nothing. Outside node_modules on
 * purpose: `npm ci` deletes node_modules, and with it anything cached there.
 *
 * Root: $CLAW_INTEROP_CACHE_DIR, else $XDG_CACHE_HOME/claw-byterover-interop, else
 * ~/.cache/claw-byterover-interop. Each kind has a subfolder (and its own override variable, kept
 * for compatibility: CLAW_OPENCLAW_CACHE_DIR, CLAW_BRV_CACHE_DIR, CLAW_NODES_CACHE_DIR). The README
 * states the size of a full cache; `du -sh` on the root shows yours.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function interopCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CLAW_INTEROP_CACHE_DIR) return env.CLAW_INTEROP_CACHE_DIR;
  const xdg = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(xdg, 'claw-byterover-interop');
}

/** The cache folder of one kind of download: `openclaw`, `brv` or `nodes`. */
export function interopCacheDir(kind: 'openclaw' | 'brv' | 'nodes', env: NodeJS.ProcessEnv = process.env): string {
  const override = {
    openclaw: env.CLAW_OPENCLAW_CACHE_DIR,
    brv: env.CLAW_BRV_CACHE_DIR,
    nodes: env.CLAW_NODES_CACHE_DIR,
  }[kind];
  return override || join(interopCacheRoot(env), kind);
}
