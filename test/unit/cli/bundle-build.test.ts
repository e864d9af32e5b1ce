/**
 * scripts/build-ts.mjs's bundleCli on small dist/ trees of its own: what it writes (the banner with
 * the bundle's sha-256, `import.meta.url` still naming the original file, packages required by name),
 * and what it refuses with a message naming the file: a literal `import()` of a package (its ES build
 * beside the CommonJS one), an `import()` it cannot follow, and a character that is not ASCII.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleCli } from '../../../scripts/build-ts.mjs';
import { loadBundle } from '../../../lib/cli/code-cache.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
let work: string;
let n = 0;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'claw-bundle-build-'));
});
afterAll(async () => rm(work, { recursive: true, force: true }));

/** A package root whose dist/ holds `files` (dist/cli/entry.js among them), with the repo's node_modules. */
async function project(files: Record<string, string>): Promise<string> {
  const root = join(work, `p${++n}`);
  await mkdir(join(root, 'dist', 'cli'), { recursive: true });
  await writeFile(join(root, 'package.json'), '{ "type": "module" }\n');
  await symlink(join(repo, 'node_modules'), join(root, 'node_modules'));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, 'dist', name)), { recursive: true });
    await writeFile(join(root, 'dist', name), text);
  }
  return root;
}

describe('bundling the CLI (scripts/build-ts.mjs bundleCli)', () => {
  it('writes one CommonJS file: the banner with its sha-256, import.meta.url of the original file, packages by name', async () => {
    const root = await project({
      'cli/entry.js': [
        "import { where } from '../memory/where.js';",
        "export const start = () => ({ where: where(), yaml: typeof (require('yaml').parse), strict: strict() });",
        'function strict() { return this === undefined; }',
      ].join('\n'),
      'memory/where.js': [
        '#!/usr/bin/env node', // as tsc keeps it (lib/cli/index.ts has one)
        'export const where = () => [import.meta.url, "import.meta.url", new URL(".", import.meta.url).href];',
        "export const later = () => import('./later.js');",
      ].join('\n'),
      'memory/later.js': 'export const x = 1;',
    });
    const out = await bundleCli(root);
    expect(out).toBe(join(root, 'dist', 'cli', 'cli.cjs'));
    const text = await readFile(out, 'latin1');
    const hash = /^\/\* claw-byterover cli bundle ([0-9a-f]{64}) \*\//.exec(text)?.[1];
    expect(hash).toBeDefined();
    expect(
      createHash('sha256')
        .update(text.replace(hash!, '0'.repeat(64)))
        .digest('hex'),
    ).toBe(hash);
    expect(text).toMatch(/^\/\*[^\n]*\*\/\n"use strict";/); // the directive opens the code
    expect(text).not.toMatch(/\bimport\(/); // the literal import() of ours was inlined
    const loaded = loadBundle<{ start: () => { where: string[]; yaml: string; strict: boolean } }>(out, {
      profile: 'test',
      env: { CLAW_BYTEROVER_CODE_CACHE: 'off' },
      saveAtExit: false,
    });
    expect(loaded?.exports.start()).toEqual({
      // the original file, in code only: a string that spells it is left alone
      where: [
        pathToFileURL(join(root, 'dist', 'memory', 'where.js')).href,
        'import.meta.url',
        `${pathToFileURL(join(root, 'dist', 'memory')).href}/`,
      ],
      yaml: 'function',
      strict: true, // ES modules' semantics: strict mode code
    });
  });

  it("refuses import('a package'): it would load the package's ES build beside its CommonJS one", async () => {
    const root = await project({ 'cli/entry.js': "export const start = () => import('zod');" });
    await expect(bundleCli(root)).rejects.toThrow(
      /import\('zod'\) in dist\/cli\/entry\.js: the bundle would load the package twice/,
    );
  });

  it('refuses an import() of a computed specifier (kept as it is, it would need the experimental vm loader)', async () => {
    const root = await project({
      'cli/entry.js': "export { start } from './plugins.js';",
      'cli/plugins.js': 'export const start = (spec) => import(spec);',
    });
    await expect(bundleCli(root)).rejects.toThrow(/import\(\) of a computed specifier in dist\/cli\/plugins\.js/);
  });

  it('refuses a character that is not ASCII (the loader reads the bundle as latin1); strings are escaped', async () => {
    const fine = await project({ 'cli/entry.js': "export const start = () => 'caf\u00e9 \u2014 ok';" });
    const loaded = loadBundle<{ start: () => string }>(await bundleCli(fine), {
      profile: 'test',
      env: { CLAW_BYTEROVER_CODE_CACHE: 'off' },
      saveAtExit: false,
    });
    expect(loaded?.exports.start()).toBe('caf\u00e9 \u2014 ok');
    const root = await project({ 'cli/entry.js': 'export const start = (s) => /[\u201c\u201d]/.test(s);' });
    await expect(bundleCli(root)).rejects.toThrow(/non-ASCII character/);
  });
});
