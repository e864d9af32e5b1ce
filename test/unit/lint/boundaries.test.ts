/**
 * The import-boundary rules of eslint.config.js, run the way `npm run lint` runs them (the eslint
 * binary, the project's config) over a scratch copy of a slice of lib/: the slice passes as it is,
 * and fails, naming the boundary rule, once a lower layer imports an upper one. The real tree is
 * never touched.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');
const eslintBin = join(root, 'node_modules/eslint/bin/eslint.js');
const RULE = '@typescript-eslint/no-restricted-imports';

interface Finding {
  file: string;
  ruleId: string | null;
  message: string;
}

let scratch: string;

/** Runs the eslint binary in the scratch tree; resolves with its exit code and findings. */
async function lint(...paths: string[]): Promise<{ code: number; findings: Finding[] }> {
  try {
    const { stdout } = await run(process.execPath, [eslintBin, '--format', 'json', ...paths], { cwd: scratch });
    return { code: 0, findings: parse(stdout) };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    if (typeof err.code !== 'number' || !err.stdout)
      throw new Error(`eslint did not run: ${err.stderr ?? String(e)}`, { cause: e });
    return { code: err.code, findings: parse(err.stdout) };
  }
}

function parse(stdout: string): Finding[] {
  const results = JSON.parse(stdout) as { filePath: string; messages: { ruleId: string | null; message: string }[] }[];
  return results.flatMap((r) => r.messages.map((m) => ({ file: r.filePath.slice(scratch.length + 1), ...m })));
}

/**
 * Prepends `line` (importing `name`) to a file of the scratch tree, with a use of `name` so that
 * the boundary rule is the only one to object; returns a function that restores the file.
 */
async function addImport(file: string, line: string, name: string): Promise<() => Promise<void>> {
  const path = join(scratch, file);
  const before = await readFile(path, 'utf8');
  const use = line.startsWith('import type')
    ? `export type Use${name} = ${name};`
    : `export const use${name} = ${name};`;
  await writeFile(path, `${line}\n${before}\n${use}\n`);
  return () => writeFile(path, before);
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'claw-lint-'));
  await cp(join(root, 'eslint.config.js'), join(scratch, 'eslint.config.js'));
  await cp(join(root, 'package.json'), join(scratch, 'package.json'));
  // The slice: the transport and what it stands on, the ByteRover API above it, and the telemetry
  // module that may know the ByteRover event types (lint only parses: unresolved imports are fine).
  for (const p of ['lib/errors.ts', 'lib/version.ts', 'lib/log', 'lib/http', 'lib/byterover/index.ts']) {
    await cp(join(root, p), join(scratch, p), { recursive: true });
  }
  await mkdir(join(scratch, 'lib/telemetry'));
  await writeFile(join(scratch, 'lib/telemetry/labels.ts'), "export const unit = 'ms';\n");
  await symlink(join(root, 'node_modules'), join(scratch, 'node_modules'), 'dir');
});

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('npm run lint: import boundaries (shared/design.md layering)', () => {
  it('passes on the slice as it is, and fails on an upward import (http/ importing byterover/)', async () => {
    const clean = await lint('lib');
    expect(clean.findings).toEqual([]);
    expect(clean.code).toBe(0);

    const restore = await addImport(
      'lib/http/retry.ts',
      "import { createByteRoverClient } from '../byterover/index.js';",
      'createByteRoverClient',
    );
    try {
      const broken = await lint('lib');
      expect(broken.code).toBe(1);
      expect(broken.findings).toHaveLength(1);
      expect(broken.findings[0]).toMatchObject({ file: 'lib/http/retry.ts', ruleId: RULE });
      expect(broken.findings[0]!.message).toMatch(/lower layer never imports an upper one/);
    } finally {
      await restore();
    }
    expect((await lint('lib')).code).toBe(0);
  });

  it('keeps native.ts behind memory/ and the faces that need it; telemetry/ may import types only', async () => {
    const restores = [
      await addImport('lib/byterover/index.ts', "import { loadNative } from '../native.js';", 'loadNative'),
      await addImport('lib/telemetry/labels.ts', "import type { Snapshot } from '../byterover/index.js';", 'Snapshot'),
    ];
    try {
      const r = await lint('lib');
      expect(r.findings.map((f) => [f.file, f.ruleId])).toEqual([['lib/byterover/index.ts', RULE]]);
      expect(r.findings[0]!.message).toMatch(/native\.ts is reached only through memory\//);

      restores.push(
        await addImport(
          'lib/telemetry/labels.ts',
          "import { pushSnapshot } from '../byterover/index.js';",
          'pushSnapshot',
        ),
      );
      const r2 = await lint('lib/telemetry');
      expect(r2.findings.map((f) => [f.file, f.ruleId])).toEqual([['lib/telemetry/labels.ts', RULE]]);
      expect(r2.findings[0]!.message).toMatch(/may import their types only/);
    } finally {
      for (const restore of restores.reverse()) await restore();
    }
  });
});
