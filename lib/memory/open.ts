/**
 * The one way to open memory. Every consumer — the OpenClaw plugin runtime, the CLI memory commands,
 * `agent connect`, the bridge's skill actions, `doctor`, library users — calls `openMemory`, so:
 * - where the memory is (which directory, which state directory) is decided here;
 * - which engine answers (the native recall engine, a caller's index, or ByteRover's `brv` CLI) is
 *   decided here, and "no engine" is one error (MEMORY_ENGINE_UNAVAILABLE, one hint) whose `cause`
 *   is the native loader's own error (NATIVE_LOAD_FAILED, listing every path it tried);
 * - the result says which backend was opened and how it was found.
 *
 * Which memory — a v3 context tree or a ByteRover v4 space — is decided by `resolveMemory` below
 * (`space` / `dir` overrides, else the project's binding, else its v3 tree); `source` in the result
 * says which and how it was found.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { basename, delimiter, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { ClawError } from '../errors.js';
import type { Logger } from '../log/index.js';
import type { BrvMemory, BrvOptions } from './brv.js';
import { LocalMemory, type LocalMemoryOptions } from './local.js';
import { engineUnavailable, loadNativeRecall } from './native-index.js';
import { dropPrefetch } from './prefetch.js';
import { defaultStateDir } from './state.js';
import type { SpaceMemory } from './v4/memory.js';
import { spaceStateDir } from './v4/persist.js';
import { boundSpace, resolveSpace, type SpaceResolution } from './v4/space.js';
import type { RecallIndexFactory } from './types.js';
import { MemoryErrorCode } from './errors.js';

/** Which engine to use: `native` (default), `brv` (ByteRover's CLI), `auto` (native, else brv on PATH). */
export type MemoryEngineChoice = 'native' | 'brv' | 'auto';

/** Where a memory lives on disk. */
export interface MemoryLocation {
  /** The project directory (holds `.brv/`; `brv` runs there). */
  projectRoot: string;
  /** The context tree. */
  treeRoot: string;
  /** lib/memory's own state (outbox, sync state) for this tree. */
  stateDir: string;
}

/**
 * Which memory was opened and how it was found. Today one kind: a v3 context tree (markdown notes).
 * `found`: `dir` (the `dir` option), `project` (`<projectRoot>/.brv/context-tree`).
 */
export type MemorySource =
  | { kind: 'context-tree'; found: 'dir' | 'project' }
  /**
   * A ByteRover v4 space (lib/memory/v4/space.ts). `found`: `flag` (the `space` option), `marker`
   * (a `.brvspace` in the project or an ancestor), `registry` (a binding in ByteRover's bindings.json).
   */
  | {
      kind: 'v4-space';
      found: 'flag' | 'marker' | 'registry' | 'default';
      spaceId: string;
      spaceName: string | undefined;
      /** One line: which space, found how. */
      how: string;
      dataDir: string;
    };

export interface OpenMemoryOptions {
  /** The project directory holding `.brv/`. Required unless `dir` is given (then derived from it). */
  projectRoot?: string;
  /** The context tree directory (default `<projectRoot>/.brv/context-tree`). */
  dir?: string;
  /** lib/memory's state directory (default: derived from the tree, see `locateTree`). */
  stateDir?: string;
  /**
   * A ByteRover v4 space to open instead of a v3 tree: a space id, its display name, or `default`
   * (ByteRover's default space). Without `space` and `dir`, a project bound to a v4 space (a
   * `.brvspace` marker or a registry binding, see lib/memory/v4/space.ts) opens that space; any
   * other project opens its v3 tree, as before. `dir` always means a v3 tree.
   */
  space?: string;
  /** ByteRover's data dir (default: BRV_DATA_DIR / the platform rule of lib/memory/v4/space.ts). */
  dataDir?: string;
  /** Default `native`. Ignored when `index` is given. */
  engine?: MemoryEngineChoice;
  /** A recall engine to use instead of the native one (tests, embedders): engine `injected`. */
  index?: RecallIndexFactory;
  /** For the `brv` engine: the executable (default `brv`), its timeouts and environment. */
  brv?: { path?: string; timeouts?: BrvOptions['timeouts']; env?: NodeJS.ProcessEnv };
  /** LocalMemory settings (see LocalMemoryOptions). */
  watch?: LocalMemoryOptions['watch'];
  maxStalenessMs?: number;
  defaultK?: number;
  hooks?: LocalMemoryOptions['hooks'];
  onRecall?: LocalMemoryOptions['onRecall'];
  /** Progress of opening a tree (LocalMemoryOptions.onProgress). */
  onProgress?: LocalMemoryOptions['onProgress'];
  now?: () => Date;
  logger?: Logger;
  /**
   * A v3 context tree that does not exist: `create` (default) starts one (OpenedMemory.createdTree
   * names it); `error` throws MEMORY_TREE_MISSING (exit 6) naming the paths looked at, creating
   * nothing (for read-only commands: search, recall).
   */
  missingTree?: 'create' | 'error';
}

