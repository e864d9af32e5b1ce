/**
 * The request body of `POST /skill/invoke` and each action's payload (zod), and their validation into
 * `fields: [{path, message}]` naming every field at fault (all of them at once, not the first only).
 *
 *   { "action": "search", "payload": { "query": "jwt refresh", "k": 5 }, "idempotencyKey": "…" }
 *
 * Paths are written `payload.tags[2]`; a problem with the body as a whole has the path `(body)`, one
 * with the Idempotency-Key header the path `headers.idempotency-key`.
 */
import { z } from 'zod';

export const SKILL_ACTIONS = ['whoami', 'search', 'recall', 'curate', 'pull', 'push', 'record'] as const;
export type SkillAction = (typeof SKILL_ACTIONS)[number];

/** Stripe's limit. Printable ASCII only (it also travels as a header). */
export const IdempotencyKeySchema = z
  .string()
  .min(1, { error: 'expected an idempotency key of 1-255 characters, found an empty one', abort: true })
  .max(255, { error: 'expected an idempotency key of at most 255 characters', abort: true })
  .regex(/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/, 'expected printable ASCII without leading or trailing spaces');

const query = z
  .string()
  .trim()
  .min(1, 'expected a non-empty query')
  .max(4096, 'expected a query of at most 4096 characters');
const k = z.number().int().min(1).max(1000);

export const PAYLOAD_SCHEMAS = {
  whoami: z.strictObject({}),
  search: z.strictObject({ query, k: k.optional() }),
  recall: z.strictObject({ query, k: k.optional(), tokenBudget: z.number().int().min(1).max(1_000_000).optional() }),
  curate: z.strictObject({
    content: z
      .string()
      .max(1_000_000, 'expected a note of at most 1000000 characters')
      .refine((s) => s.trim() !== '', 'expected non-empty note text'),
    title: z.string().trim().min(1).max(200).optional(),
    tags: z.array(z.string().trim().min(1).max(100)).max(50).optional(),
    /** Path inside the context tree (folders allowed; `.md` added when missing). */
    path: z.string().min(1).max(1024).optional(),
  }),
  pull: z.strictObject({}),
  push: z.strictObject({}),
  /** A ByteRover v4 topic: the whole `<bv-topic>` HTML, or fields (validated by lib/memory/v4). */
  record: z.strictObject({
    path: z.string().min(1).max(1024),
    html: z.string().min(1).max(1_000_000).optional(),
    title: z.string().trim().min(1).max(500).optional(),
    summary: z.string().max(2000).optional(),
    keywords: z.string().max(2000).optional(),
    tags: z.string().max(2000).optional(),
    related: z.string().max(4000).optional(),
    body: z.string().max(1_000_000).optional(),
    overwrite: z.boolean().optional(),
    allowDrop: z.boolean().optional(),
  }),
} as const;

export type SkillPayloads = { [A in SkillAction]: z.output<(typeof PAYLOAD_SCHEMAS)[A]> };

const EnvelopeSchema = z.strictObject({
  action: z.enum(SKILL_ACTIONS, { error: `expected one of ${SKILL_ACTIONS.join(', ')}` }),
  payload: z.unknown().optional(),
  idempotencyKey: IdempotencyKeySchema.optional(),
});

export interface FieldError {
  path: string;
  message: string;
}

export type InvokeRequest = {
  [A in SkillAction]: { action: A; payload: SkillPayloads[A]; idempotencyKey: string | undefined };
}[SkillAction];

export type Validation = { ok: true; request: InvokeRequest } | { ok: false; fields: FieldError[] };

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out === '' ? '(body)' : out;
}

function fieldsOf(error: z.ZodError, prefix: PropertyKey[], accepted: readonly string[]): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of error.issues) {
    const at = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        out.push({
          path: formatPath([...at, key]),
          message: `unexpected field (accepted: ${accepted.join(', ') || 'none'})`,
        });
    } else {
      out.push({ path: formatPath(at), message: issue.message });
    }
  }
  return out;
}

/**
 * Validates a parsed body (and the Idempotency-Key header, when sent). An omitted `payload` is `{}`.
 * The key, from either place, must be the same when both are given.
 */
export function validateInvoke(body: unknown, headerKey: string | undefined): Validation {
  const fields: FieldError[] = [];
  const envelope = EnvelopeSchema.safeParse(body);
  if (!envelope.success) fields.push(...fieldsOf(envelope.error, [], Object.keys(EnvelopeSchema.shape)));

  let idempotencyKey = envelope.success ? envelope.data.idempotencyKey : undefined;
  if (headerKey !== undefined) {
    const h = IdempotencyKeySchema.safeParse(headerKey);
    if (!h.success)
      fields.push(...h.error.issues.map((i) => ({ path: 'headers.idempotency-key', message: i.message })));
    else if (idempotencyKey !== undefined && idempotencyKey !== headerKey) {
      fields.push({
        path: 'idempotencyKey',
        message:
          'expected the same key as the Idempotency-Key header, found a different one (send it in one place, or the same value in both)',
      });
    } else idempotencyKey = headerKey;
  }

  // The payload is checked whenever the action is known, so every fault is reported at once.
  const raw = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  const action =
    raw && typeof raw.action === 'string' && (SKILL_ACTIONS as readonly string[]).includes(raw.action)
      ? (raw.action as SkillAction)
      : undefined;
  let payload: unknown;
  if (action) {
    const schema = PAYLOAD_SCHEMAS[action];
    const p = schema.safeParse(raw?.payload === undefined ? {} : raw.payload);
    if (!p.success) fields.push(...fieldsOf(p.error, ['payload'], Object.keys(schema.shape)));
    else payload = p.data;
  }
  if (fields.length > 0 || !action) return { ok: false, fields };
  return { ok: true, request: { action, payload, idempotencyKey } as InvokeRequest };
}
