/**
 * What each skill action does, behind one interface (`SkillActions`) so the route never knows how:
 *
 *   whoami  the bridge's ByteRover user (lib/byterover client `me`) and the caller's identity
 *   search  ranked notes of the context tree (lib/memory MemoryBackend.search)
 *   recall  the memory block for a prompt within a token budget (MemoryBackend.recall)
 *   curate  a new note in the tree, queued for push (MemoryBackend.curate)
 *   pull    the space's snapshot into the tree (lib/memory MemorySync.pull)
 *   push    the outbox to ByteRover (MemorySync.push)
 *   record  a ByteRover v4 topic into the project's v4 space (lib/memory/v4 record: validated against
 *           ByteRover's vocabulary, every violation at once; stamped; signal sidecar kept)
 *
 * `createSkillActions` builds the real implementation from those pieces; `openSkillActions` opens them
 * (LocalMemory over the context tree, its MemorySync for one space) the way the CLI does.
 */
import { join } from 'node:path';
import type { ByteRoverClient, ByteRoverUser } from '../../byterover/index.js';
import { ClawError } from '../../errors.js';
import type { Logger } from '../../log/index.js';
import {
  openMemory,
  type LocalMemory,
  type CurateResult,
  type LocalMemoryOptions,
  type MemoryBackend,
  type MemorySync,
  type PullResult,
  type PushSummary,
  type RecallHit,
  type RecallIndexFactory,
  type RecallResult,
} from '../../memory/index.js';
import type { RecordInput, RecordOptions, RecordResult } from '../../memory/v4/record.js';
import type { SpaceMemory } from '../../memory/v4/memory.js';
import type { SkillAction, SkillPayloads } from './schemas.js';
import { SkillErrorCode } from './codes.js';

export interface SkillContext {
  /** Aborted when the action runs past `actionTimeoutMs` (or the bridge shuts down). */
  signal: AbortSignal;
  /** The authenticated caller's identity (see auth.ts), never the key. */
  caller: string;
  /** The bridge request id (x-request-id), for logs. */
  requestId: string;
}

export interface SkillResults {
  whoami: { caller: string; user: ByteRoverUser };
  search: { query: string; hits: RecallHit[]; total: number };
  recall: { query: string; tokenBudget: number } & RecallResult;
  curate: CurateResult;
  pull: PullResult;
  push: PushSummary;
  record: Pick<RecordResult, 'path' | 'file' | 'created' | 'id' | 'warnings' | 'dropped'> & {
    space: { id: string; name: string | null };
  };
}

export type SkillActions = {
  [A in SkillAction]: (payload: SkillPayloads[A], ctx: SkillContext) => Promise<SkillResults[A]>;
};

/** Read-only actions: a failure changed nothing, so its idempotency key is released (see route.ts). */
export const READ_ONLY_ACTIONS: ReadonlySet<SkillAction> = new Set(['whoami', 'search', 'recall']);

export interface SkillActionsDeps {
  /** search, recall, curate. */
  memory: Pick<MemoryBackend, 'search' | 'recall' | 'curate'>;
  /** whoami; without it whoami answers 503 SKILL_ACTION_UNAVAILABLE. */
  client?: Pick<ByteRoverClient, 'me'>;
  /** pull, push; without it they answer 503 SKILL_ACTION_UNAVAILABLE. */
  sync?: Pick<MemorySync, 'pull' | 'push'>;
  /**
   * record: writes into the project's ByteRover v4 space; without it (a v3 project) record answers
   * 503 SKILL_ACTION_UNAVAILABLE.
   */
  record?: {
    space: { id: string; name: string | null };
    write(path: string, input: RecordInput, opts: RecordOptions): Promise<RecordResult>;
  };
  /** Why `client` / `sync` are missing, with the next step (shown as the 503's hint). */
  missing?: { byterover?: string; sync?: string };
  /** Defaults as the CLI has them: search k 10, recall k 5, token budget 1000. */
  defaults?: { searchK?: number; recallK?: number; tokenBudget?: number };
}

function unavailable(action: SkillAction, what: string, hint: string): ClawError {
  return new ClawError(
    SkillErrorCode.ACTION_UNAVAILABLE,
    `expected the bridge to have ${what} for ${action}, found none configured`,
    { hint },
  );
}

const BYTEROVER_HINT =
  'On the bridge host, log in (`claw-byterover login`, or set BYTEROVER_API_KEY) and restart `claw-byterover serve`.';
const SYNC_HINT =
  'On the bridge host, log in and set the team and space (`claw-byterover config set team <id>`, `config set space <id>`), then restart `claw-byterover serve`.';

