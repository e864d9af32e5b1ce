/**
 * `claw-byterover agent connect <ws-url>`: joins an OpenClaw gateway as a node (lib/agent) and serves
 * `byterover.search`, `byterover.recall` and `byterover.curate` from the local context tree until
 * Ctrl-C. `--once` handshakes, reports and disconnects (a connectivity check); `--debug-handshake`
 * prints each handshake frame on stderr with the gateway token and the device signature redacted.
 */
import type { ConnectedInfo } from '../../agent/index.js';
import { ClawError } from '../../errors.js';
import { registerSecret } from '../../log/redact.js';
import { ExitCode } from '../exit.js';
import type { CommandContext } from '../context.js';
import type { CommandModule, CommandResult } from '../program.js';
import { CliErrorCode } from '../errors.js';

interface ConnectFlags extends Record<string, unknown> {
  token?: string;
  dir?: string;
  displayName?: string;
  once?: boolean;
  waitForApproval?: boolean;
  connectTimeout?: string;
  debugHandshake?: boolean;
}

function positiveInt(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new ClawError(
      CliErrorCode.INVALID_ARGUMENT,
      `Expected ${flag} to be a whole number of milliseconds, found ${JSON.stringify(value)}.`,
      {
        hint: `Example: ${flag} 60000`,
        exitCode: ExitCode.USAGE,
      },
    );
  }
  return n;
}

function describe(info: ConnectedInfo): Record<string, unknown> {
  return { deviceId: info.deviceId, gatewayVersion: info.gatewayVersion, protocol: info.protocol, connId: info.connId };
}

