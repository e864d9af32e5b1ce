/**
 * The native addon (claw_byterover.node) behind a typed facade.
 *
 * Loading, prebuild first (the order node-gyp-build itself uses is build/ first; we invert it so a
 * shipped, tested prebuild wins over a stale local build):
 *   1. `CLAW_BYTEROVER_PREBUILD=<dir>`: use <dir> in place of the package root (node-gyp-build's
 *      `<NAME>_PREBUILD` convention);
 *   2. `prebuilds/<platform>-<arch>/*.node` matched by node-gyp-build's own tag rules (napi, libc,
 *      armv, abi, runtime);
 *   3. unless `PREBUILDS_ONLY` is set: `build/Release/claw_byterover.node`, then `build/Debug/…`.
 * Each candidate that exists is actually `require`d; one that fails to load is recorded and the next
 * is tried. When none loads, `NATIVE_LOAD_FAILED` lists every path tried and why, the platform,
 * arch, libc, Node and Node-API versions seen, and the next step.
 *
 * Nothing is loaded at import time: the first call loads (and caches) the addon, so modules that
 * import this file still load on a machine without the addon and get the error only when used.
 * The package root is one level up from this file, whether it runs from lib/ (tsx) or dist/.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch as osArch, platform as osPlatform } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClawError, errorMessage } from './errors.js';

const require = createRequire(import.meta.url);

/** The addon's file name in build/Release (binding.gyp target `claw_byterover`). */
export const ADDON_FILE = 'claw_byterover.node';

/** ABI major this TypeScript layer is written against (claw/plugin.h CLAW_ABI_MAJOR). */
export const CLAW_ABI_MAJOR = 1;

/** Stable status codes of the claw ABI (claw/plugin.h); the addon exports the same table. */
export const CLAW_STATUS = {
  CLAW_OK: 0,
  CLAW_E_INVALID_ARG: -1,
  CLAW_E_STRUCT_SIZE: -2,
  CLAW_E_ABI_MAJOR: -3,
  CLAW_E_ABI_TOO_OLD: -4,
  CLAW_E_ABI_TOO_NEW: -5,
  CLAW_E_PROTOCOL_MISMATCH: -6,
  CLAW_E_NOT_INITIALIZED: -7,
  CLAW_E_INTERNAL: -8,
} as const;
export type ClawStatusCode = keyof typeof CLAW_STATUS;

/** Error codes of the addon's loader and facade (ClawError codes, distinct from the CLAW_* statuses). */
export const NativeErrorCode = {
  LOAD_FAILED: 'NATIVE_LOAD_FAILED',
  RECALL_MISSING: 'NATIVE_RECALL_MISSING',
  RECALL_PERSIST_UNAVAILABLE: 'RECALL_PERSIST_UNAVAILABLE',
} as const;
export type NativeErrorCode = (typeof NativeErrorCode)[keyof typeof NativeErrorCode];

/**
 * The agent-protocol range the plugin speaks, as published in claw/plugin.h
 * (CLAW_AGENT_PROTOCOL_MIN/MAX; abiInfo() reports the same). For what must work without the addon:
 * the agent link offers this range when the addon cannot load (lib/agent/versions.ts).
 */
export const CLAW_AGENT_PROTOCOL = Object.freeze({ min: 3, max: 4 });

/** What the plugin is (claw_abi_info()). */
export interface AbiInfo {
  abiMajor: number;
  abiMinorMin: number;
  abiMinorMax: number;
  pluginName: string;
  pluginVersion: string;
  gitRevision: string;
  compiler: string;
  /** 'node-addon' for the .node, 'shared-library' for libclaw_byterover.so. */
  flavor: string;
  napiVersion: number;
  agentProtocolMin: number;
  agentProtocolMax: number;
  capabilities: number;
}

/** A host's ABI offer: one major, a minor range, and optionally who it is (for the message). */
export interface HostAbiRange {
  major: number;
  minorMin: number;
  minorMax: number;
  name?: string;
  version?: string;
}

interface Outcome {
  ok: boolean;
  /** Numeric CLAW_* status. */
  status: number;
  /** Its stable name: switch on this, never on `message`. */
  code: ClawStatusCode;
  /** One line naming both sides' versions and, on a refusal, what to upgrade. */
  message: string;
}
export interface AbiNegotiation extends Outcome {
  version?: { major: number; minor: number };
}
export interface ProtocolNegotiation extends Outcome {
  version?: number;
}

