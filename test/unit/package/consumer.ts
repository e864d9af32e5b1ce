/**
 * A consumer project of the packed package (shared by library.test.ts and the interop matrix
 * test/interop/package/library-matrix.test.ts): `npm pack` of this checkout, installed with
 * --ignore-scripts into a fresh project, plus the files and checks both tiers run in it under a
 * given Node binary.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** Child npm/node env: without the npm_* variables of an enclosing `npm test` (they would point npm here). */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', ...extra };
}

export function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = childEnv()) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { code: r.status, out: r.stdout, err: r.stderr };
}

export function mustRun(cmd: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): string {
  const r = run(cmd, args, cwd, env);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.code}\n${r.out}\n${r.err}`);
  return r.out;
}

export interface Consumer {
  scratch: string;
  /** The consumer project: claw-byterover installed from the tarball, nothing else of this checkout. */
  dir: string;
}

/** Packs this checkout (dist/ must be built) and installs the tarball with --ignore-scripts into a fresh project. */
export function packAndInstall(prefix: string): Consumer {
  const dist = join(ROOT, 'dist', 'index.js');
  if (!existsSync(dist) || statSync(dist).mtimeMs < statSync(join(ROOT, 'lib', 'index.ts')).mtimeMs)
    throw new Error('dist/index.js is missing or older than lib/index.ts: run `npm run build:ts` (npm test does)');
  const scratch = mkdtempSync(join(tmpdir(), prefix));
  // --ignore-scripts: pack what is built (no prepare step rebuilding dist/ from a tree in flux).
  const out = mustRun('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], ROOT);
  const tgz = join(scratch, (JSON.parse(out) as Array<{ filename: string }>)[0]?.filename ?? '');
  const dir = join(scratch, 'consumer');
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // Dependencies come from the npm cache when it has them (--prefer-offline), else the registry.
  mustRun('npm', ['install', '--ignore-scripts', '--prefer-offline', '--no-package-lock', tgz], dir);
  return { scratch, dir };
}

/** The README's library example, exactly as printed there. */
export function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const m = /<!-- library-example:start -->\s*```ts\n([\s\S]*?)```\s*<!-- library-example:end -->/.exec(readme);
  if (!m?.[1])
    throw new Error('README.md has no <!-- library-example:start --> ```ts … ``` <!-- library-example:end --> block');
  return m[1];
}

/** Imports the package at runtime and reports what it found (one JSON line). */
export const IMPORT_SCRIPT = `const m = await import('claw-byterover'); const n = await import('claw-byterover/native');
const e = new m.ClawError('C', 'msg', { hint: 'h' });
console.log(JSON.stringify({
  fns: ['openMemory', 'openByteRover', 'resolveCredential', 'createByteRoverClient', 'createHttpClient', 'createBridge', 'loadConfig', 'isClawError'].map((k) => typeof m[k]),
  classes: [m.ClawError, m.LocalMemory, m.BrvMemory, m.MemorySync].map((c) => typeof c),
  nativeSame: m.native.abiInfo === n.abiInfo,
  isClaw: m.isClawError(e, 'C') && e instanceof Error,
  codes: [m.HttpErrorCode.TIMEOUT, m.AuthErrorCode.NOT_LOGGED_IN],
  version: m.packageVersion(),
  node: process.versions.node,
}));`;

export function importReport(node: string, c: Consumer): Record<string, unknown> {
  const out = mustRun(node, ['--input-type=module', '-e', IMPORT_SCRIPT], c.dir);
  return JSON.parse(out.trim().split('\n').pop() as string) as Record<string, unknown>;
}

export function expectedImport(): Record<string, unknown> {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  return {
    fns: Array(8).fill('function'),
    classes: Array(4).fill('function'),
    nativeSame: true,
    isClaw: true,
    codes: ['HTTP_TIMEOUT', 'AUTH_NOT_LOGGED_IN'],
    version: pkg.version,
  };
}

/** Uses the typed API broadly: must type-check. */
export const CONSUMER_TS = `
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

/** Misuses the API: must be refused by tsc (the declarations are real, not `any`). */
export const MISUSE_TS = `
import { ClawError } from 'claw-byterover';
export const code: number = new ClawError('C', 'expected x, found y').code;
`;

function tsconfig(files: string[], noEmit: boolean): string {
  return JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      outDir: 'out',
      noEmit,
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules', '@types')],
      skipLibCheck: true,
    },
    files,
  });
}

/** tsc (this checkout's TypeScript, run by `node`) over one file of the consumer; emits to out/ unless noEmit. */
export function tsc(node: string, c: Consumer, name: string, source: string, noEmit = true) {
  const base = name.replace(/\.ts$/, '');
  writeFileSync(join(c.dir, name), source);
  writeFileSync(join(c.dir, `tsconfig.${base}.json`), tsconfig([name], noEmit));
  return run(node, [TSC, '-p', `tsconfig.${base}.json`], c.dir);
}

/** Runs the compiled README example (out/example.js) in `project` asynchronously (a stand-in may answer from this process). */
export async function runExample(node: string, c: Consumer, project: string, env: Record<string, string>) {
  const { stdout } = await promisify(execFile)(node, [join(c.dir, 'out', 'example.js')], {
    cwd: project,
    env: childEnv({
      HOME: c.scratch,
      XDG_CONFIG_HOME: join(c.scratch, 'xdg-config'),
      XDG_DATA_HOME: join(c.scratch, 'xdg-data'),
      // --ignore-scripts compiled nothing and the repository ships no prebuild: the repo's build.
      CLAW_BYTEROVER_PREBUILD: ROOT,
      ...env,
    }),
  });
  return stdout.trim().split('\n');
}
