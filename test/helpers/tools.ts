/**
 * Tests that need an external program or server find it on PATH. Outside CI a missing one skips the
 * test with a message saying what to install; in CI (`CI=true`) a missing one is a failure.
 */
import { execFileSync } from 'node:child_process';

export const inCI = process.env.CI === 'true' || process.env.CI === '1';

export function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${JSON.stringify(cmd)}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Returns undefined when every command is available, else the reason to skip.
 * In CI it throws instead, so a missing tool fails the run.
 */
export function missingTools(cmds: string[], install: string): string | undefined {
  const missing = cmds.filter((c) => !which(c));
  if (missing.length === 0) return undefined;
  const msg = `missing ${missing.join(', ')}: install with \`${install}\``;
  if (inCI) throw new Error(`CI requires ${msg}`);
  return msg;
}
