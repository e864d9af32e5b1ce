/**
 * Sync between the local context tree and a ByteRover space (CoGit), through lib/byterover's client.
 *
 * pull — applies the branch snapshot to the tree. Per path:
 *   - remote text == local text                         → nothing to do (in sync);
 *   - the path has an unpushed outbox entry             → kept (the local note wins; push sends it);
 *   - absent locally                                    → written (added);
 *   - local text is what we last synced (manifest hash) → overwritten with the remote text (updated);
 *   - otherwise (changed here since the last sync)      → kept, reported as a conflict;
 *   and for paths we last synced that the snapshot no longer has: deleted when unchanged here and not
 *   in the outbox, else kept and reported. Files never synced and not in the snapshot are untouched.
 *   Then the sync state records the snapshot's commit and the new manifest. A crash mid-pull is safe:
 *   the next pull finds already-applied files equal to the remote ones.
 *
 * push — sends the outbox as commits (at most `batchSize` notes each), with `current_sha` = the last
 *   known head; the client refetches the head and retries once on a stale SHA (else BYTEROVER_CONFLICT).
 *   Every note carries its stable id (`claw_id` in its frontmatter, also named in the commit message).
 *   Before sending, entries are marked `inflight`. A push that finds inflight entries (the previous one
 *   crashed or failed after possibly committing) first fetches the snapshot and drops each inflight
 *   entry whose id is already in a remote file: no note is sent twice, none is lost. After a commit:
 *   sync state (head + manifest) is written, then the entries are removed. A crash between the two
 *   leaves inflight entries, which the next push resolves the same way.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { PushOptions, PushResult, Snapshot } from '../byterover/index.js';
import { ClawError } from '../errors.js';
import { logger as rootLogger, type Logger } from '../log/index.js';
import { recoverOrphans } from './orphans.js';
import { sha256, unlinkDurable, writeFileAtomic } from './fsx.js';
import { step, type StepHooks } from './hooks.js';
import { parseNote } from './markdown.js';
import type { Outbox, OutboxEntry } from './outbox.js';
import { normalizeRelative, resolveInTree } from './paths.js';
import { loadSyncState, saveSyncState, type SyncState } from './state.js';
import type { ContextTree } from './tree.js';
import { MemoryErrorCode } from './errors.js';

/** The part of lib/byterover's client sync needs. */
export interface CoGitClient {
  pullSnapshot(teamId: string, spaceId: string, opts?: { branch?: string; signal?: AbortSignal }): Promise<Snapshot>;
  pushCommit(teamId: string, spaceId: string, opts: PushOptions): Promise<PushResult>;
}

export interface SyncOptions {
  tree: ContextTree;
  outbox: Outbox;
  stateDir: string;
  client: CoGitClient;
  teamId: string;
  spaceId: string;
  branch?: string;
  /** Notes per commit (default 50). */
  batchSize?: number;
  hooks?: StepHooks;
  logger?: Logger;
}

export interface PullResult {
  commitSha: string;
  added: string[];
  updated: string[];
  deleted: string[];
  /** Paths left as they are here, and why. */
  kept: Array<{ path: string; reason: 'unpushed' | 'changed-locally' | 'unsafe-path' }>;
  /**
   * Snapshot entries that could not be applied here, each with its path, a stable code and a message
   * naming what was expected and found (see PullProblemCode). The rest of the snapshot is applied and
   * the sync state written; a failed entry keeps its last synced manifest hash, so the next pull
   * retries it.
   */
  failed: PullProblem[];
}

/** Stable codes of a snapshot entry that cannot be applied to this tree. */
export const PullProblemCode = {
  /** A path segment longer than the file system allows (255 bytes on most). */
  NAME_TOO_LONG: 'MEMORY_PULL_NAME_TOO_LONG',
  /** The entry needs a directory where a file is (x.md and x.md/y.md), or a file where a directory is. */
  PATH_CONFLICT: 'MEMORY_PULL_PATH_CONFLICT',
  /** Another entry of the snapshot is the same path spelled differently (//a.md, ./a.md): the first wins. */
  DUPLICATE_PATH: 'MEMORY_PULL_DUPLICATE_PATH',
  /** Another entry differs only in letter case and this file system does not tell them apart. */
  CASE_COLLISION: 'MEMORY_PULL_CASE_COLLISION',
  /** Any other file-system refusal (permissions, no space, read-only): the system code is in `cause`. */
  WRITE_FAILED: 'MEMORY_PULL_WRITE_FAILED',
} as const;

export interface PullProblem {
  /** The path as the snapshot spells it (tree-relative). */
  path: string;
  code: (typeof PullProblemCode)[keyof typeof PullProblemCode];
  message: string;
  /** The system error code behind it (ENAMETOOLONG, ENOTDIR, EISDIR, EACCES, ...), when there is one. */
  cause?: string;
}

