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
// The doctor command's handler, loaded by doctor.ts only when `doctor` runs.
import { resolveDataDir } from '../../byterover/auth/index.js';
import { createByteRoverClient } from '../../byterover/index.js';
import { CLAW_API_ENV, ClawApiConfigSchema, tokenSourceFromConfig, type ClawApiConfig } from '../../clawapi/index.js';
import { createHttpClient, type HttpClient } from '../../http/index.js';
import { ClawError } from '../../errors.js';
import { redactString, registerSecret, safeUrl } from '../../log/redact.js';
import { packageVersion } from '../../version.js';
import {
  progressReporter,
  recordingHttp,
  renderReport,
  runDoctor,
  type ByteRoverCheckOptions,
  type ClawApiCheckOptions,
  type MemoryCheckOptions,
  type Unavailable,
} from '../../doctor/index.js';
import { ExitCode } from '../exit.js';
import type { CommandContext } from '../context.js';
import type { CommandResult } from '../program.js';
import { services } from '../services.js';
import { treeLocation } from '../tree.js';
import { CliErrorCode } from '../errors.js';

export interface DoctorFlags extends Record<string, unknown> {
  plugin?: string;
  agent?: string;
  clawApi?: string;
  collector?: string;
  bridge?: string;
  dir?: string;
  /** --require-cloud: missing ByteRover credentials fail instead of skipping. */
  requireCloud?: boolean;
}

/**
 * The claw-api settings the bridge registers with: the composed `bridge.clawApi` config when the
 * configuration has it, with the CLAW_API_* variables on top (as the bridge reads them).
 */
function clawApiSettings(composed: unknown, env: NodeJS.ProcessEnv): { config?: ClawApiConfig; error?: unknown } {
  const input: Record<string, unknown> =
    composed && typeof composed === 'object' ? { ...(composed as Record<string, unknown>) } : {};
  for (const v of CLAW_API_ENV) {
    const raw = env[v.name];
    if (raw === undefined || raw === '') continue;
    input[v.path] =
      v.path === 'scopes' ? raw.split(/[\s,]+/).filter(Boolean) : v.path === 'heartbeatSeconds' ? Number(raw) : raw;
  }
  const parsed = ClawApiConfigSchema.safeParse(input);
  return parsed.success ? { config: parsed.data } : { error: parsed.error };
}

function clawApiPart(
  composed: unknown,
  env: NodeJS.ProcessEnv,
  url: string | undefined,
  http: HttpClient,
): ClawApiCheckOptions {
  const { config } = clawApiSettings({ ...(composed as object), ...(url ? { url } : {}) }, env);
  const target = url ?? config?.url;
  if (!target) return { http };
  if (!config) return { http, url: target };
  let token: ClawApiCheckOptions['token'];
  let tokenSource: string | undefined;
  try {
    const source = tokenSourceFromConfig(config, http);
    token = () => source.token();
    tokenSource =
      config.token !== undefined
        ? env.CLAW_API_TOKEN
          ? 'env CLAW_API_TOKEN'
          : 'bridge.clawApi.token'
        : `client credentials (${config.clientId ?? '?'} at ${config.issuer ?? '?'})`;
  } catch {
    token = undefined;
  }
  return {
    http,
    url: target,
    ...(token ? { token } : {}),
    ...(tokenSource ? { tokenSource } : {}),
    ...(config.audience ? { audience: config.audience } : {}),
    requiredScopes: config.scopes,
  };
}

async function byteRoverPart(ctx: CommandContext, requireCloud: boolean): Promise<ByteRoverCheckOptions | Unavailable> {
  try {
    const { config, profile } = await ctx.config();
    const s = await services(ctx);
    const http = recordingHttp(s.http);
    const client = createByteRoverClient({
      http,
      session: s.session,
      config: config.byterover,
      logger: await ctx.logger(),
    });
    return {
      profile,
      credentialSource: s.credentialSource,
      describeCredential: () => s.describeCredential(),
      me: () => client.me({ signal: ctx.signal }),
      http,
      iamBaseUrl: config.byterover.iamBaseUrl,
      requireCloud,
    };
  } catch (e) {
    return { unavailable: e };
  }
}

async function memoryPart(ctx: CommandContext): Promise<MemoryCheckOptions | Unavailable> {
  try {
    const { config, sources } = await ctx.config();
    const loc = await treeLocation(ctx);
    // a folder bound to a ByteRover v4 space is checked as that space unless a tree was configured
    const { dataDir } = await import('../../memory/v4/space.js');
    return {
      ...loc,
      treeConfigured: sources.contextTree !== undefined && sources.contextTree !== 'default',
      dataDir: dataDir({ env: ctx.io.env }),
      branch: config.branch,
      logger: await ctx.logger(),
    };
  } catch (e) {
    return { unavailable: e };
  }
}

