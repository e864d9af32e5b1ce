/**
 * The package as a library, from the packed tarball: `npm pack`, installed with --ignore-scripts into
 * a fresh project under this Node (20), then
 * - `import { … } from 'claw-byterover'` works at runtime (and `claw-byterover/native`);
 * - a consumer .ts file type-checks with tsc (strict, NodeNext) against the shipped declarations, and
 *   a file that misuses the API is refused (so the declarations are really there, not `any`);
 * - README "Use as a library"'s example, extracted from the README, compiles and runs: it curates,
 *   searches and recalls in a fresh project, and pulls/pushes with the ByteRover stand-in.
 * The native addon is the repository's build (CLAW_BYTEROVER_PREBUILD=<repo>): an --ignore-scripts
 * install compiles nothing and the repository ships no prebuild. Node 22/24/26:
 * test/interop/package/library-matrix.test.ts.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureNativeBuilt } from '../../native/helpers.js';
import { DEFAULT_SESSION_KEY, startByteRoverStandin, type ByteRoverStandin } from '../../standin/byterover.js';
import {
  CONSUMER_TS,
  MISUSE_TS,
  expectedImport,
  importReport,
  packAndInstall,
  readmeExample,
  runExample,
  tsc,
  type Consumer,
} from './consumer.js';
import { hangGuard } from '../../helpers/timeout.js';

const NODE = process.execPath;
let c: Consumer;
let standin: ByteRoverStandin;

beforeAll(async () => {
  await ensureNativeBuilt();
  c = packAndInstall('claw-library-');
  standin = await startByteRoverStandin();
}, hangGuard(600_000));
afterAll(async () => {
  await standin?.close();
  if (c) rmSync(c.scratch, { recursive: true, force: true });
});

describe('claw-byterover from the packed tarball (--ignore-scripts, Node 20)', () => {
  it('imports at runtime: the library face and the native facade', () => {
    expect(importReport(NODE, c)).toEqual({ ...expectedImport(), node: process.versions.node });
  });

  it('a consumer .ts type-checks against the shipped declarations; a misuse is refused', () => {
    const ok = tsc(NODE, c, 'consumer.ts', CONSUMER_TS);
    expect(ok.out + ok.err).toBe('');
    expect(ok.code).toBe(0);
    const bad = tsc(NODE, c, 'misuse.ts', MISUSE_TS);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/misuse\.ts\(3,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
  });

  it('the README example compiles with tsc and runs: curate, search, recall, then pull and push with ByteRover', async () => {
    const built = tsc(NODE, c, 'example.ts', readmeExample(), false);
    expect(built.out + built.err).toBe('');
    const team = standin.addTeam({ name: 'acme' });
    const space = standin.addSpace(team.id, { name: 'handbook' });
    const project = join(c.scratch, 'project');
    mkdirSync(project);
    const lines = await runExample(NODE, c, project, { ...standin.env(), BYTEROVER_API_KEY: DEFAULT_SESSION_KEY });
    expect(lines[0]).toMatch(/^curated release-day\.md, best hit release-day\.md, [1-9]\d* chars recalled$/);
    expect(lines[1]).toBe('pulled 0, pushed 1 to handbook');
    expect([...standin.files(team.id, space.id).keys()]).toEqual(['/release-day.md']);
  });
});
