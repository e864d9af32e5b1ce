/**
 * ByteRover v4 in the OpenClaw plugin: the record guidance the context engine may add after the
 * recalled topics, whether ByteRover's own OpenClaw plugin is enabled beside this one (then it adds
 * its own guidance and ours is off by default), and the `byterover_record` tool.
 *
 * The recalled block of a v4 space already ends with its `📚 From ByteRover:` citation list (the
 * confident hits only; lib/memory/v4/cite.ts), inside the token budget.
 */
import { ClawError } from '../errors.js';
import type { AgentTool, AgentToolResult } from './host.js';
import type { MemoryScope, PluginRuntime } from './runtime.js';
import { OpenClawErrorCode } from './errors.js';
import { TopicErrorCode } from '../memory/v4/errors.js';

/** ByteRover's own OpenClaw plugin (`@byterover/byterover`, manifest id `byterover`). */
export const BYTEROVER_PLUGIN_ID = 'byterover';

/**
 * Is ByteRover's own plugin enabled in this OpenClaw config? True when `plugins.entries.byterover`
 * exists and is not `enabled: false`, or when it holds the context-engine slot, and it is not
 * listed in `plugins.deny` or left out of a `plugins.allow` list.
 */
export function byteroverPluginEnabled(hostConfig: unknown): boolean {
  if (typeof hostConfig !== 'object' || hostConfig === null) return false;
  const plugins = (hostConfig as { plugins?: unknown }).plugins;
  if (typeof plugins !== 'object' || plugins === null) return false;
  const p = plugins as { entries?: unknown; slots?: unknown; allow?: unknown; deny?: unknown; enabled?: unknown };
  if (p.enabled === false) return false;
  if (Array.isArray(p.deny) && p.deny.includes(BYTEROVER_PLUGIN_ID)) return false;
  if (Array.isArray(p.allow) && !p.allow.includes(BYTEROVER_PLUGIN_ID)) return false;
  const entry =
    typeof p.entries === 'object' && p.entries !== null
      ? (p.entries as Record<string, unknown>)[BYTEROVER_PLUGIN_ID]
      : undefined;
  if (typeof entry === 'object' && entry !== null && (entry as { enabled?: unknown }).enabled !== false) return true;
  const slot =
    typeof p.slots === 'object' && p.slots !== null
      ? (p.slots as { contextEngine?: unknown }).contextEngine
      : undefined;
  return slot === BYTEROVER_PLUGIN_ID;
}

/** Whether the engine adds the record guidance (`recall.recordGuidance`). */
export function guidanceOn(setting: 'auto' | 'on' | 'off', byteroverPlugin: boolean): boolean {
  return setting === 'on' || (setting === 'auto' && !byteroverPlugin);
}

/** The header of a v4 space's recalled topics (the block ends with its 📚 citation list). */
export const V4_ADDITION_HEADER =
  "## ByteRover memory\nTopics recalled from the project's ByteRover space for this request, best first, each with its path and the element it came from. Prefer the user's current instructions when they disagree. When you rely on them, end your answer with the 📚 From ByteRover list below.\n\n";

/** The short record guidance (≈ 120 tokens) added after recalled v4 topics. */
export const RECORD_GUIDANCE =
  '### Saving to ByteRover\n' +
  'To keep a durable decision, rule, bug and its fix, convention or a fact the user asks you to remember, call `byterover_record` with `path` (snake_case segments, e.g. `auth/token_refresh`) and one `<bv-topic path="…" title="…">` HTML using bv-* elements: `<bv-task>` plus `<bv-decision>`+`<bv-reason>`, `<bv-rule severity>`, `<bv-bug>`+`<bv-fix>`, `<bv-structure>`, `<bv-fact subject category>`. ' +
  'Prefer updating a topic recalled above (overwrite, keeping its elements) over a near-duplicate. Never record secrets.\n';

/** The `byterover_record` tool (v4 spaces). */
export function recordTool(rt: PluginRuntime, ws: MemoryScope): AgentTool<Record<string, unknown>> {
  return {
    name: 'byterover_record',
    label: 'ByteRover record',
    description:
      "Save durable project knowledge to the project's ByteRover v4 space as one <bv-topic> HTML document (decisions with reasons, rules, bug + fix, conventions, facts the user asked to remember). The HTML is validated against ByteRover's vocabulary; every problem comes back at once with its code and fix. Say you saved something only after this returns.",
    parameters: {
      type: 'object',
      additionalProperties: false,
      required: ['path', 'html'],
      properties: {
        path: {
          type: 'string',
          minLength: 1,
          maxLength: 400,
          description: 'Topic path, snake_case segments (e.g. "security/auth"), no ".html"; equal to <bv-topic path>.',
        },
        html: {
          type: 'string',
          minLength: 1,
          maxLength: 500000,
          description:
            'The whole <bv-topic path="…" title="…">…</bv-topic> document: bv-* elements only, lowercase double-quoted attributes, no createdat/updatedat/id/importance.',
        },
        overwrite: {
          type: 'boolean',
          default: false,
          description: 'Replace the topic at this path (merge: keep its existing elements).',
        },
        allowDrop: {
          type: 'boolean',
          default: false,
          description: 'With overwrite: accept fewer elements than the existing topic has.',
        },
      },
    },
    outputSchema: {
      type: 'object',
      additionalProperties: false,
      required: ['path', 'file', 'created', 'id', 'space'],
      properties: {
        path: { type: 'string' },
        file: { type: 'string' },
        created: { type: 'boolean' },
        id: { type: 'string' },
        space: { type: 'string' },
        warnings: { type: 'array', items: { type: 'string' } },
      },
    },
    async execute(_id, params): Promise<AgentToolResult<Record<string, unknown>>> {
      const path = params.path;
      const html = params.html;
      if (typeof path !== 'string' || path.trim() === '' || typeof html !== 'string' || html.trim() === '')
        throw new ClawError(OpenClawErrorCode.TOOL_ARGUMENT, 'byterover_record: expected non-empty "path" and "html"', {
          hint: 'Call byterover_record with {path, html[, overwrite]}.',
        });
      const mem = await rt.memory(ws);
      const sm = 'space' in mem ? mem.space : undefined;
      if (!sm)
        throw new ClawError(
          TopicErrorCode.RECORD_NO_SPACE,
          'byterover_record: expected this workspace to use a ByteRover v4 space, found a v3 context tree',
          {
            hint: 'Use byterover_curate for a v3 tree, or bind the project to a v4 space with ByteRover (`space bind "<name>"`).',
          },
        );
      const r = await sm.record(
        path.trim(),
        { html },
        { overwrite: params.overwrite === true, allowDrop: params.allowDrop === true, agent: 'openclaw' },
      );
      const space = mem.source.kind === 'v4-space' ? (mem.source.spaceName ?? mem.source.spaceId) : '';
      const body =
        `${r.created ? 'Saved' : 'Updated'} ByteRover topic \`${r.path}\` in space "${space}" (id ${r.id}).` +
        (r.warnings.length ? ` Warnings: ${r.warnings.join('; ')}` : '');
      return {
        content: [{ type: 'text', text: body }],
        details: { path: r.path, file: r.file, created: r.created, id: r.id, space, warnings: r.warnings },
      };
    },
  };
}
