/**
 * Each CLI process loads only what its command uses: `--version` alone loads the executable and the
 * version reader only; `--version` with other flags and the top-level `--help` load no
 * command module, no config schema (zod), no YAML parser, no lib/memory and no native addon; a
 * command loads its own module only; `search` and `recall` load the memory and the native engine but
 * never zod, pino (nothing is logged), the bridge, database drivers, OpenTelemetry, OAuth or the
 * agent link — and a warm run (persisted index) not the YAML parser either, with or without a plain
 * config file. The CLI runs as a real process (tsx, from source) with
 * test/unit/cli/helpers/trace-modules.mjs recording every module it resolves, requires or dlopens.
 */
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT as root, homeEnv, runTraced, type Trace } from './helpers/run-cli.js';

/** Packages no query command may load (the bridge's stores and queue, telemetry, OAuth, the agent's socket). */
const HEAVY_PACKAGES = [
  'pg',
  'ioredis',
  'bullmq',
  'better-sqlite3',
  'openid-client',
  'oauth4webapi',
  'jose',
  'ws',
  'undici',
  'proper-lockfile',
];
/** Project layers no query command may load. */
const HEAVY_LAYERS = ['lib/bridge/', 'lib/telemetry/', 'lib/agent/', 'lib/clawapi/', 'lib/doctor/', 'lib/http/'];
/** Where ByteRover's data dir is (v4 spaces persist their index under it): no dependency but node:path. */
const BYTEROVER_PATHS = ['lib/byterover/auth/paths.ts', 'lib/byterover/auth/errors.ts'];
/**
 * The config schema (zod) and the config file parser (yaml): with no config file and plain flags,
 * a command's configuration is answered without them (lib/config/fast.ts).
 */
const SCHEMA_PACKAGES = ['zod', 'yaml'];
const SCHEMA_FILES = ['lib/config/schema.ts', 'lib/config/resolve.ts', 'lib/config/load.ts', 'lib/config/index.ts'];

let work: string;
let tree: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'claw-lazy-'));
  tree = join(work, 'project', '.brv', 'context-tree');
  await cp(join(root, 'test', 'fixtures', 'context-tree'), tree, { recursive: true });
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function traced(
  args: string[],
  n: number,
  extraEnv: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; trace: Trace }> {
  const { code, stdout, stderr, trace } = await runTraced('source', args, {
    cwd: join(work, 'project'),
    env: { ...homeEnv(join(work, 'home')), ...extraEnv },
    trace: join(work, `trace-${n}.jsonl`),
  });
  if (code !== 0) throw new Error(`claw-byterover ${args.join(' ')} exited ${code}: ${stderr}`);
  return { code, stdout, trace };
}

/** The command modules a process loaded (commands/index.ts, the list of entries, aside). */
function commandModules(trace: Trace): string[] {
  return [
    ...new Set(trace.files.filter((f) => f.startsWith('lib/cli/commands/') && f !== 'lib/cli/commands/index.ts')),
  ];
}

function expectNoHeavy(trace: Trace): void {
  expect([...trace.packages].filter((p) => HEAVY_PACKAGES.includes(p) || p.startsWith('@opentelemetry/'))).toEqual([]);
  expect(trace.files.filter((f) => HEAVY_LAYERS.some((l) => f.startsWith(l)))).toEqual([]);
  // lib/byterover's data-dir rule (paths.ts, its errors) is plain path arithmetic; nothing else of it.
  expect(trace.files.filter((f) => f.startsWith('lib/byterover/') && !BYTEROVER_PATHS.includes(f))).toEqual([]);
}

/** No config schema and no YAML parser: zod, yaml and the schema modules. */
function expectNoSchema(trace: Trace, packages = SCHEMA_PACKAGES): void {
  expect([...trace.packages].filter((p) => packages.includes(p))).toEqual([]);
  expect(trace.files.filter((f) => SCHEMA_FILES.includes(f))).toEqual([]);
}

