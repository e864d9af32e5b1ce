/**
 * A stand-in of ByteRover's cloud for tests: IAM, CoGit, billing and the legacy memories API, each on
 * its own node:http server on 127.0.0.1 (port 0), so a call sent to the wrong service fails as it
 * would against the real hosts.
 *
 * It implements the documented contract (shared/reference/byterover.md, and the shapes `brv` reads):
 * - every IAM/CoGit/billing endpoint requires `x-byterover-session-id`; a missing or unknown key is
 *   401 `{statusCode, code: "AUTH_INVALID_TOKEN", message, timestamp}`;
 * - IAM envelopes `{code, message, data}`; teams/spaces page with `limit/offset/total` (limit ≤ 100),
 *   teams filter on `is_active`, spaces on `team_id`;
 * - CoGit snapshots with base64 file contents and git blob SHA-1s; commits with optimistic concurrency
 *   on `current_sha` (a stale SHA is 400 with `error: "Expected SHA '<sent>' but current SHA is
 *   '<head>'"`, like CoGit), the new commit SHA computed from the tree, parent and message;
 * - CoGit commit errors carry `error` (not `message`), as `brv` reads them;
 * - billing `/billing/usages` and `/billing/organizations/tiers`;
 * - legacy `POST /api/v1/memories/search` and `POST /api/v1/memories` with `x-api-key`;
 * - `x-request-id` on every response.
 * Choices where ByteRover documents nothing (each listed in docs/readme/byterover-api.md): a branch
 * without commits snapshots as `commit_sha: ""` with no files; commits honour `Idempotency-Key`
 * Stripe-style (a result is saved when the handler ran and replayed for the same key and body; the
 * same key with another body is 422 IDEMPOTENCY_KEY_REUSED; rejected requests save nothing).
 *
 * Test controls: `inject(fault)` (429 + Retry-After, bursts of 5xx, latency, socket resets, malformed
 * or wrong-shaped bodies, forced 401, a concurrent commit moving the head, a commit applied but its
 * answer lost), `errorStyle` (answer errors with `error` instead of `message`), and `requests`
 * (every request received, with its session id, API key and idempotency key).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type StandinService = 'iam' | 'cogit' | 'billing' | 'legacy';
export type StandinEndpoint =
  | 'iam.user.me'
  | 'iam.teams'
  | 'iam.spaces'
  | 'cogit.snapshot'
  | 'cogit.commits'
  | 'billing.usages'
  | 'billing.tiers'
  | 'legacy.memories.search'
  | 'legacy.memories.create';

export interface StandinUser {
  id: string;
  email: string;
  name: string;
  avatar_url?: string;
  hasOnboardedCli: boolean;
}

export interface StandinTeam {
  id: string;
  name: string;
  display_name: string;
  slug: string;
  description: string;
  avatar_url: string;
  is_default: boolean;
  is_active: boolean;
  created_at: string;
  updated_at: string;
}

export interface StandinSpace {
  id: string;
  name: string;
  slug: string;
  team_id: string;
  description: string;
  default_branch: string;
  visibility: string;
  is_default: boolean;
  created_at: string;
  updated_at: string;
}

export interface StandinCommit {
  sha: string;
  parent: string;
  message: string;
  author: { name: string; email: string; when: string };
  files: ReadonlyMap<string, Buffer>;
}

export interface StandinUsage {
  organizationId: string;
  organizationName: string;
  organizationStatus: string;
  limit: number;
  used: number;
  addOnRemaining: number;
}

export interface LegacyMemory {
  id: string;
  memory: string;
  tags: string[];
  userId: string;
}

interface FaultBase {
  /** Endpoint(s) it applies to; omitted = every endpoint. */
  endpoint?: StandinEndpoint | StandinEndpoint[];
  method?: string;
  /** How many matching requests it affects (default 1; Infinity = until removed). */
  times?: number;
}

export type Fault = FaultBase &
  (
    | { kind: 'latency'; ms: number }
    /** An error answer; `code: null` leaves `code` out of the body. */
    | { kind: 'status'; status: number; code?: string | null; message?: string; errorField?: 'message' | 'error' }
    /**
     * Opens a rate-limit window: this request and every matching one until the window closes get
     * 429 (or `status`) with the Retry-After left; `times` counts windows, not requests. Seconds
     * (number or numeric string) or an HTTP-date (Date or string).
     */
    | { kind: 'rateLimit'; retryAfter: number | Date | string; status?: number }
    | { kind: 'reset' }
    | { kind: 'unauthorized' }
    | { kind: 'malformed'; body?: string; status?: number; contentType?: string }
    | { kind: 'body'; body: unknown; status?: number }
    | { kind: 'concurrentCommit' }
    | { kind: 'failAfterCommit'; status?: number }
  );

