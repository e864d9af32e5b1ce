/**
 * `npm start` and the build it relies on (scripts/start.mjs, scripts/build-ts.mjs): an up-to-date
 * dist/ starts without loading the compiler and answers /healthz; a source newer than the last
 * build is compiled first; SIGTERM stops the service. Runs in a scratch package root holding a copy
 * of this checkout's dist/ (node_modules and the native build linked), so the shared checkout's
 * dist/ and its stamp are never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, staleReason } from '../../../scripts/build-ts.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function childEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, npm_config_update_notifier: 'false', ...extra };
}

/** Resolves with the first match of `re` in the output (stdout or stderr), or rejects with the output if the process ends first. */
function waitForLine(child: ChildProcess, re: RegExp, out: { text: string }): Promise<RegExpMatchArray> {
  return new Promise((res, rej) => {
    const onData = (b: Buffer) => {
      out.text += b.toString();
      const m = out.text.match(re);
      if (m) res(m);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('close', (code, sig) => rej(new Error(`exited ${code ?? sig} before ${re}:\n${out.text}`)));
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((res) => {
    if (child.exitCode !== null) res(child.exitCode);
    else child.on('close', (code) => res(code));
  });
}

describe('npm start', () => {
  let root = '';
  let home = '';

  beforeAll(async () => {
    expect(await ensureBuilt(REPO)).toBe(0);
    root = mkdtempSync(join(tmpdir(), 'claw-start-root-'));
    home = mkdtempSync(join(tmpdir(), 'claw-start-home-'));
    cpSync(join(REPO, 'dist'), join(root, 'dist'), { recursive: true });
    cpSync(join(REPO, 'scripts'), join(root, 'scripts'), { recursive: true });
    for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json']) cpSync(join(REPO, f), join(root, f));
    symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
    for (const d of ['build', 'prebuilds']) if (existsSync(join(REPO, d))) symlinkSync(join(REPO, d), join(root, d));
    // The scratch sources: one module, older than the copied stamp.
    mkdirSync(join(root, 'lib'));
    writeFileSync(join(root, 'lib', 'extra.ts'), 'export const extra: number = 1;\n');
    const past = new Date(Date.now() - 3600_000);
    utimesSync(join(root, 'lib', 'extra.ts'), past, past);
    for (const f of ['tsconfig.json', 'tsconfig.build.json']) utimesSync(join(root, f), past, past);
    writeFileSync(join(root, 'dist', '.build-stamp'), 'test\n');
  });
  afterAll(() => {
    for (const d of [root, home]) if (d) rmSync(d, { recursive: true, force: true });
  });

  async function start(): Promise<{ child: ChildProcess; url: string; out: { text: string } }> {
    const child = spawn('npm', ['start', '--', '--port', '0'], {
      cwd: root,
      env: childEnv({ CLAW_BYTEROVER_DATA_DIR: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config'), HOME: home }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = { text: '' };
    const m = await waitForLine(child, /bridge listening on (http:\/\/127\.0\.0\.1:\d+) /, out);
    return { child, url: m[1]!, out };
  }

  it('starts the built service without compiling, answers /healthz, and stops on SIGTERM', async () => {
    expect(staleReason(root)).toBeNull();
    const { child, url, out } = await start();
    try {
      const res = await fetch(`${url}/healthz`);
      expect(res.status).toBe(200);
      expect(out.text).not.toContain('building dist/');
    } finally {
      child.kill('SIGTERM');
    }
    // SIGTERM to npm alone (as a supervisor sends it) reaches the service (the script execs node):
    // it shuts down gracefully and nothing is left running.
    expect(await exited(child)).toBe(0);
  });

  it('rebuilds first when a source is newer than the last build', async () => {
    writeFileSync(join(root, 'lib', 'extra.ts'), 'export const extra: number = 2;\n');
    expect(staleReason(root)).toBe('lib/extra.ts is newer than the last build');
    const { child, url, out } = await start();
    try {
      expect(out.text).toContain('building dist/: lib/extra.ts is newer than the last build');
      expect(readFileSync(join(root, 'dist', 'extra.js'), 'utf8')).toContain('extra = 2');
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    await exited(child);
    expect(staleReason(root)).toBeNull();
  });

  it('a failed build leaves dist/ stale and does not start', async () => {
    writeFileSync(join(root, 'lib', 'extra.ts'), 'export const extra: number = "not a number";\n');
    const child = spawn('npm', ['start', '--', '--port', '0'], {
      cwd: root,
      env: childEnv({ CLAW_BYTEROVER_DATA_DIR: join(home, 'data'), HOME: home }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (b: Buffer) => (text += b.toString()));
    child.stderr.on('data', (b: Buffer) => (text += b.toString()));
    expect(await exited(child)).not.toBe(0);
    expect(text).toContain('error BUILD_TS_FAILED');
    expect(text).not.toContain('bridge listening');
    expect(staleReason(root)).toMatch(/no build stamp|newer than the last build/);
  });
});
