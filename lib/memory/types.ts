/**
 * The memory layer's contracts.
 *
 * - `RecallIndex` is the seam between lib/memory and a search engine. The native C++ recall engine
 *   (native/src/recall/, bound through Node-API in lib/native.ts) implements it; lib/memory never
 *   knows which engine it drives. See lib/memory/native-index.ts for how the binding is found.
 * - `MemoryBackend` is what the rest of the project (OpenClaw engine, agent link, CLI) calls. Two
 *   implementations: `LocalMemory` (context tree on disk + a RecallIndex, in-process) and
 *   `BrvMemory` (drives the real `brv` CLI as a subprocess).
 */

/** One document as the recall engine indexes it (parsed from a markdown file by lib/memory/markdown.ts). */
export interface RecallDoc {
  /** Frontmatter `title`, else the first ATX heading, else the file name without `.md`. */
  title: string;
  /** ATX heading texts (`#`…`######`) in document order, without the leading hashes. */
  headings: string[];
  /** The markdown body after the frontmatter (headings included; the engine may weight them). */
  body: string;
  /** Frontmatter `tags` (strings). */
  tags: string[];
}

/** One search result. `score` is engine-specific (higher is better); only its order is meaningful. */
export interface RecallHit {
  /** Path relative to the context tree root, `/`-separated (e.g. `auth/jwt.md`). */
  path: string;
  title: string;
  score: number;
  /** Text around the best match (plain text; may be trimmed further by the token budget). */
  excerpt: string;
  /** ByteRover v4 topics: the id of the best-matching element (e.g. `bve-1a2b3c4d`), when it has one. */
  elementId?: string;
  /** ByteRover v4 topics: the kind of the best-matching element (e.g. `bv-fact`). */
  elementType?: string;
}

export interface RecallIndexStats {
  /** Documents currently indexed. */
  documents: number;
  /** Distinct indexed terms, when the engine knows it. */
  terms?: number;
  /** Approximate bytes the engine holds, when it knows it. */
  memoryBytes?: number;
  /** Bytes it serves from a mapped persisted index (page cache, not heap), when it knows it. */
  mappedBytes?: number;
}

/**
 * The search engine seam. Paths are the tree-relative keys of `RecallHit.path`.
 *
 * Contract (the native binding must honour it; lib/memory relies on each point):
 * - `add` on a path already present replaces that document (same as `update`); `update` on an absent
 *   path adds it. Neither rebuilds the index.
 * - `doc` is either a parsed `RecallDoc` or the raw markdown text of the file (the engine then parses
 *   frontmatter/headings itself, as native/src/recall does). LocalMemory passes the raw file text, so
 *   an engine sees exactly what is on disk.
 * - `addBatch`, when present, adds or replaces many documents at once (a later duplicate path wins);
 *   LocalMemory uses it for the initial load and large rescans (the native engine parses in parallel).
 * - `remove` returns whether the path was indexed.
 * - `query(text, k)` returns at most `k` hits, best first (descending score); an empty or all-stop-word
 *   query returns `[]`. It never throws for ordinary text.
 * - Methods are synchronous and cheap; `close()` releases native memory (idempotent). Calls after
 *   `close()` throw.
 */
export interface RecallIndex {
  add(path: string, doc: RecallDoc | string): void;
  addBatch?(docs: ReadonlyArray<{ path: string; doc: RecallDoc | string }>): void;
  update(path: string, doc: RecallDoc | string): void;
  remove(path: string): boolean;
  query(text: string, k: number): RecallHit[];
  stats(): RecallIndexStats;
  close?(): void;
}

/** Makes an empty index. */
export type RecallIndexFactory = () => RecallIndex;

/** A note to curate. */
export interface Note {
  /** Title; when absent the first line of `content` (trimmed, capped) is used. */
  title?: string;
  /** Markdown body (without frontmatter). */
  content: string;
  tags?: string[];
  /**
   * Desired path relative to the tree (folders allowed, `.md` added when missing). When absent the
   * file name is the slug of the title. Paths escaping the tree are refused (MEMORY_PATH_ESCAPE).
   */
  path?: string;
}

export interface CurateResult {
  /** Stable id of the note (idempotency key; also written into the file's frontmatter as `claw_id`). */
  id: string;
  /** Tree-relative path written (for `brv`, where it said it queued or wrote the note, when known). */
  path: string | undefined;
  /** `written`: a new file; `existing`: the same note (same id) was already curated, nothing written;
   * `queued`: handed to `brv curate`. */
  status: 'written' | 'existing' | 'queued';
  /** Set when `existing` because another note already holds this content (lib/memory/hygiene): its path. */
  duplicateOf?: string;
  /** Set when the new note replaces a note with the same subject: the older note's path. */
  supersedes?: string;
  /** Kinds of secrets replaced by `[REDACTED:<kind>]` (curate with `secrets: 'redact'`). */
  redacted?: string[];
}

/** Write hygiene for curate (lib/memory/hygiene; see lib/memory/curate.ts). */
export interface CurateOptions {
  /** An idempotency key (default: derived from the note). */
  id?: string;
  signal?: AbortSignal;
  /** A secret in the note: `refuse` (default, MEMORY_SECRET_DETECTED) or `redact`. */
  secrets?: 'refuse' | 'redact';
  /** `detect` (default): duplicates answered with the existing path; `merge`: same-subject notes merged; `allow`: off. */
  duplicates?: 'detect' | 'merge' | 'allow';
}

export interface SearchOptions {
  k?: number;
  signal?: AbortSignal;
}

export interface RecallOptions extends SearchOptions {
  /** Upper bound on the estimated tokens of the returned `text` (see lib/memory/budget.ts). */
  tokenBudget?: number;
}

export interface RecallResult {
  /** Hits that fit the budget, best first, excerpts possibly trimmed. */
  hits: RecallHit[];
  /** The rendered block (what an agent injects into its prompt); `estimateTokens(text) <= tokenBudget`. */
  text: string;
  /** `estimateTokens(text)`. */
  tokens: number;
  /** Hits the engine returned that were dropped or trimmed to fit the budget. */
  dropped: number;
  trimmed: number;
}

export interface MemoryStats {
  backend: 'local' | 'brv';
  /** Context tree root (`<project>/.brv/context-tree`). */
  treeRoot: string;
  documents: number;
  /** Outbox entries not yet pushed (local backend). */
  pending?: number;
  engine?: RecallIndexStats;
  /** Last pulled/pushed CoGit commit, when synced. */
  commitSha?: string;
}

/** The one interface the rest of the project calls, whichever engine is behind it. */
export interface MemoryBackend {
  readonly kind: 'local' | 'brv';
  search(query: string, opts?: SearchOptions): Promise<RecallHit[]>;
  recall(query: string, opts?: RecallOptions): Promise<RecallResult>;
  /** `opts.id` is an idempotency key (default: derived from the note); secrets/duplicates: write hygiene. */
  curate(note: Note, opts?: CurateOptions): Promise<CurateResult>;
  stats(): Promise<MemoryStats>;
  close(): Promise<void>;
}
