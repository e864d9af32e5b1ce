/**
 * createLogger's logger is made on first need (lib/log/index.ts): a process that logs nothing at an
 * enabled level never loads pino, and a deferred logger writes exactly what the pino logger made at
 * once writes, through children, level changes, redaction and Error fields.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLogger, registerSecret, type Logger } from '../../../lib/log/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function sink(): { lines: () => Array<Record<string, unknown>>; write: (s: string) => void } {
  const out: string[] = [];
  return {
    write: (s) => void out.push(s),
    lines: () =>
      out.map((l) => {
        const { time: _t, pid: _p, hostname: _h, ...rest } = JSON.parse(l) as Record<string, unknown>;
        // The two runs throw from different lines: compare the stack's first line only (escaped: one line).
        const err = rest.err as { stack?: string } | undefined;
        if (err?.stack) err.stack = err.stack.split('\\n')[0];
        return rest;
      }),
  };
}

/** One script of logger use: every kind of call the deferred logger answers itself or forwards. */
function scenario(log: Logger): void {
  const secret = 'deferred-secret-value-31c9';
  registerSecret(secret);
  log.info('below the level: nothing');
  const child = log.child({ component: 'memory.tree' }); // made before the parent writes anything
  const verbose = log.child({ component: 'v' }, { level: 'debug' });
  const late = log.child({ component: 'late' });
  log.level = 'debug';
  late.debug('child follows its parent down');
  log.level = 'warn';
  child.debug('nothing');
  log.level = 'error'; // the child follows its parent's level
  child.warn('child now quiet');
  verbose.debug('debug child');
  log.warn('parent now quiet');
  child.error({ n: 1 }, 'child error');
  log.error({ err: new Error(`boom with ${secret}`) }, `failed: ${secret}\nsecond line`);
  child.level = 'fatal'; // its own level from now on
  log.level = 'trace';
  log.trace('trace now');
  child.error('child quiet at fatal');
  expect(log.isLevelEnabled('debug')).toBe(true);
  log.silent('never');
}

describe('deferred logger', () => {
  it('writes what the logger made at once writes', () => {
    const deferred = sink();
    scenario(createLogger({ level: 'warn', destination: deferred }));
    const eager = sink();
    const made = createLogger({ level: 'warn', destination: eager });
    made.bindings(); // only pino answers this: made now
    scenario(made);
    expect(deferred.lines()).toEqual(eager.lines());
    const msgs = deferred.lines().map((l) => l.msg);
    expect(msgs).toEqual([
      'child follows its parent down',
      'debug child',
      'child error',
      'failed: [REDACTED]\\nsecond line',
      'trace now',
    ]);
    expect(JSON.stringify(deferred.lines())).not.toContain('deferred-secret-value-31c9');
    expect(JSON.stringify(deferred.lines())).toContain('boom with [REDACTED]');
  });

  it('answers level and is returned by an async function without being made, and refuses an unknown level at once', async () => {
    const out = sink();
    const log = createLogger({ level: 'info', destination: out });
    expect(await (async () => log)()).toBe(log);
    expect(log.level).toBe('info');
    expect(() => createLogger({ level: 'loud' })).toThrow(/loud/);
  });

  it('a process that logs nothing at an enabled level never loads pino', async () => {
    const tsx = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
    const log = pathToFileURL(join(root, 'lib', 'log', 'index.ts')).href;
    const script = `
      import { createRequire } from 'node:module';
      const { createLogger, logger } = await import(${JSON.stringify(log)});
      const pinoFiles = () => Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes('/node_modules/pino/'));
      const l = createLogger({ level: 'error', destination: { write: () => {} } });
      const c = l.child({ component: 'x' });
      c.warn('below'); l.info('below'); logger.debug('below');
      const before = pinoFiles().length;
      c.error('written');
      console.log(JSON.stringify({ before, after: pinoFiles().length }));`;
    const child = spawn(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH, CLAW_BYTEROVER_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    expect(await new Promise((res) => child.on('close', res))).toBe(0);
    const r = JSON.parse(stdout) as { before: number; after: number };
    expect(r.before).toBe(0);
    expect(r.after).toBeGreaterThan(0);
  });
});