interface OpenedBase {
  location: MemoryLocation;
  source: MemorySource;
  /** How the engine was chosen, one line (`engine native requested`, `auto: the native engine loaded`, …). */
  chosen: string;
  /**
   * With `auto` falling back to brv: why the native engine did not load (the loader's error is
   * `nativeError`). Undefined otherwise.
   */
  fallbackReason: string | undefined;
  nativeError: unknown;
  /** The context tree this open started (it did not exist before), when it did. */
  createdTree?: string;
}

/** LocalMemory with the native engine (`native`) or the caller's index (`injected`). */
export interface OpenedLocalMemory extends OpenedBase {
  backend: LocalMemory;
  engine: 'native' | 'injected';
  /** The same LocalMemory as `backend` (sync needs it). */
  local: LocalMemory;
}

/** ByteRover's `brv` CLI. */
export interface OpenedBrvMemory extends OpenedBase {
  backend: BrvMemory;
  engine: 'brv';
  local: undefined;
}

/** A ByteRover v4 space (lib/memory/v4): SpaceMemory over the native engine or the caller's index. */
export interface OpenedSpaceMemory extends OpenedBase {
  backend: SpaceMemory;
  space: SpaceMemory;
  engine: 'native' | 'injected';
  local: undefined;
}

export type OpenedMemory = OpenedLocalMemory | OpenedBrvMemory | OpenedSpaceMemory;

/**
 * The location of a tree: `<project>/.brv/claw-byterover` holds the state of the standard
 * `<project>/.brv/context-tree`; any other directory keeps it beside itself in
 * `<parent>/.<name>.claw-byterover`, so two trees never share a sync manifest or an outbox.
 */
export function locateTree(treeRoot: string): MemoryLocation {
  if (treeRoot.endsWith(`${sep}.brv${sep}context-tree`)) {
    const projectRoot = dirname(dirname(treeRoot));
    return { treeRoot, projectRoot, stateDir: defaultStateDir(projectRoot) };
  }
  return {
    treeRoot,
    projectRoot: dirname(treeRoot),
    stateDir: join(dirname(treeRoot), `.${basename(treeRoot)}.claw-byterover`),
  };
}

/** Which memory the options name, and where it is. */
export function resolveMemoryLocation(o: Pick<OpenMemoryOptions, 'projectRoot' | 'dir' | 'stateDir'>): {
  location: MemoryLocation;
  source: MemorySource;
} {
  if (o.dir !== undefined) {
    const treeRoot = resolve(o.projectRoot ?? process.cwd(), o.dir);
    const derived = locateTree(treeRoot);
    return {
      location: {
        treeRoot,
        projectRoot: o.projectRoot !== undefined ? resolve(o.projectRoot) : derived.projectRoot,
        stateDir: o.stateDir ?? derived.stateDir,
      },
      source: { kind: 'context-tree', found: 'dir' },
    };
  }
  if (o.projectRoot === undefined) throw new TypeError('openMemory: expected projectRoot or dir, found neither');
  const projectRoot = resolve(o.projectRoot);
  return {
    location: {
      projectRoot,
      treeRoot: join(projectRoot, '.brv', 'context-tree'),
      stateDir: o.stateDir ?? defaultStateDir(projectRoot),
    },
    source: { kind: 'context-tree', found: 'project' },
  };
}

