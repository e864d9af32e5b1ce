/**
 * The persisted recall index of a ByteRover v4 space: the same file as a v3 tree's
 * (lib/memory/persist.ts over native/src/recall/persist.h: versioned, checksummed, written atomically
 * through a unique temp file and a rename; torn, corrupt or foreign-version files are refused), with
 * a manifest of the space's topics instead of the v3 notes.
 *
 * Where: claw-byterover's own data dir, never ByteRover's (ByteRover owns `<data>/projects/<id>/`,
 * its sync daemon may replace anything there). One rule, the one the credentials and the agent
 * identity follow (lib/byterover/auth/paths.ts resolveDataDir): `$CLAW_BYTEROVER_DATA_DIR`, else
 * `$XDG_DATA_HOME/claw-byterover` (absolute XDG_DATA_HOME only), else `~/.local/share/claw-byterover`;
 * under it `spaces/<space id>-<12 hex of sha256(tree path)>/recall-index.clawrix`. The tree path is
 * part of the key because one space id can live in two ByteRover data dirs (BRV_DATA_DIR) on one
 * machine. `SpaceMemoryOptions.stateDir` overrides the folder.
 *
 * The manifest (JSON, `v` = SPACE_MANIFEST_VERSION) holds, per `.html` file the space last held:
 * path, stamp (size:mtimeNs:ctimeNs:ino), the signal sidecar's stamp (or ''), whether it is a
 * `<bv-topic>`, its title and `updatedat` (the decay's clock), the file mtime (the clock without an
 * `updatedat`), and the sidecar's signals as read; plus the `.html` files that are not topics
 * (`index.html`, derived artifacts) at their stamps, so a warm open reads none of them. It names the
 * tree, the signals folder, the space id and whether the index was given raw HTML or fields: a file
 * of another space, tree or mode is never served (MANIFEST_OTHER_TREE / MANIFEST_INVALID).
 * The elements of a restored topic (its words, for the confidence and the top element) are read from
 * the file on its first hit only.
 */
import { join, resolve } from 'node:path';
import { resolveDataDir } from '../../byterover/auth/paths.js';
import type { Logger } from '../../log/index.js';
import { sha256 } from '../fsx.js';
import { INDEX_FILE, loadIndexFile, saveIndexFile, type PersistableIndex } from '../persist.js';
import type { RecallIndex } from '../types.js';
import type { Maturity, RuntimeSignals } from './signals.js';

export const SPACE_MANIFEST_VERSION = 1;

/** The folder of a space's persisted index (see the module comment). */
export function spaceStateDir(space: { spaceId?: string | undefined; treeRoot: string }, env = process.env): string {
  const hash = sha256(resolve(space.treeRoot)).slice(0, 12);
  const id = space.spaceId && /^[A-Za-z0-9_-]{1,64}$/.test(space.spaceId) ? space.spaceId : 'space';
  return join(resolveDataDir(env), 'spaces', `${id}-${hash}`);
}

export function spaceIndexFile(stateDir: string): string {
  return join(stateDir, INDEX_FILE);
}

/** One `.html` file of the space as the manifest keeps it. */
export interface StoredTopic {
  path: string;
  stamp: string;
  sigStamp: string;
  isTopic: boolean;
  title: string;
  updatedat: string | undefined;
  mtimeMs: number;
  signals: RuntimeSignals | undefined;
}

type SignalsRow = [accessCount: number, importance: number, maturity: Maturity, recency: number, updateCount: number];
type TopicRow = [
  path: string,
  stamp: string,
  sigStamp: string,
  isTopic: 0 | 1,
  title: string,
  updatedat: string | null,
  mtimeMs: number,
  signals: SignalsRow | null,
];

interface SpaceManifest {
  v: number;
  kind: 'v4-space';
  root: string;
  signalsDir: string;
  spaceId: string | null;
  /** The index was given raw `<bv-topic>` HTML (native parse) rather than fields. */
  html: boolean;
  topics: TopicRow[];
  /** `.html` files that are not topics, at their stamps. */
  skipped: Array<[string, string]>;
}

export interface SpaceIdentity {
  root: string;
  signalsDir: string;
  spaceId: string | undefined;
  html: boolean;
}

export type SpaceLoad =
  | { topics: StoredTopic[]; skipped: Map<string, string> }
  | { topics: undefined; reason: string; /** the index holds documents and must be replaced */ dirty: boolean };

