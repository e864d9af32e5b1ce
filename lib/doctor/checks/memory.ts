/**
 * The local context tree and its recall index: does the tree exist, what does the index hold once
 * built from it (documents, terms, memory), what is waiting in the outbox, and when was the tree
 * last synced with ByteRover. Never creates anything: a missing tree is reported, not made.
 */
import { existsSync, statSync } from 'node:fs';
import { errorMessage, isClawError } from '../../errors.js';
import type { Logger } from '../../log/index.js';
import { loadSyncState, openMemory, type MemoryBackend } from '../../memory/index.js';
import { ev, outcome, type Check, type CheckOutcome, type Evidence } from '../types.js';

export interface MemoryCheckOptions {
  /** The v3 tree was configured (--dir, env, config file): a v4 binding then does not apply. */
  treeConfigured?: boolean;
  /** ByteRover's data dir (default: BRV_DATA_DIR / the platform rule). */
  dataDir?: string;
  treeRoot: string;
  projectRoot: string;
  stateDir: string;
  branch?: string;
  logger?: Logger;
}

/**
 * A project bound to a ByteRover v4 space (a .brvspace marker or ByteRover's registry): which space,
 * found how, its tree, and what the index holds. Undefined when the project is not bound.
 */
async function checkSpace(o: MemoryCheckOptions): Promise<CheckOutcome | undefined> {
  if (o.treeConfigured) return undefined;
  const { boundSpace } = await import('../../memory/v4/space.js');
  let sp;
  try {
    sp = await boundSpace(o.projectRoot, o.dataDir !== undefined ? { dataDir: o.dataDir } : {});
  } catch (e) {
    return outcome(
      'fail',
      `the ByteRover v4 space of ${o.projectRoot} cannot be used: ${errorMessage(e)}`,
      [ev('project', o.projectRoot), ev('error', `${isClawError(e) ? `${e.code}: ` : ''}${errorMessage(e)}`)],
      [isClawError(e) && e.hint ? e.hint : "Check the .brvspace marker and ByteRover's bindings.json."],
      { code: isClawError(e) ? e.code : 'BRV_SPACE_UNUSABLE' },
    );
  }
  if (!sp) return undefined;
  const evidence: Evidence[] = [
    ev('memory', `ByteRover v4 space ${sp.spaceName ? `"${sp.spaceName}" ` : ''}(${sp.spaceId})`),
    ev('found', sp.how),
    ev('space tree', sp.treeRoot),
    ...sp.warnings.map((w) => ev('registry', w)),
  ];
  if (!sp.treeExists)
    return outcome(
      'warn',
      `the v4 space's tree does not exist yet: ${sp.treeRoot}`,
      evidence,
      ["Let ByteRover's desktop app or daemon sync the space, or record a first topic (`claw-byterover record`)."],
      { code: 'MEMORY_TREE_MISSING' },
    );
  let mem: MemoryBackend | undefined;
  try {
    ({ backend: mem } = await openMemory({
      projectRoot: o.projectRoot,
      space: sp.spaceId,
      ...(o.dataDir !== undefined ? { dataDir: o.dataDir } : {}),
      engine: 'native',
      watch: false,
      ...(o.logger ? { logger: o.logger } : {}),
    }));
    const s = (await mem.stats()) as Awaited<ReturnType<MemoryBackend['stats']>> & { withSignals?: number };
    evidence.push(
      ev(
        'recall index',
        `${s.documents} topics indexed${s.engine?.terms !== undefined ? `, ${s.engine.terms} terms` : ''}, ${s.withSignals ?? 0} with signal sidecars (native engine)`,
      ),
    );
    const data = { space: sp.spaceId, found: sp.source, documents: s.documents };
    if (s.documents === 0)
      return outcome(
        'warn',
        'the v4 space has no topics: recall has nothing to return',
        evidence,
        ['Record topics (`claw-byterover record`, or ByteRover itself).'],
        { code: 'MEMORY_TREE_EMPTY', data },
      );
    return outcome('pass', `${s.documents} topics indexed from v4 space ${sp.spaceName ?? sp.spaceId}`, evidence, [], {
      data,
    });
  } catch (e) {
    evidence.push(ev('error', `${isClawError(e) ? `${e.code}: ` : ''}${errorMessage(e)}`));
    return outcome(
      'fail',
      `the v4 space could not be indexed: ${errorMessage(e)}`,
      evidence,
      [isClawError(e) && e.hint ? e.hint : 'Rerun with --debug and report the output.'],
      { code: isClawError(e) ? e.code : 'MEMORY_INDEX_FAILED' },
    );
  } finally {
    await mem?.close();
  }
}

