/**
 * The node's commands, served from lib/memory: `byterover.search`, `byterover.recall`,
 * `byterover.curate`. Each validates its params with zod and returns plain JSON; every failure
 * becomes a structured result `{ok:false, error:{code, message}}` (what `openclaw nodes invoke`
 * prints), never an exception that could take the link down.
 *
 * Result payloads:
 * - search  `{hits: [{path, title, score, excerpt}]}`
 * - recall  `{hits, text, tokens, dropped, trimmed}` (text fits `tokenBudget`)
 * - curate  `{id, path, status}` (`written` | `existing` | `queued`)
 */
import { z } from 'zod';
import { isClawError, errorMessage } from '../errors.js';
import { redactString } from '../log/redact.js';
import type { MemoryBackend } from '../memory/index.js';
import type { NodeCommand } from './protocol.js';

export const SearchParamsSchema = z.strictObject({
  query: z.string().trim().min(1).max(4096),
  k: z.number().int().min(1).max(100).optional(),
});
export const RecallParamsSchema = z.strictObject({
  query: z.string().trim().min(1).max(4096),
  k: z.number().int().min(1).max(100).optional(),
  tokenBudget: z.number().int().min(1).max(200_000).optional(),
});
export const CurateParamsSchema = z.strictObject({
  content: z.string().min(1).max(1_000_000),
  title: z.string().trim().min(1).max(300).optional(),
  tags: z.array(z.string().trim().min(1).max(100)).max(50).optional(),
  path: z.string().trim().min(1).max(1024).optional(),
  /** Idempotency key; default derived from the note (the gateway's idempotencyKey is not used: a retried invoke gets a new one). */
  id: z.string().trim().min(1).max(200).optional(),
});

export type InvokeOutcome = { ok: true; payload: unknown } | { ok: false; error: { code: string; message: string } };

type Handler = (params: unknown, signal: AbortSignal) => Promise<unknown>;

export type CommandTable = Readonly<Record<NodeCommand, Handler>>;

function parse<T>(schema: z.ZodType<T>, params: unknown, command: string): T {
  const r = schema.safeParse(params ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.join('.') || 'params'}: ${i.message}`).join('; ');
  throw new InvalidParams(`${command} expected ${describe(command)}, found: ${issues}`);
}

function describe(command: string): string {
  switch (command) {
    case 'byterover.search':
      return '{query: string, k?: 1..100}';
    case 'byterover.recall':
      return '{query: string, k?: 1..100, tokenBudget?: int}';
    default:
      return '{content: string, title?, tags?: string[], path?, id?}';
  }
}

class InvalidParams extends Error {}

/** The three commands over one memory backend. */
export function memoryCommands(memory: MemoryBackend): CommandTable {
  return Object.freeze({
    'byterover.search': async (params: unknown, signal: AbortSignal) => {
      const p = parse(SearchParamsSchema, params, 'byterover.search');
      return { hits: await memory.search(p.query, { signal, ...(p.k ? { k: p.k } : {}) }) };
    },
    'byterover.recall': async (params: unknown, signal: AbortSignal) => {
      const p = parse(RecallParamsSchema, params, 'byterover.recall');
      const r = await memory.recall(p.query, {
        signal,
        ...(p.k ? { k: p.k } : {}),
        ...(p.tokenBudget ? { tokenBudget: p.tokenBudget } : {}),
      });
      return { hits: r.hits, text: r.text, tokens: r.tokens, dropped: r.dropped, trimmed: r.trimmed };
    },
    'byterover.curate': async (params: unknown, signal: AbortSignal) => {
      const p = parse(CurateParamsSchema, params, 'byterover.curate');
      const r = await memory.curate(
        {
          content: p.content,
          ...(p.title ? { title: p.title } : {}),
          ...(p.tags ? { tags: p.tags } : {}),
          ...(p.path ? { path: p.path } : {}),
        },
        { signal, ...(p.id ? { id: p.id } : {}) },
      );
      return { id: r.id, path: r.path ?? null, status: r.status };
    },
  });
}

/** Decodes `paramsJSON` (or a raw `params`) of an invoke request. */
export function decodeParams(
  paramsJSON: string | null | undefined,
  params: unknown,
): { ok: true; value: unknown } | { ok: false; message: string } {
  if (typeof paramsJSON === 'string') {
    try {
      return { ok: true, value: JSON.parse(paramsJSON) };
    } catch {
      return { ok: false, message: `paramsJSON is not valid JSON (${paramsJSON.length} bytes)` };
    }
  }
  return { ok: true, value: params ?? {} };
}

/**
 * Runs one command. `signal` aborts it (the gateway's timeout or a `node.invoke.cancel`). Never
 * throws; messages are redacted.
 */
export async function runCommand(
  table: CommandTable,
  command: string,
  paramsJSON: string | null | undefined,
  params: unknown,
  signal: AbortSignal,
): Promise<InvokeOutcome> {
  const handler = Object.hasOwn(table, command) ? table[command as NodeCommand] : undefined;
  if (!handler) {
    return {
      ok: false,
      error: {
        code: 'UNKNOWN_COMMAND',
        message: `expected one of ${Object.keys(table).join(', ')}, found ${JSON.stringify(command)}`,
      },
    };
  }
  const decoded = decodeParams(paramsJSON, params);
  if (!decoded.ok) return { ok: false, error: { code: 'INVALID_PARAMS', message: decoded.message } };
  try {
    const payload = await handler(decoded.value, signal);
    if (signal.aborted)
      return {
        ok: false,
        error: { code: 'TIMEOUT', message: `${command} was cancelled or ran past the gateway's deadline` },
      };
    return { ok: true, payload };
  } catch (e) {
    if (e instanceof InvalidParams)
      return { ok: false, error: { code: 'INVALID_PARAMS', message: redactString(e.message) } };
    if (signal.aborted)
      return {
        ok: false,
        error: { code: 'TIMEOUT', message: `${command} was cancelled or ran past the gateway's deadline` },
      };
    const code = isClawError(e) ? e.code : 'COMMAND_FAILED';
    const hint = isClawError(e) && e.hint ? ` (next: ${e.hint})` : '';
    return {
      ok: false,
      error: { code, message: redactString(`${command} failed: ${errorMessage(e)}${hint}`) || `${command} failed` },
    };
  }
}
