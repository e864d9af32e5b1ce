/**
 * CoGit push: one commit of context-tree changes with optimistic concurrency on `current_sha`.
 *
 * 1. The base is the caller's `currentSha`, else the branch head from the snapshot endpoint.
 * 2. `POST …/commits {branch, current_sha, memories}` with an idempotency key made once for this
 *    push. lib/http repeats the POST on 429/5xx/network failures with the same key, so a commit whose
 *    response was lost is answered from the server's idempotency record instead of applied twice.
 * 3. A stale base is rejected by CoGit with an error naming the current head ("Expected SHA 'a' but
 *    current SHA is 'b'"). The client refetches the head; when it already holds every change (our own
 *    commit whose answer was lost, on a server without idempotency records) the push is done.
 *    Otherwise it sends the commit once more on the new head (same key: a rejected request stores no
 *    idempotent result). A second stale rejection is BYTEROVER_CONFLICT, naming the SHA sent and the
 *    head found.
 */
import { randomUUID } from 'node:crypto';
import { ByteRoverError, isByteRoverError, ByteRoverErrorCode } from './errors.js';
import { type CallContext, callWithSession } from './call.js';
import { commitResponse } from './schemas.js';
import type { MemoryChange, PushOptions, PushResult } from './types.js';

const OPERATIONS = new Set(['add', 'edit', 'delete']);
const SHA_IN_TEXT = /current\s+SHA\s+is\s+'?([0-9a-f]{7,64})/i;
const STALE_TEXT = /expected\s+SHA|SHA\s+mismatch|current\s+SHA|stale\s+SHA/i;

export function segment(name: string, value: string, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ByteRoverError(
      ByteRoverErrorCode.INVALID_ARGUMENT,
      `${what}: expected a non-empty ${name}, found ${JSON.stringify(value)}`,
      {
        hint: 'List them with `claw-byterover teams` and `claw-byterover spaces`.',
      },
    );
  }
  return encodeURIComponent(value);
}

/** Checks the changes before anything is sent (the server's own rules, as `brv` enforces them). */
export function validateMemories(memories: readonly MemoryChange[] | undefined): void {
  const fail = (msg: string): never => {
    throw new ByteRoverError(ByteRoverErrorCode.INVALID_MEMORY, `Pushing to ByteRover: ${msg}`, {
      hint: 'Fix the named change (operation add|edit|delete, a path, and for add a title and content), then push again.',
    });
  };
  if (!Array.isArray(memories) || memories.length === 0) fail('expected at least one memory change, found none');
  memories!.forEach((m, i) => {
    if (!m || typeof m !== 'object')
      fail(`memories[${i}]: expected an object, found ${m === null ? 'null' : typeof m}`);
    if (!OPERATIONS.has(m.operation))
      fail(`memories[${i}].operation: expected add, edit or delete, found ${JSON.stringify(m.operation)}`);
    if (typeof m.path !== 'string' || m.path.trim() === '')
      fail(`memories[${i}].path: expected a non-empty path, found ${JSON.stringify(m.path)}`);
    if (typeof m.title !== 'string') fail(`memories[${i}].title: expected a string, found ${typeof m.title}`);
    if (typeof m.content !== 'string') fail(`memories[${i}].content: expected a string, found ${typeof m.content}`);
    if (m.operation === 'add' && m.title.trim() === '')
      fail(`memories[${i}].title: expected a title for an add, found an empty one`);
    if (m.operation === 'add' && m.content.trim() === '')
      fail(`memories[${i}].content: expected content for an add, found none`);
    if (m.tags !== undefined && (!Array.isArray(m.tags) || m.tags.some((t) => typeof t !== 'string'))) {
      fail(`memories[${i}].tags: expected an array of strings`);
    }
  });
}

function wireMemory(m: MemoryChange): Record<string, unknown> {
  return {
    path: m.path,
    title: m.title,
    content: m.content,
    tags: [...(m.tags ?? [])],
    operation: m.operation,
    ...(m.reason !== undefined ? { reason: m.reason } : {}),
    ...(m.confidence !== undefined ? { confidence: m.confidence } : {}),
    ...(m.impact !== undefined ? { impact: m.impact } : {}),
    ...(m.needsReview !== undefined ? { needsReview: m.needsReview } : {}),
  };
}

/** When `e` is CoGit's stale-SHA rejection: the head it names (if it names one). */
export function staleShaRejection(e: unknown): { currentSha: string | undefined } | undefined {
  if (!isByteRoverError(e) || e.status === undefined || ![400, 409, 412, 422].includes(e.status)) return undefined;
  const d = e.details ?? {};
  const texts = [
    d.serverMessage,
    d.serverError,
    typeof d.serverDetails === 'string' ? d.serverDetails : JSON.stringify(d.serverDetails ?? ''),
  ].filter((t): t is string => typeof t === 'string');
  if (!texts.some((t) => STALE_TEXT.test(t))) return undefined;
  for (const t of texts) {
    const m = SHA_IN_TEXT.exec(t);
    if (m?.[1]) return { currentSha: m[1] };
  }
  return { currentSha: undefined };
}

/** A branch head as read from the snapshot endpoint: its SHA and its files' base64 contents by path. */
export interface BranchHead {
  sha: string;
  files: ReadonlyMap<string, string>;
}