export interface FaultHandle {
  readonly fault: Fault;
  /** Matching requests it will still affect. */
  readonly remaining: number;
  /** Requests it affected so far. */
  readonly hits: number;
  remove(): void;
}

export interface RecordedRequest {
  seq: number;
  service: StandinService;
  endpoint: StandinEndpoint | undefined;
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  sessionId: string | undefined;
  apiKey: string | undefined;
  idempotencyKey: string | undefined;
  body: unknown;
  /** Status answered (undefined while in flight or when the socket was reset). */
  status: number | undefined;
  /** Body answered (parsed JSON, or the raw text of a malformed one). */
  response: unknown;
  requestId: string;
  /** Kinds of the faults applied to it. */
  faults: string[];
  /** True when the answer was replayed from the idempotency record. */
  replayed: boolean;
}

export interface StandinOptions {
  /** Session keys accepted in x-byterover-session-id. Default: [`DEFAULT_SESSION_KEY`]. */
  sessionKeys?: Iterable<string>;
  /** Extra session check (e.g. a JWT access token verified against a real issuer); true = accept. */
  validateSession?: (key: string) => boolean | Promise<boolean>;
  /** x-api-key values the legacy API accepts. Default: [`DEFAULT_LEGACY_API_KEY`]. */
  legacyApiKeys?: Iterable<string>;
  user?: Partial<StandinUser>;
  /** Keep `requests` (default true; benchmarks turn it off). */
  record?: boolean;
  /** Honour Idempotency-Key on commits (default true). */
  idempotency?: boolean;
  /** Largest page the list endpoints serve (default 100, like ByteRover). */
  maxLimit?: number;
}

export interface ByteRoverStandin {
  /** Base URL of each service (legacy includes `/api/v1`, like the real one). */
  readonly urls: Readonly<Record<StandinService, string>>;
  /** Input for createByteRoverClient's `config` / loadByteRoverConfig overrides. */
  clientConfig(): {
    iamBaseUrl: string;
    cogitBaseUrl: string;
    billingBaseUrl: string;
    llmBaseUrl: string;
    legacyBaseUrl: string;
  };
  /** The same as environment variables (`brv` reads these names too). */
  env(): Record<string, string>;
  readonly sessionKeys: Set<string>;
  readonly legacyApiKeys: Set<string>;
  validateSession: ((key: string) => boolean | Promise<boolean>) | undefined;
  readonly user: StandinUser;
  /** Per-endpoint error body style: `error` puts the text in `error` instead of `message`. */
  readonly errorStyle: Partial<Record<StandinEndpoint, 'message' | 'error'>>;
  addTeam(t?: Partial<StandinTeam>): StandinTeam;
  addSpace(teamId: string, s?: Partial<StandinSpace>): StandinSpace;
  readonly teams: StandinTeam[];
  readonly spaces: StandinSpace[];
  /** Commits files on a branch directly (as another client would); returns the new head. */
  commitFiles(
    teamId: string,
    spaceId: string,
    branch: string,
    files: Record<string, string | Uint8Array | null>,
    message?: string,
  ): string;
  /** Head SHA of a branch ('' when it has no commits). */
  head(teamId: string, spaceId: string, branch?: string): string;
  /** Files at the head of a branch. */
  files(teamId: string, spaceId: string, branch?: string): ReadonlyMap<string, Buffer>;
  /** Commits of a branch, oldest first. */
  history(teamId: string, spaceId: string, branch?: string): StandinCommit[];
  setUsage(u: Partial<StandinUsage> & { organizationId: string }): void;
  setTier(organizationId: string, tier: string, isTrialing?: boolean): void;
  readonly legacyMemories: LegacyMemory[];
  inject(fault: Fault): FaultHandle;
  clearFaults(): void;
  readonly requests: RecordedRequest[];
  requestsTo(endpoint: StandinEndpoint): RecordedRequest[];
  clearRequests(): void;
  close(): Promise<void>;
}

export const DEFAULT_SESSION_KEY = 'standin-session-key-0123456789';
export const DEFAULT_LEGACY_API_KEY = 'standin-legacy-api-key-0123456789';

const MAX_LIMIT = 100;
const DEFAULT_LIMIT = 20;
/** A request this close to the end of a rate-limit window counts as after it (timer granularity). */
const WINDOW_SLACK_MS = 25;

const STATUS_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL_SERVER_ERROR',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

/** git blob SHA-1 of some bytes (what `git hash-object` prints). */
export function gitBlobSha(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');
}

function treeSha(files: ReadonlyMap<string, Buffer>): string {
  const h = createHash('sha1');
  for (const path of [...files.keys()].sort()) h.update(`100644 ${path}\0${gitBlobSha(files.get(path) as Buffer)}\n`);
  return h.digest('hex');
}