export async function checkMemory(o: MemoryCheckOptions): Promise<CheckOutcome> {
  const space = await checkSpace(o);
  if (space) return space;
  const evidence: Evidence[] = [
    ev('memory', 'v3 context tree'),
    ev('context tree', o.treeRoot),
    ev('state dir', o.stateDir),
  ];
  if (!existsSync(o.treeRoot) || !statSync(o.treeRoot).isDirectory()) {
    return outcome(
      'warn',
      `no context tree at ${o.treeRoot}`,
      evidence,
      [
        "Run `claw-byterover pull` to fetch the space's context tree (or `claw-byterover curate` to start one), or point --dir / CLAW_BYTEROVER_CONTEXT_TREE at an existing tree.",
      ],
      { code: 'MEMORY_TREE_MISSING' },
    );
  }
  let state;
  try {
    state = await loadSyncState(o.stateDir, o.branch);
  } catch (e) {
    evidence.push(ev('sync state', `${isClawError(e) ? `${e.code}: ` : ''}${errorMessage(e)}`));
    return outcome(
      'fail',
      'the sync state is unreadable',
      evidence,
      [isClawError(e) && e.hint ? e.hint : 'Move the sync state aside and pull again.'],
      { code: isClawError(e) ? e.code : 'MEMORY_STATE_UNREADABLE' },
    );
  }
  evidence.push(
    ev(
      'last sync',
      state.commitSha
        ? `commit ${state.commitSha.slice(0, 12)} on ${state.branch}${state.pulledAt ? `, pulled ${state.pulledAt}` : ''}${state.pushedAt ? `, pushed ${state.pushedAt}` : ''}`
        : 'never synced with ByteRover',
    ),
  );
  let mem: MemoryBackend | undefined;
  try {
    // The one opener, with the native engine (what recall uses by default). Without it this fails
    // with MEMORY_ENGINE_UNAVAILABLE; the paths the loader tried are the native.addon check's evidence.
    ({ backend: mem } = await openMemory({
      projectRoot: o.projectRoot,
      dir: o.treeRoot,
      stateDir: o.stateDir,
      engine: 'native',
      watch: false,
      ...(o.logger ? { logger: o.logger } : {}),
    }));
    const s = await mem.stats();
    const engine = s.engine;
    evidence.push(
      ev(
        'recall index',
        `${s.documents} notes indexed${engine?.terms !== undefined ? `, ${engine.terms} terms` : ''}${engine?.memoryBytes !== undefined ? `, ${(engine.memoryBytes / 1048576).toFixed(1)} MiB` : ''} (native engine)`,
      ),
    );
    evidence.push(ev('outbox', `${s.pending ?? 0} curated note(s) not yet pushed`));
    const data = {
      documents: s.documents,
      terms: engine?.terms ?? null,
      pending: s.pending ?? 0,
      commitSha: state.commitSha || null,
    };
    if (s.documents === 0)
      return outcome(
        'warn',
        'the context tree is empty: recall has nothing to return',
        evidence,
        ['Run `claw-byterover pull` to fetch notes, or curate some.'],
        { code: 'MEMORY_TREE_EMPTY', data },
      );
    if (!state.commitSha)
      return outcome(
        'warn',
        `${s.documents} notes indexed, but the tree was never synced with ByteRover`,
        evidence,
        ['Run `claw-byterover pull` (then `push` to send local notes).'],
        { code: 'MEMORY_NEVER_SYNCED', data },
      );
    const pendingNote = s.pending ? `; ${s.pending} note(s) waiting to be pushed` : '';
    return outcome(
      'pass',
      `${s.documents} notes indexed${pendingNote}`,
      evidence,
      s.pending ? ['Run `claw-byterover push` to send the waiting notes.'] : [],
      { data },
    );
  } catch (e) {
    evidence.push(ev('error', `${isClawError(e) ? `${e.code}: ` : ''}${errorMessage(e)}`));
    return outcome(
      'fail',
      `the recall index could not be built: ${errorMessage(e)}`,
      evidence,
      [isClawError(e) && e.hint ? e.hint : 'Rerun with --debug and report the output.'],
      { code: isClawError(e) ? e.code : 'MEMORY_INDEX_FAILED' },
    );
  } finally {
    await mem?.close();
  }
}

export const memoryCheck: Check<MemoryCheckOptions> = {
  id: 'memory.tree',
  title: 'Context tree and recall index',
  run: checkMemory,
};