async function connect(ctx: CommandContext, opts: ConnectFlags, args: string[]): Promise<CommandResult> {
  const url = args[0] ?? '';
  const token = opts.token ?? ctx.io.env.OPENCLAW_GATEWAY_TOKEN ?? undefined;
  registerSecret(token);
  const connectTimeoutMs = positiveInt(opts.connectTimeout, '--connect-timeout', 60_000);
  // Loaded here, not at the top: the other commands never load the agent link or telemetry.
  const [{ AgentLink, redactFrame }, { resolveDataDir }, { openMemory }, { createTelemetry }, { treeLocation }] =
    await Promise.all([
      import('../../agent/index.js'),
      import('../../byterover/auth/paths.js'),
      import('../../memory/open.js'),
      import('../../telemetry/index.js'),
      import('../tree.js'),
    ]);
  const { config, sources } = await ctx.config();
  const logger = await ctx.logger();
  // Handshakes by result and recall latency, exported over OTLP when OTEL_EXPORTER_OTLP_* is set
  // (no /metrics here: this process serves no HTTP). Shut down last, so the final export has them.
  const telemetry = createTelemetry({ config: config.telemetry, env: ctx.io.env, logger });
  ctx.onCleanup(() => telemetry.shutdown());
  const { treeRoot, projectRoot, stateDir } = await treeLocation(ctx);
  // The tree goes to the opener as `dir` only when configured: a folder bound to a ByteRover v4 space
  // then serves the space (lib/memory/open.ts resolveMemory).
  const treeConfigured = sources.contextTree !== undefined && sources.contextTree !== 'default';
  const { dataDir: byteroverDataDir } = await import('../../memory/v4/space.js');
  const { backend: memory } = await openMemory({
    projectRoot,
    ...(treeConfigured ? { dir: treeRoot, stateDir } : {}),
    dataDir: byteroverDataDir({ env: ctx.io.env }),
    logger,
    watch: !opts.once,
    onRecall: telemetry.recordRecall,
  });
  ctx.onCleanup(() => memory.close());

  const link = new AgentLink({
    url,
    ...(token ? { token } : {}),
    memory,
    dataDir: config.dataDir ?? resolveDataDir(ctx.io.env),
    ...(opts.displayName ? { displayName: opts.displayName } : {}),
    connectTimeoutMs,
    waitForApproval: opts.waitForApproval === true,
    logger,
    onHandshake: telemetry.recordHandshake,
    ...(opts.debugHandshake
      ? {
          onHandshakeFrame: (dir, frame, phase) =>
            ctx.out.note(
              `handshake ${dir === 'sent' ? '→' : '←'} [${phase}] ${JSON.stringify(redactFrame(frame, 12))}`,
            ),
        }
      : {}),
  });
  ctx.onCleanup(() => link.stop());
  const served = { ok: 0, failed: 0 };
  let reconnects = 0; // successful reconnects
  link.on('invoke', (e) => {
    if (e.ok) served.ok++;
    else served.failed++;
    if (!opts.once) ctx.out.note(`invoke ${e.command}: ${e.ok ? 'ok' : `failed (${e.errorCode})`}`);
  });
  link.on('pairing', (e) => ctx.out.note(`waiting for pairing approval: ${e.hint ?? e.message}`));
  link.on('reconnecting', (r) => {
    ctx.out.note(
      `reconnecting in ${r.delayMs} ms (attempt ${r.attempt})${r.error ? `: ${r.error.code} ${r.error.message}` : r.close ? `: connection closed (code ${r.close.code}${r.close.reason ? ` ${r.close.reason}` : ''})` : ''}`,
    );
  });
  link.on('connected', (info) => {
    if (info.connection > 1) {
      reconnects++;
      ctx.out.note(`reconnected to OpenClaw gateway ${info.gatewayVersion} (protocol ${info.protocol})`);
    }
  });

  const first = await link.start();
  const identity = await link.identity();
  const summary = { url: link.url, ...describe(first), identityFile: identity.path, treeRoot };
  if (opts.once) {
    await link.stop();
    return {
      data: { ...summary, once: true },
      human: [
        `Connected to OpenClaw gateway ${first.gatewayVersion} at ${link.url} as node ${first.deviceId} (protocol ${first.protocol}), then disconnected (--once).`,
        `To invoke its commands, approve the node's command surface on the gateway host: \`openclaw nodes pending\`, then \`openclaw nodes approve <requestId>\`.`,
      ],
    };
  }

  ctx.out.note(
    `Connected to OpenClaw gateway ${first.gatewayVersion} at ${link.url} as node ${first.deviceId} (protocol ${first.protocol}); serving byterover.search, byterover.recall, byterover.curate from ${treeRoot}. Ctrl-C to stop.`,
  );
  ctx.out.note(
    'First time? On the gateway host approve the commands (`openclaw nodes pending`, `openclaw nodes approve <requestId>`) and allow them in gateway.nodes.commands.allow; see docs/readme/agent.md.',
  );
  const stopped = new Promise<undefined>((resolve) => {
    if (ctx.signal.aborted) resolve(undefined);
    ctx.signal.addEventListener('abort', () => resolve(undefined), { once: true });
  });
  const failure = await Promise.race([link.done, stopped]);
  await link.stop();
  if (failure) throw failure;
  return {
    data: { ...summary, stopped: true, invokes: served, reconnects },
    human: `Disconnected from the gateway: served ${served.ok} invoke(s) (${served.failed} failed), ${reconnects} reconnect(s).`,
  };
}

export const agentCommands: CommandModule = (program, rt) => {
  const agent = program
    .command('agent')
    .description('the claw-agent link: join an OpenClaw gateway as a node serving ByteRover memory');
  agent
    .command('connect')
    .description('connect to an OpenClaw gateway as a node and serve byterover.search/recall/curate until Ctrl-C')
    .argument('<ws-url>', 'gateway WebSocket URL, e.g. ws://127.0.0.1:18789')
    .option('--token <token>', 'gateway token (gateway.auth.token); default $OPENCLAW_GATEWAY_TOKEN')
    .option('--dir <path>', 'context tree to serve (default: .brv/context-tree)')
    .option('--display-name <name>', 'name shown in `openclaw nodes list` (default claw-byterover@<hostname>)')
    .option('--once', 'handshake, report and disconnect (connectivity check)', false)
    .option('--wait-for-approval', 'keep retrying while the device waits for pairing approval', false)
    .option(
      '--connect-timeout <ms>',
      'give up on the first connection after this long (default 60000; 0 = one attempt)',
    )
    .option('--debug-handshake', 'print each handshake frame on stderr (gateway token and signature redacted)', false)
    .action(rt.action(connect, [{ option: 'dir', path: 'contextTree', flag: '--dir' }]));
};
