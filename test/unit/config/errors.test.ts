/**
 * Config errors that point at the right thing: `config set bridge.port notaport` blames the value
 * given to `config set` (not the config file) and shows the rejected value, writing nothing; a
 * misspelt key gets "did you mean" instead of ~100 keys; an environment variable's bad value is
 * blamed on that variable; secrets are never shown.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { envLayer, resolveConfig } from '../../../lib/config/index.js';
import { writeConfigValue } from '../../../lib/config/load.js';
import { suggestKey } from '../../../lib/config/resolve.js';
import { ClawError, isClawError } from '../../../lib/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'claw-config-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function rejection(p: Promise<unknown>): Promise<ClawError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!isClawError(e)) throw new Error(`expected a ClawError, got ${String(e)}`);
  return e;
}

describe('config errors', () => {
  it('config set with a bad value blames `config set`, shows the value, writes nothing', async () => {
    const file = join(dir, 'a.yaml');
    const e = await rejection(writeConfigValue(file, 'bridge.port', 'notaport'));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toContain('bridge.port');
    expect(e.message).toContain('found "notaport"');
    expect(e.message).toContain('(from `config set bridge.port`)');
    expect(e.message).not.toContain(`file ${file}`);
    expect(e.hint).not.toContain('Valid keys');
    expect(existsSync(file)).toBe(false);
  });

  it('a good value is written', async () => {
    const file = join(dir, 'b.yaml');
    await writeConfigValue(file, 'bridge.port', '9000');
    expect(readFileSync(file, 'utf8')).toContain('port: 9000');
  });

  it('a misspelt key: "did you mean", not the list of every key', async () => {
    const e = await rejection(writeConfigValue(join(dir, 'c.yaml'), 'bridge.prot', '9000'));
    expect(e.code).toBe('CONFIG_UNKNOWN_KEY');
    expect(e.message).toContain('did you mean bridge.port?');
    expect(e.message).not.toContain('telemetry.maxLabelValues');
    expect(suggestKey('bridge.skil.apiKeys')).toBe('bridge.skill.apiKeys');
    expect(suggestKey('loglevel')).toBe('logLevel');
    expect(suggestKey('completely.unrelated.thing')).toBeUndefined();
  });

  it('an environment variable with a bad value is blamed on the variable', () => {
    let err: unknown;
    try {
      resolveConfig(envLayer({ CLAW_BYTEROVER_BRIDGE_PORT: 'abc' }));
    } catch (e) {
      err = e;
    }
    expect(isClawError(err) && err.message).toContain('found "abc" (from env CLAW_BYTEROVER_BRIDGE_PORT)');
  });

  it('a secret value is never shown', () => {
    let err: unknown;
    try {
      resolveConfig([{ source: 'test', values: { bridge: { oauth: { encryptionKey: 'short-secret-x' } } } }]);
    } catch (e) {
      err = e;
    }
    expect(isClawError(err)).toBe(true);
    expect(`${(err as ClawError).message} ${(err as ClawError).hint ?? ''}`).not.toContain('short-secret-x');
  });
});

describe('config show', () => {
  it('lists every key: unset ones as (unset), the data dir where it really is, the CLI log level it really uses', async () => {
    const { run } = await import('../../../lib/cli/index.js');
    const { CONFIG_KEYS } = await import('../../../lib/config/index.js');
    const home = mkdtempSync(join(tmpdir(), 'claw-config-show-'));
    let out = '';
    let err = '';
    const code = await run(['config', 'show', '--json'], {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
      stdin: process.stdin,
      env: { HOME: home, XDG_CONFIG_HOME: join(home, 'config'), XDG_DATA_HOME: join(home, 'data') },
      cwd: home,
    });
    rmSync(home, { recursive: true, force: true });
    expect(code, err).toBe(0);
    const settings = (JSON.parse(out) as { settings: Array<{ key: string; value: unknown; source: string }> }).settings;
    const byKey = new Map(settings.map((s) => [s.key, s]));
    for (const key of CONFIG_KEYS.keys()) expect(byKey.has(key), key).toBe(true);
    expect(byKey.get('dataDir')?.value).toBe(join(home, 'data', 'claw-byterover'));
    expect(byKey.get('team')).toMatchObject({ value: '(unset)', source: 'unset' });
    expect(byKey.get('logLevel')?.value).toBe('error');
  });
});