/** The raw binding (what the .node exports). */
export interface NativeBinding {
  abiInfo(): AbiInfo;
  negotiateAbi(host: HostAbiRange): AbiNegotiation;
  negotiateAgentProtocol(min: number, max: number, pluginMin?: number, pluginMax?: number): ProtocolNegotiation;
  strerror(status: number): string;
  statuses: Record<string, number>;
  /** The recall engine's class (absent in addons built before the engine landed). */
  RecallIndex?: new (options?: RecallEngineOptions) => RecallIndexBinding;
  /** Native recall indexes not yet freed (closed or garbage-collected), process-wide. */
  recallLiveIndexes?: () => number;
  /** ByteRover v4: parses one `<bv-topic>` file (native/src/recall/html.h). */
  parseTopic?: (html: string | Uint8Array) => ParsedTopic;
  /** ByteRover v4: whether a tree-relative path holds a topic (not index.html, not under .brv/). */
  isTopicPath?: (relPath: string) => boolean;
  /** A persisted index file's manifest, unverified (absent in addons built before it). */
  peekIndexMeta?: (path: string) => string;
}

/** An attribute as written (names lowercased, entities decoded). */
export interface TopicAttr {
  name: string;
  value: string;
}

/** One `bv-*` element of a topic. `type` is the tag name ("bv-fact"); "bv-topic" for text written
 *  directly inside the root. `attrs` and `attrList` (source order) keep the first of duplicated names (the duplicate is an
 *  HTML_DUPLICATE_ATTRIBUTE warning). */
export interface TopicElement {
  type: string;
  id: string;
  attrs: Record<string, string>;
  attrList: TopicAttr[];
  text: string;
  /** Byte offset of the element's start tag in the UTF-8 input. */
  offset: number;
}

/** A parser warning: a stable HTML_* code (html.h), a reason naming what was expected and found,
 *  the byte offset. */
export interface TopicWarning {
  code: string;
  reason: string;
  offset: number;
}

export interface ParsedTopic {
  /** A `<bv-topic>` root was found (otherwise `warnings` holds HTML_NOT_A_TOPIC). */
  isTopic: boolean;
  attrs: Record<string, string>;
  attrList: TopicAttr[];
  elements: TopicElement[];
  warnings: TopicWarning[];
}

/** ByteRover v4 ranking signals of one topic (its sidecar), already time-decayed by the caller. */
export interface RecallSignals {
  /** 0..100 (ByteRover: importance · 0.995^days). */
  importance?: number;
  /** 0..1 (ByteRover: exp(−days/30)). */
  recency?: number;
  maturity?: 'draft' | 'validated' | 'core';
}

/** A parser warning of an indexed file, reported once per (path, content). */
export interface RecallFileWarning extends TopicWarning {
  path: string;
}

/** One place the loader looked. */
export interface TriedPath {
  path: string;
  /** 'loaded', 'missing', 'no-match' (prebuild for other tags), 'skipped' or 'failed'. */
  outcome: 'loaded' | 'missing' | 'no-match' | 'skipped' | 'failed';
  reason?: string;
}

export interface ResolveOptions {
  /** Package root (default: one level up from this file). */
  root?: string;
  /** Environment to read CLAW_BYTEROVER_PREBUILD / PREBUILDS_ONLY / LIBC from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** The package root: lib/native.ts and dist/native.js both sit one level below it. */
export function packageRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..');
}

interface Tags {
  file: string;
  specificity: number;
  runtime?: string;
  napi?: boolean;
  abi?: string;
  uv?: string;
  armv?: string;
  libc?: string;
}
interface Tuple {
  name: string;
  platform: string;
  architectures: string[];
}
interface NodeGypBuild {
  parseTags(file: string): Tags | undefined;
  matchTags(runtime: string, abi: string): (tags: Tags | undefined) => boolean;
  compareTags(runtime: string): (a: Tags, b: Tags) => number;
  parseTuple(name: string): Tuple | undefined;
  matchTuple(platform: string, arch: string): (t: Tuple | undefined) => boolean;
  compareTuples(a: Tuple, b: Tuple): number;
}

