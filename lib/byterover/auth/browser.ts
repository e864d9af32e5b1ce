/**
 * Opening the login URL in a browser, only when one can exist (RFC 8252 §4.1: native apps use the
 * system browser). On Linux/BSD that means `xdg-open` on PATH and a graphical session (DISPLAY or
 * WAYLAND_DISPLAY); on macOS `open` on PATH. Anything else (SSH, containers, CI) prints the URL only.
 * Never throws: failing to open a browser must not fail the login.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface BrowserEnv {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
}

/** Absolute path of an executable on PATH, or undefined (no shell involved). */
export function findOnPath(cmd: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, cmd);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The command that would open a URL here, or undefined when no browser can be shown. */
export function browserOpener(o: BrowserEnv = {}): string | undefined {
  const env = o.env ?? process.env;
  const platform = o.platform ?? process.platform;
  if (env.CLAW_BYTEROVER_NO_BROWSER === '1' || env.CLAW_BYTEROVER_NO_BROWSER === 'true') return undefined;
  if (platform === 'darwin') return findOnPath('open', env);
  if (platform === 'win32') return undefined;
  const graphical = Boolean(env.DISPLAY) || Boolean(env.WAYLAND_DISPLAY);
  return graphical ? findOnPath('xdg-open', env) : undefined;
}

/** Starts the opener detached; resolves true when it was spawned, false otherwise. */
export function openBrowser(url: string, o: BrowserEnv = {}): Promise<boolean> {
  const cmd = browserOpener(o);
  if (!cmd) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      const child = spawn(cmd, [url], { detached: true, stdio: 'ignore', env: o.env ?? process.env });
      child.once('error', () => resolve(false));
      child.once('spawn', () => {
        child.unref();
        resolve(true);
      });
    } catch {
      resolve(false);
    }
  });
}