function commitSha(files: ReadonlyMap<string, Buffer>, parent: string, message: string, authorEmail: string): string {
  return createHash('sha1')
    .update(`tree ${treeSha(files)}\nparent ${parent}\nauthor ${authorEmail}\n\n${message}`)
    .digest('hex');
}

/** CoGit paths start with `/` (`/structure/context.md`). */
function normPath(p: string): string {
  const trimmed = p.trim().replace(/\\/g, '/');
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

class HttpFailure {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly text: string,
    readonly extra: Record<string, unknown> = {},
  ) {}
}

interface Ctx {
  service: StandinService;
  endpoint: StandinEndpoint;
  params: string[];
  query: URLSearchParams;
  body: unknown;
  rec: RecordedRequest;
  /** The idempotency record this handler's result will be saved under (commits only). */
  sessionId: string | undefined;
}

interface Route {
  service: StandinService;
  method: string;
  pattern: RegExp;
  endpoint: StandinEndpoint;
  auth: 'session' | 'apiKey';
}

const ROUTES: Route[] = [
  { service: 'iam', method: 'GET', pattern: /^\/api\/v1\/user\/me$/, endpoint: 'iam.user.me', auth: 'session' },
  { service: 'iam', method: 'GET', pattern: /^\/api\/v1\/teams$/, endpoint: 'iam.teams', auth: 'session' },
  { service: 'iam', method: 'GET', pattern: /^\/api\/v1\/spaces$/, endpoint: 'iam.spaces', auth: 'session' },
  {
    service: 'cogit',
    method: 'GET',
    pattern: /^\/api\/v1\/organizations\/([^/]+)\/projects\/([^/]+)\/git\/snapshot$/,
    endpoint: 'cogit.snapshot',
    auth: 'session',
  },
  {
    service: 'cogit',
    method: 'POST',
    pattern: /^\/api\/v1\/organizations\/([^/]+)\/projects\/([^/]+)\/commits$/,
    endpoint: 'cogit.commits',
    auth: 'session',
  },
  {
    service: 'billing',
    method: 'GET',
    pattern: /^\/api\/v1\/billing\/usages$/,
    endpoint: 'billing.usages',
    auth: 'session',
  },
  {
    service: 'billing',
    method: 'GET',
    pattern: /^\/api\/v1\/billing\/organizations\/tiers$/,
    endpoint: 'billing.tiers',
    auth: 'session',
  },
  {
    service: 'legacy',
    method: 'POST',
    pattern: /^\/api\/v1\/memories\/search$/,
    endpoint: 'legacy.memories.search',
    auth: 'apiKey',
  },
  {
    service: 'legacy',
    method: 'POST',
    pattern: /^\/api\/v1\/memories$/,
    endpoint: 'legacy.memories.create',
    auth: 'apiKey',
  },
];

