/**
 * The fast path of the configuration (lib/config/fast.ts): without a config file and with only plain
 * top-level values, it answers without zod or the YAML parser, and its answer is loadConfig's, key
 * order and sources included; anything else goes to loadConfig, errors unchanged.
 */
import { mkdtempSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFast, plainConfig } from '../../../lib/config/fast.js';
import { loadConfig, type LoadConfigOptions } from '../../../lib/config/load.js';
import {
  CONFIG_DEFAULTS,
  CONFIG_ENV_VARS,
  CONFIG_KEY_ORDER,
  CONFIG_SECRET_PATHS,
} from '../../../lib/config/snapshot.js';
import { redactString } from '../../../lib/log/redact.js';
import { snapshotOf } from '../../../scripts/config-snapshot.js';

/** A HOME with no config file (the cases below are built when the file is collected). */
const home = mkdtempSync(join(tmpdir(), 'claw-config-fast-'));
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

const env = (vars: Record<string, string> = {}) => ({ HOME: home, XDG_CONFIG_HOME: join(home, 'none'), ...vars });
const flag = (path: string, value: unknown, name = `--${path}`) => ({ path, value, flag: name });

/** loadConfig's outcome as comparable data: the result (as JSON, so key order counts) or the error. */
async function outcome(load: (o: LoadConfigOptions) => Promise<unknown>, opts: LoadConfigOptions): Promise<string> {
  try {
    return JSON.stringify(await load(opts));
  } catch (e) {
    const err = e as { code?: string; message?: string; hint?: string };
    return `error ${err.code}: ${err.message} / ${err.hint}`;
  }
}

describe('config fast path', () => {
  it('the snapshot is what the schema and load.ts give today (else: node --import tsx scripts/config-snapshot.ts)', () => {
    const s = snapshotOf();
    expect(JSON.stringify(CONFIG_DEFAULTS)).toBe(JSON.stringify(s.defaults));
    expect(CONFIG_KEY_ORDER).toEqual(s.keyOrder);
    expect(CONFIG_ENV_VARS).toEqual(s.env);
    expect(CONFIG_SECRET_PATHS).toEqual(s.secretPaths);
  });

  const plain: Array<[string, LoadConfigOptions]> = [
    ['nothing set', { env: env() }],
    [
      '--dir and --log-level',
      { env: env(), flags: [flag('contextTree', ' notes/tree ', '--dir'), flag('logLevel', 'debug', '--log-level')] },
    ],
    ['undefined flags ignored', { env: env(), flags: [flag('team', undefined), flag('logLevel', undefined)] }],
    [
      'environment values, first variable wins',
      {
        env: env({
          CLAW_BYTEROVER_CONTEXT_TREE: '/srv/tree',
          CLAW_BYTEROVER_TEAM: 't1',
          CLAW_BYTEROVER_SPACE: ' s1 ',
          CLAW_BYTEROVER_BRANCH: 'dev',
          CLAW_BYTEROVER_DATA_DIR: '/var/claw',
          CLAW_BYTEROVER_LOG_LEVEL: 'info',
          BYTEROVER_API_KEY: 'key-first-0123456789',
          BRV_API_KEY: 'key-second-0123456789',
          CLAW_BYTEROVER_PROFILE: 'work',
        }),
      },
    ],
    ['flag over environment', { env: env({ CLAW_BYTEROVER_TEAM: 'from-env' }), flags: [flag('team', 'from-flag')] }],
    ['a profile flag', { env: env(), profile: 'ci' }],
    ['a blank variable is unset', { env: env({ CLAW_BYTEROVER_TEAM: '   ' }) }],
  ];
  for (const [name, opts] of plain) {
    it(`answers without the schema, as loadConfig does: ${name}`, async () => {
      expect(await plainConfig(opts)).toBeDefined();
      expect(await outcome(loadConfigFast, opts)).toBe(await outcome(loadConfig, opts));
    });
  }

  const other: Array<[string, LoadConfigOptions]> = [
    ['an empty --dir', { env: env(), flags: [flag('contextTree', '  ', '--dir')] }],
    ['a log level the schema refuses', { env: env({ CLAW_BYTEROVER_LOG_LEVEL: 'loud' }) }],
    ['a log level with blanks', { env: env(), flags: [flag('logLevel', ' warn ', '--log-level')] }],
    ['a nested key from the environment', { env: env({ CLAW_BYTEROVER_BRIDGE_PORT: '9001' }) }],
    ['PORT', { env: env({ PORT: 'eighty' }) }],
    ['a variable that implies another key', { env: env({ CLAW_BYTEROVER_DATABASE_URL: 'postgres://u:p@h/db' }) }],
    ['an unknown flag key', { env: env(), flags: [flag('contextTre', 'x')] }],
    ['a list value', { env: env(), flags: [flag('team', ['a', 'b'])] }],
    ['an explicit config file that is missing', { env: env(), configPath: join(home, 'missing.yaml') }],
    ['extra layers', { env: env(), layers: [{ source: 'openclaw', values: { team: 'x' } }] }],
  ];
  for (const [name, opts] of other) {
    it(`leaves it to the schema, with the same outcome: ${name}`, async () => {
      expect(await plainConfig(opts)).toBeUndefined();
      expect(await outcome(loadConfigFast, opts)).toBe(await outcome(loadConfig, opts));
    });
  }

  it('a config file present goes to the schema: its values and its errors as before', async () => {
    const dir = join(home, 'cfg');
    const file = join(dir, 'claw-byterover', 'config.yaml');
    await mkdir(join(dir, 'claw-byterover'), { recursive: true });
    const opts = { env: env({ XDG_CONFIG_HOME: dir }) };
    await writeFile(file, 'team: from-file\nbridge:\n  port: 9100\n');
    expect(await plainConfig(opts)).toBeUndefined();
    expect(await outcome(loadConfigFast, opts)).toBe(await outcome(loadConfig, opts));
    expect((await loadConfigFast(opts)).config.team).toBe('from-file');
    await writeFile(file, 'contextTre: x\n');
    const bad = await outcome(loadConfigFast, opts);
    expect(bad).toContain('error CONFIG_INVALID');
    expect(bad).toContain('did you mean contextTree?');
    expect(bad).toBe(await outcome(loadConfig, opts));
  });

  it('registers the API key with the redactor, as loadConfig does', async () => {
    const key = 'fast-path-api-key-7f3e9a0c55';
    await loadConfigFast({ env: env({ BYTEROVER_API_KEY: ` ${key} ` }) });
    expect(redactString(`sent ${key}`)).not.toContain(key);
  });
});
