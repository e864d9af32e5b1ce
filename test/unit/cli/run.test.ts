import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { run, ExitCode, type CommandModule } from '../../../lib/cli/index.js';
import { COMMANDS } from '../../../lib/cli/commands/index.js';
import { ClawError } from '../../../lib/errors.js';
import { redactString, registerSecret } from '../../../lib/log/redact.js';
import { memoryIo } from './memory-io.js';

/** A test-only command whose handler does what the test says, to exercise the action wrapper. */
function probe(
  behaviour: (
    opts: Record<string, unknown>,
    args: string[],
  ) => Promise<{ data: Record<string, unknown>; human?: string }>,
): CommandModule {
  return (program, rt) => {
    program
      .command('probe [words...]')
      .option('--team <id>')
      .option('--n <n>', 'a number', (v) => {
        if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`not a number: ${v}`);
        return Number(v);
      })
      .action(
        rt.action(
          async (ctx, opts, args) => {
            const r = await behaviour(opts, args);
            const { config } = await ctx.config();
            return { data: { ...r.data, team: config.team ?? null }, ...(r.human ? { human: r.human } : {}) };
          },
          [{ option: 'team', path: 'team', flag: '--team' }],
        ),
      );
  };
}

async function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'cli-unit-'));
}

describe('run(argv, io): parsing, output and exit codes', () => {
  it('with no arguments prints help on stderr and exits 2 (usage)', async () => {
    const io = memoryIo();
    expect(await run([], io)).toBe(ExitCode.USAGE);
    expect(io.err()).toContain('Usage: claw-byterover');
    expect(io.out()).toBe('');
  });

  it('--help lists commands and the exit codes on stdout, exit 0; --version prints the package version', async () => {
    const io = memoryIo();
    expect(await run(['--help'], io)).toBe(0);
    expect(io.out()).toMatch(/config/);
    expect(io.out()).toMatch(/Exit codes: 0 ok, 1 failure, 2 usage, 3 auth/);
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const v = memoryIo();
    expect(await run(['--version'], v)).toBe(0);
    expect(v.out().trim()).toBe(pkg.version);
  });

  it('an unknown command is a usage error with code, message and next step, no stack', async () => {
    const io = memoryIo();
    expect(await run(['nope'], io)).toBe(ExitCode.USAGE);
    expect(io.err()).toMatch(/^error CLI_USAGE: unknown command 'nope'\n {2}next: Run `claw-byterover --help`/);
    expect(io.err()).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('--json usage errors are one JSON document on stdout', async () => {
    const io = memoryIo();
    expect(await run(['--json', 'config', 'show', '--bogus'], io)).toBe(ExitCode.USAGE);
    const doc = JSON.parse(io.out()) as { error: { code: string; message: string; hint: string; exitCode: number } };
    expect(doc.error.code).toBe('CLI_USAGE');
    expect(doc.error.message).toContain("unknown option '--bogus'");
    expect(doc.error.hint).toContain('--help');
    expect(doc.error.exitCode).toBe(2);
    expect(io.err()).toBe('');
  });

  it('rejects an invalid --log-level choice and a bad option argument with exit 2', async () => {
    const a = memoryIo();
    expect(await run(['--log-level', 'loud', 'config'], a)).toBe(ExitCode.USAGE);
    expect(a.err()).toContain('Allowed choices are fatal, error, warn, info, debug, trace, silent');
    const b = memoryIo();
    expect(await run(['probe', '--n', 'x'], b, { commands: [probe(async () => ({ data: {} }))] })).toBe(ExitCode.USAGE);
  });

  it('global options work before and after the command; positional args and flags reach the handler', async () => {
    let seen: { opts: Record<string, unknown>; args: string[] } | undefined;
    const cmd = probe(async (opts, args) => {
      seen = { opts, args };
      return { data: { ok: true }, human: 'done' };
    });
    const io = memoryIo();
    expect(await run(['probe', 'a', 'b', '--team', 'T9', '--json'], io, { commands: [cmd] })).toBe(0);
    expect(seen?.args).toEqual(['a', 'b']);
    expect(JSON.parse(io.out())).toEqual({ ok: true, team: 'T9' });
    const human = memoryIo();
    expect(await run(['--profile', 'p1', 'probe'], human, { commands: [cmd] })).toBe(0);
    expect(human.out()).toBe('done\n');
  });

  it('flags beat env beat the config file', async () => {
    const dir = await tmp();
    const file = join(dir, 'c.yaml');
    await writeFile(file, 'team: from-file\nprofiles:\n  work:\n    team: from-profile\n');
    const cmd = probe(async () => ({ data: {} }));
    const team = async (argv: string[], env: Record<string, string> = {}): Promise<unknown> => {
      const io = memoryIo({ env: { CLAW_BYTEROVER_CONFIG: file, ...env } });
      expect(await run(['--json', ...argv, 'probe'], io, { commands: [cmd] })).toBe(0);
      return (JSON.parse(io.out()) as { team: unknown }).team;
    };
    expect(await team([])).toBe('from-file');
    expect(await team(['--profile', 'work'])).toBe('from-profile');
    expect(await team([], { CLAW_BYTEROVER_PROFILE: 'work' })).toBe('from-profile');
    expect(await team(['--profile', 'work'], { CLAW_BYTEROVER_TEAM: 'from-env' })).toBe('from-env');
    const io = memoryIo({ env: { CLAW_BYTEROVER_CONFIG: file, CLAW_BYTEROVER_TEAM: 'from-env' } });
    expect(await run(['--json', 'probe', '--team', 'from-flag'], io, { commands: [cmd] })).toBe(0);
    expect(JSON.parse(io.out()).team).toBe('from-flag');
  });

  it('an invalid environment value fails with CONFIG_INVALID naming the variable (exit 6)', async () => {
    const io = memoryIo({ env: { BRV_IAM_BASE_URL: 'ftp://example' } });
    expect(await run(['--json', 'config'], io)).toBe(ExitCode.NOT_FOUND);
    const { error } = JSON.parse(io.out()) as { error: { code: string; message: string } };
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('byterover.iamBaseUrl');
    expect(error.message).toContain('env BRV_IAM_BASE_URL');
  });

  it('a missing explicit config file is CONFIG_NOT_FOUND (exit 6); a missing default file is fine', async () => {
    const io = memoryIo();
    expect(await run(['--config', '/nonexistent/c.yaml', 'config'], io)).toBe(ExitCode.NOT_FOUND);
    expect(io.err()).toMatch(
      /error CONFIG_NOT_FOUND: Expected a readable config file at \/nonexistent\/c.yaml, got ENOENT/,
    );
    expect(await run(['config', 'path'], memoryIo())).toBe(0);
  });

  it('unknown keys at any depth are rejected with their source', async () => {
    const dir = await tmp();
    const file = join(dir, 'c.yaml');
    await writeFile(file, 'teem: x\nbyterover:\n  iamBaseURL: http://127.0.0.1:1\n');
    const io = memoryIo({ env: { CLAW_BYTEROVER_CONFIG: file } });
    expect(await run(['config'], io)).toBe(ExitCode.NOT_FOUND);
    expect(io.err()).toContain('unknown key teem');
    expect(io.err()).toContain('unknown key byterover.iamBaseURL');
    expect(io.err()).toContain(`file ${file}`);
  });

  it('composes lib/bridge settings: secret arrays and URLs are redacted and registered; union keys are checked', async () => {
    const dir = await tmp();
    const file = join(dir, 'c.yaml');
    await writeFile(
      file,
      'bridge:\n  port: 9000\n  webhooks:\n    byteroverSecrets: ["bridge-hmac-secret-0123456789"]\n  store:\n    kind: postgres\n    url: postgres://u:bridge-pw-0123456789@127.0.0.1/db\n',
    );
    const io = memoryIo({ env: { CLAW_BYTEROVER_CONFIG: file } });
    expect(await run(['--json', 'config'], io)).toBe(0);
    const bridge = (JSON.parse(io.out()) as { config: { bridge: Record<string, any> } }).config.bridge;
    expect(bridge.port).toBe(9000);
    expect(bridge.webhooks.byteroverSecrets).toBe('[REDACTED]');
    expect(bridge.webhooks.standardSecrets).toEqual([]);
    expect(bridge.store).toMatchObject({ kind: 'postgres', url: '[REDACTED]', schema: 'claw_bridge' });
    expect(io.all()).not.toContain('bridge-hmac-secret-0123456789');
    expect(redactString('x bridge-hmac-secret-0123456789 bridge-pw-0123456789')).toBe('x [REDACTED] [REDACTED]');

    await writeFile(file, 'bridge:\n  store:\n    kind: sqlite\n    bogus: 1\n');
    const bad = memoryIo({ env: { CLAW_BYTEROVER_CONFIG: file } });
    expect(await run(['config'], bad)).toBe(ExitCode.NOT_FOUND);
    expect(bad.err()).toContain('unknown key bridge.store.bogus');
    const refused = memoryIo({ env: { CLAW_BYTEROVER_CONFIG: file } });
    expect(await run(['config', 'set', 'bridge.store.url', 'postgres://x'], refused)).toBe(ExitCode.USAGE);
  });

  it('a YAML syntax error reports the position, never the offending line (it may hold a secret)', async () => {
    const dir = await tmp();
    const file = join(dir, 'c.yaml');
    await writeFile(file, 'team: t\napiKey: "sk-unterminated-SENTINEL-yaml\n');
    const io = memoryIo({ env: { CLAW_BYTEROVER_CONFIG: file } });
    expect(await run(['config'], io)).toBe(ExitCode.NOT_FOUND);
    expect(io.err()).toMatch(/syntax error: \w+ at line \d+, column \d+/);
    expect(io.all()).not.toContain('SENTINEL');
  });

  it('config show redacts secrets and names sources; config set/unset edit the file, refusing secrets', async () => {
    const dir = await tmp();
    const file = join(dir, 'sub', 'c.yaml');
    const env = { CLAW_BYTEROVER_CONFIG: file, BYTEROVER_API_KEY: 'show-me-never-1234' };
    expect(await run(['config', 'set', 'team', 'T1'], memoryIo({ env }))).toBe(0);
    expect(await run(['--profile', 'work', 'config', 'set', 'byterover.timeouts.iam', '2500'], memoryIo({ env }))).toBe(
      0,
    );
    expect(await readFile(file, 'utf8')).toBe(
      'team: T1\nprofiles:\n  work:\n    byterover:\n      timeouts:\n        iam: 2500\n',
    );
    const io = memoryIo({ env });
    expect(await run(['--json', '--profile', 'work', 'config'], io)).toBe(0);
    const doc = JSON.parse(io.out()) as {
      config: Record<string, any>;
      settings: Array<{ key: string; value: unknown; source: string }>;
    };
    const source = (key: string): string | undefined => doc.settings.find((s) => s.key === key)?.source;
    expect(doc.config.apiKey).toBe('[REDACTED]');
    expect(doc.config.byterover.timeouts.iam).toBe(2500);
    expect(source('apiKey')).toBe('env BYTEROVER_API_KEY');
    expect(source('byterover.timeouts.iam')).toBe(`file ${file} (profiles.work)`);
    expect(source('branch')).toBe('default');
    expect(io.all()).not.toContain('show-me-never-1234');

    const bad = memoryIo({ env });
    expect(await run(['config', 'set', 'byterover.timeouts.iam', 'soon'], bad)).toBe(ExitCode.NOT_FOUND);
    expect(bad.err()).toContain('CONFIG_INVALID');
    const secret = memoryIo({ env });
    expect(await run(['config', 'set', 'apiKey', 'zzz-secret-zzz'], secret)).toBe(ExitCode.USAGE);
    expect(secret.err()).toContain('CONFIG_SECRET_REFUSED');
    expect(secret.all()).not.toContain('zzz-secret-zzz');
    const unknown = memoryIo({ env });
    expect(await run(['config', 'set', 'nope', 'x'], unknown)).toBe(ExitCode.USAGE);

    expect(await run(['config', 'unset', 'team'], memoryIo({ env }))).toBe(0);
    expect(await readFile(file, 'utf8')).not.toContain('team');
  });

  it('an unexpected failure exits 1 without a stack trace; --debug shows it (redacted)', async () => {
    registerSecret('debug-secret-998877');
    const boom = probe(async () => {
      throw new TypeError('exploded near debug-secret-998877');
    });
    const io = memoryIo();
    expect(await run(['probe'], io, { commands: [boom] })).toBe(ExitCode.FAILURE);
    expect(io.err()).toMatch(/^error CLI_UNEXPECTED: exploded near \[REDACTED\]\n {2}next: .*--debug/);
    expect(io.err()).not.toContain('run.test.ts');
    const dbg = memoryIo();
    expect(await run(['--debug', 'probe'], dbg, { commands: [boom] })).toBe(ExitCode.FAILURE);
    expect(dbg.err()).toContain('TypeError: exploded near [REDACTED]');
    expect(dbg.err()).toContain('run.test.ts');
    expect(dbg.all()).not.toContain('debug-secret-998877');
  });

  it('a ClawError maps to its exit code and prints its hint; server status and request id are shown', async () => {
    const fail = probe(async () => {
      throw Object.assign(
        new ClawError('BYTEROVER_HTTP_503', 'Listing teams: found HTTP 503', { hint: 'try again later' }),
        {
          status: 503,
          requestId: 'req-42',
        },
      );
    });
    const io = memoryIo();
    expect(await run(['probe'], io, { commands: [fail] })).toBe(ExitCode.UNAVAILABLE);
    expect(io.err()).toBe(
      'error BYTEROVER_HTTP_503: Listing teams: found HTTP 503\n  server: HTTP 503, request id req-42\n  next: try again later\n',
    );
    const json = memoryIo();
    expect(await run(['probe', '--json'], json, { commands: [fail] })).toBe(ExitCode.UNAVAILABLE);
    expect(JSON.parse(json.out())).toEqual({
      error: {
        code: 'BYTEROVER_HTTP_503',
        message: 'Listing teams: found HTTP 503',
        hint: 'try again later',
        status: 503,
        requestId: 'req-42',
        exitCode: 4,
      },
    });
  });

  it('results are redacted on the way out, in both modes', async () => {
    registerSecret('result-secret-445566');
    const leaky = probe(async () => ({
      data: { note: 'key result-secret-445566', apiKey: 'whatever' },
      human: 'key result-secret-445566',
    }));
    const io = memoryIo();
    expect(await run(['probe', '--json'], io, { commands: [leaky] })).toBe(0);
    expect(JSON.parse(io.out())).toMatchObject({ note: 'key [REDACTED]', apiKey: '[REDACTED]' });
    const human = memoryIo();
    expect(await run(['probe'], human, { commands: [leaky] })).toBe(0);
    expect(human.out()).toBe('key [REDACTED]\n');
  });

  it('an aborted run exits 130', async () => {
    const ac = new AbortController();
    const slow = probe(
      () =>
        new Promise((_resolve, reject) => {
          ac.signal.addEventListener('abort', () => reject(new ClawError('HTTP_ABORTED', 'aborted')));
          ac.abort();
        }),
    );
    const io = memoryIo({ signal: ac.signal });
    expect(await run(['probe'], io, { commands: [slow] })).toBe(ExitCode.INTERRUPTED);
  });

  it('registers every built-in command', () => {
    expect(COMMANDS.length).toBeGreaterThan(0);
  });
});