export function createSkillActions(deps: SkillActionsDeps): SkillActions {
  const d = deps.defaults ?? {};
  const needSync = (action: SkillAction): Pick<MemorySync, 'pull' | 'push'> => {
    if (!deps.sync) throw unavailable(action, 'a ByteRover space to sync with', deps.missing?.sync ?? SYNC_HINT);
    return deps.sync;
  };
  return {
    async whoami(_p, ctx) {
      if (!deps.client) throw unavailable('whoami', 'a ByteRover session', deps.missing?.byterover ?? BYTEROVER_HINT);
      return { caller: ctx.caller, user: await deps.client.me({ signal: ctx.signal }) };
    },
    async search(p, ctx) {
      const hits = await deps.memory.search(p.query, { k: p.k ?? d.searchK ?? 10, signal: ctx.signal });
      return { query: p.query, hits, total: hits.length };
    },
    async recall(p, ctx) {
      const tokenBudget = p.tokenBudget ?? d.tokenBudget ?? 1000;
      const r = await deps.memory.recall(p.query, { k: p.k ?? d.recallK ?? 5, tokenBudget, signal: ctx.signal });
      return { query: p.query, tokenBudget, ...r };
    },
    async curate(p, ctx) {
      return deps.memory.curate(
        {
          content: p.content,
          ...(p.title !== undefined ? { title: p.title } : {}),
          ...(p.tags !== undefined ? { tags: p.tags } : {}),
          ...(p.path !== undefined ? { path: p.path } : {}),
        },
        { signal: ctx.signal },
      );
    },
    async record(p) {
      if (!deps.record)
        throw unavailable(
          'record',
          "a ByteRover v4 space (the bridge's project is a v3 context tree)",
          'Bind the project folder to a v4 space with ByteRover (`space bind "<name>"`) and restart `claw-byterover serve`, or use curate for a v3 tree.',
        );
      const fields = {
        ...(p.title !== undefined ? { title: p.title } : {}),
        ...(p.summary !== undefined ? { summary: p.summary } : {}),
        ...(p.keywords !== undefined ? { keywords: p.keywords } : {}),
        ...(p.tags !== undefined ? { tags: p.tags } : {}),
        ...(p.related !== undefined ? { related: p.related } : {}),
        ...(p.body !== undefined ? { body: p.body } : {}),
      };
      const r = await deps.record.write(p.path, p.html !== undefined ? { html: p.html, ...fields } : fields, {
        ...(p.overwrite ? { overwrite: true } : {}),
        ...(p.allowDrop ? { allowDrop: true } : {}),
        agent: 'claw-byterover',
      });
      return {
        path: r.path,
        file: r.file,
        created: r.created,
        id: r.id,
        warnings: r.warnings,
        dropped: r.dropped,
        space: deps.record.space,
      };
    },
    pull: (_p, ctx) => needSync('pull').pull({ signal: ctx.signal }),
    push: (_p, ctx) => needSync('push').push({ signal: ctx.signal }),
  };
}

export interface OpenSkillActionsOptions {
  projectRoot: string;
  /** Default `<projectRoot>/.brv/context-tree`. */
  treeRoot?: string;
  /** Default `<projectRoot>/.brv/claw-byterover`. */
  stateDir?: string;
  /** The ByteRover client (whoami, and pull/push with `space`). */
  client?: ByteRoverClient;
  /** The space pull/push sync with (needs `client`). */
  space?: { teamId: string; spaceId: string; branch?: string };
  missing?: SkillActionsDeps['missing'];
  /** The recall engine (default: the native one). */
  index?: RecallIndexFactory;
  /** Watch the tree (default true: a long-running service). */
  watch?: boolean;
  logger?: Logger;
  /** Latency of every search/recall (telemetry), passed to LocalMemory. */
  onRecall?: LocalMemoryOptions['onRecall'];
}

export interface OpenedSkillActions {
  actions: SkillActions;
  /** LocalMemory for a v3 tree; SpaceMemory when the project is bound to a ByteRover v4 space. */
  memory: LocalMemory | SpaceMemory;
  sync: MemorySync | undefined;
  close(): Promise<void>;
}

/** Opens the context tree (LocalMemory) and, with a client and a space, its MemorySync; builds the actions over them. */
export async function openSkillActions(opts: OpenSkillActionsOptions): Promise<OpenedSkillActions> {
  // The one opener (lib/memory/open.ts), native engine unless an index is given: without the engine
  // it throws MEMORY_ENGINE_UNAVAILABLE (the loader's error as the cause), which `serve` turns into 503s.
  // A project bound to a ByteRover v4 space (and no tree given) serves the space: search/recall/record
  // over its topics; pull/push (v3 CoGit sync) do not apply to it (ByteRover's daemon syncs spaces).
  if (opts.treeRoot === undefined) {
    const { resolveMemory } = await import('../../memory/open.js');
    const where = await resolveMemory({ projectRoot: opts.projectRoot });
    if (where.space) {
      const opened = await openMemory({
        projectRoot: opts.projectRoot,
        space: where.space.spaceId,
        ...(opts.index ? { index: opts.index } : {}),
        engine: 'native',
        watch: opts.watch ?? true,
        ...(opts.logger ? { logger: opts.logger } : {}),
      });
      const mem = opened.backend as SpaceMemory;
      const space = { id: where.space.spaceId, name: where.space.spaceName ?? null };
      const actions = createSkillActions({
        memory: mem,
        record: { space, write: (path, input, o) => mem.record(path, input, o) },
        ...(opts.client ? { client: opts.client } : {}),
        missing: {
          ...opts.missing,
          sync: "This project uses a ByteRover v4 space: ByteRover's own daemon and desktop app sync it; pull/push apply to v3 context trees.",
        },
      });
      return { actions, memory: mem, sync: undefined, close: () => mem.close() };
    }
  }
  const { local: memory } = await openMemory({
    projectRoot: opts.projectRoot,
    dir: opts.treeRoot ?? join(opts.projectRoot, '.brv', 'context-tree'),
    ...(opts.stateDir ? { stateDir: opts.stateDir } : {}),
    ...(opts.index ? { index: opts.index } : {}),
    engine: 'native',
    watch: opts.watch ?? true,
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.onRecall ? { onRecall: opts.onRecall } : {}),
  });
  const sync = opts.client && opts.space ? memory.sync(opts.client, opts.space) : undefined;
  const actions = createSkillActions({
    memory,
    ...(opts.client ? { client: opts.client } : {}),
    ...(sync ? { sync } : {}),
    ...(opts.missing ? { missing: opts.missing } : {}),
  });
  return { actions, memory, sync, close: () => memory.close() };
}
