/**
 * The one configuration schema of claw-byterover. Every entry point (the CLI, the OpenClaw plugin,
 * the bridge service) validates its settings with it, whatever their source: a config file, the
 * environment, command-line flags or an OpenClaw plugin config block. Layers are merged first
 * (see resolve.ts) and validated once, so a value means the same thing wherever it came from.
 */
import { z } from 'zod';
import { byteRoverConfigSchema } from '../byterover/config.js';
import { BRIDGE_SECRET_PATHS, BridgeConfigSchema } from '../bridge/config.js';
import { TelemetryConfigSchema } from '../telemetry/config.js';

import { LOG_LEVELS, type LogLevel } from './levels.js';

export { LOG_LEVELS, type LogLevel };

const nonEmpty = z.string().trim().min(1);
const httpUrl = z
  .string()
  .trim()
  .refine((s) => /^https?:\/\/[^\s]+$/i.test(s) && URL.canParse(s), { message: 'expected an http(s) URL' });

/** OAuth 2.0 authorization code + PKCE login (public client, as `brv` does). */
export const OAuthConfigSchema = z.strictObject({
  /** Issuer; default `{byterover.iamBaseUrl}/api/v1/oidc`. */
  issuer: httpUrl.optional(),
  clientId: nonEmpty.default('byterover-cli-client'),
  /** Space-separated scopes. */
  scope: nonEmpty.default('read write'),
  /**
   * Ask for a refresh token the OpenID Connect way (`offline_access` scope + `prompt=consent`), for
   * standard issuers; ByteRover's IAM issues refresh tokens without it.
   */
  offlineAccess: z.boolean().default(false),
  /** How long the loopback callback waits for the browser, in ms (default 5 minutes). */
  callbackTimeoutMs: z.number().int().positive().default(300_000),
});

/** OAuth 2.0 client credentials grant for services (bridge, CI). The secret is a secret. */
export const ClientCredentialsConfigSchema = z.strictObject({
  issuer: httpUrl.optional(),
  clientId: nonEmpty,
  clientSecret: nonEmpty,
  scope: nonEmpty.optional(),
});

/** The settings one profile resolves to. Every key may appear at the file's top level, in a profile, in env or flags. */
export const ClawConfigSchema = z.strictObject({
  /** pino level of the one logger. */
  logLevel: z.enum(LOG_LEVELS).default('warn'),
  /** Where credentials and local state live; default the XDG data dir (see lib/byterover/auth). */
  dataDir: nonEmpty.optional(),
  /** The local context tree, relative to the working directory unless absolute. */
  contextTree: nonEmpty.default('.brv/context-tree'),
  /** Default team (id) for commands that take `--team`; else the API's default team. */
  team: nonEmpty.optional(),
  /** Default space (id) for commands that take `--space`; else the team's default space. */
  space: nonEmpty.optional(),
  /** CoGit branch. */
  branch: nonEmpty.default('main'),
  /**
   * A ByteRover API key. Used by `login --api-key` without a value, and as the session when no
   * credential is stored for the profile. Never printed; registered with the log redactor on load.
   */
  apiKey: nonEmpty.optional(),
  oauth: OAuthConfigSchema.prefault({}),
  clientCredentials: ClientCredentialsConfigSchema.optional(),
  /** ByteRover service base URLs, timeouts and page size: lib/byterover's own schema, composed. */
  byterover: byteRoverConfigSchema.prefault({}),
  /** The companion service (`claw-byterover serve`): listener, webhooks, queue, store (lib/bridge/config.ts). */
  bridge: BridgeConfigSchema.prefault({}),
  /** Metrics: the `/metrics` route and OTLP export; the exporter itself is configured by the standard OTEL_* variables (lib/telemetry). */
  telemetry: TelemetryConfigSchema.prefault({}),
});

export type ClawConfig = z.infer<typeof ClawConfigSchema>;
/** What a layer may hold before merging and validation (every key optional, values unchecked). */
export type ClawConfigInput = z.input<typeof ClawConfigSchema>;

/**
 * Dotted paths of the values that are secrets (a string, or an array of strings): never printed,
 * never written by `config set`, registered with the redactor when loaded.
 */
export const SECRET_PATHS: readonly string[] = [
  'apiKey',
  'clientCredentials.clientSecret',
  ...BRIDGE_SECRET_PATHS.map((p) => `bridge.${p}`),
];

/**
 * The config file: the profile settings at the top level (shared by every profile), a `profiles`
 * map whose entries override them, and `profile` naming the default profile.
 */
export const ConfigFileSchema = z.looseObject({
  profile: nonEmpty.optional(),
  profiles: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
});
