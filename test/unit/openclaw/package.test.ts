/**
 * The plugin package (scripts/openclaw-package.mjs) staged from dist/: it declares exactly the bare
 * packages its files import — none of the CLI/bridge/telemetry server dependencies — ships the
 * lazily loaded modules (the native binding, the snapshot worker), keeps the card's layout, and its
 * entry loads with only those dependencies resolvable.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, stagePluginPackage } from '../../../scripts/openclaw-package.mjs';

const out = mkdtempSync(join(tmpdir(), 'claw-openclaw-package-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('claw-byterover-openclaw', () => {
  it('declares only what the plugin imports and ships what it loads lazily', () => {
    const staged = stagePluginPackage({ out: join(out, 'package') });
    const main = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const deps = Object.keys(staged.dependencies);
    for (const server of ['bullmq', 'pg', 'ioredis', 'better-sqlite3', 'commander', 'ws', '@opentelemetry/api'])
      expect(deps, server).not.toContain(server);
    // Required lazily (lib/log: pino on the first line written; lib/memory: yaml), still declared.
    for (const lazy of ['pino', 'yaml']) expect(deps, lazy).toContain(lazy);
    for (const d of deps) expect(staged.dependencies[d], d).toBe(main.dependencies[d]);
    expect(deps.length).toBeLessThan(Object.keys(main.dependencies).length);
    for (const f of ['dist/openclaw/index.js', 'dist/native.js', 'dist/byterover/snapshot-worker.js'])
      expect(staged.files, f).toContain(f);
    expect(
      staged.files.filter((f) =>
        /^dist\/(bridge\/store|cli)\/|^dist\/telemetry\/(telemetry|otlp|prometheus)\.js$/.test(f),
      ),
    ).toEqual([]);
    for (const f of ['openclaw.plugin.json', 'skills/byterover/SKILL.md', 'README.md', 'package.json'])
      expect(existsSync(join(staged.stage, f)), f).toBe(true);
    // The staged manifest is the root one: no `kind`, so `openclaw plugins install` never takes the
    // context-engine slot (plugin.test.ts, test/interop/openclaw/slot.test.ts).
    const manifest = JSON.parse(readFileSync(join(staged.stage, 'openclaw.plugin.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(manifest).toEqual(JSON.parse(readFileSync(join(ROOT, 'openclaw.plugin.json'), 'utf8')));
    expect(manifest.kind).toBeUndefined();
    expect(staged.pkg).toMatchObject({ name: 'claw-byterover-openclaw', type: 'module' });
    expect((staged.pkg.openclaw as { extensions: string[] }).extensions).toEqual(['./dist/openclaw/index.js']);

    // The entry loads with only the declared packages resolvable.
    mkdirSync(join(staged.stage, 'node_modules'), { recursive: true });
    for (const d of deps) {
      const parts = d.split('/');
      if (parts.length > 1) mkdirSync(join(staged.stage, 'node_modules', parts[0]!), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules', d), join(staged.stage, 'node_modules', d));
    }
    const r = spawnSync(
      process.execPath,
      [
        '-e',
        `import(${JSON.stringify(join(staged.stage, 'dist/openclaw/index.js'))}).then((m) => console.log(typeof m.default.register))`,
      ],
      { cwd: out, encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('function');
  });
});
