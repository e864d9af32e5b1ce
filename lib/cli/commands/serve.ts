/**
 * `claw-byterover serve` (`npm start`): runs the bridge service (lib/bridge) in the foreground on
 * the configured store (embedded SQLite in the data dir by default), with `GET /healthz` and
 * `GET /readyz` beside the routes of the parts serve-parts.ts assembles (webhooks, skill invoke,
 * the web login, /metrics; claw-api registration once listening).
 *
 * stderr: start lines (URL, store, routes, what each part does), then status lines (queue depth,
 * oldest age, dead letters, worker failures, claw-api state) at start and then
 * whenever something changed; with `--json` each is one JSON line. stdout: the command's result once it stopped.
 * SIGINT (the CLI context's signal) and SIGTERM close the bridge gracefully and exit 0.
 */
// Registration only: the bridge, its stores and telemetry are imported when `serve` runs.
import { InvalidArgumentError } from '../commander.js';
import type { ConfigFlag } from '../context.js';
import type { CommandModule } from '../program.js';
import type { ServeFlags } from './serve-run.js';

const SERVE_FLAGS: ConfigFlag[] = [
  { option: 'port', path: 'bridge.port', flag: '--port' },
  { option: 'host', path: 'bridge.host', flag: '--host' },
];

function parsePort(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new InvalidArgumentError(`expected a port number 0-65535, found "${v}"`);
  }
  return n;
}

export const serveCommands: CommandModule = (program, rt) => {
  program
    .command('serve')
    .description(
      'run the bridge service on the configured store (embedded SQLite by default): webhooks on a durable queue, skill invoke, the web login, /metrics, /healthz, /readyz, claw-api registration',
    )
    .option('--port <n>', 'port to listen on (default: bridge.port, 8787; 0 picks a free one)', parsePort)
    .option('--host <addr>', 'address to listen on (default: bridge.host, 127.0.0.1)')
    .action(rt.action<ServeFlags>(async (ctx) => (await import('./serve-run.js')).serve(ctx), SERVE_FLAGS));
};
