/**
 * The README's top two commands on a fresh clone, as written: `git clone` of this repository's HEAD
 * into a scratch folder, then `npm ci` and `npm start` there, then `/healthz`.
 *
 * Faithful on purpose, hence in the interop tier: `npm ci` really installs (the addon and
 * better-sqlite3 compile, `prepare` builds dist/) — reusing this checkout's node_modules through a
 * symlink would skip exactly what a newcomer meets. The only help is npm's own cache: packages come
 * from ~/.npm when it has them (`prefer-offline`, set through the environment so the command text
 * stays `npm ci`), from the registry otherwise. `npm start` listens where the config says; the port
 * comes from CLAW_BYTEROVER_BRIDGE_PORT=0 (a documented variable) so runs never collide on 8787.
 * Also checks what the README says about where the artifacts are.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The README's first code block: the commands, comments stripped. */
function readmeTopCommands(): string[] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const block = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  return block
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter(Boolean);
}

function childEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_|^CLAW_BYTEROVER_/i.test(k)) env[k] = v;
  return {
    ...env,
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_DATA_HOME: join(home, 'data'),
    CLAW_BYTEROVER_BRIDGE_PORT: '0',
  };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((res) => {
    if (child.exitCode !== null) res(child.exitCode);
    else child.on('close', (code) => res(code));
  });
}

describe('README top commands on a fresh clone', () => {
  let work = '';
  let clone = '';
  let env: NodeJS.ProcessEnv = {};
  const commands = readmeTopCommands();

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'claw-fresh-clone-'));
    clone = join(work, 'claw-byterover');
    env = childEnv(work);
    const r = spawnSync('git', ['clone', '--quiet', REPO, clone], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`git clone failed: ${r.stderr}`);
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the README starts with `npm ci` then `npm start`', () => {
    expect(commands.slice(0, 2)).toEqual(['npm ci', 'npm start']);
  });

  // A compile of the addon and better-sqlite3: minutes, many more on a loaded machine (24 min measured
  // under a load average above 8); the guard is for a hang only.
  it('`npm ci` builds the addon and dist/ (nothing left for `npm start` to compile)', { timeout: 3_600_000 }, () => {
    const started = Date.now();
    const r = spawnSync('sh', ['-c', commands[0]!], { cwd: clone, env, encoding: 'utf8', maxBuffer: 256 << 20 });
    process.stderr.write(`fresh clone: \`${commands[0]!}\` took ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(existsSync(join(clone, 'build', 'Release', 'claw_byterover.node'))).toBe(true);
    expect(existsSync(join(clone, 'build', 'Release', 'libclaw_byterover.so'))).toBe(true);
    expect(existsSync(join(clone, 'build', 'Release', 'claw-host'))).toBe(true);
    expect(existsSync(join(clone, 'dist', 'cli', 'index.js'))).toBe(true);
    expect(existsSync(join(clone, 'dist', '.build-stamp'))).toBe(true);
  });

  it('`npm start` answers /healthz without compiling and stops on SIGTERM', async () => {
    const child = spawn('sh', ['-c', `exec ${commands[1]!}`], { cwd: clone, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const url = await new Promise<string>((res, rej) => {
      const onData = (b: Buffer) => {
        text += b.toString();
        const m = /bridge listening on (http:\/\/127\.0\.0\.1:\d+) /.exec(text);
        if (m) res(m[1]!);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('close', (code) => rej(new Error(`npm start exited ${code}:\n${text}`)));
    });
    try {
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect(text).not.toContain('building dist/');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited(child)).toBe(0);
  });
});