export interface PushDeps {
  /** Head of a branch (the snapshot endpoint). */
  fetchHead(teamId: string, spaceId: string, branch: string, signal: AbortSignal | undefined): Promise<BranchHead>;
}

/** CoGit snapshot paths start with `/`; memory paths may not. */
function snapshotPath(p: string): string {
  const t = p.trim();
  return t.startsWith('/') ? t : `/${t}`;
}

/**
 * True when the head already holds every change: each added/edited path has exactly this content and
 * each deleted path is gone. That is the state after our own commit was applied but its answer lost
 * (a server without idempotency records then rejects the repeat as stale), or after someone else made
 * the very same changes: either way there is nothing left to push.
 */
export function changesPresent(head: BranchHead, memories: readonly MemoryChange[]): boolean {
  return memories.every((m) => {
    const current = head.files.get(snapshotPath(m.path));
    if (m.operation === 'delete') return current === undefined;
    return current !== undefined && current === Buffer.from(m.content, 'utf8').toString('base64');
  });
}

export async function pushCommit(
  ctx: CallContext,
  deps: PushDeps,
  teamId: string,
  spaceId: string,
  opts: PushOptions,
): Promise<PushResult> {
  const what = 'Pushing to ByteRover';
  const team = segment('team id', teamId, what);
  const space = segment('space id', spaceId, what);
  const branch = opts.branch ?? 'main';
  if (typeof branch !== 'string' || branch.trim() === '') segment('branch', branch, what);
  validateMemories(opts.memories);
  const memories = opts.memories.map(wireMemory);
  const idempotencyKey = randomUUID();
  const signal = opts.signal;

  const commit = async (currentSha: string) => {
    const res = await callWithSession(ctx, {
      service: 'cogit',
      method: 'POST',
      path: `/api/v1/organizations/${team}/projects/${space}/commits`,
      body: {
        branch,
        current_sha: currentSha,
        memories,
        ...(opts.message !== undefined ? { message: opts.message } : {}),
      },
      endpoint: 'cogit.commits',
      what,
      schema: commitResponse,
      idempotencyKey,
      ...(signal ? { signal } : {}),
    });
    if (!res.data.success || !res.data.commit_sha) {
      throw new ByteRoverError(
        ByteRoverErrorCode.COMMIT_REJECTED,
        `${what}: expected CoGit to accept the commit on ${branch}, found success=${res.data.success}` +
          (res.data.message ? `: ${res.data.message}` : '') +
          (res.data.commit_sha ? '' : ' and no commit_sha'),
        {
          status: res.status,
          requestId: res.requestId,
          endpoint: 'cogit.commits',
          hint: 'Pull the space, check the changes, then push again.',
          details: { branch, currentSha },
        },
      );
    }
    return res;
  };

  const firstBase = opts.currentSha ?? (await deps.fetchHead(teamId, spaceId, branch, signal)).sha;
  let base = firstBase;
  for (let attempt = 1; ; attempt++) {
    try {
      return done(await commit(base), base, attempt > 1);
    } catch (e) {
      const stale = staleShaRejection(e);
      if (!stale) throw e;
      if (attempt >= 2) {
        const head = await deps.fetchHead(teamId, spaceId, branch, signal).catch(() => undefined);
        if (head && changesPresent(head, opts.memories)) return present(head, base);
        const current = head?.sha ?? stale.currentSha;
        throw new ByteRoverError(
          ByteRoverErrorCode.CONFLICT,
          `${what}: the ${branch} branch moved twice under this push: sent current_sha ${base}, but ByteRover's head is ${current ?? '(unknown)'} (the first attempt was based on ${firstBase})`,
          {
            status: (e as ByteRoverError).status,
            requestId: (e as ByteRoverError).requestId,
            retryable: false,
            endpoint: 'cogit.commits',
            hint: 'Someone else is pushing to this space right now: pull (`claw-byterover pull`), review the changes, then push again.',
            details: { branch, sentSha: base, currentSha: current, firstSentSha: firstBase, idempotencyKey },
            cause: e,
          },
        );
      }
      ctx.logger.info(
        { endpoint: 'cogit.commits', branch, sent: base, current: stale.currentSha },
        'stale current_sha; refetching the head and pushing once more',
      );
      const head = await deps.fetchHead(teamId, spaceId, branch, signal);
      if (changesPresent(head, opts.memories)) {
        ctx.logger.info(
          { endpoint: 'cogit.commits', branch, head: head.sha },
          'the head already holds these changes; nothing to push',
        );
        return present(head, base);
      }
      base = head.sha;
    }
  }

  function present(head: BranchHead, sent: string): PushResult {
    return {
      commitSha: head.sha,
      parentSha: sent,
      message: undefined,
      retriedAfterConflict: false,
      alreadyApplied: true,
      idempotencyKey,
      requestId: undefined,
    };
  }

  function done(res: Awaited<ReturnType<typeof commit>>, parentSha: string, retried: boolean): PushResult {
    return {
      commitSha: res.data.commit_sha as string,
      parentSha,
      message: res.data.message,
      retriedAfterConflict: retried,
      alreadyApplied: false,
      idempotencyKey,
      requestId: res.requestId,
    };
  }
}
