/**
 * Unusable data dirs fail at once with CLI_DATA_DIR_UNUSABLE (exit 6), naming the dir and what was
 * found, for `serve` and for the commands that keep credentials there (`whoami`, `login --api-key`):
 * under /proc (before: `serve` spun forever at ~40% CPU and ignored SIGINT/SIGTERM), a file (before:
 * a raw EEXIST from the store), a directory we may not write to (run as `nobody`, since root writes
 * anywhere). Each run is a real child process; none may hang.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ENTRY, startCliEnv, TSX_LOADER, type CliEnv } from './harness.js';

let e: CliEnv;
let scratch = '';
beforeAll(async () => {
  e = await startCliEnv();
  scratch = mkdtempSync(join(tmpdir(), 'claw-data-dir-'));
  chmodSync(scratch, 0o755);
});
afterAll(async () => {
  await e?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const cases: Array<{ name: string; dir: () => string; found: RegExp }> = [
  { name: 'under /proc', dir: () => '/proc/claw-byterover-data', found: /on procfs/ },
  {
    name: 'a file',
    dir: () => {
      const f = join(scratch, 'a-file');
      writeFileSync(f, 'x');
      return f;
    },
    found: /found a file$/m,
  },
  {
    name: 'below a file',
    dir: () => join(scratch, 'a-file', 'data'),
    found: /a file in the way/,
  },
];

describe('unusable data dir', () => {
  // serve and two credential commands, spread over the cases (each run is a process: kept lean).
  const runs: Array<[number, string[]]> = [
    [0, ['serve', '--port', '0']],
    [0, ['whoami']],
    [1, ['serve', '--port', '0']],
    [1, ['login', '--api-key', 'brv-test-key-0000']],
    [2, ['whoami']],
  ];
  for (const [i, argv] of runs) {
    const c = cases[i]!;
    it(`${argv[0]} with a data dir ${c.name}: exit 6, CLI_DATA_DIR_UNUSABLE, the dir named`, async () => {
      const dir = c.dir();
      const r = await e.spawnCli(argv, { env: { CLAW_BYTEROVER_DATA_DIR: dir } });
      expect(r.code, r.err).toBe(6);
      expect(r.err).toContain('CLI_DATA_DIR_UNUSABLE');
      expect(r.err).toContain(dir);
      expect(r.err).toMatch(c.found);
      expect(r.err).toContain('CLAW_BYTEROVER_DATA_DIR');
    });
  }

  it('serve with a directory it may not write to (as nobody): exit 6', async () => {
    const ro = join(scratch, 'read-only');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    const child = spawn(process.execPath, ['--import', TSX_LOADER, CLI_ENTRY, 'serve', '--port', '0'], {
      cwd: scratch,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: scratch, CLAW_BYTEROVER_DATA_DIR: join(ro, 'data') },
      uid: 65534,
      gid: 65534,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(code, err).toBe(6);
    expect(err).toContain('CLI_DATA_DIR_UNUSABLE');
    expect(err).toContain('a directory we may not write to');
  });
});
