/**
 * The package as a library, from the packed tarball: `npm pack`, installed with --ignore-scripts into
 * a fresh project under this Node (20), then
 * - `import { … } from 'claw-byterover'` works at runtime (and `claw-byterover/native`);
 * - a consumer .ts file type-checks with tsc (strict, NodeNext) against the shipped declarations, and
 *   a file that misuses the API is refused (so the declarations are really there, not `any`);
 * - README "Use as a library"'s example, extracted from the README, compiles and runs: it curates,
 *   searches and recalls in a fresh project, and pulls/pushes with the ByteRover stand-in.
 * The native addon is the repository's build (CLAW_BYTEROVER_PREBUILD=<repo>): an --ignore-scripts
 * install compiles nothing and the repository ships no prebuild; the Node 22/24/26 matrix with real
 * prebuilds is test/interop/native/node-matrix.test.ts.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureNativeBuilt } from '../../native/helpers.js';
import { DEFAULT_SESSION_KEY, startByteRoverStandin, type ByteRoverStandin } from '../../standin/byterover.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

let scratch: string;
let consumer: string;

/** Child npm/node env: without the npm_* variables of an enclosing `npm test` (they would point npm here). */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', ...extra };
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = childEnv()) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function mustRun(cmd: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): string {
  const r = run(cmd, args, cwd, env);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.code}\n${r.out}\n${r.err}`);
  return r.out;
}

/** The README's library example, exactly as printed there. */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const m = /<!-- library-example:start -->\s*```ts\n([\s\S]*?)```\s*<!-- library-example:end -->/.exec(readme);
  if (!m?.[1])
    throw new Error('README.md has no <!-- library-example:start --> ```ts … ``` <!-- library-example:end --> block');
  return m[1];
}

const CONSUMER_TS = `
import {
  ClawError, isClawError, openMemory, openByteRover, resolveCredential, createHttpClient, createByteRoverClient,
  createBridge, native, HttpErrorCode, AuthErrorCode, ENGINE_UNAVAILABLE_HINT, packageVersion,
  type OpenedMemory, type ByteRoverClient, type RecallResult, type ResolvedCredential, type Bridge,
} from 'claw-byterover';
import { abiInfo } from 'claw-byterover/native';

const e = new ClawError('MY_CODE', 'expected x, found y', { hint: 'do z' });
const code: string = e.code;
const hint: string | undefined = e.hint;
const http = createHttpClient();
const cred: ResolvedCredential = resolveCredential({
  settings: { apiKey: 'k', oauth: {}, byterover: { iamBaseUrl: 'https://iam.example' } },
  http,
});
const kind: 'api-key' | 'managed' = cred.kind;
export async function use(m: OpenedMemory, c: ByteRoverClient): Promise<number> {
  const r: RecallResult = await m.backend.recall('q', { tokenBudget: 100 });
  const teams = await c.teams();
  const info: number = abiInfo().abiMajor + native.abiInfo().abiMajor;
  return r.hits.length + teams.length + info;
}
export const unused = [isClawError, openMemory, openByteRover, createByteRoverClient, createBridge, HttpErrorCode,
  AuthErrorCode, ENGINE_UNAVAILABLE_HINT, packageVersion, code, hint, kind] as const;
