/**
 * Wire shapes of ByteRover's responses (snake_case, as sent), validated with zod. Only the fields the
 * client uses are required; unknown fields are ignored so the server can add to its responses.
 * Sources: ByteRover CLI (`brv`) HTTP services and its tests; see shared/reference/byterover.md.
 */
import { z } from 'zod';
import { ByteRoverError, ByteRoverErrorCode } from './errors.js';

const optStr = z
  .string()
  .nullish()
  .transform((v) => v ?? undefined);
const optBool = z
  .boolean()
  .nullish()
  .transform((v) => v ?? undefined);

/** IAM envelope: `{code, message, data}`. */
function envelope<T extends z.ZodType>(data: T) {
  return z.object({ code: z.union([z.number(), z.string()]).optional(), message: z.string().optional(), data });
}

/** `user/me`. Changing this schema? Change `fastUserMe` (below) with it: it must stay exactly as strict. */
export const userMeResponse = envelope(
  z.object({
    id: z.string().min(1),
    email: z.string(),
    name: optStr,
    avatar_url: optStr,
    hasOnboardedCli: optBool,
  }),
);

/**
 * The common `user/me` answer checked by hand: the exact output `userMeResponse` gives for it, or
 * undefined when the body is anything else (then zod parses it, so every error is zod's). It accepts
 * only plain objects whose fields all have the types the schema accepts, and mirrors zod's output:
 * the shape's keys in the shape's order, an optional key present exactly when it is in the input,
 * `null` in the nullish fields turned into `undefined`, unknown keys dropped.
 */
export function fastUserMe(body: unknown): z.output<typeof userMeResponse> | undefined {
  if (!isPlainObject(body)) return undefined;
  const b = body as Record<string, unknown>;
  const code = b.code;
  const message = b.message;
  const d = b.data;
  if (!(code === undefined || typeof code === 'string' || (typeof code === 'number' && Number.isFinite(code))))
    return undefined;
  if (!(message === undefined || typeof message === 'string')) return undefined;
  if (!isPlainObject(d)) return undefined;
  const u = d as Record<string, unknown>;
  const id = u.id;
  const email = u.email;
  const name = u.name;
  const avatar = u.avatar_url;
  const onboarded = u.hasOnboardedCli;
  if (typeof id !== 'string' || id.length === 0 || typeof email !== 'string') return undefined;
  if (!(name == null || typeof name === 'string')) return undefined;
  if (!(avatar == null || typeof avatar === 'string')) return undefined;
  if (!(onboarded == null || typeof onboarded === 'boolean')) return undefined;
  // Typed as the schema's output; like zod's, it lacks the optional keys the input lacks.
  const data = { id, email } as z.output<typeof userMeResponse>['data'];
  if ('name' in u) data.name = name ?? undefined;
  if ('avatar_url' in u) data.avatar_url = avatar ?? undefined;
  if ('hasOnboardedCli' in u) data.hasOnboardedCli = onboarded ?? undefined;
  const out: z.output<typeof userMeResponse> = {} as z.output<typeof userMeResponse>;
  if ('code' in b) out.code = code as number | string | undefined;
  if ('message' in b) out.message = message as string | undefined;
  out.data = data;
  return out;
}

