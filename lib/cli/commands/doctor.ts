/**
 * `claw-byterover doctor`: runs lib/doctor's checks with what this run is configured with, shows
 * progress on stderr, prints the report (human or `--json`, schema docs/doctor.schema.json), and
 * exits 0 when no check failed, 7 (DOCTOR_EXIT_CHECK_FAILED) when one did.
 *
 * Where each check's input comes from:
 * - native: the loader's own search (CLAW_BYTEROVER_PREBUILD, PREBUILDS_ONLY), `--plugin <path>`;
 * - agent: `--agent <ws-url>`, token from $OPENCLAW_GATEWAY_TOKEN (as `agent connect`);
 * - claw-api: `--claw-api <url>` (else bridge.clawApi.url / $CLAW_API_URL), with the bridge's token
 *   source (bridge.clawApi.token / $CLAW_API_TOKEN, or its client credentials), audience and scopes;
 * - telemetry: `--collector <url>` or the OTEL_EXPORTER_OTLP_* variables; `--bridge <url>` for /metrics;
 * - ByteRover: the profile's credentials, exactly as every other command finds them;
 * - memory: the context tree (`--dir`, CLAW_BYTEROVER_CONTEXT_TREE, default .brv/context-tree).
 */
// Registration only: the handler and everything it loads (every check) is imported when `doctor` runs.
import type { CommandModule } from '../program.js';
import type { DoctorFlags } from './doctor-run.js';

export const doctorCommands: CommandModule = (program, rt) => {
  program
    .command('doctor')
    .description(
      'diagnose the native plugin, the agent handshake, claw-api registration, telemetry, ByteRover credentials and the context tree',
    )
    .option(
      '--plugin <path>',
      'also diagnose this plugin file the way a claw-runtime host loads it (libclaw_byterover.so)',
    )
    .option('--agent <ws-url>', 'handshake with this OpenClaw gateway (token from $OPENCLAW_GATEWAY_TOKEN)')
    .option(
      '--claw-api <url>',
      'try node registration at this claw-api (default $CLAW_API_URL; token from $CLAW_API_TOKEN)',
    )
    .option(
      '--collector <url>',
      'send a test export to this OTLP/HTTP metrics endpoint (default: OTEL_EXPORTER_OTLP_* variables)',
    )
    .option('--bridge <url>', 'check the /metrics endpoint of the bridge running at this URL')
    .option('--dir <path>', 'context tree to check (default: .brv/context-tree)')
    .option(
      '--require-cloud',
      'fail (not skip) when no ByteRover credentials are configured: for machines that must pull, push and sync',
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 no check failed (warnings allowed), 7 at least one check failed; usage and config errors as for every command.\nDocs: docs/readme/doctor.md',
    )
    .action(
      rt.action<DoctorFlags>(
        async (ctx, flags) => (await import('./doctor-run.js')).doctor(ctx, flags),
        [{ option: 'dir', path: 'contextTree', flag: '--dir' }],
      ),
    );
};