export type B = Bridge;
await http.close();
`;

/** Misuses the API: must be refused by tsc (declarations, not `any`). */
const MISUSE_TS = `
import { ClawError } from 'claw-byterover';
export const code: number = new ClawError('C', 'expected x, found y').code;
`;

function tsconfig(files: string[]): string {
  return JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      outDir: 'out',
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules', '@types')],
      skipLibCheck: true,
    },
    files,
  });
}

beforeAll(async () => {
  const dist = join(ROOT, 'dist', 'index.js');
  if (!existsSync(dist) || statSync(dist).mtimeMs < statSync(join(ROOT, 'lib', 'index.ts')).mtimeMs)
    throw new Error('dist/index.js is missing or older than lib/index.ts: run `npm run build:ts` (npm test does)');
  await ensureNativeBuilt();
  scratch = mkdtempSync(join(tmpdir(), 'claw-library-'));
  const packed = JSON.parse(
    mustRun('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], ROOT),
  ) as Array<{
    filename: string;
  }>;
  const tgz = join(scratch, packed[0]?.filename ?? '');
  consumer = join(scratch, 'consumer');
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // Dependencies come from the npm cache when it has them (--prefer-offline), else the registry.
  mustRun('npm', ['install', '--ignore-scripts', '--prefer-offline', '--no-package-lock', tgz], consumer);
}, 600_000);
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('claw-byterover from the packed tarball (--ignore-scripts, Node 20)', () => {
  it('imports at runtime: the library face and the native facade', () => {
    const out = mustRun(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import('claw-byterover'); const n = await import('claw-byterover/native');
         const e = new m.ClawError('C', 'msg', { hint: 'h' });
         console.log(JSON.stringify({
           fns: ['openMemory', 'openByteRover', 'resolveCredential', 'createByteRoverClient', 'createHttpClient', 'createBridge', 'loadConfig', 'isClawError'].map((k) => typeof m[k]),
           classes: [m.ClawError, m.LocalMemory, m.BrvMemory, m.MemorySync].map((c) => typeof c),
           nativeSame: m.native.abiInfo === n.abiInfo,
           isClaw: m.isClawError(e, 'C') && e instanceof Error,
           codes: [m.HttpErrorCode.TIMEOUT, m.AuthErrorCode.NOT_LOGGED_IN],
           version: m.packageVersion(),
         }));`,
      ],
      consumer,
    );
    const r = JSON.parse(out.trim().split('\n').pop() as string) as Record<string, unknown>;
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(r).toEqual({
      fns: Array(8).fill('function'),
      classes: Array(4).fill('function'),
      nativeSame: true,
      isClaw: true,
      codes: ['HTTP_TIMEOUT', 'AUTH_NOT_LOGGED_IN'],
      version: pkg.version,
    });
  });

  it('a consumer .ts type-checks against the shipped declarations; a misuse is refused', () => {
    writeFileSync(join(consumer, 'consumer.ts'), CONSUMER_TS);
    writeFileSync(join(consumer, 'misuse.ts'), MISUSE_TS);
    writeFileSync(join(consumer, 'tsconfig.json'), tsconfig(['consumer.ts']));
    writeFileSync(join(consumer, 'tsconfig.misuse.json'), tsconfig(['misuse.ts']));
    const ok = run(process.execPath, [TSC, '-p', 'tsconfig.json', '--noEmit'], consumer);
    expect(ok.out + ok.err).toBe('');
    expect(ok.code).toBe(0);
    const bad = run(process.execPath, [TSC, '-p', 'tsconfig.misuse.json', '--noEmit'], consumer);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/misuse\.ts\(3,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
  });

  describe('the README example', () => {
    let standin: ByteRoverStandin;
    beforeAll(async () => {
      standin = await startByteRoverStandin();
    });
    afterAll(() => standin?.close());

    it('compiles with tsc and runs: curate, search, recall, then pull and push with ByteRover', async () => {
      writeFileSync(join(consumer, 'example.ts'), readmeExample());
      writeFileSync(join(consumer, 'tsconfig.example.json'), tsconfig(['example.ts']));
      const tsc = run(process.execPath, [TSC, '-p', 'tsconfig.example.json'], consumer);
      expect(tsc.out + tsc.err).toBe('');
      const team = standin.addTeam({ name: 'acme' });
      const space = standin.addSpace(team.id, { name: 'handbook' });
      const project = join(scratch, 'project');
      mkdirSync(project);
      // Asynchronously: the stand-in answers from this process's event loop.
      const { stdout: out } = await promisify(execFile)(process.execPath, [join(consumer, 'out', 'example.js')], {
        cwd: project,
        env: childEnv({
          ...standin.env(),
          BYTEROVER_API_KEY: DEFAULT_SESSION_KEY,
          HOME: scratch,
          XDG_CONFIG_HOME: join(scratch, 'xdg-config'),
          XDG_DATA_HOME: join(scratch, 'xdg-data'),
          CLAW_BYTEROVER_PREBUILD: ROOT,
        }),
      });
      const lines = out.trim().split('\n');
      expect(lines[0]).toMatch(/^curated release-day\.md, best hit release-day\.md, [1-9]\d* chars recalled$/);
      expect(lines[1]).toBe('pulled 0, pushed 1 to handbook');
      expect([...standin.files(team.id, space.id).keys()]).toEqual(['/release-day.md']);
    });
  });
});
