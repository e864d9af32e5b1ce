/**
 * The process timings of bench/open.ts, run from a small process of their own: the bench process
 * grows to hundreds of MiB (generated notes, in-process opens), and spawning from it adds time to
 * every child, the bare `node -e 0` included, which flatters a ratio. Measured here: a 300 MiB
 * parent added ~2.3 ms per spawn and GNU time's wrapper ~1.6 ms, turning a 4.34× pair into 3.73×.
 * So wall times are of unwrapped children spawned from here; CPU times (GNU time, when installed)
 * come from separate runs.
 *
 * Input (stdin, JSON): { jobs: Job[] }. Output (stdout, JSON): one Result per job, in order.
 * A job alternates `runs` times between `node -e 0` and `node <args>`, then `cpuRuns` more of each
 * under GNU time; a `once` job runs each once, under GNU time (a first run that builds and saves).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

interface Job {
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  runs: number;
  cpuRuns: number;
  /** One run of each, under GNU time, wall and CPU from that run (a command that must run once). */
  once?: boolean;
}

interface Result {
  ms: number;
  baseMs: number;
  cpuMs: number;
  baseCpuMs: number;
}

const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Wall time (ms) of one unwrapped child; throws when it fails. */
function wall(args: string[], job: Job): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: job.cwd, env: job.env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0)
    throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr.toString().slice(0, 500)}`);
  return ms;
}

/** CPU time (user + system, ms) of one child under GNU time (NaN without it), and its wall time. */
function cpu(args: string[], job: Job): { cpuMs: number; ms: number } {
  if (!GNU_TIME) return { cpuMs: NaN, ms: wall(args, job) };
  const t0 = process.hrtime.bigint();
  const r = spawnSync(GNU_TIME, ['-f', 'CLAWCPU %U %S', process.execPath, ...args], {
    cwd: job.cwd,
    env: job.env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0)
    throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr.toString().slice(0, 500)}`);
  const m = /CLAWCPU ([\d.]+) ([\d.]+)/.exec(r.stderr.toString());
  return { cpuMs: m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN, ms };
}

function run(job: Job): Result {
  if (job.once) {
    const base = cpu(['-e', '0'], job);
    const cmd = cpu(job.args, job);
    return { ms: cmd.ms, baseMs: base.ms, cpuMs: cmd.cpuMs, baseCpuMs: base.cpuMs };
  }
  const base: number[] = [];
  const cmd: number[] = [];
  for (let i = 0; i < job.runs; i++) {
    base.push(wall(['-e', '0'], job));
    cmd.push(wall(job.args, job));
  }
  const baseCpu: number[] = [];
  const cmdCpu: number[] = [];
  for (let i = 0; i < job.cpuRuns; i++) {
    baseCpu.push(cpu(['-e', '0'], job).cpuMs);
    cmdCpu.push(cpu(job.args, job).cpuMs);
  }
  return { ms: median(cmd), baseMs: median(base), cpuMs: median(cmdCpu), baseCpuMs: median(baseCpu) };
}

const { jobs } = JSON.parse(readFileSync(0, 'utf8')) as { jobs: Job[] };
process.stdout.write(JSON.stringify(jobs.map(run)));
