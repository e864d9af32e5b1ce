/**
 * The context engine (`plugins.slots.contextEngine: "claw-byterover"`).
 *
 * - `assemble`: recalls notes for the turn's prompt (the host's `prompt`, else the last user message)
 *   and returns them as a `systemPromptAddition` that fits the budget (the smaller of
 *   `recall.maxTokens` and `recall.budgetShare` of the host's token budget; lib/memory's estimate,
 *   chars / 4) and names each note's path. The history passes through unchanged (this engine adds
 *   memory; it does not own history assembly). Recall races `recall.deadlineMs` (default 250 ms): past
 *   it the turn goes on with no addition, the recall is aborted (a `brv` subprocess is killed) and the
 *   reason is logged (tree still opening, or recall slow). Any failure is the same "no addition" with
 *   a log line: a memory problem never fails a turn.
 * - `commitTurn` (OpenClaw's durable turn advancement) and `afterTurn` (hosts without it): curate the
 *   turn's durable statements (lib/openclaw/curation.ts) into the tree; lib/memory's curate writes the
 *   note and its outbox entry, which `byterover_sync` (or `claw-byterover push`) sends. Advancement
 *   keys already committed are remembered in the tree's state dir, so a retried commit is answered
 *   `duplicate` and writes nothing; note ids derive from content, so even a lost key writes no note
 *   twice. Never throws: a curate failure is logged and the turn stays committed.
 * - `compact`: delegated to OpenClaw's built-in compaction (`ownsCompaction: false` +
 *   `delegateCompactionToRuntime` from the host SDK), as the context-engine docs require of engines
 *   that do not compact themselves.
 * - `ingest`: nothing to store per message (OpenClaw persists the transcript; curation works per
 *   accepted turn), so `{ingested: false}`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, isClawError } from '../errors.js';
import { estimateTokens, type RecallOptions, type RecallResult } from '../memory/index.js';
import { writeFileAtomic } from '../fsx/index.js';
import { durableNotes } from './curation.js';
import {
  importHostSdk,
  type AfterTurnParams,
  type AgentMessage,
  type AssembleParams,
  type AssembleResult,
  type CommitTurnParams,
  type CompactParams,
  type CompactResult,
  type ContextEngine,
} from './host.js';
import { PLUGIN_ID } from './config.js';
import { estimateMessagesTokens, lastUserText } from './messages.js';
import type { MemoryScope, PluginRuntime } from './runtime.js';
import { guidanceOn, RECORD_GUIDANCE, V4_ADDITION_HEADER } from './v4.js';

/** Longest query sent to recall (characters). */
export const MAX_QUERY_CHARS = 2000;
/** Below this many tokens an addition is not worth making. */
const MIN_ADDITION_TOKENS = 40;
/** Advancement keys remembered per tree (most recent). */
const KEPT_KEYS = 2000;

export const ADDITION_HEADER =
  "## ByteRover memory\nNotes recalled from the project's ByteRover context tree for this request. Each note shows its path in parentheses: cite the path when you rely on a note, and prefer the user's current instructions when they disagree.\n\n";

export interface EngineOptions {
  runtime: PluginRuntime;
  workspaceDir?: string;
  /** The agent's directory from OpenClaw's factory context (`…/agents/<agentId>/agent`): its agent id scopes memory. */
  agentDir?: string;
  version?: string;
  /** Open the tree when the engine is created (full gateway runs), so the first turn finds it ready. */
  warm?: boolean;
  /** Host SDK loader (tests pass their own). */
  delegateCompaction?: (params: CompactParams) => Promise<CompactResult>;
  now?: () => number;
  /** ByteRover's own OpenClaw plugin is enabled too (v4 record guidance then defaults to off). */
  byteroverPlugin?: boolean;
}

/** Without a configured `recall.maxTokens`: this share of the model's context window… */
export const DEFAULT_WINDOW_SHARE = 0.02;
/** …kept between these bounds (tokens), */
export const DEFAULT_MIN_TOKENS = 200;
export const DEFAULT_MAX_TOKENS = 2000;
/** and this when the host gives no window. */
export const DEFAULT_TOKENS_NO_WINDOW = 800;
/** The query reads at most this many of the latest messages (huge sessions cost nothing more). */
export const RECENT_MESSAGES = 40;