function isPlainObject(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

export const teamWire = z.object({
  id: z.string().min(1),
  name: z.string(),
  display_name: optStr,
  slug: optStr,
  description: optStr,
  avatar_url: optStr,
  is_default: optBool,
  is_active: optBool,
  created_at: optStr,
  updated_at: optStr,
});

const count = z.number().int().min(0);

export const teamsPageResponse = envelope(
  z.object({
    teams: z.array(teamWire),
    total: count,
    limit: count.optional(),
    offset: count.optional(),
  }),
);

export const spaceWire = z.object({
  id: z.string().min(1),
  name: z.string(),
  slug: optStr,
  team_id: z.string().min(1),
  team: z.object({ name: optStr, slug: optStr }).nullish(),
  is_default: optBool,
  default_branch: optStr,
  visibility: optStr,
  description: optStr,
  created_at: optStr,
  updated_at: optStr,
});

export const spacesPageResponse = envelope(
  z.object({
    spaces: z.array(spaceWire),
    total: count,
    limit: count.optional(),
    offset: count.optional(),
  }),
);

export const snapshotFileWire = z.object({
  path: z.string().min(1),
  content: z.string(),
  mode: z.union([z.string(), z.number()]).transform(String),
  sha: z.string(),
  size: count,
});

export const snapshotResponse = z.object({
  branch: z.string(),
  commit_sha: z.string(),
  message: optStr,
  author: z.object({ name: optStr, email: optStr, when: optStr }).nullish(),
  files: z.array(snapshotFileWire),
});

export const commitResponse = z.object({
  success: z.boolean(),
  message: optStr,
  commit_sha: optStr,
});

export const billingUsageWire = z.object({
  organizationId: z.string().min(1),
  organizationName: optStr,
  organizationStatus: optStr,
  limit: z.number(),
  used: z.number(),
  remaining: z.number(),
  addOnRemaining: z.number().optional(),
  totalLimit: z.number().optional(),
  percentUsed: z.number().optional(),
  limitExceeded: optBool,
});

export const billingUsagesResponse = z.object({ organizations: z.array(billingUsageWire) });

export const billingTiersResponse = z.object({
  organizations: z.array(z.object({ organizationId: z.string().min(1), tier: z.string(), isTrialing: optBool })),
});

export const legacySearchResponse = z.object({
  results: z.array(z.object({ memory: z.string(), score: z.number(), tags: z.array(z.string()).nullish() })),
});

/** The legacy create endpoint's answer is not documented: accept any JSON object (or nothing). */
export const legacyCreateResponse = z.union([z.record(z.string(), z.unknown()), z.null(), z.literal('')]);

/** `data.teams[3].id` style path for messages. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(body)';
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return v.length > 40 ? 'a long string' : 'a string';
  return typeof v === 'object' ? 'an object' : `${typeof v}`;
}

/**
 * Parses a response body with `schema`; on mismatch throws BYTEROVER_BAD_RESPONSE naming the first
 * offending field (e.g. `data.teams[3].id`) and what was expected there.
 */
export function parseResponse<S extends z.ZodType>(
  schema: S,
  body: unknown,
  ctx: { endpoint: string; what: string; status: number; requestId: string | undefined },
): z.output<S> {
  if (typeof body === 'string' || body instanceof Uint8Array) {
    throw badResponse(ctx, '(body)', 'a JSON document', typeof body === 'string' ? 'non-JSON text' : 'binary data');
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = formatPath(issue?.path ?? []);
  const found = valueAt(body, issue?.path ?? []);
  throw badResponse(
    ctx,
    field,
    issue?.message ?? 'a valid value',
    found === MISSING ? 'nothing' : describeValue(found),
  );
}

const MISSING = Symbol('missing');
function valueAt(body: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = body;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return MISSING;
    const rec = cur as Record<PropertyKey, unknown>;
    if (!(p in rec)) return MISSING;
    cur = rec[p];
  }
  return cur;
}

/** The BYTEROVER_BAD_RESPONSE error for one offending field (returned, for the caller to throw). */
export function badResponse(
  ctx: { endpoint: string; what: string; status: number; requestId: string | undefined },
  field: string,
  expected: string,
  found: string,
  cause?: unknown,
): ByteRoverError {
  return new ByteRoverError(
    ByteRoverErrorCode.BAD_RESPONSE,
    `${ctx.what}: unexpected response from ByteRover (${ctx.endpoint}, HTTP ${ctx.status}): field ${field}: expected ${expected}, found ${found}`,
    {
      status: ctx.status,
      requestId: ctx.requestId,
      retryable: false,
      endpoint: ctx.endpoint,
      hint:
        'ByteRover answered in a shape this client does not know: check the base URLs (BRV_*_BASE_URL) point at ByteRover, then update claw-byterover.' +
        (ctx.requestId ? ` Quote request id ${ctx.requestId} if you report it.` : ''),
      details: { endpoint: ctx.endpoint, field },
      ...(cause === undefined ? {} : { cause }),
    },
  );
}