const MAX_NAME_BYTES = 255;

/** The problem a file-system error on `rel` is, in words a user can act on. */
function problemOf(rel: string, e: unknown): PullProblem {
  const sys = (e as NodeJS.ErrnoException)?.code;
  const cause = typeof sys === 'string' ? { cause: sys } : {};
  switch (sys) {
    case 'ENAMETOOLONG':
      return {
        path: rel,
        code: PullProblemCode.NAME_TOO_LONG,
        message: `expected a path this file system can store, found ${rel} too long (ENAMETOOLONG); rename it in the space`,
        ...cause,
      };
    case 'ENOTDIR':
    case 'EISDIR':
    case 'EEXIST':
      return {
        path: rel,
        code: PullProblemCode.PATH_CONFLICT,
        message: `expected ${rel} to be writable as a file, found a ${sys === 'EISDIR' ? 'directory at that path' : 'file where one of its folders should be'} (${sys}); rename one of them in the space`,
        ...cause,
      };
    default:
      return {
        path: rel,
        code: PullProblemCode.WRITE_FAILED,
        message: `expected to write ${rel}, found the file system refusing it (${typeof sys === 'string' ? sys : 'unknown error'}); check the tree folder's permissions and free space`,
        ...cause,
      };
  }
}

export interface PushSummary {
  /** Ids sent in a commit by this push. */
  pushed: string[];
  /** Inflight ids found already on ByteRover (a previous push committed them), dropped without resending. */
  confirmed: string[];
  commits: string[];
  commitSha: string;
}

/** CoGit paths start with `/`; tree paths don't. */
export function treePath(cogitPath: string): string {
  return cogitPath.replace(/^\/+/, '');
}

/** True when both paths name one existing file (a case-insensitive file system folds them together). */
async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    const [x, y] = await Promise.all([stat(a), stat(b)]);
    return x.ino === y.ino && x.dev === y.dev;
  } catch {
    return false;
  }
}

