/**
 * ByteRover v4 space resolution, as ByteRover's own engine resolves it (skill 4.x, `space current`).
 *
 * - Data dir (`dataDir`): `$BRV_DATA_DIR`, else per platform — Linux `$XDG_DATA_HOME/<name>` when
 *   XDG_DATA_HOME is absolute, else `~/.local/share/<name>`; macOS `~/Library/Application Support/<name>`;
 *   Windows `%LOCALAPPDATA%\<name>` (else `~\AppData\Local\<name>`); `<name>` = `$BRV_DATA_DIRNAME` or `brv`.
 * - A space lives in `<data>/projects/<space_id>/`: its topics in `context-tree/`, its runtime signals
 *   in `state/signals/<topic path>.html.json`, its display name in `metadata.json` (`space_name`).
 * - Which space a folder uses, first match wins:
 *   1. a `.brvspace` marker in the folder or any ancestor: JSON `{"space_id": <uuid v4>, "space_name": …}`;
 *      invalid JSON, a missing field, a non-UUID id or a `space_name` that is not a valid display name is an
 *      error (BRV_SPACE_MARKER_INVALID), never skipped; a marker this user may not read (EACCES) is passed
 *      over as if absent, as ByteRover's readMarkerFile does;
 *   2. the bindings registry `<data>/bindings.json` — `{bindings:[{folder, space_id, addedAt, removedAt?}],
 *      deletedSpaces:[{space_id, deletedAt, hard}], defaultSpaceId?}` — the active binding (no `removedAt`)
 *      whose folder is the longest ancestor-or-equal of the working directory;
 *   3. the registry's `defaultSpaceId`; else BRV_SPACE_NO_DEFAULT ("No default space configured").
 *   A registry that cannot be read or parsed counts as empty (ByteRover warns and goes on); entries
 *   of the wrong shape are ignored, as ByteRover ignores them.
 * - A space listed in `deletedSpaces` is refused: `hard: false` → BRV_SPACE_DELETED (soft-deleted: moved
 *   to ByteRover's trash, restorable from its desktop app), `hard: true` → BRV_SPACE_HARD_DELETED
 *   (permanently deleted; its topics are gone from ByteRover's cloud).
 *
 * `resolveSpace` never creates anything. No I/O beyond reading the marker, the registry and metadata.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { homedir, platform as osPlatform } from 'node:os';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { ClawError } from '../../errors.js';
import { SpaceErrorCode } from './errors.js';

export const MARKER_FILENAME = '.brvspace';
export const BINDINGS_FILENAME = 'bindings.json';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** ByteRover's own test: lowercase UUID v4 (space ids are minted by `randomUUID`). */
export function isSpaceId(v: unknown): v is string {
  return typeof v === 'string' && UUID_V4.test(v);
}

export interface DataDirEnv {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  home?: string;
}

/** ByteRover's global data dir (see the module comment). */
export function dataDir(o: DataDirEnv = {}): string {
  const env = o.env ?? process.env;
  if (env.BRV_DATA_DIR) return env.BRV_DATA_DIR;
  const name = env.BRV_DATA_DIRNAME || 'brv';
  const home = o.home ?? homedir();
  const p = o.platform ?? osPlatform();
  if (p === 'win32') return env.LOCALAPPDATA ? join(env.LOCALAPPDATA, name) : join(home, 'AppData', 'Local', name);
  if (p === 'darwin') return join(home, 'Library', 'Application Support', name);
  if (p === 'linux' && env.XDG_DATA_HOME && isAbsolute(env.XDG_DATA_HOME)) return join(env.XDG_DATA_HOME, name);
  return join(home, '.local', 'share', name);
}

export interface SpacePaths {
  spaceId: string;
  /** `<data>/projects/<id>` */
  spaceDir: string;
  /** `<data>/projects/<id>/context-tree` */
  treeRoot: string;
  /** `<data>/projects/<id>/state/signals` */
  signalsDir: string;
}

export function spacePaths(data: string, spaceId: string): SpacePaths {
  const spaceDir = join(data, 'projects', spaceId);
  return {
    spaceId,
    spaceDir,
    treeRoot: join(spaceDir, 'context-tree'),
    signalsDir: join(spaceDir, 'state', 'signals'),
  };
}

export interface Binding {
  folder: string;
  space_id: string;
  addedAt: string;
  removedAt?: string;
}
export interface DeletedSpace {
  space_id: string;
  deletedAt: string;
  hard: boolean;
}
export interface Registry {
  bindings: Binding[];
  deletedSpaces: DeletedSpace[];
  defaultSpaceId?: string;
  /** Why the registry file was treated as empty (unreadable, not JSON, not an object). */
  warning?: string;
}

