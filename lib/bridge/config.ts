/**
 * Bridge settings (zod). Meant to be composed into the one config schema (lib/config/schema.ts) as
 * `bridge: BridgeConfigSchema.prefault({})`; secrets are listed in BRIDGE_SECRET_PATHS for the
 * redactor. Until then `parseBridgeConfig` validates a plain object.
 */
import { z } from 'zod';
import { CLAW_API_ENV, CLAW_API_SECRET_PATHS, ClawApiConfigSchema } from '../clawapi/config.js';
import { ClawError } from '../errors.js';
import { OAUTH_ENV_VARS, OAUTH_SECRET_PATHS, OAuthConfigSchema as BridgeOAuthConfigSchema } from './oauth/config.js';
import { SKILL_ENV, SKILL_SECRET_PATHS, SkillConfigSchema } from './skill/config.js';
import { ConfigErrorCode } from '../errors.js';

const nonEmpty = z.string().trim().min(1);

/** `whsec_` + base64 of at least 24 bytes (Standard Webhooks secrets). */
export const StandardSecretSchema = z
  .string()
  .trim()
  .refine((s) => /^whsec_[A-Za-z0-9+/]+={0,2}$/.test(s) && Buffer.from(s.slice(6), 'base64').length >= 24, {
    message: 'expected "whsec_" followed by the base64 of at least 24 random bytes',
  });

export const WebhooksConfigSchema = z.strictObject({
  /** Route path. */
  path: nonEmpty.regex(/^\//, 'expected a path starting with /').default('/webhooks/byterover'),
  /** Secrets for `x-byterover-signature` (hex HMAC-SHA256 of the raw body). Several = rotation. */
  byteroverSecrets: z.array(nonEmpty.min(16, 'expected at least 16 characters')).default([]),
  /** Standard Webhooks secrets (`whsec_…`). Several = rotation. */
  standardSecrets: z.array(StandardSecretSchema).default([]),
  /** Accepted distance between `webhook-timestamp` and the bridge clock, both ways, in seconds. */
  toleranceSeconds: z.number().int().min(1).max(3600).default(300),
  /** Largest body accepted; larger ones get 413 without being read. */
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  /** How long an event id is remembered for dedupe, in seconds (must exceed the tolerance). */
  dedupeRetentionSeconds: z.number().int().min(60).default(86_400),
});

export const QueueConfigSchema = z.strictObject({
  maxAttempts: z.number().int().min(1).max(100).default(8),
  leaseMs: z.number().int().min(100).default(30_000),
  retryBaseMs: z.number().int().min(1).default(1_000),
  retryCapMs: z.number().int().min(1).default(300_000),
  /** Jobs handled at once by this instance's worker. */
  concurrency: z.number().int().min(1).max(1024).default(16),
  /** How long an idle worker waits before looking for jobs again, ms. */
  pollMs: z.number().int().min(5).default(200),
  /** Per-job handler timeout, ms. */
  handlerTimeoutMs: z.number().int().min(100).default(60_000),
  /** Group commit: most webhooks per transaction, and how long the first waits for company (0 = next loop turn). */
  maxBatch: z.number().int().min(1).max(10_000).default(512),
  maxBatchDelayMs: z.number().int().min(0).max(100).default(0),
});

/** Bounds on the bridge's HTTP connections (lib/bridge/server.ts HttpServerOptions). */
export const HttpLimitsConfigSchema = z.strictObject({
  /** Concurrent connections; one more is answered 503 and closed. */
  maxConnections: z.number().int().min(1).max(1_000_000).default(1024),
  /** Request body bytes buffered across all requests at once; over it a request gets 503. */
  maxBufferedBytes: z
    .number()
    .int()
    .min(64 * 1024)
    .default(64 * 1024 * 1024),
  /** Request header bytes; more is 431. */
  maxHeaderBytes: z
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024)
    .default(16 * 1024),
  /** Time to receive the headers, ms; then 408 and the socket is destroyed. */
  headersTimeoutMs: z.number().int().min(100).default(10_000),
  /** Time to receive the whole request, ms; then 408 and the socket is destroyed. */
  requestTimeoutMs: z.number().int().min(100).default(30_000),
  /** A socket idle in both directions this long is destroyed, ms. */
  idleTimeoutMs: z.number().int().min(100).default(60_000),
  /** Keep-alive idle timeout between requests, ms. */
  keepAliveTimeoutMs: z.number().int().min(100).default(5_000),
});

