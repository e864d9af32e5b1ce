/**
 * The plugin as users get it: the npm package OpenClaw installs, with its N-API prebuild inside.
 *
 * Two variants:
 * - `plugin` (default): `claw-byterover-openclaw`, staged by scripts/openclaw-package.mjs from the
 *   same dist/ — the plugin's import closure and only the dependencies it imports (what the docs
 *   tell users to install);
 * - `full`: `npm pack` of the whole `claw-byterover` package (CLI, bridge, telemetry and all their
 *   dependencies), kept so bench/turn/footprint.ts can measure what OpenClaw captured before the split.
 *
 * 1. `npm run build:ts` when dist/openclaw/index.js is missing or older than any lib/**\/*.ts;
 * 2. the stage is a scratch folder, so the repository's prebuilds/ is never written (lib/native.ts
 *    prefers a prebuild over build/Release, and a stale one would shadow fresh builds in other tests);
 * 3. `npm run prebuild` (scripts/prebuild.sh, x64 only: what this machine runs) builds
 *    prebuilds/linux-x64. Its output is cached under the OpenClaw cache folder keyed by a hash of the
 *    native sources, binding.gyp and package.json, so unchanged sources do not rebuild (about a
 *    minute otherwise);
 * 4. `npm pack --ignore-scripts` in the stage gives the tarball.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stagePluginPackage } from '../../../scripts/openclaw-package.mjs';
import { openClawCacheDir, withCacheLock } from './env.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  const prefix = resolve(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = prefix;
  return { ...env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', ...extra };
}

function mustRun(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = childEnv()): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 900_000 });
  if (r.error) throw r.error;
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status ?? r.signal}\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-6000)}`,
    );
  return r.stdout;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

function newestMtime(dir: string, suffix: string): number {
  return walk(dir)
    .filter((f) => f.endsWith(suffix))
    .reduce((m, f) => Math.max(m, statSync(f).mtimeMs), 0);
}

/** Hash of what the prebuild is made from. */
function nativeHash(): string {
  const h = createHash('sha256');
  const files = [
    ...walk(join(ROOT, 'native')).filter((f) => !/\/native\/(fuzz|test|abi)\//.test(f)),
    join(ROOT, 'binding.gyp'),
  ].sort();
  for (const f of files) {
    h.update(relative(ROOT, f));
    h.update(readFileSync(f));
  }
  // Of package.json only what the prebuild depends on (other edits, e.g. a new script, must not
  // rebuild it: several people edit package.json).
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  h.update(
    JSON.stringify({
      name: pkg.name,
      version: pkg.version,
      binary: pkg.binary,
      gypfile: pkg.gypfile,
      prebuild: (pkg.scripts as Record<string, unknown> | undefined)?.prebuild,
      addon: (pkg.dependencies as Record<string, unknown> | undefined)?.['node-addon-api'],
    }),
  );
  return h.digest('hex').slice(0, 16);
}

export interface PackedPlugin {
  tarball: string;
  /** The package name (`claw-byterover-openclaw`, or `claw-byterover` for the full variant). */
  name: string;
  /** Files in the tarball (package-relative). */
  files: string[];
  version: string;
  cleanup(): void;
}

export async function packPlugin(
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  variant: 'plugin' | 'full' = 'plugin',
): Promise<PackedPlugin> {
  const entry = join(ROOT, 'dist', 'openclaw', 'index.js');
  if (!existsSync(entry) || statSync(entry).mtimeMs < newestMtime(join(ROOT, 'lib'), '.ts')) {
    log('building TypeScript (npm run build:ts)…');
    // tsc emits even when another helper's in-progress file has a type error; what matters is dist/.
    spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 600_000,
    });
    if (!existsSync(entry)) throw new Error('`npm run build:ts` did not produce dist/openclaw/index.js');
  }
  const work = mkdtempSync(join(tmpdir(), 'claw-openclaw-pack-'));
  try {
    const cached = join(openClawCacheDir(), `prebuild-${nativeHash()}`);
    await withCacheLock(async () => {
      if (existsSync(join(cached, 'prebuilds', 'linux-x64', 'claw-byterover.glibc.node'))) return;
      log('building the linux-x64 prebuild (npm run prebuild)…');
      rmSync(cached, { recursive: true, force: true });
      mkdirSync(cached, { recursive: true });
      mustRun('npm', ['run', 'prebuild'], ROOT, childEnv({ CLAW_PREBUILD_OUT: cached, CLAW_PREBUILD_ARCHES: 'x64' }));
    });
    const stage = join(work, 'package');
    if (variant === 'plugin') {
      stagePluginPackage({ out: stage, prebuilds: join(cached, 'prebuilds') });
    } else {
      mkdirSync(stage);
      const dry = JSON.parse(mustRun('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], ROOT)) as {
        files: { path: string }[];
      }[];
      for (const f of dry[0]?.files ?? []) {
        if (f.path.startsWith('prebuilds/')) continue;
        mkdirSync(dirname(join(stage, f.path)), { recursive: true });
        cpSync(join(ROOT, f.path), join(stage, f.path));
      }
      cpSync(join(cached, 'prebuilds'), join(stage, 'prebuilds'), { recursive: true });
    }
    const packed = JSON.parse(
      mustRun('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], stage),
    ) as {
      name: string;
      filename: string;
      version: string;
      files: { path: string }[];
    }[];
    const p = packed[0];
    if (!p) throw new Error('npm pack printed nothing');
    return {
      tarball: join(work, p.filename),
      name: p.name,
      files: p.files.map((f) => f.path),
      version: p.version,
      cleanup: () => rmSync(work, { recursive: true, force: true }),
    };
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
}