function isBinding(v: unknown): v is Binding {
  if (typeof v !== 'object' || v === null) return false;
  const b = v as Record<string, unknown>;
  return (
    typeof b.folder === 'string' &&
    isSpaceId(b.space_id) &&
    typeof b.addedAt === 'string' &&
    (b.removedAt === undefined || typeof b.removedAt === 'string')
  );
}
function isDeleted(v: unknown): v is DeletedSpace {
  if (typeof v !== 'object' || v === null) return false;
  const d = v as Record<string, unknown>;
  return isSpaceId(d.space_id) && typeof d.deletedAt === 'string' && typeof d.hard === 'boolean';
}

/** Reads `<data>/bindings.json` the way ByteRover reads it for resolution (lenient). */
export async function readRegistry(data: string): Promise<Registry> {
  const path = join(data, BINDINGS_FILENAME);
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? { bindings: [], deletedSpaces: [] }
      : { bindings: [], deletedSpaces: [], warning: `could not read ${path}: ${code ?? String(e)}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    return { bindings: [], deletedSpaces: [], warning: `could not parse ${path}: ${(e as Error).message}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return { bindings: [], deletedSpaces: [], warning: `expected a JSON object in ${path}` };
  const o = parsed as Record<string, unknown>;
  return {
    bindings: Array.isArray(o.bindings) ? o.bindings.filter(isBinding) : [],
    deletedSpaces: Array.isArray(o.deletedSpaces) ? o.deletedSpaces.filter(isDeleted) : [],
    ...(isSpaceId(o.defaultSpaceId) ? { defaultSpaceId: o.defaultSpaceId } : {}),
  };
}

function isAncestorOrEqual(ancestor: string, folder: string): boolean {
  return folder === ancestor || folder.startsWith(ancestor.endsWith(sep) ? ancestor : ancestor + sep);
}

/** The active binding whose folder is the longest ancestor-or-equal of `cwd` (ByteRover's rule). */
export function findBinding(reg: Registry, cwd: string): Binding | undefined {
  const c = resolve(cwd);
  let best: Binding | undefined;
  for (const b of reg.bindings)
    if (b.removedAt === undefined && isAncestorOrEqual(b.folder, c) && (!best || b.folder.length > best.folder.length))
      best = b;
  return best;
}

export interface Marker {
  path: string;
  space_id: string;
  space_name: string;
}

const markerHint = (path: string): string =>
  `Fix or remove ${path}: it must be JSON {"space_id": "<uuid v4>", "space_name": "<name>"} (ByteRover's \`space bind\` writes it).`;

function badMarker(path: string, found: string): ClawError {
  return new ClawError(
    SpaceErrorCode.MARKER_INVALID,
    `expected ${path} to hold {"space_id": "<uuid v4>", "space_name": "<name>"}, found ${found}`,
    { hint: markerHint(path), details: { marker: path } },
  );
}

/** Parses one marker file's text (throws BRV_SPACE_MARKER_INVALID). */
export function parseMarker(path: string, text: string): Marker {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw badMarker(path, `invalid JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw badMarker(path, Array.isArray(v) ? 'an array' : v === null ? 'null' : `a ${typeof v}`);
  const o = v as Record<string, unknown>;
  // ByteRover's order of checks (core/src/tree/marker.ts parseMarker)
  if (o.space_id === undefined) throw badMarker(path, 'no "space_id" field');
  if (!isSpaceId(o.space_id)) throw badMarker(path, `space_id ${JSON.stringify(o.space_id)}, not a UUID v4`);
  if (o.space_name === undefined) throw badMarker(path, 'no "space_name" field');
  const bad = displayNameProblem(o.space_name);
  if (bad) throw badMarker(path, `space_name ${JSON.stringify(o.space_name)}, which ${bad}`);
  return { path, space_id: o.space_id, space_name: o.space_name as string };
}

/**
 * Why `v` is not a valid space display name (ByteRover's validateSpaceDisplayName: a string of 1 to
 * 100 characters, no leading or trailing blank, no control character, no `/` or `\`), else undefined.
 */
export function displayNameProblem(v: unknown): string | undefined {
  if (typeof v !== 'string') return `is a ${v === null ? 'null' : typeof v}, not a string`;
  if (v.length === 0) return 'is empty';
  if (v.length > 100) return `is ${v.length} characters long (at most 100)`;
  if (v !== v.trim()) return 'begins or ends with whitespace';
  if (/[\x00-\x1f\x7f]/.test(v)) return 'contains a control character';
  if (v.includes('/') || v.includes('\\')) return "contains a path separator ('/' or '\\')";
  return undefined;
}

/** The nearest `.brvspace` in `cwd` or an ancestor (undefined when none). Throws on an invalid one. */
export async function findMarker(cwd: string): Promise<Marker | undefined> {
  let dir = resolve(cwd);
  for (;;) {
    const path = join(dir, MARKER_FILENAME);
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EISDIR') throw badMarker(path, 'a directory');
      // ByteRover's readMarkerFile passes over a marker it may not read (EACCES) as if absent
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EACCES')
        throw new ClawError(SpaceErrorCode.MARKER_UNREADABLE, `expected to read ${path}, found ${code ?? String(e)}`, {
          hint: `Check the permissions of ${path}.`,
        });
    }
    if (text !== undefined) return parseMarker(path, text);
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** `metadata.json` of a space (`space_name` etc.), undefined when absent or invalid. */
export async function readSpaceMetadata(
  spaceDir: string,
): Promise<{ space_id: string; space_name: string; team_id: string | null } | undefined> {
  try {
    const o = JSON.parse(await readFile(join(spaceDir, 'metadata.json'), 'utf8')) as Record<string, unknown>;
    if (!isSpaceId(o.space_id) || typeof o.space_name !== 'string' || o.space_name === '') return undefined;
    return {
      space_id: o.space_id,
      space_name: o.space_name,
      team_id: typeof o.team_id === 'string' ? o.team_id : null,
    };
  } catch {
    return undefined;
  }
}

/** How the space was found. `flag`: named by `--space`/config; the others are ByteRover's own sources. */
export type SpaceSource = 'flag' | 'marker' | 'registry' | 'default';

export interface SpaceResolution extends SpacePaths {
  source: SpaceSource;
  /** Display name (metadata.json, else the marker's `space_name`), when known. */
  spaceName: string | undefined;
  dataDir: string;
  /** The marker that bound it (source `marker`). */
  markerPath?: string;
  /** The registry binding's folder (source `registry`). */
  bindingFolder?: string;
  /** Whether `context-tree/` exists. */
  treeExists: boolean;
  /** Registry problems that were tolerated (ByteRover's behaviour: treat as empty). */
  warnings: string[];
  /** One line: "space <name> (<id>) from marker <path>". */
  how: string;
}

export interface ResolveSpaceOptions extends DataDirEnv {
  /** Override the data dir (else `dataDir(env)`). */
  dataDir?: string;
  /**
   * An explicit space (`--space` or config): a space id, a display name (metadata.json `space_name`),
   * or `default` (the registry's default space). Skips marker and registry.
   */
  space?: string;
}

function deletedError(id: string, hard: boolean, how: string): ClawError {
  return hard
    ? new ClawError(
        SpaceErrorCode.HARD_DELETED,
        `expected a live ByteRover space, found space ${id} permanently deleted (${how})`,
        {
          hint: 'There is no recovery path (ByteRover): create a new space and re-curate, bind this folder to it (`space bind "<name>"`), or remove the `.brvspace` marker / binding to use the v3 tree.',
          details: { spaceId: id, hard: true },
        },
      )
    : new ClawError(
        SpaceErrorCode.DELETED,
        `expected a live ByteRover space, found space ${id} deleted (${how}; soft-deleted: in ByteRover's trash)`,
        {
          hint: `Run ByteRover's \`space restore ${id}\` to recover it, or bind this folder to another space (\`space bind "<name>"\`).`,
          details: { spaceId: id, hard: false },
        },
      );
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Finds a space by display name among `<data>/projects/<uuid>/metadata.json`. */
export async function findSpaceByName(data: string, name: string): Promise<string | undefined> {
  let entries: string[];
  try {
    entries = await readdir(join(data, 'projects'));
  } catch {
    return undefined;
  }
  for (const e of entries.sort()) {
    if (!isSpaceId(e)) continue;
    const meta = await readSpaceMetadata(join(data, 'projects', e));
    if (meta?.space_name === name) return meta.space_id;
  }
  return undefined;
}

/**
 * Resolves the space for `cwd` (see the module comment). Throws BRV_SPACE_MARKER_INVALID,
 * BRV_SPACE_NO_DEFAULT, BRV_SPACE_DELETED, BRV_SPACE_HARD_DELETED, BRV_SPACE_NOT_FOUND (an explicit
 * `space` that names nothing).
 */
export async function resolveSpace(cwd: string, o: ResolveSpaceOptions = {}): Promise<SpaceResolution> {
  const data = o.dataDir ?? dataDir(o);
  const reg = await readRegistry(data);
  const warnings = reg.warning ? [reg.warning] : [];
  let id: string;
  let source: SpaceSource;
  let extra: Partial<SpaceResolution> = {};
  let markerName: string | undefined;
  let how: string;
  if (o.space !== undefined) {
    source = 'flag';
    if (o.space === 'default') {
      if (!reg.defaultSpaceId) throw noDefault(data);
      id = reg.defaultSpaceId;
      how = 'the default space, as asked';
    } else if (isSpaceId(o.space)) {
      id = o.space;
      how = `space id ${o.space}, as asked`;
    } else {
      const found = await findSpaceByName(data, o.space);
      if (!found)
        throw new ClawError(
          SpaceErrorCode.NOT_FOUND,
          `expected a ByteRover space named ${JSON.stringify(o.space)} under ${join(data, 'projects')}, found none`,
          {
            hint: 'Give a space id or the exact display name (ByteRover: `space list`), or `default`. Check BRV_DATA_DIR if ByteRover keeps its data elsewhere.',
            details: { space: o.space, dataDir: data },
          },
        );
      id = found;
      how = `space named ${JSON.stringify(o.space)}, as asked`;
    }
  } else {
    const marker = await findMarker(cwd);
    if (marker) {
      id = marker.space_id;
      source = 'marker';
      markerName = marker.space_name;
      extra = { markerPath: marker.path };
      how = `marker ${marker.path}`;
    } else {
      const b = findBinding(reg, cwd);
      if (b) {
        id = b.space_id;
        source = 'registry';
        extra = { bindingFolder: b.folder };
        how = `binding of ${b.folder} in ${join(data, BINDINGS_FILENAME)}`;
      } else if (reg.defaultSpaceId) {
        id = reg.defaultSpaceId;
        source = 'default';
        how = `default space of ${join(data, BINDINGS_FILENAME)}`;
      } else throw noDefault(data);
    }
  }
  const del = reg.deletedSpaces.find((d) => d.space_id === id);
  if (del) throw deletedError(id, del.hard, how);
  const paths = spacePaths(data, id);
  const meta = await readSpaceMetadata(paths.spaceDir);
  const spaceName = meta?.space_name ?? markerName;
  return {
    ...paths,
    ...extra,
    source,
    spaceName,
    dataDir: data,
    treeExists: await exists(paths.treeRoot),
    warnings,
    how: `space ${spaceName ? `${JSON.stringify(spaceName)} ` : ''}(${id}) from ${how}`,
  };
}

function noDefault(data: string): ClawError {
  return new ClawError(
    SpaceErrorCode.NO_DEFAULT,
    `expected a .brvspace marker, a binding or a default space in ${join(data, BINDINGS_FILENAME)}, found none (No default space configured)`,
    {
      hint: 'Bind this folder with ByteRover (`space bind "<name>"`), pass --space <id|name>, or use the v3 tree (--dir).',
      details: { dataDir: data },
    },
  );
}

/**
 * Whether `cwd` is bound to a v4 space by a marker or a registry binding — the test the memory
 * opener uses to choose v4 over the v3 tree. A default space alone does not bind a folder (ByteRover
 * itself treats default resolution as "unbound"). Errors of an invalid marker or a deleted space
 * propagate: a folder bound to a broken space must not silently fall back to another memory.
 */
export async function boundSpace(cwd: string, o: ResolveSpaceOptions = {}): Promise<SpaceResolution | undefined> {
  try {
    const r = await resolveSpace(cwd, { ...o, space: undefined } as ResolveSpaceOptions);
    return r.source === 'marker' || r.source === 'registry' ? r : undefined;
  } catch (e) {
    if (e instanceof ClawError && e.code === 'BRV_SPACE_NO_DEFAULT') return undefined;
    if (e instanceof ClawError && (e.code === 'BRV_SPACE_DELETED' || e.code === 'BRV_SPACE_HARD_DELETED')) {
      // deleted default space: unbound folder → not our business; deleted bound space → refuse.
      const data = o.dataDir ?? dataDir(o);
      const bound = (await findMarker(cwd)) ?? findBinding(await readRegistry(data), cwd);
      if (!bound) return undefined;
    }
    throw e;
  }
}
