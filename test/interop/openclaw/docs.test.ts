/**
 * The OpenClaw install commands of the docs, run as written against the real OpenClaw.
 *
 * Every `openclaw plugins install …` line of README.md and docs/readme/openclaw.md is collected.
 * The checkout path (`npm-pack:./claw-byterover-openclaw-<version>.tgz`) is run verbatim, split into
 * arguments, in a folder holding the tarball `npm run pack:openclaw` makes (pack.ts builds the same
 * package), without a terminal (stdin is not a TTY): first install, then the same command again (a
 * reinstall). The flags are shown to be needed: the same reinstall without `--force` is refused.
 * The registry line cannot be run before the package is published; it must carry the same flags as
 * the tested line.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureOpenClaw, type OpenClawEnv } from './env.js';
import { packPlugin, type PackedPlugin } from './pack.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function installLines(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const lines: string[] = [];
  for (const block of text.matchAll(/```(?:sh|bash)\n([\s\S]*?)```/g)) {
    for (const raw of block[1]!.split('\n')) {
      const line = raw.replace(/#.*$/, '').trim();
      if (line.startsWith('openclaw plugins install ')) lines.push(line);
    }
  }
  return lines;
}

const documented = [...installLines('README.md'), ...installLines('docs/readme/openclaw.md')];
const fromCheckout = documented.filter((l) => l.includes('npm-pack:'));
const fromRegistry = documented.filter((l) => !l.includes('npm-pack:'));

describe('the documented OpenClaw install commands', () => {
  let oc: OpenClawEnv;
  let packed: PackedPlugin;
  let dir = '';

  beforeAll(async () => {
    oc = await ensureOpenClaw();
    packed = await packPlugin();
    dir = mkdtempSync(join(tmpdir(), 'claw-openclaw-docs-'));
    copyFileSync(packed.tarball, join(dir, `claw-byterover-openclaw-${packed.version}.tgz`));
  });
  afterAll(async () => {
    await oc?.cleanup();
    packed?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('both docs give the checkout and the registry command, each with --accept-capabilities and --force', () => {
    expect(fromCheckout.length).toBeGreaterThanOrEqual(2);
    expect(fromRegistry.length).toBeGreaterThanOrEqual(2);
    for (const l of documented)
      expect(l.split(/\s+/)).toEqual(expect.arrayContaining(['--accept-capabilities', '--force']));
    // One checkout command everywhere, naming the tarball of this version.
    expect(new Set(fromCheckout)).toEqual(
      new Set([
        `openclaw plugins install npm-pack:./claw-byterover-openclaw-${packed.version}.tgz --accept-capabilities --force`,
      ]),
    );
  });

  it('the checkout command installs, and reinstalls, without a terminal', async () => {
    const args = fromCheckout[0]!.split(/\s+/).slice(1);
    for (const round of ['install', 'reinstall']) {
      const r = await oc.run(args, { cwd: dir, timeoutMs: 600_000, input: '' });
      expect(r.code, `${round}:\n${r.stdout}\n${r.stderr}`).toBe(0);
    }
    const inspect = await oc.mustRun(['plugins', 'inspect', 'claw-byterover', '--json'], { timeoutMs: 300_000 });
    expect(inspect.stdout).toContain('claw-byterover');
  });

  it('without --force the reinstall is refused (why the docs give the flag)', async () => {
    const args = fromCheckout[0]!
      .split(/\s+/)
      .slice(1)
      .filter((a) => a !== '--force');
    const r = await oc.run(args, { cwd: dir, timeoutMs: 600_000, input: '' });
    expect(r.code).not.toBe(0);
  });
});
