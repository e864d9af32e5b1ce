/**
 * claw-byterover's package version: read once from the package.json beside lib/ (sources) or dist/
 * (built), the same file either way. '0.0.0' when it cannot be read (a broken install).
 */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function packageVersion(): string {
  if (cached === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      // claw-byterover-openclaw: the plugin package scripts/openclaw-package.mjs stages from the same dist/.
      cached =
        (pkg.name === 'claw-byterover' || pkg.name === 'claw-byterover-openclaw') && pkg.version
          ? pkg.version
          : '0.0.0';
    } catch {
      cached = '0.0.0';
    }
  }
  return cached;
}
