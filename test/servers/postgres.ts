/**
 * A REAL PostgreSQL server for tests: Debian's `postgresql` (15), a fresh cluster made by `initdb` in a
 * temp dir, started by `pg_ctl` on 127.0.0.1 at a random free port (Unix socket in the same temp dir),
 * trust auth for loopback, `fsync` on (the store's durability claims are tested against a real one).
 * Torn down by `close()` (`pg_ctl stop -m fast`, temp dir removed) and, as a last resort, on process exit.
 *
 * PostgreSQL refuses to run as root, and CI runs as root: then the cluster belongs to the `postgres`
 * system user the Debian package creates, and initdb/pg_ctl run under its uid/gid.
 *
 * Tests skip locally (and fail in CI) through `postgresMissing()`.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { missingTools } from '../helpers/tools.js';

export const POSTGRES_INSTALL = 'apt-get install -y postgresql';

/** The directory holding initdb/pg_ctl: a Debian versioned dir (newest first), else PATH. */
export function pgBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => /^\d+$/.test(v) && existsSync(join(base, v, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], 'bin');
  }
  try {
    const onPath = execFileSync('sh', ['-c', 'command -v pg_ctl'], { encoding: 'utf8' }).trim();
    if (onPath && existsSync(join(onPath, '..', 'initdb'))) return join(onPath, '..');
  } catch {
    /* not on PATH */
  }
  return undefined;
}

/** Undefined when PostgreSQL can be started here; else the skip reason (throws in CI). */
export function postgresMissing(): string | undefined {
  if (pgBinDir()) return undefined;
  return missingTools(['pg_ctl', 'initdb'], POSTGRES_INSTALL);
}

export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string;
  /** A fresh database (CREATE DATABASE) and its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Runs one SQL statement through psql (for setup/inspection). */
  psql(sql: string, db?: string): string;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

interface RunAs {
  uid?: number;
  gid?: number;
}

function systemUser(name: string): Required<RunAs> | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = pgBinDir();
  if (!bin) throw new Error(`PostgreSQL not found: ${POSTGRES_INSTALL}`);
  const root = mkdtempSync(join(tmpdir(), 'claw-pg-'));
  const data = join(root, 'data');
  let runAs: RunAs = {};
  if (userInfo().uid === 0) {
    const pg = systemUser('postgres');
    if (!pg)
      throw new Error(
        'running as root and no `postgres` system user exists: install postgresql (it creates the user) or run as a non-root user',
      );
    runAs = pg;
    chownSync(root, pg.uid, pg.gid);
  }
  chmodSync(root, 0o700);
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C' };
  const run = (cmd: string, args: string[]): void => {
    const r = spawnSync(join(bin, cmd), args, { ...runAs, env, encoding: 'utf8', cwd: root });
    if (r.status !== 0)
      throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
  };
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);

  let port = 0;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    const opts = `-k ${root} -c listen_addresses=127.0.0.1 -p ${port} -c fsync=on -c max_connections=200 -c shared_buffers=64MB`;
    const r = spawnSync(
      join(bin, 'pg_ctl'),
      ['-D', data, '-l', join(root, 'log'), '-o', opts, '-w', '-t', '60', 'start'],
      {
        ...runAs,
        env,
        encoding: 'utf8',
        cwd: root,
      },
    );
    if (r.status === 0) break;
    const log = existsSync(join(root, 'log')) ? readFileSync(join(root, 'log'), 'utf8') : '';
    if (attempt < 3 && /could not bind|already in use/i.test(log)) continue;
    rmSync(root, { recursive: true, force: true });
    throw new Error(`pg_ctl start failed (${r.status ?? r.signal}): ${r.stderr}\n${log}`);
  }

  let closed = false;
  const stopSync = (): void => {
    if (closed) return;
    closed = true;
    spawnSync(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], { ...runAs, env, cwd: root });
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', stopSync);

  const host = '127.0.0.1';
  const psql = (sql: string, db = 'postgres'): string => {
    const r = spawnSync(
      join(bin, 'psql'),
      [
        '-h',
        host,
        '-p',
        String(port),
        '-U',
        'postgres',
        '-d',
        db,
        '-X',
        '-q',
        '-A',
        '-t',
        '-v',
        'ON_ERROR_STOP=1',
        '-c',
        sql,
      ],
      {
        env,
        encoding: 'utf8',
      },
    );
    if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  let dbCounter = 0;
  return {
    host,
    port,
    url: `postgres://postgres@${host}:${port}/postgres`,
    psql,
    async createDatabase(name?: string) {
      const db = name ?? `t_${process.pid}_${++dbCounter}`;
      psql(`CREATE DATABASE "${db}"`);
      return `postgres://postgres@${host}:${port}/${db}`;
    },
    async close() {
      if (closed) return;
      closed = true;
      process.removeListener('exit', stopSync);
      await new Promise<void>((resolve) => {
        const p = spawn(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop'], {
          ...runAs,
          env,
          cwd: root,
          stdio: 'ignore',
        });
        p.on('exit', () => resolve());
        p.on('error', () => resolve());
      });
      rmSync(root, { recursive: true, force: true });
    },
  };
}
