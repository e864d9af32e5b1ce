/**
 * Settings of the skill invoke route (zod), meant to be composed into the bridge schema as
 * `skill: SkillConfigSchema.prefault({})`. API keys are secrets: SKILL_SECRET_PATHS lists them for the
 * redactor, and SKILL_ENV names the environment variables that feed them.
 *
 * An API key entry is one of:
 *   "<key>"                          the key itself (16+ characters of RFC 6750 b64token)
 *   "sha256:<64 hex>"                the SHA-256 of the key, so a config file need not hold the key
 *   { key: <either form>, caller }   the same, naming the caller: keys sharing a caller name share its
 *                                    idempotency keys (rotate a caller's key without losing replays)
 */
import { z } from 'zod';

/** RFC 6750 §2.1 b64token: what can follow `Bearer `. */
export const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
export const DIGEST_PREFIX = 'sha256:';
const DIGEST = /^sha256:[0-9a-fA-F]{64}$/;
export const MIN_KEY_CHARS = 16;

export const ApiKeySchema = z
  .string()
  .trim()
  .refine((s) => (s.startsWith(DIGEST_PREFIX) ? DIGEST.test(s) : s.length >= MIN_KEY_CHARS && B64TOKEN.test(s)), {
    message: `expected an API key of at least ${MIN_KEY_CHARS} characters from [A-Za-z0-9-._~+/] (a bearer token), or "sha256:" followed by 64 hex digits`,
  });

export const CallerNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected a caller name of 1-64 characters from [A-Za-z0-9._-]');

export const ApiKeyEntrySchema = z.union([
  ApiKeySchema,
  z.strictObject({ key: ApiKeySchema, caller: CallerNameSchema }),
]);

export const SkillConfigSchema = z
  .strictObject({
    /** Route path. */
    path: z
      .string()
      .trim()
      .regex(/^\/\S*$/, 'expected a path starting with /')
      .default('/skill/invoke'),
    /** Accepted bearer API keys (several = rotation). None = the route answers 503. */
    apiKeys: z.array(ApiKeyEntrySchema).default([]),
    /** Largest request body accepted; larger ones get 413 without being read. */
    maxBodyBytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(2 * 1024 * 1024),
    /** The longest an action may run (ms); it is then cancelled and answers 503. */
    actionTimeoutMs: z.number().int().min(100).max(3_600_000).default(120_000),
    /** How long an idempotency key stays locked by a running request (ms); must exceed actionTimeoutMs. */
    idempotencyLockMs: z.number().int().min(1_000).max(7_200_000).default(150_000),
  })
  .refine((c) => c.idempotencyLockMs > c.actionTimeoutMs, {
    message: 'idempotencyLockMs must exceed actionTimeoutMs (a running request must keep its key until it is done)',
    path: ['idempotencyLockMs'],
  });

export type SkillConfig = z.infer<typeof SkillConfigSchema>;
export type SkillConfigInput = z.input<typeof SkillConfigSchema>;
export type ApiKeyEntry = z.infer<typeof ApiKeyEntrySchema>;

/** Dotted paths of secret values (relative to `bridge.skill`). */
export const SKILL_SECRET_PATHS = ['apiKeys'] as const;

/** Environment variables the config loader may map (lists comma-separated). */
export const SKILL_ENV = [
  {
    name: 'CLAW_BYTEROVER_SKILL_API_KEYS',
    path: 'skill.apiKeys',
    description: 'bridge: skill invoke API keys (or sha256:<hex> digests), comma-separated (secret)',
  },
] as const;
