/**
 * The agent tools. Each has a JSON Schema for its arguments and for its `details`, and answers with a
 * short text the model reads (`content`) plus the same facts as structured `details` (what Code Mode,
 * Tool Search and `POST /tools/invoke` callers use). Failures throw (OpenClaw's tool contract) a
 * ClawError whose message says what was expected and found and whose hint is the next step.
 *
 * - `byterover_search {query, limit?}`: ranked notes (path, title, score, excerpt).
 * - `byterover_recall {query, tokenBudget?, limit?}`: the notes rendered as one block that fits the
 *   budget, each with its path, ready to quote.
 * - `byterover_curate {content, title?, tags?, path?}`: writes a note into the tree and queues it for
 *   push; the same note twice is written once.
 * - `byterover_record {path, html, overwrite?, allowDrop?}`: writes a `<bv-topic>` into the workspace's
 *   ByteRover v4 space, validated against ByteRover's vocabulary (lib/openclaw/v4.ts).
 * - `byterover_sync {action?}`: `pull`, `push`, `both` (default: pull then push) with the ByteRover
 *   space, or `status` (tree, engine, pending notes, credential source; no network).
 */
import { ClawError } from '../errors.js';
import type { RecallHit } from '../memory/index.js';
import type { AgentTool, AgentToolResult, ToolContext } from './host.js';
import type { MemoryScope, PluginRuntime } from './runtime.js';
import { syncStatus, syncTree, type SyncAction } from './sync.js';
import { recordTool } from './v4.js';
import { OpenClawErrorCode } from './errors.js';

export const TOOL_NAMES = [
  'byterover_search',
  'byterover_recall',
  'byterover_curate',
  'byterover_sync',
  'byterover_record',
] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

const MAX_QUERY = 2000;

const hitSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['path', 'title', 'score', 'excerpt'],
  properties: {
    path: { type: 'string', description: 'Path of the note in the context tree.' },
    title: { type: 'string' },
    score: { type: 'number', description: 'Engine score; only the order is meaningful.' },
    excerpt: { type: 'string' },
  },
} as const;

/** The arguments schema of a query tool: `query` plus the given extra properties. */
function queryParameters(queryDescription: string, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['query'],
    properties: {
      query: { type: 'string', minLength: 1, maxLength: MAX_QUERY, description: queryDescription },
      ...extra,
    },
  };
}

function text<T>(t: string, details: T): AgentToolResult<T> {
  return { content: [{ type: 'text', text: t }], details };
}

function argError(tool: string, what: string, found: unknown): ClawError {
  return new ClawError(
    OpenClawErrorCode.TOOL_ARGUMENT,
    `${tool}: expected ${what}, found ${found === undefined ? 'nothing' : typeof found === 'string' ? JSON.stringify(found.slice(0, 60)) : typeof found}`,
    {
      hint: `Call ${tool} with arguments that match its schema.`,
    },
  );
}

function str(tool: string, params: Record<string, unknown>, key: string, required: true): string;
function str(tool: string, params: Record<string, unknown>, key: string, required: false): string | undefined;
function str(tool: string, params: Record<string, unknown>, key: string, required: boolean): string | undefined {
  const v = params[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || !v.trim()) throw argError(tool, `a non-empty string "${key}"`, v);
  return v.trim();
}