/** Is `cmd` an executable file (absolute or with a slash) or on PATH? */
export function onPath(cmd: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const candidates =
    isAbsolute(cmd) || cmd.includes('/')
      ? [cmd]
      : (env.PATH ?? '')
          .split(delimiter)
          .filter(Boolean)
          .map((d) => join(d, cmd));
  return candidates.some((c) => {
    try {
      accessSync(c, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Opens the memory the options name with the chosen engine. Throws MEMORY_ENGINE_UNAVAILABLE (cause:
 * the native loader's error) when no engine is there, or the tree's own errors.
 */
/**
 * Which memory the options name, v4 spaces included (async: it reads ByteRover's marker and
 * registry). `space` → that v4 space; `dir` → that v3 tree; else a project bound to a v4 space →
 * the space; else the project's v3 tree. A project bound to a deleted space or holding a broken
 * `.brvspace` is an error (BRV_SPACE_*), never a silent fall back to another memory.
 */
export async function resolveMemory(
  o: Pick<OpenMemoryOptions, 'projectRoot' | 'dir' | 'stateDir' | 'space' | 'dataDir'>,
): Promise<{ location: MemoryLocation; source: MemorySource; space: SpaceResolution | undefined }> {
  if (o.space !== undefined && o.dir !== undefined)
    throw new ClawError(MemoryErrorCode.OPTIONS, 'expected a v4 space or a v3 tree, found both (space and dir)', {
      hint: 'Give --space <id|name> for a ByteRover v4 space, or --dir <path> for a v3 context tree, not both.',
    });
  let sp: SpaceResolution | undefined;
  const cwd = resolve(o.projectRoot ?? process.cwd());
  const opts = o.dataDir !== undefined ? { dataDir: o.dataDir } : {};
  if (o.space !== undefined) sp = await resolveSpace(cwd, { ...opts, space: o.space });
  else if (o.dir === undefined && o.projectRoot !== undefined) sp = await boundSpace(cwd, opts);
  if (!sp) return { ...resolveMemoryLocation(o), space: undefined };
  return {
    location: {
      projectRoot: cwd,
      treeRoot: sp.treeRoot,
      // claw-byterover's own files for a space (its persisted index) live in claw-byterover's data
      // dir, never inside ByteRover's (lib/memory/v4/persist.ts spaceStateDir).
      stateDir: o.stateDir ?? spaceStateDir(sp),
    },
    source: {
      kind: 'v4-space',
      found: sp.source,
      spaceId: sp.spaceId,
      spaceName: sp.spaceName,
      how: sp.how,
      dataDir: sp.dataDir,
    },
    space: sp,
  };
}

/** A v3 tree (`dir`) with the native engine is always a LocalMemory. */
/** MEMORY_TREE_MISSING: no context tree (and no v4 space) where this run looked; nothing created. */
function treeMissing(location: MemoryLocation, source: MemorySource): ClawError {
  const looked =
    source.found === 'dir'
      ? [location.treeRoot]
      : [location.treeRoot, `${location.projectRoot}/.brvspace (a ByteRover v4 space binding)`];
  return new ClawError(
    MemoryErrorCode.TREE_MISSING,
    `expected a context tree at ${location.treeRoot}, found no such directory (looked at: ${looked.join('; ')}); nothing was created`,
    {
      hint:
        'Run this in the project that holds .brv/context-tree, or pass --dir <tree>; `claw-byterover pull` ' +
        'fetches your space\'s tree, `claw-byterover curate "<note>"` starts a new one here.',
      details: { treeRoot: location.treeRoot, projectRoot: location.projectRoot, lookedAt: looked },
      exitCode: 6,
    },
  );
}

export async function openMemory(o: OpenMemoryOptions & { dir: string; engine?: 'native' }): Promise<OpenedLocalMemory>;
export async function openMemory(o: OpenMemoryOptions): Promise<OpenedMemory>;
export async function openMemory(o: OpenMemoryOptions): Promise<OpenedMemory> {
  const { location, source, space } = await resolveMemory(o);
  // A prefetch (lib/memory/prefetch.ts) is for a v3 tree's LocalMemory.open: anything else drops it.
  if (space) {
    dropPrefetch();
    return openSpace(o, space, location, source);
  }
  const treeExisted = existsSync(location.treeRoot);
  if (!treeExisted && o.missingTree === 'error') throw treeMissing(location, source);
  if (treeExisted && !statSync(location.treeRoot).isDirectory()) {
    throw new ClawError(
      MemoryErrorCode.TREE_NOT_DIRECTORY,
      `expected the context tree ${location.treeRoot} to be a directory, found a file`,
      {
        hint: 'Pass --dir the directory that holds the notes (e.g. <project>/.brv/context-tree), not a note file.',
        details: { treeRoot: location.treeRoot },
        exitCode: 6,
      },
    );
  }
  const base: OpenedBase = {
    location,
    source,
    chosen: '',
    fallbackReason: undefined,
    nativeError: undefined,
    ...(treeExisted ? {} : { createdTree: location.treeRoot }),
  };

  const local = async (index: RecallIndexFactory, engine: 'native' | 'injected', chosen: string) => {
    const m = await LocalMemory.open({
      ...location,
      index,
      ...(o.watch !== undefined ? { watch: o.watch } : {}),
      ...(o.maxStalenessMs !== undefined ? { maxStalenessMs: o.maxStalenessMs } : {}),
      ...(o.defaultK !== undefined ? { defaultK: o.defaultK } : {}),
      ...(o.hooks ? { hooks: o.hooks } : {}),
      ...(o.onRecall ? { onRecall: o.onRecall } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      ...(o.now ? { now: o.now } : {}),
      ...(o.logger ? { logger: o.logger } : {}),
    });
    return { ...base, backend: m, engine, local: m, chosen } satisfies OpenedLocalMemory;
  };
  // The brv backend and v4 spaces are imported when chosen: a v3 search loads neither (issue 15).
  const brvMemory = async (): Promise<BrvMemory> => {
    dropPrefetch();
    return new (await import('./brv.js')).BrvMemory({
      projectRoot: location.projectRoot,
      ...(o.brv?.path ? { brvPath: o.brv.path } : {}),
      ...(o.brv?.timeouts ? { timeouts: o.brv.timeouts } : {}),
      ...(o.brv?.env ? { env: o.brv.env } : {}),
      ...(o.logger ? { logger: o.logger } : {}),
    });
  };

  if (o.index) return local(o.index, 'injected', 'a recall index given by the caller');
  const choice = o.engine ?? 'native';
  if (choice === 'brv') {
    return { ...base, backend: await brvMemory(), engine: 'brv', local: undefined, chosen: 'engine brv requested' };
  }
  const native = await loadNativeRecall();
  if (native.factory)
    return local(
      native.factory,
      'native',
      choice === 'auto' ? 'auto: the native engine loaded' : 'engine native requested',
    );
  if (choice === 'native') throw engineUnavailable(native, 'the native recall engine');
  const brvPath = o.brv?.path ?? 'brv';
  if (onPath(brvPath, o.brv?.env ?? process.env)) {
    return {
      ...base,
      backend: await brvMemory(),
      engine: 'brv',
      local: undefined,
      chosen: `auto: the native engine did not load; \`${brvPath}\` is on PATH`,
      fallbackReason: native.reason,
      nativeError: native.error,
    };
  }
  throw engineUnavailable(
    native,
    'a recall engine',
    `the native engine did not load (${native.reason ?? 'unknown reason'}) and \`${brvPath}\` is not on PATH`,
  );
}

/** Opens a v4 space: SpaceMemory over the native engine (ByteRover's `brv` 3.x CLI reads only v3 trees). */
async function openSpace(
  o: OpenMemoryOptions,
  space: SpaceResolution,
  location: MemoryLocation,
  source: MemorySource,
): Promise<OpenedSpaceMemory> {
  if (!space.treeExists && o.missingTree === 'error') {
    // ByteRover's resolver refuses a bound space with no tree ("No context tree found"); nothing is created
    const looked = [space.treeRoot, space.markerPath ?? space.how];
    throw new ClawError(
      MemoryErrorCode.TREE_MISSING,
      `expected the context tree of ${space.how} at ${space.treeRoot}, found no such directory (looked at: ${looked.join('; ')}); nothing was created`,
      {
        hint: 'Let ByteRover\'s desktop app or daemon sync the space to this machine, bind this folder to a space that is here (ByteRover: `space bind "<name>"`), or pass --dir <v3 tree>.',
        details: { treeRoot: space.treeRoot, projectRoot: location.projectRoot, lookedAt: looked },
        exitCode: 6,
      },
    );
  }
  const base = { location, source, fallbackReason: undefined, nativeError: undefined, local: undefined };
  const open = async (index: RecallIndexFactory | undefined, engine: 'native' | 'injected', chosen: string) => {
    const { SpaceMemory } = await import('./v4/memory.js');
    const m = await SpaceMemory.open({
      space,
      stateDir: location.stateDir,
      ...(index ? { index } : {}),
      ...(o.watch !== undefined ? { watch: o.watch !== false } : {}),
      ...(o.maxStalenessMs !== undefined ? { pollMs: o.maxStalenessMs } : {}),
      ...(o.defaultK !== undefined ? { defaultK: o.defaultK } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      ...(o.now ? { now: o.now } : {}),
      ...(o.logger ? { logger: o.logger } : {}),
    });
    return { ...base, backend: m, space: m, engine, chosen } satisfies OpenedSpaceMemory;
  };
  if (o.index) return open(o.index, 'injected', 'a recall index given by the caller');
  if (o.engine === 'brv')
    throw new ClawError(
      MemoryErrorCode.V4_ENGINE,
      `expected an engine that reads ByteRover v4 topics for ${space.how}, found engine brv (ByteRover's CLI 3.x reads only v3 markdown trees)`,
      { hint: 'Use the native engine (the default) for a v4 space, or --dir <v3 tree> with --backend brv.' },
    );
  const native = await loadNativeRecall();
  if (!native.factory) throw engineUnavailable(native, 'the native recall engine (v4 spaces need it)');
  return open(
    native.factory,
    'native',
    o.engine === 'auto' ? 'auto: the native engine loaded' : 'engine native requested',
  );
}
