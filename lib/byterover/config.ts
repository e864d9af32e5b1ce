/**
 * Where the ByteRover services live and how long a call to each may take.
 *
 * Base URLs use the same environment variables as ByteRover's own CLI (`brv`): each holds the root of
 * one service (scheme + host [+ port], no `/api/v1`); the API version is appended at the point of use.
 * The legacy memories API (the April 2025 MCP server's) is the one exception: its base already
 * includes `/api/v1`, as in that server's code.
 */
import { z } from 'zod';
import { ClawError } from '../errors.js';

/** The settings' own error code (part of ByteRoverErrorCode, errors.ts; here so that loading the schema loads nothing else). */
export const ByteRoverConfigErrorCode = { CONFIG_INVALID: 'BYTEROVER_CONFIG_INVALID' } as const;

export const DEFAULT_BASE_URLS = {
  iam: 'https://iam.byterover.dev',
  cogit: 'https://v3-cgit.byterover.dev',
  billing: 'https://v3-billing.byterover.dev',
  llm: 'https://llm.byterover.dev',
  legacy: 'https://api.byterover.dev/api/v1',
} as const;

/** Per-attempt timeouts in ms. IAM and CoGit match `brv` (10 s, 30 s); billing follows `brv` (10 s). */
export const DEFAULT_TIMEOUTS_MS = {
  iam: 10_000,
  cogit: 30_000,
  billing: 10_000,
  legacy: 10_000,
} as const;

/** Environment variable for each setting (documented in docs/readme/byterover-api.md). */
export const CONFIG_ENV = {
  iamBaseUrl: 'BRV_IAM_BASE_URL',
  cogitBaseUrl: 'BRV_COGIT_BASE_URL',
  billingBaseUrl: 'BRV_BILLING_BASE_URL',
  llmBaseUrl: 'BRV_LLM_BASE_URL',
  legacyBaseUrl: 'BYTEROVER_API_URL',
  iamTimeoutMs: 'CLAW_BYTEROVER_IAM_TIMEOUT_MS',
  cogitTimeoutMs: 'CLAW_BYTEROVER_COGIT_TIMEOUT_MS',
  billingTimeoutMs: 'CLAW_BYTEROVER_BILLING_TIMEOUT_MS',
  legacyTimeoutMs: 'CLAW_BYTEROVER_LEGACY_TIMEOUT_MS',
} as const;

export type ByteRoverService = 'iam' | 'cogit' | 'billing' | 'legacy';

const baseUrl = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .superRefine((value, ctx) => {
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute http(s) URL' });
      return;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: `must use http or https, found ${u.protocol}` });
    }
    if (u.username || u.password) {
      ctx.addIssue({ code: 'custom', message: 'must not carry credentials (user:password@)' });
    }
    if (u.search || u.hash) ctx.addIssue({ code: 'custom', message: 'must not carry a query string or fragment' });
  })
  .transform((value) => value.replace(/\/+$/, ''));

const timeoutMs = z.coerce.number().int('must be a whole number of ms').min(1).max(600_000);

export const byteRoverConfigSchema = z.object({
  iamBaseUrl: baseUrl.default(DEFAULT_BASE_URLS.iam),
  cogitBaseUrl: baseUrl.default(DEFAULT_BASE_URLS.cogit),
  billingBaseUrl: baseUrl.default(DEFAULT_BASE_URLS.billing),
  llmBaseUrl: baseUrl.default(DEFAULT_BASE_URLS.llm),
  legacyBaseUrl: baseUrl.default(DEFAULT_BASE_URLS.legacy),
  timeouts: z
    .object({
      iam: timeoutMs.default(DEFAULT_TIMEOUTS_MS.iam),
      cogit: timeoutMs.default(DEFAULT_TIMEOUTS_MS.cogit),
      billing: timeoutMs.default(DEFAULT_TIMEOUTS_MS.billing),
      legacy: timeoutMs.default(DEFAULT_TIMEOUTS_MS.legacy),
    })
    .prefault({}),
  /** Page size for list endpoints (`brv` uses 100; the server caps it at 100). */
  pageSize: z.coerce.number().int().min(1).max(100).default(100),
});

export type ByteRoverConfig = z.output<typeof byteRoverConfigSchema>;
export type ByteRoverConfigInput = z.input<typeof byteRoverConfigSchema>;

/** Label of a config field for error messages: the env var that sets it, else its path. */
function fieldLabel(path: readonly PropertyKey[]): string {
  const [first, second] = path;
  if (first === 'timeouts' && typeof second === 'string') {
    const key = `${second}TimeoutMs` as keyof typeof CONFIG_ENV;
    if (key in CONFIG_ENV) return `${CONFIG_ENV[key]} (timeouts.${second})`;
  }
  if (typeof first === 'string' && first in CONFIG_ENV) {
    return `${CONFIG_ENV[first as keyof typeof CONFIG_ENV]} (${first})`;
  }
  return path.map(String).join('.') || '(root)';
}

/**
 * Validates a config object (defaults filled in). Throws `BYTEROVER_CONFIG_INVALID` naming the
 * setting, its environment variable and what was wrong with it.
 */
export function parseByteRoverConfig(input: ByteRoverConfigInput = {}): ByteRoverConfig {
  const result = byteRoverConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${fieldLabel(i.path)}: ${i.message}`);
  throw new ClawError(
    ByteRoverConfigErrorCode.CONFIG_INVALID,
    `Invalid ByteRover configuration: ${problems.join('; ')}`,
    {
      hint: 'Fix or unset the named environment variable (see docs: "ByteRover API configuration").',
      details: { problems },
    },
  );
}

/**
 * Reads the configuration from the environment (by default `process.env`), then applies `overrides`
 * (e.g. from a config file or the OpenClaw plugin config) on top. Empty variables count as unset.
 */
export function loadByteRoverConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: ByteRoverConfigInput = {},
): ByteRoverConfig {
  const read = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v;
  };
  const fromEnv: ByteRoverConfigInput = {
    iamBaseUrl: read(CONFIG_ENV.iamBaseUrl),
    cogitBaseUrl: read(CONFIG_ENV.cogitBaseUrl),
    billingBaseUrl: read(CONFIG_ENV.billingBaseUrl),
    llmBaseUrl: read(CONFIG_ENV.llmBaseUrl),
    legacyBaseUrl: read(CONFIG_ENV.legacyBaseUrl),
    timeouts: {
      iam: read(CONFIG_ENV.iamTimeoutMs),
      cogit: read(CONFIG_ENV.cogitTimeoutMs),
      billing: read(CONFIG_ENV.billingTimeoutMs),
      legacy: read(CONFIG_ENV.legacyTimeoutMs),
    },
  };
  const merged: Record<string, unknown> = { ...dropUndefined(fromEnv as Record<string, unknown>) };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    merged[k] =
      k === 'timeouts' ? { ...(merged.timeouts as object), ...dropUndefined(v as Record<string, unknown>) } : v;
  }
  if (merged.timeouts) merged.timeouts = dropUndefined(merged.timeouts as Record<string, unknown>);
  return parseByteRoverConfig(merged as ByteRoverConfigInput);
}

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** Base URL of a service in a parsed config. */
export function serviceBaseUrl(config: ByteRoverConfig, service: ByteRoverService): string {
  switch (service) {
    case 'iam':
      return config.iamBaseUrl;
    case 'cogit':
      return config.cogitBaseUrl;
    case 'billing':
      return config.billingBaseUrl;
    case 'legacy':
      return config.legacyBaseUrl;
  }
}
