/**
 * Runs the CLI bundle (dist/cli/cli.cjs, one CommonJS file: scripts/build-ts.mjs) compiled with a V8
 * code cache, the way Node 22's `module.enableCompileCache()` does for every module — Node 20 has no
 * compile cache, and a CLI process otherwise spends most of its start compiling.
 *
 * The cache is a file per bundle, Node version, architecture and profile, in the user's cache folder
 * (`codeCacheDir`). It is written after a run that had none or had one refused, when the process
 * exits (so it holds the functions that run compiled too), to a temporary file renamed over the old
 * one. The profile keeps apart runs that compile different functions and may set different V8 flags
 * (bin.ts: `query` for an early-open search or recall, `cli` for the rest): V8 refuses a cache made
 * under other flags. V8 checks what it is given: the source
 * (the file name carries the bundle's sha-256, from its first line), its own version and flags, and,
 * with `--verify-snapshot-checksum` (set here before any cache is used), a checksum of the data, so
 * a torn or corrupt cache is refused and replaced, never run. The folder must be the user's alone
 * (`privateDir`). Nothing about the cache can fail a command: a folder that cannot be written, or
 * that others could write, just means no cache.
 *
 * `CLAW_BYTEROVER_CODE_CACHE=off` (or Node's own `NODE_DISABLE_COMPILE_CACHE=1`) turns it off.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, isAbsolute, join } from 'node:path';

/** What became of the cache: none used (`off`), none found (`created` at exit), `accepted`, `rejected` (replaced at exit). */
export type CodeCacheStatus = 'off' | 'created' | 'accepted' | 'rejected';

export interface LoadedBundle<T> {
  exports: T;
  cache: CodeCacheStatus;
  /** The cache file, when the cache is on. */
  cacheFile?: string;
  /** Writes the cache now (what happens at exit unless it was `accepted`); false when it could not. */
  saveCache(): boolean;
}

export interface LoadBundleOptions {
  /** Names the V8 flags the process set before (a cache made under other flags is refused): a word. */
  profile: string;
  env?: NodeJS.ProcessEnv;
  /** Write the cache when the process exits unless V8 accepted it (default true). */
  saveAtExit?: boolean;
  /**
   * In a checkout, `dist/` may be rebuilt by tsc alone: `output` (a file tsc writes, from `source`)
   * newer than the bundle means the bundle is stale, and it is not run (undefined, as without one).
   * Checked only when `source` exists: an installed package ships no sources, and extracting it
   * gives its files whatever times the extraction had.
   */
  staleIf?: { source: string | URL; output: string | URL };
}

const BANNER = /^\/\* claw-byterover cli bundle ([0-9a-f]{64}) \*\//;

// Built-ins through require: their ES module facades cost a process more than the modules themselves.
const builtin = createRequire(import.meta.url);

/**
 * The folder of the code cache: `$CLAW_BYTEROVER_CACHE_DIR`, else per platform — Linux
 * `$XDG_CACHE_HOME/claw-byterover` when XDG_CACHE_HOME is absolute, else `~/.cache/claw-byterover`;
 * macOS `~/Library/Caches/claw-byterover`; Windows `%LOCALAPPDATA%\claw-byterover\Cache`. Undefined
 * when there is no home to put it in.
 */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string | undefined {
  if (env.CLAW_BYTEROVER_CACHE_DIR && isAbsolute(env.CLAW_BYTEROVER_CACHE_DIR)) return env.CLAW_BYTEROVER_CACHE_DIR;
  if (platform === 'win32' && env.LOCALAPPDATA) return join(env.LOCALAPPDATA, 'claw-byterover', 'Cache');
  if (platform === 'linux' && env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME))
    return join(env.XDG_CACHE_HOME, 'claw-byterover');
  const home = env.HOME || env.USERPROFILE;
  if (!home || !isAbsolute(home)) return undefined;
  if (platform === 'darwin') return join(home, 'Library', 'Caches', 'claw-byterover');
  if (platform === 'win32') return join(home, 'AppData', 'Local', 'claw-byterover', 'Cache');
  return join(home, '.cache', 'claw-byterover');
}

function cacheOff(env: NodeJS.ProcessEnv): boolean {
  const v = env.CLAW_BYTEROVER_CODE_CACHE?.toLowerCase();
  return v === 'off' || v === '0' || v === 'false' || Boolean(env.NODE_DISABLE_COMPILE_CACHE);
}