function int(
  tool: string,
  params: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
  dflt: number,
): number {
  const v = params[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw argError(tool, `"${key}" as an integer from ${min} to ${max}`, v);
  return v;
}

function listHits(hits: readonly RecallHit[]): string {
  return hits
    .map((h, i) => `${i + 1}. ${h.title} (${h.path}) — ${h.excerpt.replace(/\s+/g, ' ').slice(0, 240)}`)
    .join('\n');
}

const slim = (h: RecallHit) => ({ path: h.path, title: h.title, score: h.score, excerpt: h.excerpt });

export function createTools(rt: PluginRuntime, ctx: ToolContext = {}): AgentTool[] {
  // Whose memory: the agent's workspace and, for the per-agent `agents` config, its id.
  const ws: MemoryScope = {
    workspaceDir: typeof ctx.workspaceDir === 'string' ? ctx.workspaceDir : undefined,
    agentId: typeof ctx.agentId === 'string' ? ctx.agentId : undefined,
  };

  const search: AgentTool<Record<string, unknown>> = {
    name: 'byterover_search',
    label: 'ByteRover search',
    description:
      "Search the project's ByteRover memory (its context tree of markdown notes: decisions, conventions, how things work) and list the best-matching notes with their paths and an excerpt. Use it before answering questions about this project, to find what was already decided or documented.",
    parameters: queryParameters('What to look for, in plain words.', {
      limit: { type: 'integer', minimum: 1, maximum: 50, default: 8, description: 'Most notes to return.' },
    }),
    outputSchema: {
      type: 'object',
      additionalProperties: false,
      required: ['query', 'engine', 'hits'],
      properties: { query: { type: 'string' }, engine: { type: 'string' }, hits: { type: 'array', items: hitSchema } },
    },
    async execute(_id, params, signal) {
      const query = str('byterover_search', params, 'query', true).slice(0, MAX_QUERY);
      const limit = int('byterover_search', params, 'limit', 1, 50, 8);
      const mem = await rt.memory(ws);
      const hits = await mem.backend.search(query, { k: limit, ...(signal ? { signal } : {}) });
      const body =
        hits.length === 0
          ? `No note in the context tree matches "${query}".`
          : `${hits.length} note(s) match "${query}":\n${listHits(hits)}`;
      return text(body, { query, engine: mem.engine, hits: hits.map(slim) });
    },
  };

  const recall: AgentTool<Record<string, unknown>> = {
    name: 'byterover_recall',
    label: 'ByteRover recall',
    description:
      "Recall what the project's ByteRover memory knows about a topic: the most relevant notes rendered as one block that fits a token budget, each under its title with its path in parentheses. Use it when you need the content of the notes, not just a list; cite the paths you use.",
    parameters: queryParameters('The topic or question.', {
      tokenBudget: {
        type: 'integer',
        minimum: 50,
        maximum: 20000,
        default: 1500,
        description: 'Most tokens (chars / 4) the block may use.',
      },
      limit: { type: 'integer', minimum: 1, maximum: 50, default: 8, description: 'Most notes to consider.' },
    }),
    outputSchema: {
      type: 'object',
      additionalProperties: false,
      required: ['query', 'engine', 'text', 'tokens', 'paths', 'hits', 'dropped', 'trimmed'],
      properties: {
        query: { type: 'string' },
        engine: { type: 'string' },
        text: { type: 'string' },
        tokens: { type: 'integer' },
        paths: { type: 'array', items: { type: 'string' } },
        hits: { type: 'array', items: hitSchema },
        dropped: { type: 'integer' },
        trimmed: { type: 'integer' },
        citation: {
          type: 'string',
          description: 'ByteRover v4 spaces: the 📚 From ByteRover list of the confident hits.',
        },
      },
    },
    async execute(_id, params, signal) {
      const query = str('byterover_recall', params, 'query', true).slice(0, MAX_QUERY);
      const tokenBudget = int('byterover_recall', params, 'tokenBudget', 50, 20_000, 1500);
      const limit = int('byterover_recall', params, 'limit', 1, 50, 8);
      const mem = await rt.memory(ws);
      const r = await mem.backend.recall(query, { k: limit, tokenBudget, ...(signal ? { signal } : {}) });
      const paths = r.hits.map((h) => h.path);
      const body = r.hits.length === 0 ? `Nothing in the context tree about "${query}".` : r.text;
      return text(body, {
        query,
        engine: mem.engine,
        text: r.text,
        tokens: r.tokens,
        paths,
        hits: r.hits.map(slim),
        dropped: r.dropped,
        trimmed: r.trimmed,
        ...('citation' in r && typeof r.citation === 'string' ? { citation: r.citation } : {}),
      });
    },
  };

  const curate: AgentTool<Record<string, unknown>> = {
    name: 'byterover_curate',
    label: 'ByteRover curate',
    description:
      "Save one durable fact, decision, convention or how-to into the project's ByteRover memory (a markdown note in the context tree, queued to sync with ByteRover). Keep each note to one idea, in plain words, with the reason when there is one. Never save secrets, credentials or personal data. Saving the same note twice writes it once.",
    parameters: {
      type: 'object',
      additionalProperties: false,
      required: ['content'],
      properties: {
        content: { type: 'string', minLength: 1, maxLength: 100000, description: 'The note, in markdown.' },
        title: { type: 'string', maxLength: 200, description: 'Short title (default: the first line).' },
        tags: { type: 'array', items: { type: 'string', maxLength: 64 }, maxItems: 20, description: 'Topic tags.' },
        path: {
          type: 'string',
          maxLength: 400,
          description: 'Where in the tree, e.g. "auth/jwt-expiry" (folders allowed; ".md" added).',
        },
      },
    },
    outputSchema: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'status'],
      properties: {
        id: { type: 'string' },
        path: { type: 'string' },
        status: { type: 'string', enum: ['written', 'existing', 'queued'] },
        pending: { type: 'integer', description: 'Notes waiting to be pushed to ByteRover.' },
      },
    },
    async execute(_id, params, signal) {
      const content = str('byterover_curate', params, 'content', true);
      const title = str('byterover_curate', params, 'title', false);
      const path = str('byterover_curate', params, 'path', false);
      const tags = params.tags;
      if (tags !== undefined && (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')))
        throw argError('byterover_curate', '"tags" as an array of strings', tags);
      const mem = await rt.memory(ws);
      const r = await mem.backend.curate(
        {
          content,
          ...(title ? { title } : {}),
          ...(path ? { path } : {}),
          ...(tags ? { tags: tags as string[] } : {}),
        },
        signal ? { signal } : {},
      );
      const pending = mem.local ? await mem.local.outbox.size() : undefined;
      const where = r.path ? ` at ${r.path}` : '';
      const body =
        r.status === 'written'
          ? `Saved the note${where} (id ${r.id}). ${pending ?? 1} note(s) wait to be pushed: byterover_sync pushes them.`
          : r.status === 'existing'
            ? `This note was already saved${where} (id ${r.id}); nothing new was written.`
            : `Handed the note to brv curate (task ${r.id}).`;
      return text(body, {
        id: r.id,
        ...(r.path ? { path: r.path } : {}),
        status: r.status,
        ...(pending !== undefined ? { pending } : {}),
      });
    },
  };

  const sync: AgentTool<Record<string, unknown>> = {
    name: 'byterover_sync',
    label: 'ByteRover sync',
    description:
      'Synchronise the project\'s context tree with its ByteRover space: "pull" brings teammates\' notes, "push" sends notes saved here, "both" (default) does pull then push; "status" reports the tree, pending notes and which credential is in use, without the network.',
    parameters: {
      type: 'object',
      additionalProperties: false,
      properties: { action: { type: 'string', enum: ['pull', 'push', 'both', 'status'], default: 'both' } },
    },
    async execute(_id, params, signal) {
      const action = (params.action ?? 'both') as SyncAction;
      if (!['pull', 'push', 'both', 'status'].includes(action))
        throw argError('byterover_sync', '"action" as pull, push, both or status', params.action);
      const mem = await rt.memory(ws);
      if (action === 'status') {
        const s = await syncStatus(rt, mem);
        return text(s.summary, s.details);
      }
      let r: Awaited<ReturnType<typeof syncTree>>;
      try {
        r = await syncTree(rt, mem, action, signal);
      } catch (e) {
        // The agent sees the message; operators see the stable code and next step in the gateway log
        // (POST /tools/invoke callers get only a generic tool_error).
        if (e instanceof ClawError)
          rt.log.warn({ code: e.code, hint: e.hint }, `byterover_sync ${action} failed: ${e.message}`);
        throw e;
      }
      return text(r.summary, r.details);
    },
  };

  return [search, recall, curate, sync, recordTool(rt, ws)];
}