async function readText(abs: string): Promise<string | undefined> {
  try {
    return await readFile(abs, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export class MemorySync {
  private readonly o: SyncOptions;
  private readonly branch: string;
  private readonly log: Logger;
  private busy: Promise<unknown> = Promise.resolve();

  constructor(opts: SyncOptions) {
    this.o = opts;
    this.branch = opts.branch ?? 'main';
    this.log = (opts.logger ?? rootLogger).child({ component: 'memory.sync' });
  }

  loadState(): Promise<SyncState> {
    return loadSyncState(this.o.stateDir, this.branch);
  }

  /** Pull and push never run at once in one process (they share the state file). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.busy.then(fn, fn);
    this.busy = run.catch(() => undefined);
    return run;
  }

  pull(opts: { signal?: AbortSignal } = {}): Promise<PullResult> {
    return this.exclusive(() => this.doPull(opts.signal));
  }

  push(opts: { signal?: AbortSignal } = {}): Promise<PushSummary> {
    return this.exclusive(() => this.doPush(opts.signal));
  }

  private snapshot(signal: AbortSignal | undefined): Promise<Snapshot> {
    return this.o.client.pullSnapshot(this.o.teamId, this.o.spaceId, {
      branch: this.branch,
      ...(signal ? { signal } : {}),
    });
  }

  private async doPull(signal: AbortSignal | undefined): Promise<PullResult> {
    const { tree, outbox } = this.o;
    await tree.ensure();
    await recoverOrphans({ tree, outbox, loadState: () => this.loadState() });
    const snap = await this.snapshot(signal);
    const state = await this.loadState();
    const pending = new Set((await outbox.list()).map((e) => e.path));
    const result: PullResult = {
      commitSha: snap.commitSha,
      added: [],
      updated: [],
      deleted: [],
      kept: [],
      failed: [],
    };
    const manifest: Record<string, string> = {};
    const remotePaths = new Set<string>();
    const fail = (p: PullProblem, rel?: string): void => {
      result.failed.push(p);
      const last = rel === undefined ? undefined : state.manifest[rel];
      if (rel !== undefined && last !== undefined) manifest[rel] = last;
      this.log.warn({ path: p.path, code: p.code, cause: p.cause }, 'snapshot entry not applied');
    };

    // Every path of the snapshot that is a file: an entry below one of them (x.md/y.md beside x.md)
    // cannot exist here. Decided up front, so the result does not depend on the entries' order.
    const filePaths = new Set<string>();
    for (const f of snap.files) {
      try {
        filePaths.add(normalizeRelative(treePath(f.path)));
      } catch {
        // unsafe: reported below
      }
    }
    const byCase = new Map<string, string>(); // case-folded path → the first spelling applied

    for (const file of snap.files) {
      // A cancelled pull (the skill deadline, a shutdown) stops between entries: every file is written
      // atomically and the sync state is not recorded, so the next pull finds the applied ones in sync.
      signal?.throwIfAborted();
      const raw = treePath(file.path);
      let rel: string;
      let abs: string;
      try {
        ({ rel, abs } = await resolveInTree(tree.root, raw));
      } catch (e) {
        const sys = (e as NodeJS.ErrnoException)?.code;
        if (typeof sys === 'string' && /^E[A-Z]+$/.test(sys)) {
          fail(problemOf(raw, e));
          continue;
        }
        this.log.warn({ path: file.path, err: e }, 'snapshot file with an unsafe path not applied');
        result.kept.push({ path: raw, reason: 'unsafe-path' });
        continue;
      }
      if (remotePaths.has(rel)) {
        fail({
          path: raw,
          code: PullProblemCode.DUPLICATE_PATH,
          message: `expected each path once in the snapshot, found ${raw} spelled as ${rel} again; the first one was applied`,
        });
        continue;
      }
      const tooLong = rel.split('/').find((seg) => Buffer.byteLength(seg) > MAX_NAME_BYTES);
      if (tooLong !== undefined) {
        fail(
          {
            path: rel,
            code: PullProblemCode.NAME_TOO_LONG,
            message: `expected file and folder names of at most ${MAX_NAME_BYTES} bytes, found one of ${Buffer.byteLength(tooLong)} bytes in ${rel.slice(0, 120)}…; rename it in the space`,
          },
          rel,
        );
        continue;
      }
      const segs = rel.split('/');
      const above = segs.slice(0, -1).findIndex((_, i) => filePaths.has(segs.slice(0, i + 1).join('/')));
      if (above >= 0) {
        const parent = segs.slice(0, above + 1).join('/');
        fail(
          {
            path: rel,
            code: PullProblemCode.PATH_CONFLICT,
            message: `expected ${parent} to be a folder for ${rel}, found it is also a file in the snapshot; rename one of them in the space`,
          },
          rel,
        );
        continue;
      }
      const folded = rel.toLowerCase();
      const sibling = byCase.get(folded);
      if (sibling !== undefined && (await sameFile(join(tree.root, sibling), abs))) {
        fail(
          {
            path: rel,
            code: PullProblemCode.CASE_COLLISION,
            message: `expected ${rel} and ${sibling} to be two files, found this file system does not tell letter case apart; the first was applied, rename one in the space`,
          },
          rel,
        );
        continue;
      }
      remotePaths.add(rel);
      try {
        const remoteHash = sha256(file.bytes);
        const local = await readText(abs);
        const last = state.manifest[rel];
        // Hashed once: a note can be megabytes, and this runs on the event loop.
        const localHash = local === undefined ? undefined : sha256(local);
        if (localHash !== undefined && localHash === remoteHash) {
          manifest[rel] = remoteHash;
          byCase.set(folded, rel);
          continue;
        }
        if (pending.has(rel)) {
          result.kept.push({ path: rel, reason: 'unpushed' });
          if (last !== undefined) manifest[rel] = last;
          continue;
        }
        if (local === undefined) {
          await writeFileAtomic(abs, file.bytes);
          result.added.push(rel);
        } else if (last !== undefined && localHash === last) {
          await writeFileAtomic(abs, file.bytes);
          result.updated.push(rel);
        } else {
          result.kept.push({ path: rel, reason: 'changed-locally' });
          if (last !== undefined) manifest[rel] = last;
          continue;
        }
        manifest[rel] = remoteHash;
        byCase.set(folded, rel);
      } catch (e) {
        fail(problemOf(rel, e), rel);
      }
    }

    for (const [rel, last] of Object.entries(state.manifest)) {
      if (remotePaths.has(rel)) continue;
      signal?.throwIfAborted();
      let abs: string;
      try {
        ({ abs } = await resolveInTree(tree.root, normalizeRelative(rel)));
      } catch {
        continue;
      }
      try {
        const local = await readText(abs);
        if (local === undefined) continue;
        if (pending.has(rel)) {
          result.kept.push({ path: rel, reason: 'unpushed' });
        } else if (sha256(local) === last) {
          await unlinkDurable(abs);
          result.deleted.push(rel);
        } else {
          result.kept.push({ path: rel, reason: 'changed-locally' });
        }
      } catch (e) {
        fail(problemOf(rel, e), rel);
      }
    }
    await step(this.o.hooks, 'pull:files-applied', { commitSha: snap.commitSha });
    await saveSyncState(this.o.stateDir, {
      ...state,
      branch: this.branch,
      commitSha: snap.commitSha,
      manifest,
      pulledAt: new Date().toISOString(),
    });
    await tree.refresh();
    this.log.info(
      {
        commitSha: snap.commitSha,
        added: result.added.length,
        updated: result.updated.length,
        deleted: result.deleted.length,
        kept: result.kept.length,
        failed: result.failed.length,
      },
      'pulled',
    );
    return result;
  }

  private async doPush(signal: AbortSignal | undefined): Promise<PushSummary> {
    const { tree, outbox } = this.o;
    await recoverOrphans({ tree, outbox, loadState: () => this.loadState() });
    let entries = await outbox.list();
    let state = await this.loadState();
    const summary: PushSummary = { pushed: [], confirmed: [], commits: [], commitSha: state.commitSha };
    if (entries.length === 0) return summary;

    let base: string | undefined = state.commitSha || undefined;
    if (entries.some((e) => e.state === 'inflight')) {
      // The previous push may have committed these: look for their ids on the remote before resending.
      const snap = await this.snapshot(signal);
      base = snap.commitSha;
      const remoteTexts = snap.files.map((f) => ({
        path: treePath(f.path),
        text: f.text ?? '',
        hash: sha256(f.bytes),
      }));
      const manifest = { ...state.manifest };
      const landed: OutboxEntry[] = [];
      for (const e of entries) {
        if (e.state !== 'inflight') continue;
        const hit = remoteTexts.find(
          (f) => parseNote(f.text, f.path).id === e.id || f.text.includes(`claw_id: ${e.id}`),
        );
        if (!hit) continue;
        landed.push(e);
        manifest[hit.path] = hit.hash;
      }
      if (landed.length > 0) {
        state = {
          ...state,
          branch: this.branch,
          commitSha: snap.commitSha,
          manifest,
          pushedAt: new Date().toISOString(),
        };
        await saveSyncState(this.o.stateDir, state);
        for (const e of landed) await outbox.remove(e.id);
        summary.confirmed.push(...landed.map((e) => e.id));
        this.log.info(
          { ids: summary.confirmed },
          'outbox entries already on ByteRover (an earlier push committed them); not resent',
        );
      }
      entries = entries.filter((e) => !landed.includes(e));
    }

    const size = Math.max(1, this.o.batchSize ?? 50);
    for (let i = 0; i < entries.length; i += size) {
      const batch = entries.slice(i, i + size);
      const memories = [];
      for (const e of batch) {
        // The file as it is now (the user may have edited it since curating), else the curated text.
        const { abs } = await resolveInTree(tree.root, e.path);
        const content = (await readText(abs)) ?? e.content;
        const parsed = parseNote(content, e.path);
        memories.push({
          e,
          content,
          memory: { path: e.path, title: parsed.title, content, tags: parsed.tags, operation: 'add' as const },
        });
      }
      for (const m of memories) {
        await outbox.put({
          ...m.e,
          state: 'inflight',
          attempts: m.e.attempts + 1,
          ...(base ? { lastBaseSha: base } : {}),
        });
      }
      await step(this.o.hooks, 'push:inflight-marked', { ids: batch.map((e) => e.id) });
      let res: PushResult;
      try {
        res = await this.o.client.pushCommit(this.o.teamId, this.o.spaceId, {
          branch: this.branch,
          memories: memories.map((m) => m.memory),
          message: `claw-byterover: curate ${batch.map((e) => e.id).join(' ')}`,
          ...(base ? { currentSha: base } : {}),
          ...(signal ? { signal } : {}),
        });
      } catch (e) {
        throw new ClawError(
          MemoryErrorCode.PUSH_FAILED,
          `expected ByteRover to accept ${batch.length} note(s), found an error: ${(e as Error).message}`,
          {
            hint:
              (e as { hint?: string }).hint ??
              'The notes stay in the outbox; run push again (a note that did land is detected and not sent twice).',
            details: { ids: batch.map((b) => b.id), code: (e as { code?: unknown }).code },
            cause: e,
          },
        );
      }
      await step(this.o.hooks, 'push:committed', { commitSha: res.commitSha });
      const manifest = { ...state.manifest };
      for (const m of memories) manifest[m.e.path] = sha256(m.content);
      state = { ...state, branch: this.branch, commitSha: res.commitSha, manifest, pushedAt: new Date().toISOString() };
      await saveSyncState(this.o.stateDir, state);
      await step(this.o.hooks, 'push:state-written', { commitSha: res.commitSha });
      for (const m of memories) await outbox.remove(m.e.id);
      summary.pushed.push(...batch.map((e) => e.id));
      summary.commits.push(res.commitSha);
      base = res.commitSha;
    }
    summary.commitSha = state.commitSha;
    this.log.info(
      { pushed: summary.pushed.length, confirmed: summary.confirmed.length, commitSha: summary.commitSha },
      'pushed',
    );
    return summary;
  }
}
