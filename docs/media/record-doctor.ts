/**
 * Records the README's terminal session of a REAL `claw-byterover doctor` run and converts it to an
 * asciicast v2 file (docs/media/doctor.cast) plus the plain captured text (docs/media/doctor.txt).
 *
 *   node --import tsx docs/media/record-doctor.ts
 *
 * It sets up, on loopback only: a real OpenClaw gateway (test/interop/openclaw/env.ts), the claw-api
 * stand-in with a token from a real oidc-provider, a running bridge with /metrics, an OTLP receiver
 * that wants a bearer token the environment does not carry (401), the ByteRover stand-in with a
 * pulled context tree, and the plugin core compiled WITHOUT its exports. Each of the four failures
 * shows up once: the plugin (hidden exports), the handshake (doctor reaches the real gateway through
 * a proxy that rewrites the offered protocol range, test/interop/doctor/proxy.ts), the claw-api (a
 * real issuer's token allowed only `nodes:read`) and the collector (401); the bridge's /metrics,
 * ByteRover and the context tree pass. Then util-linux `script` runs the CLI in a pseudo-terminal
 * (so the progress line is live) with a timing file, and the timing + typescript are converted to
 * asciicast v2.
 * Nothing in the recording is fabricated: it is what the process wrote, byte for byte.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileScratchPlugin, ensureNativeBuilt } from '../../test/native/helpers.js';
import { startCliEnv } from '../../test/integration/cli/harness.js';
import { READER_CLIENT } from '../../test/integration/clawapi/issuer.js';
import { healthySetup, startCollector } from '../../test/integration/doctor/harness.js';
import { startRewritingProxy } from '../../test/interop/doctor/proxy.js';
import { ensureOpenClaw } from '../../test/interop/openclaw/env.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const COLS = 132;
const ROWS = 48;

/** util-linux classic timing ("<delay> <bytes>" per chunk) + typescript → asciicast v2 lines. */
export function toAsciicast(typescript: Buffer, timing: string, header: Record<string, unknown>): string {
  // The typescript starts with a "Script started on …" line that the timing file does not cover.
  let offset = typescript.indexOf(0x0a) + 1;
  let t = 0;
  const lines = [JSON.stringify(header)];
  for (const row of timing.split('\n')) {
    const m = /^(\d+(?:\.\d+)?) (\d+)$/.exec(row.trim());
    if (!m) continue;
    t += Number(m[1]);
    const n = Number(m[2]);
    const chunk = typescript.subarray(offset, offset + n).toString('utf8');
    offset += n;
    lines.push(JSON.stringify([Number(t.toFixed(6)), 'o', chunk]));
  }
  return `${lines.join('\n')}\n`;
}

/** What a reader sees at the end: carriage-return redraws and erase-line sequences applied. */
export function finalText(stream: string): string {
  const out: string[] = [];
  for (const raw of stream.replace(/\r\n/g, '\n').split('\n')) {
    let line = '';
    for (const seg of raw.split('\r')) line = seg.length >= line.length ? seg : seg + line.slice(seg.length);
    out.push(line.replace(/\x1b\[2K/g, '').replace(/\x1b\[[0-9;]*[A-Za-z]/g, ''));
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const built = await ensureNativeBuilt();
  const work = mkdtempSync(join(tmpdir(), 'doctor-recording-'));
  const plugin = compileScratchPlugin(join(work, 'libclaw_plugin.so'), { defines: ['CLAW_TEST_NO_EXPORT'] });
  const oc = await ensureOpenClaw();
  const gw = await oc.startGateway({ env: { VITEST: undefined, NODE_ENV: undefined, TEST: undefined } });
  const e = await startCliEnv();
  const setup = await healthySetup(e, built.so);
  // A collector that wants a token the environment does not carry (the exporter's header is stale).
  const collector = await startCollector('unauthorized', 'a-token-nobody-configured');
  // Between doctor and the gateway, a proxy that rewrites the node's offered range to 5–6.
  const proxy = await startRewritingProxy(gw, 5, 6);
  // A token the issuer really minted, for a client allowed only to read nodes.
  const readOnlyToken = await setup.issuer.clientCredentialsToken({ clientId: READER_CLIENT, scope: 'nodes:read' });
  const project = e.project;
  const env: Record<string, string> = {
    ...e.env,
    ...setup.env,
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20stale-collector-token',
    OPENCLAW_GATEWAY_TOKEN: gw.token,
    CLAW_API_TOKEN: readOnlyToken,
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    TERM: 'xterm-256color',
    LANG: 'C.UTF-8',
  };
  const cli = `node --import ${JSON.stringify(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs'))} ${JSON.stringify(join(ROOT, 'lib', 'cli', 'index.ts'))}`;
  const bridgeUrl = setup.args[setup.args.indexOf('--bridge') + 1] as string;
  const flags = `--plugin ./libclaw_plugin.so --agent ${proxy.url} --bridge ${bridgeUrl}`;
  const shown = `claw-byterover doctor ${flags}`;
  const cmd = [
    `stty cols ${COLS} rows ${ROWS}`,
    `cp ${JSON.stringify(plugin)} ./libclaw_plugin.so`,
    `printf '$ %s\\n' ${JSON.stringify(shown)}`,
    `${cli} doctor ${flags}`,
    `printf '\\n$ echo $?\\n%s\\n' $?`,
  ].join('; ');
  const timing = join(work, 'doctor.timing');
  const typescript = join(work, 'doctor.typescript');
  const started = Math.floor(Date.now() / 1000);
  // Asynchronously: the servers doctor talks to live in this process and must keep answering.
  const r = await new Promise<{ status: number | null }>((resolve, reject) => {
    const child = spawn('script', ['-q', '-e', '-T', timing, '-c', cmd, typescript], { cwd: project, env, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status }));
  });
  const tsBytes = readFileSync(typescript);
  const cast = toAsciicast(tsBytes, readFileSync(timing, 'utf8'), {
    version: 2,
    width: COLS,
    height: ROWS,
    timestamp: started,
    title: 'claw-byterover doctor',
    env: { TERM: 'xterm-256color', SHELL: '/bin/sh' },
  });
  for (const s of [...setup.secrets, gw.token, readOnlyToken, 'stale-collector-token']) if (cast.includes(s)) throw new Error('a secret reached the recording; not writing it');
  // A log line (pino JSON) or a stack trace in the middle of the report is a defect to fix, not to record.
  if (/\{"level":|\n\s+at \S+ \(/.test(tsBytes.toString('utf8').replace(/\r/g, ''))) throw new Error('a log line or a stack trace reached the recording; not writing it');
  writeFileSync(join(HERE, 'doctor.cast'), cast);
  const body = tsBytes.subarray(tsBytes.indexOf(0x0a) + 1).toString('utf8');
  writeFileSync(join(HERE, 'doctor.txt'), `${finalText(body.replace(/\n?Script done on .*\n?$/, '')).trimEnd()}\n`);
  process.stdout.write(`wrote docs/media/doctor.cast and docs/media/doctor.txt (exit of script: ${r.status})\n`);
  await proxy.close();
  await collector.close();
  await setup.close();
  await e.close();
  await oc.cleanup();
  rmSync(work, { recursive: true, force: true });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
}