interface ActiveFault {
  fault: Fault;
  remaining: number;
  hits: number;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

export async function startByteRoverStandin(opts: StandinOptions = {}): Promise<ByteRoverStandin> {
  const sessionKeys = new Set(opts.sessionKeys ?? [DEFAULT_SESSION_KEY]);
  const legacyApiKeys = new Set(opts.legacyApiKeys ?? [DEFAULT_LEGACY_API_KEY]);
  const record = opts.record ?? true;
  const maxLimit = opts.maxLimit ?? MAX_LIMIT;
  const idempotency = opts.idempotency ?? true;
  const user: StandinUser = {
    id: 'user-1',
    email: 'ada@example.com',
    name: 'Ada Lovelace',
    avatar_url: 'https://example.com/ada.png',
    hasOnboardedCli: true,
    ...opts.user,
  };
  const teams: StandinTeam[] = [];
  const spaces: StandinSpace[] = [];
  /** `${teamId}/${spaceId}/${branch}` → commits, oldest first. */
  const branches = new Map<string, StandinCommit[]>();
  const usages = new Map<string, StandinUsage>();
  const tiers = new Map<string, { tier: string; isTrialing: boolean }>();
  const legacyMemories: LegacyMemory[] = [];
  const faults: ActiveFault[] = [];
  /** Open rate-limit windows: the fault that opened it, until when (epoch ms), and its status. */
  const windows: Array<{ fault: Fault; until: number; status: number }> = [];
  const requests: RecordedRequest[] = [];
  const errorStyle: Partial<Record<StandinEndpoint, 'message' | 'error'>> = { 'cogit.commits': 'error' };
  const idem = new Map<string, { fingerprint: string; status: number; body: unknown }>();
  let seq = 0;
  let concurrentCommits = 0;
  const now = () => new Date().toISOString();

  const branchKey = (t: string, s: string, b: string) => `${t}/${s}/${b}`;
  const commitsOf = (t: string, s: string, b: string): StandinCommit[] => {
    const k = branchKey(t, s, b);
    let list = branches.get(k);
    if (!list) branches.set(k, (list = []));
    return list;
  };
  const headOf = (t: string, s: string, b: string): StandinCommit | undefined => commitsOf(t, s, b).at(-1);

  function applyCommit(
    t: string,
    s: string,
    b: string,
    changes: Array<{ path: string; content: Buffer | null }>,
    message: string,
    author: { name: string; email: string },
  ): StandinCommit {
    const parent = headOf(t, s, b);
    const files = new Map(parent?.files ?? []);
    for (const c of changes) {
      if (c.content === null) files.delete(normPath(c.path));
      else files.set(normPath(c.path), c.content);
    }
    const commit: StandinCommit = {
      sha: commitSha(files, parent?.sha ?? '', message, author.email),
      parent: parent?.sha ?? '',
      message,
      author: { ...author, when: now() },
      files,
    };
    commitsOf(t, s, b).push(commit);
    return commit;
  }

  // ---------------------------------------------------------------- handlers
  const fail = (status: number, code: string, text: string, extra?: Record<string, unknown>): never => {
    throw new HttpFailure(status, code, text, extra);
  };

  function pageParams(q: URLSearchParams): { limit: number; offset: number } {
    const num = (name: string, dflt: number): number => {
      const raw = q.get(name);
      if (raw === null || raw === '') return dflt;
      if (!/^\d+$/.test(raw))
        fail(400, 'VALIDATION_ERROR', `${name} must be a non-negative integer`, { details: { [name]: raw } });
      return Number(raw);
    };
    const limit = num('limit', DEFAULT_LIMIT);
    if (limit < 1) fail(400, 'VALIDATION_ERROR', 'limit must be at least 1', { details: { limit } });
    return { limit: Math.min(limit, maxLimit), offset: num('offset', 0) };
  }

  function findSpace(teamId: string, spaceId: string): StandinSpace {
    if (!teams.some((t) => t.id === teamId)) fail(404, 'ORGANIZATION_NOT_FOUND', `Organization ${teamId} not found`);
    const space = spaces.find((s) => s.id === spaceId && s.team_id === teamId);
    if (!space) fail(404, 'PROJECT_NOT_FOUND', `Project ${spaceId} not found in organization ${teamId}`);
    return space as StandinSpace;
  }

  const handlers: Record<StandinEndpoint, (c: Ctx) => { status: number; body: unknown }> = {
    'iam.user.me': () => ({ status: 200, body: { code: 200, message: 'Success', data: { ...user } } }),

    'iam.teams': ({ query }) => {
      const { limit, offset } = pageParams(query);
      const active = query.get('is_active');
      if (active !== null && active !== 'true' && active !== 'false') {
        fail(400, 'VALIDATION_ERROR', 'is_active must be true or false', { details: { is_active: active } });
      }
      const list = active === null ? teams : teams.filter((t) => t.is_active === (active === 'true'));
      return {
        status: 200,
        body: {
          code: 200,
          message: 'Success',
          data: { teams: list.slice(offset, offset + limit), total: list.length, limit, offset },
        },
      };
    },

    'iam.spaces': ({ query }) => {
      const { limit, offset } = pageParams(query);
      const teamId = query.get('team_id');
      const list = teamId === null ? spaces : spaces.filter((s) => s.team_id === teamId);
      const page = list.slice(offset, offset + limit).map((s) => {
        const team = teams.find((t) => t.id === s.team_id);
        return { ...s, team: { name: team?.name ?? '', slug: team?.slug ?? '' } };
      });
      return { status: 200, body: { code: 200, message: 'Success', data: { spaces: page, total: list.length } } };
    },

    'cogit.snapshot': ({ params, query }) => {
      const [teamId = '', spaceId = ''] = params;
      findSpace(teamId, spaceId);
      const branch = query.get('branch') || 'main';
      const head = headOf(teamId, spaceId, branch);
      if (!head) return { status: 200, body: { branch, commit_sha: '', message: '', author: null, files: [] } };
      return {
        status: 200,
        body: {
          branch,
          commit_sha: head.sha,
          message: head.message,
          author: head.author,
          files: [...head.files.entries()].map(([path, bytes]) => ({
            path,
            content: bytes.toString('base64'),
            mode: '100644',
            sha: gitBlobSha(bytes),
            size: bytes.byteLength,
          })),
        },
      };
    },

    'cogit.commits': ({ params, body }) => {
      const [teamId = '', spaceId = ''] = params;
      findSpace(teamId, spaceId);
      const b = body as Record<string, unknown> | undefined;
      if (!b || typeof b !== 'object') fail(400, 'VALIDATION_ERROR', 'Request body must be a JSON object');
      const { branch, current_sha: currentSha, memories, message } = b as Record<string, unknown>;
      if (typeof branch !== 'string' || branch === '') fail(400, 'VALIDATION_ERROR', 'branch is required');
      if (typeof currentSha !== 'string') fail(400, 'VALIDATION_ERROR', 'current_sha is required');
      if (!Array.isArray(memories) || memories.length === 0)
        fail(400, 'VALIDATION_ERROR', 'memories must be a non-empty array');
      const changes = (memories as unknown[]).map((m, i) => {
        const o = (m ?? {}) as Record<string, unknown>;
        if (!['add', 'edit', 'delete'].includes(o.operation as string)) {
          fail(400, 'VALIDATION_ERROR', `memories[${i}].operation must be one of add, edit, delete`);
        }
        if (typeof o.path !== 'string' || o.path.trim() === '')
          fail(400, 'VALIDATION_ERROR', `memories[${i}].path is required`);
        if (typeof o.title !== 'string' || typeof o.content !== 'string') {
          fail(400, 'VALIDATION_ERROR', `memories[${i}].title and content must be strings`);
        }
        if (o.tags !== undefined && (!Array.isArray(o.tags) || o.tags.some((t) => typeof t !== 'string'))) {
          fail(400, 'VALIDATION_ERROR', `memories[${i}].tags must be an array of strings`);
        }
        return {
          path: o.path as string,
          content: o.operation === 'delete' ? null : Buffer.from(o.content as string, 'utf8'),
        };
      });
      const head = headOf(teamId, spaceId, branch as string)?.sha ?? '';
      if (currentSha !== head) {
        fail(400, 'SHA_MISMATCH', `Expected SHA '${currentSha as string}' but current SHA is '${head}'`, {
          success: false,
        });
      }
      const commit = applyCommit(
        teamId,
        spaceId,
        branch as string,
        changes,
        typeof message === 'string' && message
          ? message
          : `Push ${changes.length} memor${changes.length === 1 ? 'y' : 'ies'}`,
        { name: user.name, email: user.email },
      );
      return { status: 200, body: { success: true, message: 'Commit created successfully', commit_sha: commit.sha } };
    },

    'billing.usages': () => ({
      status: 200,
      body: {
        organizations: teams.map((t) => {
          const u = usages.get(t.id) ?? {
            organizationId: t.id,
            organizationName: t.display_name,
            organizationStatus: 'ACTIVE',
            limit: 1000,
            used: 0,
            addOnRemaining: 0,
          };
          const totalLimit = u.limit + u.addOnRemaining;
          return {
            ...u,
            totalLimit,
            remaining: Math.max(0, totalLimit - u.used),
            percentUsed: totalLimit > 0 ? Math.min(100, Math.round((u.used / totalLimit) * 10000) / 100) : 0,
            limitExceeded: u.used >= totalLimit,
          };
        }),
      },
    }),

    'billing.tiers': () => ({
      status: 200,
      body: {
        organizations: [...tiers.entries()].map(([organizationId, t]) => ({
          organizationId,
          tier: t.tier,
          isTrialing: t.isTrialing,
        })),
      },
    }),

    'legacy.memories.search': ({ body }) => {
      const b = (body ?? {}) as Record<string, unknown>;
      if (typeof b.query !== 'string' || b.query.trim() === '') fail(400, 'VALIDATION_ERROR', 'query is required');
      const limit = b.limit === undefined ? 5 : b.limit;
      if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
        fail(400, 'VALIDATION_ERROR', `limit must be an integer from 1 to ${MAX_LIMIT}`);
      }
      const words = (s: string) => new Set(s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
      const q = words(b.query as string);
      const results = legacyMemories
        .map((m) => {
          const w = words(`${m.memory} ${m.tags.join(' ')}`);
          let hit = 0;
          for (const x of q) if (w.has(x)) hit++;
          return { memory: m.memory, score: q.size ? hit / q.size : 0, tags: m.tags };
        })
        .filter((r) => r.score > 0)
        .sort((a, b2) => b2.score - a.score)
        .slice(0, limit as number);
      return { status: 200, body: { results } };
    },

    'legacy.memories.create': ({ body }) => {
      const b = (body ?? {}) as Record<string, unknown>;
      const messages = b.messages;
      if (!Array.isArray(messages) || messages.length === 0)
        fail(400, 'VALIDATION_ERROR', 'messages must be a non-empty array');
      for (const [i, m] of (messages as unknown[]).entries()) {
        const o = (m ?? {}) as Record<string, unknown>;
        if ((o.role !== 'user' && o.role !== 'assistant') || typeof o.content !== 'string') {
          fail(400, 'VALIDATION_ERROR', `messages[${i}] must be {role: user|assistant, content: string}`);
        }
      }
      if (typeof b.userId !== 'string' || b.userId === '') fail(400, 'VALIDATION_ERROR', 'userId is required');
      const mem: LegacyMemory = {
        id: randomUUID(),
        memory: (messages as Array<{ content: string }>).map((m) => m.content).join('\n'),
        tags: [],
        userId: b.userId as string,
      };
      legacyMemories.push(mem);
      return { status: 201, body: { success: true, id: mem.id } };
    },
  };

  // ---------------------------------------------------------------- plumbing
  function takeFault(
    endpoint: StandinEndpoint | undefined,
    method: string,
    kinds: Fault['kind'][],
    rec: RecordedRequest,
  ): Fault | undefined {
    for (const f of faults) {
      if (f.remaining <= 0 || !kinds.includes(f.fault.kind)) continue;
      const eps = f.fault.endpoint === undefined ? undefined : ([] as StandinEndpoint[]).concat(f.fault.endpoint);
      if (eps && (!endpoint || !eps.includes(endpoint))) continue;
      if (f.fault.method && f.fault.method.toUpperCase() !== method) continue;
      f.remaining--;
      f.hits++;
      rec.faults.push(f.fault.kind);
      return f.fault;
    }
    return undefined;
  }

  function errorBody(
    endpoint: StandinEndpoint | undefined,
    status: number,
    code: string,
    text: string,
    style?: 'message' | 'error',
    extra: Record<string, unknown> = {},
  ) {
    const field = style ?? (endpoint ? errorStyle[endpoint] : undefined) ?? 'message';
    return { statusCode: status, code, [field]: text, timestamp: now(), ...extra };
  }

  function send(
    res: ServerResponse,
    rec: RecordedRequest | undefined,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) {
    if (rec) {
      rec.status = status;
      rec.response = body;
    }
    if (res.destroyed || res.writableEnded) return;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': headers['content-type'] ?? 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  /** The rate-limit window covering this request, if one is open. */
  function openWindow(endpoint: StandinEndpoint | undefined, method: string) {
    const t = Date.now();
    return windows.find((w) => {
      if (t >= w.until - WINDOW_SLACK_MS) return false;
      const eps = w.fault.endpoint === undefined ? undefined : ([] as StandinEndpoint[]).concat(w.fault.endpoint);
      if (eps && (!endpoint || !eps.includes(endpoint))) return false;
      return !w.fault.method || w.fault.method.toUpperCase() === method;
    });
  }

  function tooMany(
    res: ServerResponse,
    rec: RecordedRequest,
    endpoint: StandinEndpoint | undefined,
    status: number,
    until: number,
    header?: string,
  ) {
    const value = header ?? String(Math.max(1, Math.ceil((until - Date.now()) / 1000)));
    return send(res, rec, status, errorBody(endpoint, status, 'TOO_MANY_REQUESTS', 'Too many requests, slow down'), {
      'retry-after': value,
    });
  }

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  async function sessionOk(key: string | undefined): Promise<boolean> {
    if (!key) return false;
    if (sessionKeys.has(key)) return true;
    const hook = standin.validateSession;
    if (!hook) return false;
    try {
      return await hook(key);
    } catch {
      return false;
    }
  }

  async function handle(service: StandinService, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    res.setHeader('x-request-id', requestId);
    const url = new URL(req.url ?? '/', 'http://standin');
    const method = (req.method ?? 'GET').toUpperCase();
    let route: Route | undefined;
    let params: string[] = [];
    for (const r of ROUTES) {
      if (r.service !== service || r.method !== method) continue;
      const m = r.pattern.exec(url.pathname);
      if (m) {
        route = r;
        params = m.slice(1).map((p) => decodeURIComponent(p));
        break;
      }
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const raw = await readBody(req);
    let body: unknown;
    let badJson = false;
    if (raw.length > 0) {
      try {
        body = (headers['content-type'] ?? '').includes('json')
          ? JSON.parse(raw.toString('utf8'))
          : raw.toString('utf8');
      } catch {
        badJson = true;
        body = raw.toString('utf8');
      }
    }
    const rec: RecordedRequest = {
      seq: ++seq,
      service,
      endpoint: route?.endpoint,
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      sessionId: headers['x-byterover-session-id'],
      apiKey: headers['x-api-key'],
      idempotencyKey: headers['idempotency-key'],
      body,
      status: undefined,
      response: undefined,
      requestId,
      faults: [],
      replayed: false,
    };
    if (record) requests.push(rec);
    const endpoint = route?.endpoint;

    // 1. network/gateway-level faults
    const latency = takeFault(endpoint, method, ['latency'], rec);
    if (latency?.kind === 'latency') await new Promise((r) => setTimeout(r, latency.ms));
    const limited = openWindow(endpoint, method);
    if (limited) {
      rec.faults.push('rateLimit');
      return tooMany(res, rec, endpoint, limited.status, limited.until);
    }
    const gateway = takeFault(endpoint, method, ['reset', 'rateLimit', 'status'], rec);
    if (gateway?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (gateway?.kind === 'rateLimit') {
      const ra = gateway.retryAfter;
      const until =
        typeof ra === 'number' || /^\d+(\.\d+)?$/.test(String(ra).trim())
          ? Date.now() + Number(ra) * 1000
          : ra instanceof Date
            ? Math.floor(ra.getTime() / 1000) * 1000
            : Date.parse(ra);
      const status = gateway.status ?? 429;
      windows.push({ fault: gateway, until, status });
      const header = ra instanceof Date ? ra.toUTCString() : String(ra);
      return tooMany(res, rec, endpoint, status, until, header);
    }
    if (gateway?.kind === 'status') {
      const code =
        gateway.code === undefined ? (STATUS_CODES[gateway.status] ?? `HTTP_${gateway.status}`) : gateway.code;
      const b = errorBody(
        endpoint,
        gateway.status,
        code ?? '',
        gateway.message ?? 'Injected failure',
        gateway.errorField,
      );
      if (code === null) delete (b as Record<string, unknown>).code;
      return send(res, rec, gateway.status, b);
    }

    if (!route) {
      return send(res, rec, 404, errorBody(undefined, 404, 'NOT_FOUND', `Cannot ${method} ${url.pathname}`));
    }

    // 2. authentication
    if (route.auth === 'session') {
      const key = rec.sessionId;
      const forced = takeFault(endpoint, method, ['unauthorized'], rec);
      if (forced || !(await sessionOk(key))) {
        const text = key ? 'Invalid or expired session' : 'Missing x-byterover-session-id header';
        return send(res, rec, 401, errorBody(endpoint, 401, 'AUTH_INVALID_TOKEN', text));
      }
    } else {
      const forced = takeFault(endpoint, method, ['unauthorized'], rec);
      if (forced || !rec.apiKey || !legacyApiKeys.has(rec.apiKey)) {
        return send(
          res,
          rec,
          401,
          errorBody(endpoint, 401, 'INVALID_API_KEY', rec.apiKey ? 'Invalid API key' : 'Missing x-api-key header'),
        );
      }
    }

    // 3. response-shape faults
    const shape = takeFault(endpoint, method, ['malformed', 'body'], rec);
    if (shape?.kind === 'malformed') {
      return send(res, rec, shape.status ?? 200, shape.body ?? '{"data": {"teams": [', {
        'content-type': shape.contentType ?? 'application/json; charset=utf-8',
      });
    }
    if (shape?.kind === 'body') return send(res, rec, shape.status ?? 200, shape.body);

    if (badJson) return send(res, rec, 400, errorBody(endpoint, 400, 'BAD_REQUEST', 'Request body is not valid JSON'));

    // 4. idempotency (commits)
    const idemKey = idempotency && endpoint === 'cogit.commits' ? rec.idempotencyKey : undefined;
    const fingerprint = `${url.pathname}\n${JSON.stringify(body ?? null)}`;
    if (idemKey !== undefined) {
      const saved = idem.get(idemKey);
      if (saved && saved.fingerprint !== fingerprint) {
        return send(
          res,
          rec,
          422,
          errorBody(
            endpoint,
            422,
            'IDEMPOTENCY_KEY_REUSED',
            'This Idempotency-Key was used with different request parameters',
          ),
        );
      }
      if (saved) {
        rec.replayed = true;
        return send(res, rec, saved.status, saved.body, { 'idempotent-replayed': 'true' });
      }
    }

    // 5. the handler
    if (endpoint === 'cogit.commits' && takeFault(endpoint, method, ['concurrentCommit'], rec)) {
      const [t = '', s = ''] = params;
      const branch =
        typeof (body as { branch?: unknown })?.branch === 'string' ? (body as { branch: string }).branch : 'main';
      if (teams.some((x) => x.id === t) && spaces.some((x) => x.id === s && x.team_id === t)) {
        const n = ++concurrentCommits;
        applyCommit(
          t,
          s,
          branch,
          [{ path: `/concurrent/change-${n}.md`, content: Buffer.from(`# Concurrent change ${n}\n`) }],
          `Concurrent change ${n}`,
          {
            name: 'Another Client',
            email: 'other@example.com',
          },
        );
      }
    }
    let result: { status: number; body: unknown };
    try {
      result = handlers[endpoint as StandinEndpoint]({
        service,
        endpoint: endpoint as StandinEndpoint,
        params,
        query: url.searchParams,
        body,
        rec,
        sessionId: rec.sessionId,
      });
    } catch (e) {
      if (!(e instanceof HttpFailure)) throw e;
      return send(res, rec, e.status, errorBody(endpoint, e.status, e.code, e.text, undefined, e.extra));
    }
    if (idemKey !== undefined) idem.set(idemKey, { fingerprint, status: result.status, body: result.body });
    const lost = takeFault(endpoint, method, ['failAfterCommit'], rec);
    if (lost?.kind === 'failAfterCommit') {
      const status = lost.status ?? 502;
      return send(res, rec, status, errorBody(endpoint, status, 'BAD_GATEWAY', 'Upstream timed out'));
    }
    send(res, rec, result.status, result.body);
  }

  const servers = {} as Record<StandinService, Server>;
  const ports = {} as Record<StandinService, number>;
  for (const service of ['iam', 'cogit', 'billing', 'legacy'] as const) {
    const server = createServer((req, res) => {
      handle(service, req, res).catch((e: unknown) => {
        send(res, undefined, 500, {
          statusCode: 500,
          code: 'INTERNAL_SERVER_ERROR',
          message: String(e),
          timestamp: now(),
        });
      });
    });
    server.keepAliveTimeout = 5_000;
    servers[service] = server;
    ports[service] = await listen(server);
  }
  const origin = (s: StandinService) => `http://127.0.0.1:${ports[s]}`;
  const urls = {
    iam: origin('iam'),
    cogit: origin('cogit'),
    billing: origin('billing'),
    legacy: `${origin('legacy')}/api/v1`,
  };

  let teamSeq = 0;
  let spaceSeq = 0;
  const standin: ByteRoverStandin = {
    urls,
    clientConfig: () => ({
      iamBaseUrl: urls.iam,
      cogitBaseUrl: urls.cogit,
      billingBaseUrl: urls.billing,
      // No LLM endpoint is served; point it at IAM (404s) so nothing leaves loopback.
      llmBaseUrl: urls.iam,
      legacyBaseUrl: urls.legacy,
    }),
    env: () => ({
      BRV_IAM_BASE_URL: urls.iam,
      BRV_COGIT_BASE_URL: urls.cogit,
      BRV_BILLING_BASE_URL: urls.billing,
      BRV_LLM_BASE_URL: urls.iam,
      BYTEROVER_API_URL: urls.legacy,
    }),
    sessionKeys,
    legacyApiKeys,
    validateSession: opts.validateSession,
    user,
    errorStyle,
    teams,
    spaces,
    addTeam(t = {}) {
      const n = ++teamSeq;
      const team: StandinTeam = {
        id: `team-${n}`,
        name: `team-${n}`,
        display_name: `Team ${n}`,
        slug: `team-${n}`,
        description: '',
        avatar_url: '',
        is_default: n === 1,
        is_active: true,
        created_at: now(),
        updated_at: now(),
        ...t,
      };
      teams.push(team);
      return team;
    },
    addSpace(teamId, s = {}) {
      if (!teams.some((t) => t.id === teamId)) throw new Error(`stand-in: no team ${teamId}`);
      const n = ++spaceSeq;
      const space: StandinSpace = {
        id: `space-${n}`,
        name: `space-${n}`,
        slug: `space-${n}`,
        team_id: teamId,
        description: '',
        default_branch: 'main',
        visibility: 'private',
        is_default: !spaces.some((x) => x.team_id === teamId),
        created_at: now(),
        updated_at: now(),
        ...s,
      };
      spaces.push(space);
      return space;
    },
    commitFiles(teamId, spaceId, branch, files, message = 'Direct commit') {
      findSpace(teamId, spaceId);
      const changes = Object.entries(files).map(([path, content]) => ({
        path,
        content:
          content === null ? null : typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content),
      }));
      return applyCommit(teamId, spaceId, branch, changes, message, {
        name: 'Another Client',
        email: 'other@example.com',
      }).sha;
    },
    head: (t, s, b = 'main') => headOf(t, s, b)?.sha ?? '',
    files: (t, s, b = 'main') => headOf(t, s, b)?.files ?? new Map(),
    history: (t, s, b = 'main') => [...commitsOf(t, s, b)],
    setUsage(u) {
      const team = teams.find((t) => t.id === u.organizationId);
      usages.set(u.organizationId, {
        organizationName: team?.display_name ?? u.organizationId,
        organizationStatus: 'ACTIVE',
        limit: 1000,
        used: 0,
        addOnRemaining: 0,
        ...usages.get(u.organizationId),
        ...u,
      });
    },
    setTier(organizationId, tier, isTrialing = false) {
      tiers.set(organizationId, { tier, isTrialing });
    },
    legacyMemories,
    inject(fault) {
      const active: ActiveFault = { fault, remaining: fault.times ?? 1, hits: 0 };
      faults.push(active);
      return {
        fault,
        get remaining() {
          return active.remaining;
        },
        get hits() {
          return active.hits;
        },
        remove() {
          active.remaining = 0;
        },
      };
    },
    clearFaults() {
      faults.length = 0;
      windows.length = 0;
    },
    requests,
    requestsTo: (endpoint) => requests.filter((r) => r.endpoint === endpoint),
    clearRequests() {
      requests.length = 0;
    },
    async close() {
      await Promise.all(
        Object.values(servers).map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
    },
  };
  return standin;
}