/**
 * Compiles and runs the CommonJS bundle at `bundle` (a path or file URL) with the code cache of
 * `opts.profile`, and returns its exports; undefined when there is no such file, or a stale one.
 */
export function loadBundle<T>(bundle: string | URL, opts: LoadBundleOptions): LoadedBundle<T> | undefined {
  const { profile, env = process.env, saveAtExit = true, staleIf } = opts;
  const file = pathOf(bundle);
  let source: string;
  try {
    if (
      staleIf &&
      existsSync(pathOf(staleIf.source)) &&
      statSync(pathOf(staleIf.output)).mtimeMs > statSync(file).mtimeMs
    )
      return undefined;
    source = readFileSync(file, 'latin1');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const vm = builtin('node:vm') as typeof import('node:vm');
  const hash = BANNER.exec(source)?.[1];
  const dir = hash && !cacheOff(env) ? codeCacheDir(env) : undefined;
  let cacheFile: string | undefined;
  let cachedData: Buffer | undefined;
  if (dir && hash && privateDir(join(dir, 'v8'))) {
    (builtin('node:v8') as typeof import('node:v8')).setFlagsFromString('--verify-snapshot-checksum');
    cacheFile = join(dir, 'v8', `${hash.slice(0, 16)}-${process.version}-${process.arch}-${profile}.bin`);
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      cachedData = undefined; // none yet, or unreadable: compiled without, written at exit
    }
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) { ${source}\n});`, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
    // The build leaves no import() in the bundle (scripts/build-ts.mjs); were one there, it would
    // still load, through Node's own loader.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const cache: CodeCacheStatus = !cacheFile
    ? 'off'
    : !cachedData
      ? 'created'
      : script.cachedDataRejected
        ? 'rejected'
        : 'accepted';
  const target = cacheFile;
  const saveCache = (): boolean => target !== undefined && writeCache(target, () => script.createCachedData());
  if (saveAtExit && target && cache !== 'accepted') process.once('exit', saveCache);
  const module = { exports: {} as T };
  const wrapper = script.runInThisContext() as (
    exports: T,
    require: NodeJS.Require,
    module: { exports: T },
    filename: string,
    dirname: string,
  ) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  return { exports: module.exports, cache, ...(cacheFile ? { cacheFile } : {}), saveCache };
}

/**
 * Whether the cache folder is this user's alone: owned by them and writable by nobody else. V8 runs
 * what a cache holds, so a folder others may write (a shared XDG_CACHE_HOME) would let them run code
 * as this user: no cache then. A folder not there yet is made 0700 when the cache is written. On
 * Windows, where access is by ACL rather than mode, the user's own profile folder is trusted.
 */
function privateDir(dir: string): boolean {
  if (process.platform === 'win32' || !process.getuid) return true;
  try {
    const st = statSync(dir);
    return st.isDirectory() && st.uid === process.getuid() && (st.mode & 0o022) === 0;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

function pathOf(p: string | URL): string {
  return typeof p === 'string' ? p : (builtin('node:url') as typeof import('node:url')).fileURLToPath(p);
}

/** Caches of other bundles not written for this long are removed. */
const STALE_MS = 30 * 24 * 3600 * 1000;

/**
 * Writes the cache through a temporary file renamed over `file`; on any failure, no file is left
 * behind. Then removes what earlier installs left: the caches (and temporary files) of other bundles
 * untouched for STALE_MS, so the folder does not grow with every upgrade. (A cache V8 accepts is
 * never rewritten, so its time is when it was made: this bundle's own are kept at any age.)
 */
function writeCache(file: string, data: () => Buffer): boolean {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(tmp, data(), { mode: 0o600 });
    renameSync(tmp, file);
    const now = Date.now();
    const bundle = basename(file).slice(0, 17); // `<hash16>-`
    for (const name of readdirSync(dirname(file))) {
      if (name.startsWith(bundle)) continue;
      const other = join(dirname(file), name);
      try {
        if (now - statSync(other).mtimeMs > STALE_MS) rmSync(other, { force: true });
      } catch {
        // gone already, or another process's: left as it is
      }
    }
    return true;
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // nothing was written, or the folder refuses even that: no cache, as above
    }
    return false;
  }
}