/**
 * The budget of the addition for a turn, in estimated tokens. `tokenBudget` is the model's context
 * window as OpenClaw passes it to `assemble`. The ceiling is `recall.maxTokens` when configured, else
 * sized from the window (2 %, between 200 and 2,000 tokens; 800 without a window); with a window the
 * addition also never takes more than `recall.budgetShare` of it.
 */
export function additionBudget(
  tokenBudget: number | undefined,
  recall: { maxTokens?: number | undefined; budgetShare: number },
): number {
  const window = tokenBudget !== undefined && Number.isFinite(tokenBudget) && tokenBudget > 0 ? tokenBudget : undefined;
  const ceiling =
    recall.maxTokens ??
    (window === undefined
      ? DEFAULT_TOKENS_NO_WINDOW
      : Math.min(DEFAULT_MAX_TOKENS, Math.max(DEFAULT_MIN_TOKENS, Math.floor(window * DEFAULT_WINDOW_SHARE))));
  return window === undefined ? ceiling : Math.min(ceiling, Math.floor(window * recall.budgetShare));
}

/**
 * The query for a turn: the host's prompt, else the last user message among the latest
 * RECENT_MESSAGES; whitespace folded, capped at MAX_QUERY_CHARS. Never reads older history.
 */
export function queryOf(params: Pick<AssembleParams, 'prompt' | 'messages'>): string {
  const messages = Array.isArray(params.messages) ? params.messages : [];
  const prompt =
    typeof params.prompt === 'string' && params.prompt.trim()
      ? params.prompt
      : lastUserText(messages.length > RECENT_MESSAGES ? messages.slice(-RECENT_MESSAGES) : messages);
  return prompt
    .slice(0, MAX_QUERY_CHARS * 4)
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, MAX_QUERY_CHARS);
}

/**
 * The system-prompt addition for a recall result (empty when nothing was recalled). A ByteRover v4
 * space's result carries its citation list (`citation`) inside `text` and gets V4_ADDITION_HEADER;
 * `guidance` (v4 record guidance) follows the hits, or stands alone when nothing was recalled.
 */
export function renderAddition(
  result: Pick<RecallResult, 'text' | 'hits'> & { citation?: string },
  guidance = '',
): string {
  const hits =
    result.hits.length === 0 || !result.text
      ? ''
      : `${result.citation !== undefined ? V4_ADDITION_HEADER : ADDITION_HEADER}${result.text}`;
  return hits && guidance ? `${hits}\n${guidance}` : hits || guidance;
}

type Outcome<T> = { kind: 'ok'; value: T } | { kind: 'timeout' } | { kind: 'error'; error: unknown };

/** Runs `fn` with an AbortSignal; resolves `timeout` (and aborts it) after `ms`. */
export async function withDeadline<T>(fn: (signal: AbortSignal) => Promise<T>, ms: number): Promise<Outcome<T>> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Outcome<T>>((res) => {
    timer = setTimeout(() => {
      ac.abort(new Error(`deadline of ${ms} ms passed`));
      res({ kind: 'timeout' });
    }, ms);
  });
  const work = fn(ac.signal).then(
    (value): Outcome<T> => ({ kind: 'ok', value }),
    (error: unknown): Outcome<T> => ({ kind: 'error', error }),
  );
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A failure as log fields (`error` = the stable code; lib/log treats a `code` field as an OAuth secret). */
function failure(e: unknown): { error: string; reason: string } {
  return { error: isClawError(e) ? e.code : 'UNEXPECTED', reason: errorMessage(e) };
}

function turnOf(params: AfterTurnParams): AgentMessage[] {
  const from =
    Number.isInteger(params.prePromptMessageCount) && params.prePromptMessageCount >= 0
      ? params.prePromptMessageCount
      : 0;
  return (params.messages ?? []).slice(from);
}

async function defaultDelegate(params: CompactParams): Promise<CompactResult> {
  const core = await importHostSdk<{ delegateCompactionToRuntime?: (p: CompactParams) => Promise<CompactResult> }>(
    'core',
  );
  if (typeof core.delegateCompactionToRuntime !== 'function')
    throw new Error('openclaw/plugin-sdk/core has no delegateCompactionToRuntime');
  return core.delegateCompactionToRuntime(params);
}