/** node-gyp-build's own tag rules (the same file its install script uses). */
function nodeGypBuild(): NodeGypBuild {
  return require('node-gyp-build/node-gyp-build.js') as NodeGypBuild;
}

/** libc as node-gyp-build sees it (LIBC env, musl on Alpine, else glibc) plus the glibc version. */
export function describeLibc(env: NodeJS.ProcessEnv = process.env): string {
  const family = env.LIBC ?? (existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
  if (family !== 'glibc') return family;
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  const version = report?.header?.glibcVersionRuntime;
  return version ? `glibc ${version}` : 'glibc';
}

/** The prebuild that fits this process in <root>/prebuilds, by node-gyp-build's rules. */
function findPrebuild(root: string, tried: TriedPath[]): string | undefined {
  const dir = join(root, 'prebuilds');
  const platform = osPlatform();
  const arch = osArch();
  let tuples: string[];
  try {
    tuples = readdirSync(dir);
  } catch {
    tried.push({ path: `${dir}/${platform}-${arch}/`, outcome: 'missing', reason: 'no prebuilds directory' });
    return undefined;
  }
  const ngb = nodeGypBuild(); // its tag rules, loaded only when there are prebuilds to match
  const tuple = tuples
    .map((n) => ngb.parseTuple(n))
    .filter((t): t is Tuple => ngb.matchTuple(platform, arch)(t))
    .sort((a, b) => ngb.compareTuples(a, b))[0];
  if (!tuple) {
    tried.push({
      path: `${dir}/${platform}-${arch}/`,
      outcome: 'missing',
      reason: `no prebuild for ${platform}-${arch} (have: ${tuples.join(', ') || 'none'})`,
    });
    return undefined;
  }
  const tupleDir = join(dir, tuple.name);
  const files = readdirSync(tupleDir);
  const parsed = files.map((f) => ngb.parseTags(f)).filter((t): t is Tags => t !== undefined);
  const fits = ngb.matchTags('node', process.versions.modules ?? '');
  const winners = parsed.filter(fits).sort(ngb.compareTags('node'));
  for (const t of parsed)
    if (!fits(t))
      tried.push({
        path: join(tupleDir, t.file),
        outcome: 'no-match',
        reason: `tags do not fit this process (${describeTags(t)})`,
      });
  if (winners.length === 0 && parsed.length === 0)
    tried.push({ path: tupleDir + '/', outcome: 'missing', reason: 'no .node file' });
  return winners[0] ? join(tupleDir, winners[0].file) : undefined;
}

function describeTags(t: Tags): string {
  const parts = [
    t.runtime,
    t.napi ? 'napi' : undefined,
    t.abi && `abi${t.abi}`,
    t.libc,
    t.armv && `armv${t.armv}`,
    t.uv && `uv${t.uv}`,
  ];
  return parts.filter(Boolean).join(', ') || 'untagged';
}

function isBinding(x: unknown): x is NativeBinding {
  const b = x as Partial<NativeBinding> | null;
  return (
    typeof b === 'object' &&
    b !== null &&
    typeof b.abiInfo === 'function' &&
    typeof b.negotiateAbi === 'function' &&
    typeof b.negotiateAgentProtocol === 'function'
  );
}

/** Candidate files in load order, and what was learned while listing them. */
export function addonCandidates(opts: ResolveOptions = {}): { candidates: string[]; tried: TriedPath[] } {
  const env = opts.env ?? process.env;
  const override = env.CLAW_BYTEROVER_PREBUILD;
  const root = override ? resolve(override) : (opts.root ?? packageRoot());
  const tried: TriedPath[] = [];
  const candidates: string[] = [];
  const prebuild = findPrebuild(root, tried);
  if (prebuild) candidates.push(prebuild);
  const local = [join(root, 'build', 'Release', ADDON_FILE), join(root, 'build', 'Debug', ADDON_FILE)];
  if (env.PREBUILDS_ONLY) {
    for (const p of local) tried.push({ path: p, outcome: 'skipped', reason: 'PREBUILDS_ONLY is set' });
  } else {
    candidates.push(...local);
  }
  return { candidates, tried };
}

/** Loads the addon (no cache). Throws ClawError NATIVE_LOAD_FAILED when nothing loads. */
export function loadAddon(opts: ResolveOptions = {}): { binding: NativeBinding; path: string; tried: TriedPath[] } {
  const env = opts.env ?? process.env;
  const { candidates, tried } = addonCandidates(opts);
  for (const path of candidates) {
    if (!existsSync(path)) {
      tried.push({ path, outcome: 'missing' });
      continue;
    }
    let mod: unknown;
    try {
      mod = require(path);
    } catch (e) {
      tried.push({ path, outcome: 'failed', reason: firstLine(errorMessage(e)) });
      continue;
    }
    if (!isBinding(mod)) {
      tried.push({
        path,
        outcome: 'failed',
        reason: 'loaded, but it is not the claw-byterover addon (no abiInfo/negotiateAbi)',
      });
      continue;
    }
    const info = mod.abiInfo();
    if (info.abiMajor !== CLAW_ABI_MAJOR) {
      tried.push({
        path,
        outcome: 'failed',
        reason: `claw ABI ${info.abiMajor}.x addon (${info.pluginName} ${info.pluginVersion}), this code needs ABI ${CLAW_ABI_MAJOR}`,
      });
      continue;
    }
    tried.push({ path, outcome: 'loaded' });
    return { binding: mod, path, tried };
  }
  throw loadFailure(tried, env);
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

function loadFailure(tried: TriedPath[], env: NodeJS.ProcessEnv): ClawError {
  const seen = {
    platform: osPlatform(),
    arch: osArch(),
    libc: describeLibc(env),
    node: process.versions.node,
    napi: process.versions.napi,
    modules: process.versions.modules,
  };
  const lines = tried.map((t) => `  ${t.path}: ${t.outcome}${t.reason ? ` (${t.reason})` : ''}`);
  const failedToLoad = tried.some((t) => t.outcome === 'failed');
  const hint = env.PREBUILDS_ONLY
    ? `PREBUILDS_ONLY is set, so local builds were not tried: install a claw-byterover release that ships a prebuild for ${seen.platform}-${seen.arch} (${seen.libc}), or unset PREBUILDS_ONLY and run \`npm rebuild claw-byterover\``
    : failedToLoad
      ? 'a binary was found but did not load (see the reasons above): run `npm rebuild claw-byterover` to compile a fresh one (needs python3, make and a C++17 compiler)'
      : `no binary fits ${seen.platform}-${seen.arch}: run \`npm rebuild claw-byterover\` to compile one with node-gyp (needs python3, make and a C++17 compiler), or install a release with a prebuild for this platform`;
  return new ClawError(
    NativeErrorCode.LOAD_FAILED,
    `could not load the claw-byterover native addon for ${seen.platform}-${seen.arch} (${seen.libc}, Node ${seen.node}, Node-API ${seen.napi ?? 'unknown'}); tried:\n${lines.join('\n')}`,
    { hint, details: { tried, ...seen } },
  );
}

let loaded: { binding: NativeBinding; path: string } | undefined;

/** The loaded addon (loads on first use, then cached). Throws NATIVE_LOAD_FAILED. */
export function binding(): NativeBinding {
  loaded ??= loadAddon();
  return loaded.binding;
}

/** Path of the addon file in use (loads it if needed). */
export function addonPath(): string {
  binding();
  return (loaded as { path: string }).path;
}

/** The plugin's static ABI description (claw_abi_info). */
export function abiInfo(): AbiInfo {
  return binding().abiInfo();
}

/**
 * What claw_init would agree with a host offering `host` (pure: takes no reference). Refusals come
 * back as `{ ok: false, code, message }`, e.g. code 'CLAW_E_ABI_TOO_OLD'.
 */
export function negotiateAbi(host: HostAbiRange): AbiNegotiation {
  return binding().negotiateAbi(host);
}

/**
 * Picks the OpenClaw Gateway protocol version to speak with an agent accepting [min, max]
 * (the plugin speaks abiInfo().agentProtocolMin..Max). A mismatch is `{ ok: false, code:
 * 'CLAW_E_PROTOCOL_MISMATCH', message: 'plugin speaks 3–4, agent requires 5–6: upgrade claw-byterover' }`.
 * `plugin` replaces the plugin's range (for tests that offer another range: the decision and its
 * wording stay the native ones).
 */
export function negotiateAgentProtocol(
  min: number,
  max: number,
  plugin?: { readonly min: number; readonly max: number },
): ProtocolNegotiation {
  return plugin
    ? binding().negotiateAgentProtocol(min, max, plugin.min, plugin.max)
    : binding().negotiateAgentProtocol(min, max);
}

/** claw_strerror: one-line description of a numeric status. */
export function strerror(status: number): string {
  return binding().strerror(status);
}

// ---- Recall: the native context-tree index (native/src/recall, claw/recall.h) ----------------

/** Engine options (claw/recall.h `claw_recall_options`); every field is optional. */
export interface RecallEngineOptions {
  /** BM25 term-frequency saturation, >= 0 (default 1.2). */
  k1?: number;
  /** Field weights, >= 0: title and frontmatter tags 3, headings 2, body 1 by default. */
  titleWeight?: number;
  headingsWeight?: number;
  bodyWeight?: number;
  /** Length normalization per field, in [0, 1] (default 0.75 each). */
  titleB?: number;
  headingsB?: number;
  bodyB?: number;
  /** Drop English stop words (default true). */
  stopWords?: boolean;
  /** Fold English plurals, "notes" → "note" (default true). */
  pluralFolding?: boolean;
  /** Largest document accepted, in UTF-8 bytes (default 16 MiB). */
  maxDocumentBytes?: number;
}

export interface RecallIndexOptions extends RecallEngineOptions {
  /** Excerpt length of each hit, in Unicode code points, the "…" included (default 200; 0 = none). */
  excerptChars?: number;
  /** Threads addBatch parses on (default 0 = one per core, at most 8). */
  batchThreads?: number;
}

/** A note already split into fields (lib/memory's RecallDoc). `headings` is informational: the
 *  engine reads the headings from `body`, which holds the markdown with its headings. */
export interface RecallFields {
  title: string;
  headings: string[];
  body: string;
  tags: string[];
}

/** What a document can be given as: the raw markdown file (string, or UTF-8 bytes), or fields. */
export type RecallSource = string | Uint8Array | RecallFields;

export interface RecallHit {
  /** The path the document was added under. */
  path: string;
  /** Frontmatter title, else the first H1, else the file name. */
  title: string;
  /** BM25F score (> 0); hits come best first, ties by path. */
  score: number;
  /** Up to `excerptChars` code points of the body around the best match (of the best element, for
   *  a v4 topic). */
  excerpt: string;
  /** v4 topics: the best-matching element's id (absent when it has none). */
  elementId?: string;
  /** v4 topics: the best-matching element's kind, e.g. "bv-fact" (absent when no element matched). */
  elementType?: string;
}

export interface RecallStats {
  /** Live documents. */
  documents: number;
  /** Distinct indexed terms. */
  terms: number;
  /** (term, document) pairs. */
  postings: number;
  /** Heap bytes the native index holds (estimate). */
  memoryBytes: number;
  /**
   * Bytes of a loaded persisted index file served in place from a read-only mapping (page cache,
   * not heap): 0 for a built index, absent in addons built before it landed.
   */
  mappedBytes?: number;
  /** Successful changes since creation. */
  generation: number;
  /** Document slots / term ids allocated (live + reusable): bounded under repeated updates. */
  docSlots: number;
  termSlots: number;
  /** Average indexed tokens per document, per field. */
  avgTitleTokens: number;
  avgHeadingsTokens: number;
  avgBodyTokens: number;
}

/** The native class as the addon exports it (see native/src/addon.cc). */
export interface RecallIndexBinding {
  upsert(path: string, markdown: string | Uint8Array): boolean;
  upsertBatch(docs: NativeBatch, threads?: number): void;
  upsertBatchAsync(docs: NativeBatch, threads?: number): Promise<void>;
  remove(path: string): boolean;
  contains(path: string): boolean;
  query(text: string, k?: number, excerptChars?: number): RecallHit[];
  stats(): RecallStats;
  setSignals(path: string, signals: RecallSignals | null): void;
  takeWarnings(): RecallFileWarning[];
  /** Persisted index file (native/src/recall/persist.h); absent in addons built before it landed. */
  saveFile?(path: string, meta: string): void;
  loadFile?(path: string): string;
  /** loadFile on a libuv worker; absent in addons built before it. */
  loadFileAsync?(path: string, threads?: number): Promise<string>;
  close(): void;
  readonly closed: boolean;
}

/**
 * Markdown the engine parses back into `fields`: a frontmatter with the title and tags as JSON
 * strings (valid YAML double-quoted scalars, which the engine unescapes), then the body.
 */
export function recallFieldsToMarkdown(fields: RecallFields): string {
  const title = JSON.stringify(fields.title.replace(/[\r\n]+/g, ' '));
  const tags = (fields.tags ?? []).map((t) => JSON.stringify(String(t).replace(/[\r\n]+/g, ' '))).join(', ');
  return `---\ntitle: ${title}\ntags: [${tags}]\n---\n${fields.body}`;
}

/** A RecallFields object (anything else goes to the addon as is, which names what is wrong). */
function isFields(doc: unknown): doc is RecallFields {
  const d = doc as Partial<RecallFields> | null;
  return (
    typeof d === 'object' &&
    d !== null &&
    !(d instanceof Uint8Array) &&
    typeof d.title === 'string' &&
    typeof d.body === 'string'
  );
}

/** What the addon takes for a document: bytes or markdown as they are, fields rendered. */
function nativeDoc(doc: RecallSource): string | Uint8Array {
  return isFields(doc) ? recallFieldsToMarkdown(doc) : doc;
}

type NativeBatch = ReadonlyArray<{ path: string; doc: string | Uint8Array }>;

/** A batch as the addon takes it: raw markdown (LocalMemory's case) as it is, fields rendered. */
function nativeBatch(docs: ReadonlyArray<{ path: string; doc: RecallSource }>): NativeBatch {
  const hasFields = (d: { doc: RecallSource } | null): boolean =>
    typeof d === 'object' && d !== null && isFields(d.doc);
  if (!Array.isArray(docs) || !docs.some(hasFields)) return docs as NativeBatch;
  return docs.map((d) => (hasFields(d) ? { path: d.path, doc: nativeDoc(d.doc) } : d)) as NativeBatch;
}

const RECALL_HINTS: Record<string, string> = {
  RECALL_CLOSED: 'create a new index with createRecallIndex(); close() frees the native memory for good',
  RECALL_DOCUMENT_TOO_LARGE: 'split the note, or raise maxDocumentBytes when creating the index',
  RECALL_OUT_OF_MEMORY: 'the process ran out of memory while indexing: index fewer or smaller notes',
  RECALL_INVALID_ARGUMENT: 'check the path (1..4096 UTF-8 bytes, no NUL) and the document',
  RECALL_INTERNAL: 'this is a bug in claw-byterover: please report it with the input that caused it',
  RECALL_PERSIST_MISSING: 'nothing was persisted yet: build the index from the tree (lib/memory saves it after)',
  RECALL_PERSIST_CORRUPT: 'the file is ignored and rebuilt from the tree; delete it if this repeats',
  RECALL_PERSIST_VERSION: 'written by another claw-byterover version: it is rebuilt from the tree',
  RECALL_PERSIST_OPTIONS: 'built with other index options: it is rebuilt from the tree',
  RECALL_PERSIST_IO: 'check that the state directory is writable and the disk is not full',
  RECALL_BUSY: 'await the running loadFileAsync or addBatchAsync of this index before loading into it',
};

function persistUnavailable(): ClawError {
  return new ClawError(
    NativeErrorCode.RECALL_PERSIST_UNAVAILABLE,
    'expected an addon with persisted indexes, found an older build',
    {
      hint: 'Rebuild the addon (`npm run build:native`); until then the index is built from the tree on every open.',
    },
  );
}

/** Native recall errors (Error with a RECALL_* code) as ClawError; anything else unchanged. */
function recallError(e: unknown): unknown {
  const code = (e as { code?: unknown } | null)?.code;
  if (!(e instanceof Error) || e instanceof TypeError || e instanceof RangeError) return e;
  if (typeof code !== 'string' || !code.startsWith('RECALL_')) return e;
  return new ClawError(code, e.message, { hint: RECALL_HINTS[code], cause: e });
}

/**
 * A native recall index. It implements lib/memory's `RecallIndex` seam (add/addBatch/update/
 * remove/query/stats/close) plus upsert, contains and the full engine stats.
 *
 * Errors: wrong argument types throw TypeError (`code` ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE),
 * out-of-range numbers RangeError (ERR_OUT_OF_RANGE); engine refusals throw ClawError with a stable
 * code: RECALL_DOCUMENT_TOO_LARGE, RECALL_OUT_OF_MEMORY, RECALL_INTERNAL, and RECALL_CLOSED for any
 * call after close().
 *
 * Memory: the native index is freed by close() or, when the object is dropped, by the garbage
 * collector (its size is reported to V8 as external memory).
 */
export class NativeRecallIndex {
  readonly #native: RecallIndexBinding;
  readonly #excerptChars: number;
  readonly #threads: number;

  constructor(native: RecallIndexBinding, excerptChars: number, threads: number) {
    this.#native = native;
    this.#excerptChars = excerptChars;
    this.#threads = threads;
  }

  /** Adds the document at `path`, or replaces the one there; true when it replaced one. */
  upsert(path: string, doc: RecallSource): boolean {
    try {
      return this.#native.upsert(path, nativeDoc(doc));
    } catch (e) {
      throw recallError(e);
    }
  }

  add(path: string, doc: RecallSource): void {
    this.upsert(path, doc);
  }

  update(path: string, doc: RecallSource): void {
    this.upsert(path, doc);
  }

  /** Adds or replaces many documents at once (a later duplicate path wins), parsed in parallel.
   *  All-or-nothing for bad input: a bad path or an oversized document throws before any change. */
  addBatch(docs: ReadonlyArray<{ path: string; doc: RecallSource }>): void {
    try {
      this.#native.upsertBatch(nativeBatch(docs), this.#threads);
    } catch (e) {
      throw recallError(e);
    }
  }

  /**
   * addBatch off the event loop: the documents are copied at once (so later changes to `docs` do
   * not matter), then parsed and indexed on a libuv worker; queries keep answering meanwhile (from
   * the index as it was, then with each applied chunk). Bad input rejects before anything changes.
   * close() while it runs makes further calls throw RECALL_CLOSED; the native index is freed when
   * the batch is done.
   */
  async addBatchAsync(docs: ReadonlyArray<{ path: string; doc: RecallSource }>): Promise<void> {
    try {
      await this.#native.upsertBatchAsync(nativeBatch(docs), this.#threads);
    } catch (e) {
      throw recallError(e);
    }
  }

  /**
   * Writes the index and `meta` (the caller's manifest) to `path` atomically (persist.h: versioned,
   * checksummed). Throws ClawError RECALL_PERSIST_IO (or RECALL_PERSIST_UNAVAILABLE with an addon
   * built before persistence).
   */
  saveFile(path: string, meta: string): void {
    if (!this.#native.saveFile) throw persistUnavailable();
    try {
      this.#native.saveFile(path, meta);
    } catch (e) {
      throw recallError(e);
    }
  }

  /**
   * Fills this index (which must hold no documents) from `path` and returns the manifest saved with
   * it. A missing, torn, corrupt, foreign-version or other-options file throws ClawError
   * RECALL_PERSIST_MISSING / _CORRUPT / _VERSION / _OPTIONS (the index stays empty): never served.
   */
  loadFile(path: string): string {
    if (!this.#native.loadFile) throw persistUnavailable();
    try {
      return this.#native.loadFile(path);
    } catch (e) {
      throw recallError(e);
    }
  }

  /**
   * loadFile off the event loop (a libuv worker: the load reads the whole file, ~8 ms at 10,000
   * notes). `threads` caps the threads of its checksum and checks (default: one per core, at most
   * 8; 1 leaves the other cores to other work). Rejects as loadFile throws (a TypeError for a bad
   * `threads`), and RECALL_BUSY while another load or batch of this index runs. The index must not
   * be used until the promise settles. With an addon built before it, the load runs on the calling
   * thread.
   */
  async loadFileAsync(path: string, opts: { threads?: number } = {}): Promise<string> {
    if (!this.#native.loadFileAsync) return this.loadFile(path);
    try {
      return await this.#native.loadFileAsync(path, opts.threads);
    } catch (e) {
      throw recallError(e);
    }
  }

  /** Removes the document at `path`; false when it was not indexed. */
  remove(path: string): boolean {
    try {
      return this.#native.remove(path);
    } catch (e) {
      throw recallError(e);
    }
  }

  contains(path: string): boolean {
    try {
      return this.#native.contains(path);
    } catch (e) {
      throw recallError(e);
    }
  }

  /** At most `k` hits (default 10, capped at 10,000), best first. An empty or all-stop-word query
   *  returns []. */
  query(text: string, k = 10, opts?: { excerptChars?: number }): RecallHit[] {
    try {
      return this.#native.query(text, k, opts?.excerptChars ?? this.#excerptChars);
    } catch (e) {
      throw recallError(e);
    }
  }

  stats(): RecallStats {
    try {
      return this.#native.stats();
    } catch (e) {
      throw recallError(e);
    }
  }

  /** Sets (null: clears) a v4 topic's ranking signals; they may precede the document and survive
   *  its updates. The formula is in native/src/recall/index.h. */
  setSignals(path: string, signals: RecallSignals | null): void {
    try {
      this.#native.setSignals(path, signals);
    } catch (e) {
      throw recallError(e);
    }
  }

  /** Parser warnings of indexed v4 files not yet taken, each (path, content) once. */
  takeWarnings(): RecallFileWarning[] {
    try {
      return this.#native.takeWarnings();
    } catch (e) {
      throw recallError(e);
    }
  }

  /** Frees the native index now. Idempotent; any other call afterwards throws RECALL_CLOSED. */
  close(): void {
    this.#native.close();
  }

  get closed(): boolean {
    return this.#native.closed;
  }
}

/** Why the loaded addon has no recall engine (an addon built before it landed). */
function recallMissing(): ClawError {
  return new ClawError(
    NativeErrorCode.RECALL_MISSING,
    `expected the native addon at ${addonPath()} to provide the recall engine (RecallIndex), found an addon without it`,
    { hint: 'the addon predates the recall engine: run `npm rebuild claw-byterover` or install a newer release' },
  );
}

/**
 * A fresh, empty native recall index (lib/memory's RecallIndex seam; lib/memory/native-index.ts
 * finds the engine through this export). Throws NATIVE_LOAD_FAILED when the addon cannot load,
 * NATIVE_RECALL_MISSING when it has no recall engine, RangeError/TypeError for bad options.
 */
export function createRecallIndex(opts: RecallIndexOptions = {}): NativeRecallIndex {
  const b = binding();
  if (typeof b.RecallIndex !== 'function') throw recallMissing();
  const { excerptChars = 200, batchThreads = 0, ...engine } = opts;
  if (!Number.isInteger(excerptChars) || excerptChars < 0)
    throw new RangeError(`expected excerptChars to be an integer >= 0, got ${String(excerptChars)}`);
  if (!Number.isInteger(batchThreads) || batchThreads < 0 || batchThreads > 64)
    throw new RangeError(`expected batchThreads to be an integer 0..64, got ${String(batchThreads)}`);
  return new NativeRecallIndex(new b.RecallIndex(engine), excerptChars, batchThreads);
}

/** Parses one ByteRover v4 topic file (`<bv-topic>` root, the 19 bv-* elements); never throws for
 *  malformed HTML (see `warnings`), only a TypeError for a non-string/bytes argument. */
export function parseTopic(html: string | Uint8Array): ParsedTopic {
  const b = binding();
  if (typeof b.parseTopic !== 'function') throw recallMissing();
  return b.parseTopic(html);
}

/** Whether a tree-relative `/`-separated path holds a v4 topic: `.html`, not `index.html`, not under
 *  a dot folder (`.brv/_migrations/`); `_manifest.json` is not. */
export function isTopicPath(relPath: string): boolean {
  const b = binding();
  if (typeof b.isTopicPath !== 'function') throw recallMissing();
  return b.isTopicPath(relPath);
}

/**
 * The manifest saved in a persisted index file, read WITHOUT verifying the file (no checksum, no
 * check of the index): a hint for work that may start before the load, which loadFile /
 * loadFileAsync then confirm by returning the same manifest. Throws ClawError RECALL_PERSIST_*
 * as loadFile does (RECALL_PERSIST_UNAVAILABLE with an addon built before it).
 */
export function peekIndexMeta(path: string): string {
  const b = binding();
  if (typeof b.peekIndexMeta !== 'function') throw persistUnavailable();
  try {
    return b.peekIndexMeta(path);
  } catch (e) {
    throw recallError(e);
  }
}

/** Native recall indexes alive in this process (not yet closed or collected); for leak checks. */
export function recallLiveIndexes(): number {
  const b = binding();
  if (typeof b.recallLiveIndexes !== 'function') throw recallMissing();
  return b.recallLiveIndexes();
}