export const SqliteStoreConfigSchema = z.strictObject({
  kind: z.literal('sqlite'),
  /** Database file; default `<dataDir>/bridge.db`. */
  path: nonEmpty.optional(),
  /** 'full': fsync before every 2xx (default); 'normal': survives a process crash, not a power cut. */
  durability: z.enum(['full', 'normal']).default('full'),
});

export const PostgresStoreConfigSchema = z.strictObject({
  kind: z.literal('postgres'),
  /** `postgres://user[:password]@host:port/db`; a secret when it carries a password. */
  url: nonEmpty,
  schema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/)
    .default('claw_bridge'),
  /** `redis://host:port`: the job queue goes to Redis (BullMQ); without it the queue stays in PostgreSQL. */
  redisUrl: nonEmpty.optional(),
  /** BullMQ queue name and key prefix (instances sharing a queue use the same). */
  queueName: nonEmpty.default('claw-bridge-webhooks'),
  redisPrefix: nonEmpty.default('claw'),
});

export const StoreConfigSchema = z.discriminatedUnion('kind', [SqliteStoreConfigSchema, PostgresStoreConfigSchema]);

export const BridgeConfigSchema = z
  .strictObject({
    host: nonEmpty.default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8787),
    /** Connection bounds: timeouts, caps on connections, header and buffered body bytes. */
    http: HttpLimitsConfigSchema.prefault({}),
    webhooks: WebhooksConfigSchema.prefault({}),
    queue: QueueConfigSchema.prefault({}),
    store: StoreConfigSchema.default({ kind: 'sqlite', durability: 'full' }),
    /** `POST /skill/invoke` (lib/bridge/skill). */
    skill: SkillConfigSchema.prefault({}),
    /** `/auth/login`, `/auth/callback`: the web login whose tokens the bridge uses (lib/bridge/oauth). */
    oauth: BridgeOAuthConfigSchema.prefault({}),
    /** Registration with a claw-api control plane (lib/clawapi); off while `url` is unset. */
    clawApi: ClawApiConfigSchema.prefault({}),
  })
  .refine((c) => c.webhooks.dedupeRetentionSeconds > c.webhooks.toleranceSeconds, {
    message:
      'webhooks.dedupeRetentionSeconds must exceed webhooks.toleranceSeconds (a replay inside the window must still be recognised)',
    path: ['webhooks', 'dedupeRetentionSeconds'],
  });

export type BridgeConfig = z.infer<typeof BridgeConfigSchema>;
export type BridgeConfigInput = z.input<typeof BridgeConfigSchema>;
export type WebhooksConfig = z.infer<typeof WebhooksConfigSchema>;
export type QueueConfig = z.infer<typeof QueueConfigSchema>;
export type StoreConfig = z.infer<typeof StoreConfigSchema>;

/** Dotted paths of secret values (relative to `bridge`). */
export const BRIDGE_SECRET_PATHS: readonly string[] = [
  'webhooks.byteroverSecrets',
  'webhooks.standardSecrets',
  'store.url',
  'store.redisUrl',
  ...SKILL_SECRET_PATHS.map((p) => `skill.${p}`),
  ...OAUTH_SECRET_PATHS.map((p) => `oauth.${p}`),
  ...CLAW_API_SECRET_PATHS.map((p) => `clawApi.${p}`),
];

/** Environment variables of the bridge's parts, with paths relative to `bridge`. */
export const BRIDGE_PART_ENV: ReadonlyArray<{ name: string; path: string; description: string }> = [
  ...SKILL_ENV.map((e) => ({ ...e })),
  ...OAUTH_ENV_VARS.map((e) => ({ ...e, path: `oauth.${e.path}` })),
  ...CLAW_API_ENV.map((e) => ({ ...e, path: `clawApi.${e.path}` })),
];

export function parseBridgeConfig(input: unknown): BridgeConfig {
  const r = BridgeConfigSchema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `bridge.${i.path.join('.')}: ${i.message}`);
  throw new ClawError(ConfigErrorCode.INVALID, `invalid bridge configuration: ${issues.join('; ')}`, {
    hint: 'fix the listed keys in the config file or environment',
    details: { issues: r.error.issues.map((i) => ({ path: ['bridge', ...i.path].join('.'), message: i.message })) },
  });
}