/** The agent id of an OpenClaw session key (`agent:<agentId>:…`), if it is one. */
export function agentOfSessionKey(sessionKey: string | undefined): string | undefined {
  const m = typeof sessionKey === 'string' ? /^agent:([^:]+):/.exec(sessionKey) : null;
  return m?.[1] || undefined;
}

/** The agent id of an OpenClaw agent directory (`<state>/agents/<agentId>/agent`), if it is one. */
export function agentOfDir(agentDir: string | undefined): string | undefined {
  if (typeof agentDir !== 'string') return undefined;
  const parts = agentDir.split(/[\\/]+/).filter(Boolean);
  const i = parts.lastIndexOf('agents');
  return i >= 0 && i + 1 < parts.length ? parts[i + 1] : undefined;
}

export function createContextEngine(o: EngineOptions): ContextEngine {
  const rt = o.runtime;
  const log = rt.log.child({ component: 'openclaw.engine' });
  const cfg = rt.config;
  const now = o.now ?? Date.now;
  const factoryAgent = agentOfDir(o.agentDir);
  /** Whose memory a call uses: this workspace, and the session's agent (else the factory's). */
  const scopeOf = (sessionKey?: string): MemoryScope => ({
    workspaceDir: o.workspaceDir,
    agentId: agentOfSessionKey(sessionKey) ?? factoryAgent,
  });
  // Open (and index) the tree now, so the first turn usually finds it ready.
  if (o.warm) void rt.memory(scopeOf()).catch(() => undefined);

  const keysFile = (sessionKey?: string): string =>
    join(rt.location(scopeOf(sessionKey)).stateDir, 'openclaw-turns.json');
  const readKeys = async (file: string): Promise<string[]> => {
    try {
      const v = JSON.parse(await readFile(file, 'utf8')) as unknown;
      return Array.isArray(v) ? v.filter((k): k is string => typeof k === 'string') : [];
    } catch {
      return [];
    }
  };

  /** Curates a turn; returns how many notes were newly written. Never throws. */
  const curateTurn = async (
    turn: AgentMessage[],
    meta: { sessionKey?: string; isHeartbeat?: boolean; via: string },
  ): Promise<number> => {
    if (!cfg.curate.afterTurn) return 0;
    const candidates = durableNotes(turn, { isHeartbeat: meta.isHeartbeat === true });
    if (candidates.length === 0) return 0;
    let written = 0;
    try {
      const mem = await rt.memory(scopeOf(meta.sessionKey));
      for (const c of candidates) {
        const r = await mem.backend.curate(c.note);
        if (r.status !== 'existing') written++;
        log.info(
          { via: meta.via, kind: c.kind, path: r.path, status: r.status, session: meta.sessionKey },
          'curated a durable statement from the turn',
        );
      }
    } catch (e) {
      log.warn({ via: meta.via, ...failure(e) }, 'after-turn curation failed; the turn is unaffected');
    }
    return written;
  };

  const assembleWithMemory = async (
    params: AssembleParams,
    messages: AgentMessage[],
    base: number,
  ): Promise<AssembleResult> => {
    const plain = { messages, estimatedTokens: base };
    const query = queryOf(params);
    if (query.length < cfg.recall.minQueryChars) return plain;
    const total = additionBudget(params.tokenBudget, cfg.recall);
    const budget = total - estimateTokens(ADDITION_HEADER);

    if (budget < MIN_ADDITION_TOKENS) {
      log.debug({ tokenBudget: params.tokenBudget }, 'token budget too small for recall');
      return plain;
    }
    const scope = scopeOf(params.sessionKey);
    const wasReady = rt.isReady(scope);
    const started = now();
    let guidance = '';
    const outcome = await withDeadline(async (signal) => {
      const mem = await rt.memory(scope);
      if (mem.source.kind !== 'v4-space')
        return mem.backend.recall(query, { k: cfg.recall.maxHits, tokenBudget: budget, signal });
      // v4 space: cite hits by title, path and element; optional record guidance; all within `total`
      if (guidanceOn(cfg.recall.recordGuidance, o.byteroverPlugin === true)) guidance = RECORD_GUIDANCE;
      const v4Budget = total - estimateTokens(V4_ADDITION_HEADER) - (guidance ? estimateTokens(`\n${guidance}`) : 0);
      const opts: RecallOptions & { citeMin: 'high' | 'medium' | 'low' } = {
        k: cfg.recall.maxHits,
        tokenBudget: Math.max(0, v4Budget),
        signal,
        citeMin: cfg.recall.citeMinConfidence,
      };
      return mem.backend.recall(query, opts);
    }, cfg.recall.deadlineMs);
    if (outcome.kind === 'timeout') {
      const why =
        !wasReady && !rt.isReady(scope)
          ? 'the context tree was still being opened and indexed'
          : 'recall was slower than the deadline';
      log.warn(
        { deadlineMs: cfg.recall.deadlineMs, session: params.sessionKey },
        `recall skipped for this turn: ${why}`,
      );
      return plain;
    }
    if (outcome.kind === 'error') {
      const e = outcome.error;
      log.warn({ session: params.sessionKey, ...failure(e) }, 'recall failed; this turn goes on without memory');
      return plain;
    }
    const addition = renderAddition(outcome.value, guidance);
    log.debug(
      { hits: outcome.value.hits.length, tokens: estimateTokens(addition), ms: now() - started },
      'recall done',
    );
    if (!addition) return plain;
    const tokens = estimateTokens(addition);
    if (tokens > total) {
      // recall fits its text to the budget; this guards the header and anything added around it.
      log.warn({ tokens, budget: total }, 'the memory addition would exceed its token budget; left out of this turn');
      return plain;
    }
    return { messages, estimatedTokens: base + tokens, systemPromptAddition: addition };
  };

  return {
    info: {
      id: PLUGIN_ID,
      name: 'ByteRover memory',
      ...(o.version ? { version: o.version } : {}),
      ownsCompaction: false,
      transcriptSemantics: {
        currentTurnFence: 'before-current-turn-entry-v1',
        turnAdvancementIdempotency: 'atomic-idempotent-v1',
      },
    },

    async ingest() {
      return { ingested: false };
    },

    async assemble(params: AssembleParams): Promise<AssembleResult> {
      const messages = Array.isArray(params.messages) ? params.messages : [];
      let base = 0;
      try {
        base = estimateMessagesTokens(messages);
        return await assembleWithMemory(params, messages, base);
      } catch (e) {
        // Nothing here may fail a turn: the history goes on unchanged, without memory.
        log.warn({ session: params.sessionKey, ...failure(e) }, 'assemble failed; this turn goes on without memory');
        return { messages, estimatedTokens: base };
      }
    },

    async compact(params: CompactParams): Promise<CompactResult> {
      try {
        return await (o.delegateCompaction ?? defaultDelegate)(params);
      } catch (e) {
        log.error({ err: errorMessage(e) }, 'could not hand compaction to OpenClaw');
        return {
          ok: false,
          compacted: false,
          reason: `claw-byterover delegates compaction to OpenClaw and could not reach it: ${errorMessage(e)}`,
        };
      }
    },

    async commitTurn(params: CommitTurnParams) {
      // The host commits turns durably: afterTurn leaves curation to this method from now on.
      rt.hostCommitsTurns = true;
      const key = String(params.advancementKey);
      const file = keysFile(params.sessionKey);
      return rt.exclusive(file, async () => {
        const known = await readKeys(file);
        if (known.includes(key)) return { status: 'duplicate' as const };
        await curateTurn(params.messages ?? [], {
          ...(params.sessionKey ? { sessionKey: params.sessionKey } : {}),
          isHeartbeat: params.isHeartbeat === true,
          via: 'commitTurn',
        });
        try {
          await writeFileAtomic(file, `${JSON.stringify([...known, key].slice(-KEPT_KEYS))}\n`);
        } catch (e) {
          log.warn(
            { err: errorMessage(e) },
            'could not record the committed turn key (a retry would find its notes already written)',
          );
        }
        return { status: 'committed' as const };
      });
    },

    async afterTurn(params: AfterTurnParams) {
      if (rt.hostCommitsTurns) return;
      await curateTurn(turnOf(params), {
        ...(params.sessionKey ? { sessionKey: params.sessionKey } : {}),
        isHeartbeat: params.isHeartbeat === true,
        via: 'afterTurn',
      });
    },

    async dispose() {
      // Engine instances are per logical turn; the open trees belong to the runtime.
    },
  };
}
