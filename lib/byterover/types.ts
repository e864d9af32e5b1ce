/**
 * What the ByteRover client returns and accepts (camelCase; the wire shapes are in schemas.ts).
 */
import type { HttpClient } from '../http/types.js';
import type { Logger } from 'pino';
import type { SessionProvider } from './auth/types.js';
import type { ByteRoverConfig, ByteRoverConfigInput } from './config.js';

export interface ByteRoverClientOptions {
  /** The one transport (lib/http createHttpClient). */
  http: HttpClient;
  /** Source of the `x-byterover-session-id` value (lib/byterover/auth). */
  session: SessionProvider;
  /** Parsed config, or input merged over the environment (`loadByteRoverConfig`). Default: environment. */
  config?: ByteRoverConfig | ByteRoverConfigInput;
  logger?: Logger;
  /** Enables the legacy memories API (April 2025 MCP server), authenticated with `x-api-key`. */
  legacy?: { apiKey: string };
  /**
   * Snapshot answers of at least this many bytes are parsed and decoded in a worker thread, off the
   * event loop (default 256 KiB; 0 = always).
   */
  snapshotOffloadBytes?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface ByteRoverUser {
  id: string;
  email: string;
  name: string | undefined;
  avatarUrl: string | undefined;
  hasOnboardedCli: boolean;
}

export interface ByteRoverTeam {
  id: string;
  name: string;
  /** `display_name`, else `name`. */
  displayName: string;
  slug: string | undefined;
  isDefault: boolean;
  isActive: boolean;
  avatarUrl: string | undefined;
}

export interface ByteRoverSpace {
  id: string;
  name: string;
  slug: string | undefined;
  teamId: string;
  teamName: string | undefined;
  teamSlug: string | undefined;
  isDefault: boolean;
  defaultBranch: string | undefined;
}

export interface TeamsOptions extends CallOptions {
  /** Sent as `is_active`; omitted = every team. */
  isActive?: boolean;
}

export interface SnapshotFile {
  /** As the server sends it (CoGit paths start with `/`, e.g. `/structure/context.md`). */
  path: string;
  /** Decoded from the base64 `content`. */
  bytes: Uint8Array;
  /** `bytes` as UTF-8 text, or undefined when they are not valid UTF-8. */
  text: string | undefined;
  mode: string;
  /** The server's blob SHA (git blob SHA-1 of the content). */
  sha: string;
  size: number;
}

export interface Snapshot {
  teamId: string;
  spaceId: string;
  branch: string;
  /** Head commit of the branch (empty string for a branch with no commits yet). */
  commitSha: string;
  message: string | undefined;
  author: { name: string | undefined; email: string | undefined; when: string | undefined } | undefined;
  files: SnapshotFile[];
  requestId: string | undefined;
}

export type MemoryOperation = 'add' | 'edit' | 'delete';

/** One context-tree change in a CoGit commit (the `memories[]` items of the commits endpoint). */
export interface MemoryChange {
  path: string;
  title: string;
  content: string;
  tags?: readonly string[];
  operation: MemoryOperation;
  /** Optional curation metadata `brv` sends with a change. */
  reason?: string;
  confidence?: 'high' | 'low';
  impact?: 'high' | 'medium' | 'low';
  needsReview?: boolean;
}

export interface PushOptions extends CallOptions {
  branch?: string;
  memories: readonly MemoryChange[];
  /** Commit message (sent as `message`; the server may use its own). */
  message?: string;
  /** The head the changes were made against; fetched from the snapshot when omitted. */
  currentSha?: string;
}

export interface PushResult {
  /** The new head. */
  commitSha: string;
  /** The head the commit was applied on. */
  parentSha: string;
  message: string | undefined;
  /** True when the first attempt met a stale head and the push was repeated on the new one. */
  retriedAfterConflict: boolean;
  /**
   * True when, after a stale-head rejection, the new head already held every change (our own commit
   * whose answer was lost, or identical changes by someone else): nothing more was committed.
   * `commitSha` is then that head and `parentSha` the base the client had sent.
   */
  alreadyApplied: boolean;
  /** The idempotency key every commit attempt of this push carried. */
  idempotencyKey: string;
  requestId: string | undefined;
}

export interface BillingUsage {
  organizationId: string;
  organizationName: string | undefined;
  organizationStatus: string | undefined;
  /** Base compute-unit limit of the period. */
  limit: number;
  used: number;
  remaining: number;
  addOnRemaining: number;
  /** `limit + addOnRemaining`. */
  totalLimit: number;
  percentUsed: number;
  limitExceeded: boolean;
  /** From `/billing/organizations/tiers`; `FREE` when the tiers endpoint omits the organization. */
  tier: string;
  isTrialing: boolean;
}

export interface LegacySearchResult {
  memory: string;
  score: number;
  tags: string[];
}

export interface LegacyMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface LegacyCreateMemoryInput {
  messages: readonly LegacyMessage[];
  userId: string;
  provider?: string;
  model?: string;
}

export interface ByteRoverClient {
  readonly config: ByteRoverConfig;
  /** IAM `GET /api/v1/user/me`. */
  me(opts?: CallOptions): Promise<ByteRoverUser>;
  /** IAM `GET /api/v1/teams`, every page. */
  teams(opts?: TeamsOptions): Promise<ByteRoverTeam[]>;
  /** IAM `GET /api/v1/spaces` (of one team when `teamId` is given), every page. */
  spaces(teamId?: string, opts?: CallOptions): Promise<ByteRoverSpace[]>;
  /** CoGit snapshot of a branch with its files decoded. */
  pullSnapshot(teamId: string, spaceId: string, opts?: CallOptions & { branch?: string }): Promise<Snapshot>;
  /** CoGit commit with optimistic concurrency on `current_sha` (see docs: "How conflicts are handled"). */
  pushCommit(teamId: string, spaceId: string, opts: PushOptions): Promise<PushResult>;
  /** Billing usage per organization, joined with its tier. */
  billingUsage(opts?: CallOptions): Promise<BillingUsage[]>;
  /** Legacy `POST /memories/search` (needs `legacy.apiKey`). */
  searchMemories(query: string, limit?: number, opts?: CallOptions): Promise<LegacySearchResult[]>;
  /** Legacy `POST /memories` (needs `legacy.apiKey`). Resolves with the server's answer. */
  createMemory(input: LegacyCreateMemoryInput, opts?: CallOptions): Promise<Record<string, unknown>>;
}
