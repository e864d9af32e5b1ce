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
    ['a config path that is a directory', { env: env(), configPath: home }],
    ['extra layers', { env: env(), layers: [{ source: 'openclaw', values: { team: 'x' } }] }],
  ];
  for (const [name, opts] of other) {
    it(`leaves it to the schema, with the same outcome: ${name}`, async () => {
      expect(await plainConfig(opts)).toBeUndefined();
      expect(await outcome(loadConfigFast, opts)).toBe(await outcome(loadConfig, opts));
    });
  }

  describe('with a config file', () => {
    const dir = join(home, 'cfg');
    const file = join(dir, 'claw-byterover', 'config.yaml');
    const opts = { env: env({ XDG_CONFIG_HOME: dir }) };
    const withFile = async (text: string) => {
      await mkdir(join(dir, 'claw-byterover'), { recursive: true });
      await writeFile(file, text);
    };

    it('plain key: value lines (what config set writes) are read without the YAML parser, as loadConfig reads them', async () => {
      await withFile(
        '# mine\nteam: abc\nspace: "123"\nbranch: feat x # comment\n\ncontextTree: .brv/ctx\nlogLevel: info\n',
      );
      const fast = await plainConfig(opts);
      expect(fast?.config).toMatchObject({ team: 'abc', space: '123', branch: 'feat x', contextTree: '.brv/ctx' });
      expect(fast?.sources.team).toBe(`file ${file}`);
      expect(await outcome(loadConfigFast, opts)).toBe(await outcome(loadConfig, opts));
      // The environment and flags still win over the file.
      const over = {
        ...opts,
        env: env({ XDG_CONFIG_HOME: dir, CLAW_BYTEROVER_TEAM: 'env' }),
        flags: [flag('team', 'flag')],
      };
      expect(await outcome(loadConfigFast, over)).toBe(await outcome(loadConfig, over));
    });

    it('anything else goes to the parser and the schema: their values and their errors as before', async () => {
      for (const text of [
        'team: from-file\nbridge:\n  port: 9100\n',
        'contextTre: x\n',
        'team: 123\n',
        'team: x\nteam: y\n',
        'profile: work\nprofiles:\n  work:\n    team: w\n',
        'team: [a, b]\n',
        'logLevel: loud\n',
        'team: "a\\tb"\n',
      ]) {
        await withFile(text);
        expect(await plainConfig(opts)).toBeUndefined();
        expect(await outcome(loadConfigFast, opts)).toBe(await outcome(loadConfig, opts));
      }
      await withFile('contextTre: x\n');
      expect(await outcome(loadConfigFast, opts)).toContain('did you mean contextTree?');
    });

    it("random files of key: value lines: the fast answer, when given, is always loadConfig's", async () => {
      let seed = 0x5eed;
      const rand = (n: number) => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return (seed >>> 16) % n;
      };
      const keys = [
        'team',
        'space',
        'branch',
        'contextTree',
        'dataDir',
        'apiKey',
        'logLevel',
        'profile',
        'Team',
        'bridge',
      ];
      const values = [
        'abc',
        'a b',
        'a  b',
        '.brv/x',
        '~',
        '~/x',
        '.5',
        '.inf',
        'null',
        'Null',
        'yes',
        'on',
        'y',
        'true',
        '0x1F',
        '1e3',
        '12',
        '-x',
        '"q"',
        "'s'",
        '""',
        "''",
        '"a # b"',
        'a #c',
        'a#c',
        'x:y',
        '[a]',
        '{a: 1}',
        '&a x',
        '*a',
        '!t x',
        'debug',
        'warn',
        'silent',
        'WARN',
        '|',
        '>',
        '%x',
        '@x',
        '`x`',
        'é',
        'a\u00a0b',
        ' ',
        '',
      ];
      let fast = 0;
      for (let i = 0; i < 300; i++) {
        const lines = Array.from({ length: 1 + rand(4) }, () =>
          rand(8) === 0
            ? '# c'
            : `${keys[rand(keys.length)]}:${rand(6) === 0 ? '' : ' '}${values[rand(values.length)]}`,
        );
        await withFile(`${lines.join('\n')}\n`);
        const answer = await plainConfig(opts);
        if (answer) fast++;
        expect(await outcome(loadConfigFast, opts), lines.join(' | ')).toBe(await outcome(loadConfig, opts));
      }
      expect(fast).toBeGreaterThan(5); // the fast path was exercised, not only the fallback
    });
  });

  it('registers the API key with the redactor, as loadConfig does', async () => {
    const key = 'fast-path-api-key-7f3e9a0c55';
    await loadConfigFast({ env: env({ BYTEROVER_API_KEY: ` ${key} ` }) });
    expect(redactString(`sent ${key}`)).not.toContain(key);
  });
});