describe('lazy loading: what each CLI process loads', () => {
  it('--version alone loads the executable and the version reader: no commander, no CLI shell, no addon', async () => {
    const { stdout, trace } = await traced(['--version'], 1);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect([...new Set(trace.files.filter((f) => f.startsWith('lib/')))].sort()).toEqual([
      'lib/cli/bin.ts',
      'lib/version.ts',
    ]);
    expect([...trace.packages]).toEqual([]);
    expect(trace.addons).toEqual([]);
  });

  it('--version with other flags goes through commander and the CLI shell only: no command module, no config schema, no memory, no addon', async () => {
    const { stdout, trace } = await traced(['--version', '--json'], 11);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(trace.files).toContain('lib/cli/program.ts'); // the tracer saw the CLI load
    expectNoHeavy(trace);
    expect([...trace.packages].sort()).toEqual(['commander']);
    expect(commandModules(trace)).toEqual([]);
    expect(trace.files.filter((f) => f.startsWith('lib/memory/') || f.startsWith('lib/config/index'))).toEqual([]);
    expectNoSchema(trace);
    expect(trace.addons).toEqual([]);
  });

  it('the top-level --help lists every command without loading a command module', async () => {
    const { stdout, trace } = await traced(['--help'], 4);
    for (const name of ['login', 'search', 'recall', 'serve', 'doctor'])
      expect(stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    expect(commandModules(trace)).toEqual([]);
    expect([...trace.packages].sort()).toEqual(['commander']);
  });

  it('a command loads its own command module only', async () => {
    const { stdout, trace } = await traced(['teams', '--help'], 5);
    expect(stdout).toContain('Usage: claw-byterover teams');
    expect(commandModules(trace)).toEqual(['lib/cli/commands/teams.ts']);
  });

  it('search loads the memory and the native engine, and none of the bridge, drivers, telemetry or OAuth', async () => {
    const { stdout, trace } = await traced(['--json', 'search', 'cache', 'invalidation'], 2);
    const out = JSON.parse(stdout) as { hits: unknown[] };
    expect(out.hits.length).toBeGreaterThan(0);
    expect(trace.files).toContain('lib/memory/local.ts');
    expect(trace.addons.some((a) => a.endsWith('.node'))).toBe(true);
    expectNoHeavy(trace);
    // The first run reads the notes (a hand-edited frontmatter may need the YAML parser): no zod.
    expectNoSchema(trace, ['zod']);
    // pino is loaded by the first line written at an enabled level: a search writes none.
    expect(trace.packages.has('pino')).toBe(false);
    expect(commandModules(trace)).toEqual(['lib/cli/commands/memory.ts']);
    // A warm run answers from the persisted index: no note parsed, no YAML parser either.
    const warm = await traced(['--json', 'search', 'cache', 'invalidation'], 7);
    expect(warm.stdout).toBe(stdout);
    expectNoHeavy(warm.trace);
    expectNoSchema(warm.trace);
    expect(warm.trace.packages.has('pino')).toBe(false);
  });

  it('search with a plain config file (as `config set` writes it) still loads no config schema', async () => {
    const config = join(work, 'xdg-config');
    await mkdir(join(config, 'claw-byterover'), { recursive: true });
    await writeFile(join(config, 'claw-byterover', 'config.yaml'), 'team: abc\nbranch: main\nlogLevel: error\n');
    const { stdout, trace } = await traced(['--json', 'search', 'cache'], 6, { XDG_CONFIG_HOME: config });
    expect((JSON.parse(stdout) as { hits: unknown[] }).hits.length).toBeGreaterThan(0);
    expectNoSchema(trace);
  });

  it('recall loads none of the bridge, drivers, telemetry or OAuth', async () => {
    const { stdout, trace } = await traced(['--json', 'recall', 'how', 'do', 'we', 'deploy'], 3);
    expect(JSON.parse(stdout)).toHaveProperty('text');
    expectNoHeavy(trace);
    expectNoSchema(trace);
    expect(trace.packages.has('pino')).toBe(false);
  });
});