/** The URL options and the schemes each accepts, with an example for the hint. */
const URL_FLAGS: ReadonlyArray<{
  key: 'agent' | 'clawApi' | 'collector' | 'bridge';
  flag: string;
  schemes: string[];
  example: string;
}> = [
  { key: 'agent', flag: '--agent', schemes: ['ws:', 'wss:'], example: 'ws://127.0.0.1:18789' },
  { key: 'clawApi', flag: '--claw-api', schemes: ['http:', 'https:'], example: 'https://claw-api.example' },
  { key: 'collector', flag: '--collector', schemes: ['http:', 'https:'], example: 'http://127.0.0.1:4318' },
  { key: 'bridge', flag: '--bridge', schemes: ['http:', 'https:'], example: 'http://127.0.0.1:8787' },
];

/** A URL option that is not a URL of its scheme is a usage error (exit 2), not a failed check. */
function checkUrlFlags(flags: DoctorFlags): void {
  for (const f of URL_FLAGS) {
    const value = flags[f.key];
    if (value === undefined) continue;
    let scheme: string | undefined;
    try {
      scheme = new URL(value).protocol;
    } catch {
      scheme = undefined;
    }
    if (scheme && f.schemes.includes(scheme)) continue;
    const expected = f.schemes.map((x) => `${x}//`).join(' or ');
    // A URL of a known scheme without its query and credentials; anything else as typed (minus known secrets).
    const found = scheme && ['http:', 'https:', 'ws:', 'wss:'].includes(scheme) ? safeUrl(value) : redactString(value);
    throw new ClawError(
      CliErrorCode.USAGE,
      `expected ${f.flag} to be a ${expected} URL, found ${JSON.stringify(found)}`,
      {
        hint: `Pass for example ${f.flag} ${f.example}.`,
        exitCode: 2,
      },
    );
  }
}

export async function doctor(ctx: CommandContext, flags: DoctorFlags): Promise<CommandResult> {
  checkUrlFlags(flags);
  const env = ctx.io.env as NodeJS.ProcessEnv;
  const gatewayToken = env.OPENCLAW_GATEWAY_TOKEN || undefined;
  registerSecret(gatewayToken);
  registerSecret(env.CLAW_API_TOKEN);
  registerSecret(env.CLAW_API_CLIENT_SECRET);
  // Its own transport for the probes that are not ByteRover's (gateway /readyz, claw-api).
  const cliLogger = await ctx.logger().catch(() => undefined);
  const http = createHttpClient(cliLogger ? { logger: cliLogger } : {});
  // The probes' own warnings would interleave with the progress lines and repeat what the checks report.
  const probeLogger = cliLogger?.child({ component: 'doctor' }, { level: 'error' });
  ctx.onCleanup(() => http.close());
  let dataDir: string | undefined;
  let composedClawApi: unknown;
  try {
    const { config } = await ctx.config();
    dataDir = config.dataDir ?? resolveDataDir(env);
    composedClawApi = (config.bridge as Record<string, unknown>).clawApi;
  } catch {
    dataDir = resolveDataDir(env);
  }
  const report = await runDoctor({
    version: packageVersion(),
    env,
    native: { env, ...(flags.plugin ? { plugin: flags.plugin } : {}) },
    agent: {
      env,
      http,
      ...(flags.agent ? { url: flags.agent } : {}),
      ...(gatewayToken ? { token: gatewayToken } : {}),
      ...(dataDir ? { dataDir } : {}),
    },
    clawApi: {
      ...clawApiPart(composedClawApi, env, flags.clawApi, http),
      ...(probeLogger ? { logger: probeLogger } : {}),
    },
    telemetry: {
      env,
      ...(flags.collector ? { collector: flags.collector } : {}),
      ...(flags.bridge ? { bridgeUrl: flags.bridge } : {}),
    },
    byterover: await byteRoverPart(ctx, flags.requireCloud === true),
    memory: await memoryPart(ctx),
    reporter: progressReporter({ write: (s) => ctx.out.writeErr(s), isTTY: ctx.out.stderrIsTTY }),
  });
  return {
    data: { ...report },
    human: renderReport(report),
    exitCode: report.exitCode === 0 ? ExitCode.OK : ExitCode.CHECK_FAILED,
  };
}
