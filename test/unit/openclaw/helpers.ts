/**
 * Shared set-up for the plugin's unit tests: a plugin runtime over a throw-away copy of the fixture
 * context tree, its log lines captured through the same OpenClaw-logger bridge the plugin uses.
 */
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { parsePluginConfig, type PluginConfigInput } from '../../../lib/openclaw/config.js';
import { hostLogger } from '../../../lib/openclaw/log.js';
import { PluginRuntime } from '../../../lib/openclaw/runtime.js';
import type { PluginLogger } from '../../../lib/openclaw/host.js';
import type { RecallIndexFactory } from '../../../lib/memory/types.js';
import { tempProject } from '../memory/helpers.js';

export { engines, FIXTURE_NOTES, tempProject } from '../memory/helpers.js';

export interface Captured {
  lines: Array<{ level: 'debug' | 'info' | 'warn' | 'error'; text: string }>;
  logger: PluginLogger;
  text(): string;
}

export function captureLogger(): Captured {
  const lines: Captured['lines'] = [];
  return {
    lines,
    logger: {
      debug: (t) => lines.push({ level: 'debug', text: t }),
      info: (t) => lines.push({ level: 'info', text: t }),
      warn: (t) => lines.push({ level: 'warn', text: t }),
      error: (t) => lines.push({ level: 'error', text: t }),
    },
    text: () => lines.map((l) => `${l.level} ${l.text}`).join('\n'),
  };
}

const runtimes: PluginRuntime[] = [];
afterEach(async () => {
  for (const rt of runtimes.splice(0)) await rt.close();
});

export interface TestRuntime {
  rt: PluginRuntime;
  log: Captured;
  project: string;
  tree: string;
  state: string;
}

/** A runtime over a copy of the fixture tree (projectDir set), with the given engine and config. */
export async function testRuntime(
  o: { index?: RecallIndexFactory; config?: PluginConfigInput; env?: NodeJS.ProcessEnv; withFixture?: boolean } = {},
): Promise<TestRuntime> {
  const p = await tempProject(o.withFixture ?? true);
  const log = captureLogger();
  // A generous recall deadline unless a test is about the deadline: a loaded machine must not turn
  // a recall test into a timing test.
  const config = parsePluginConfig({
    projectDir: p.project,
    logLevel: 'debug',
    ...o.config,
    recall: { deadlineMs: 10_000, ...o.config?.recall },
  });
  const env = o.env ?? {};
  const rt = new PluginRuntime({
    config,
    logger: hostLogger(log.logger, 'debug'),
    watch: false,
    ...(o.index ? { recallIndex: o.index } : {}),
    // An isolated environment: no API key or config file of the machine running the tests.
    env: () => ({
      PATH: process.env.PATH,
      HOME: p.project,
      XDG_CONFIG_HOME: join(p.project, 'xdg-config'),
      XDG_DATA_HOME: join(p.project, 'xdg-data'),
      ...env,
    }),
  });
  runtimes.push(rt);
  return { rt, log, ...p };
}