const MATURITY = new Set(['draft', 'validated', 'core']);

function rowOk(r: unknown): r is TopicRow {
  if (!Array.isArray(r) || r.length !== 8) return false;
  const [path, stamp, sigStamp, isTopic, title, updatedat, mtimeMs, sig] = r as unknown[];
  if (typeof path !== 'string' || typeof stamp !== 'string' || typeof sigStamp !== 'string') return false;
  if ((isTopic !== 0 && isTopic !== 1) || typeof title !== 'string' || typeof mtimeMs !== 'number') return false;
  if (updatedat !== null && typeof updatedat !== 'string') return false;
  if (sig === null) return true;
  return (
    Array.isArray(sig) &&
    sig.length === 5 &&
    typeof sig[0] === 'number' &&
    typeof sig[1] === 'number' &&
    MATURITY.has(sig[2] as string) &&
    typeof sig[3] === 'number' &&
    typeof sig[4] === 'number'
  );
}

/** Loads the space's file into the empty `index`: the topics it was built from, or why not. */
export async function loadSpaceIndex(
  index: RecallIndex & PersistableIndex,
  file: string,
  who: SpaceIdentity,
  log: Logger,
): Promise<SpaceLoad> {
  const loaded = await loadIndexFile(index, file, log);
  if (loaded.meta === undefined) return { topics: undefined, reason: loaded.reason, dirty: false };
  let m: SpaceManifest | undefined;
  try {
    m = JSON.parse(loaded.meta) as SpaceManifest;
  } catch {
    m = undefined;
  }
  if (
    !m ||
    m.v !== SPACE_MANIFEST_VERSION ||
    m.kind !== 'v4-space' ||
    !Array.isArray(m.topics) ||
    !Array.isArray(m.skipped) ||
    !m.topics.every(rowOk) ||
    !m.skipped.every((s) => Array.isArray(s) && typeof s[0] === 'string' && typeof s[1] === 'string')
  ) {
    log.warn({ path: file }, 'persisted space index has no readable manifest; rebuilding it');
    return { topics: undefined, reason: 'MANIFEST_INVALID', dirty: true };
  }
  if (
    m.root !== who.root ||
    m.signalsDir !== who.signalsDir ||
    m.spaceId !== (who.spaceId ?? null) ||
    m.html !== who.html
  ) {
    log.warn(
      { path: file, root: m.root, expected: who.root, spaceId: m.spaceId },
      'persisted space index is of another space, tree or engine mode; rebuilding it',
    );
    return { topics: undefined, reason: 'MANIFEST_OTHER_TREE', dirty: true };
  }
  return {
    topics: m.topics.map(([path, stamp, sigStamp, isTopic, title, updatedat, mtimeMs, s]) => ({
      path,
      stamp,
      sigStamp,
      isTopic: isTopic === 1,
      title,
      updatedat: updatedat ?? undefined,
      mtimeMs,
      signals: s
        ? { accessCount: s[0], importance: s[1], maturity: s[2], recency: s[3], updateCount: s[4] }
        : undefined,
    })),
    skipped: new Map(m.skipped),
  };
}

/** Writes the index and the space's manifest atomically; false (logged) when it could not. */
export function saveSpaceIndex(
  index: RecallIndex & PersistableIndex,
  file: string,
  who: SpaceIdentity,
  topics: Iterable<StoredTopic>,
  skipped: ReadonlyMap<string, string>,
  log: Logger,
): boolean {
  const rows: TopicRow[] = [];
  for (const t of topics)
    rows.push([
      t.path,
      t.stamp,
      t.sigStamp,
      t.isTopic ? 1 : 0,
      t.title,
      t.updatedat ?? null,
      t.mtimeMs,
      t.signals
        ? [t.signals.accessCount, t.signals.importance, t.signals.maturity, t.signals.recency, t.signals.updateCount]
        : null,
    ]);
  const m: SpaceManifest = {
    v: SPACE_MANIFEST_VERSION,
    kind: 'v4-space',
    root: who.root,
    signalsDir: who.signalsDir,
    spaceId: who.spaceId ?? null,
    html: who.html,
    topics: rows,
    skipped: [...skipped],
  };
  return saveIndexFile(index, file, JSON.stringify(m), log);
}
