/**
 * The ByteRover API client: typed calls for IAM, CoGit, billing and the legacy memories API, all over
 * the one transport (lib/http), all authenticated by the SessionProvider's key in
 * `x-byterover-session-id` (the legacy API by `x-api-key`).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import { logger as rootLogger, registerSecret } from '../log/index.js';
import { type CallContext, type CallSpec, callWithApiKey, callWithSession } from './call.js';
import { type ByteRoverConfig, loadByteRoverConfig } from './config.js';
import { ByteRoverError, ByteRoverErrorCode } from './errors.js';
import { pushCommit, segment } from './push.js';
import {
  billingTiersResponse,
  billingUsagesResponse,
  fastUserMe,
  legacyCreateResponse,
  legacySearchResponse,
  snapshotResponse,
  spacesPageResponse,
  teamsPageResponse,
  userMeResponse,
} from './schemas.js';
import { decodeSnapshot } from './snapshot-decode.js';
import type {
  BillingUsage,
  ByteRoverClient,
  ByteRoverClientOptions,
  CallOptions,
  LegacyCreateMemoryInput,
} from './types.js';

/**
 * Reads every page of a `limit/offset/total` list: the next offset is the number of items received so
 * far, so a server that caps `limit` below the page size still yields every item. Stops at `total`
 * or at an empty page; items repeated across pages (a list that shifted while paging) are kept once.
 */
async function readAllPages<T extends { id: string }>(
  log: Logger,
  endpoint: string,
  pageSize: number,
  fetchPage: (offset: number, limit: number) => Promise<{ items: T[]; total: number }>,
): Promise<T[]> {
  const seen = new Map<string, T>();
  let offset = 0;
  let total = Infinity;
  let duplicates = 0;
  while (offset < total) {
    const page = await fetchPage(offset, pageSize);
    total = page.total;
    for (const item of page.items) {
      if (seen.has(item.id)) duplicates++;
      else seen.set(item.id, item);
    }
    if (page.items.length === 0) break;
    offset += page.items.length;
  }
  if (duplicates > 0) log.warn({ endpoint, duplicates }, 'the list shifted while paging; repeated items were dropped');
  return [...seen.values()];
}

/** The `user/me` call (the same for every client; the hand check skips zod for the usual answer). */
const ME: CallSpec<typeof userMeResponse> = Object.freeze({
  service: 'iam',
  method: 'GET',
  path: '/api/v1/user/me',
  endpoint: 'iam.user.me',
  what: 'Reading the signed-in user',
  schema: userMeResponse,
  fast: fastUserMe,
});

/** A `bytes` call's answer as lib/http hands it over (see CallSpec.responseType). */
const RAW_BODY = z.custom<Uint8Array>((v) => v instanceof Uint8Array, { message: "expected the answer's bytes" });

export function createByteRoverClient(opts: ByteRoverClientOptions): ByteRoverClient {
  const config: ByteRoverConfig = loadByteRoverConfig(process.env, opts.config ?? {});
  const log = (opts.logger ?? rootLogger).child({ component: 'byterover' });
  if (opts.legacy?.apiKey) registerSecret(opts.legacy.apiKey);
  const ctx: CallContext = {
    http: opts.http,
    config,
    logger: log,
    session: opts.session,
    ...(opts.legacy?.apiKey ? { legacyApiKey: opts.legacy.apiKey } : {}),
  };
  const sig = (o: CallOptions | undefined) => (o?.signal ? { signal: o.signal } : {});

  async function snapshotWire(teamId: string, spaceId: string, branch: string, o: CallOptions | undefined) {
    const what = 'Pulling from ByteRover';
    return callWithSession(ctx, {
      service: 'cogit',
      method: 'GET',
      path: `/api/v1/organizations/${segment('team id', teamId, what)}/projects/${segment('space id', spaceId, what)}/git/snapshot`,
      query: { branch },
      endpoint: 'cogit.snapshot',
      what,
      schema: snapshotResponse,
      ...sig(o),
    });
  }

  /** Every page of an IAM list endpoint, mapped to the public type. */
  function listIam<S extends z.ZodType<{ data: unknown }>, T extends { id: string }>(
    o: CallOptions | undefined,
    endpoint: string,
    path: string,
    what: string,
    schema: S,
    filter: Record<string, string | boolean | undefined>,
    map: (data: z.output<S>['data']) => { items: T[]; total: number },
  ): Promise<T[]> {
    return readAllPages<T>(log, endpoint, config.pageSize, async (offset, limit) => {
      const res = await callWithSession(ctx, {
        service: 'iam',
        method: 'GET',
        path,
        query: { ...filter, limit, offset },
        endpoint,
        what,
        schema,
        ...sig(o),
      });
      return map(res.data.data);
    });
  }

  return {
    config,

    async me(o) {
      const { data } = await callWithSession(ctx, o?.signal ? { ...ME, signal: o.signal } : ME);
      const u = data.data;
      return {
        id: u.id,
        email: u.email,
        name: u.name,
        avatarUrl: u.avatar_url,
        hasOnboardedCli: u.hasOnboardedCli ?? false,
      };
    },

    async teams(o) {
      return listIam(
        o,
        'iam.teams',
        '/api/v1/teams',
        'Listing teams',
        teamsPageResponse,
        { is_active: o?.isActive },
        (d) => ({
          total: d.total,
          items: d.teams.map((t) => ({
            id: t.id,
            name: t.name,
            displayName: t.display_name ?? t.name,
            slug: t.slug,
            isDefault: t.is_default ?? false,
            isActive: t.is_active ?? true,
            avatarUrl: t.avatar_url,
          })),
        }),
      );
    },

    async spaces(teamId, o) {
      if (teamId !== undefined) segment('team id', teamId, 'Listing spaces');
      return listIam(
        o,
        'iam.spaces',
        '/api/v1/spaces',
        'Listing spaces',
        spacesPageResponse,
        { team_id: teamId },
        (d) => ({
          total: d.total,
          items: d.spaces.map((s) => ({
            id: s.id,
            name: s.name,
            slug: s.slug,
            teamId: s.team_id,
            teamName: s.team?.name,
            teamSlug: s.team?.slug,
            isDefault: s.is_default ?? false,
            defaultBranch: s.default_branch,
          })),
        }),
      );
    },

    async pullSnapshot(teamId, spaceId, o) {
      // The answer (up to 64 MiB) is read as bytes and parsed, checked and base64-decoded off the event
      // loop when large (snapshot-decode.ts), so pulling a large or hostile space does not stall the host.
      const branch = o?.branch ?? 'main';
      const what = 'Pulling from ByteRover';
      const res = await callWithSession(ctx, {
        service: 'cogit',
        method: 'GET',
        path: `/api/v1/organizations/${segment('team id', teamId, what)}/projects/${segment('space id', spaceId, what)}/git/snapshot`,
        query: { branch },
        endpoint: 'cogit.snapshot',
        what,
        schema: RAW_BODY,
        fast: (body) => (body instanceof Uint8Array ? body : undefined),
        responseType: 'bytes',
        ...sig(o),
      });
      return decodeSnapshot(
        res.data,
        { teamId, spaceId },
        { endpoint: 'cogit.snapshot', what, status: res.status, requestId: res.requestId },
        { ...(opts.snapshotOffloadBytes !== undefined ? { offloadBytes: opts.snapshotOffloadBytes } : {}), ...sig(o) },
      );
    },

    async pushCommit(teamId, spaceId, o) {
      return pushCommit(
        ctx,
        {
          fetchHead: async (t, s, branch, signal) => {
            const { data } = await snapshotWire(t, s, branch, signal ? { signal } : undefined);
            return {
              sha: data.commit_sha,
              files: new Map(data.files.map((f) => [f.path, f.content.replace(/[\r\n]/g, '')])),
            };
          },
        },
        teamId,
        spaceId,
        o,
      );
    },

    async billingUsage(o) {
      const base = { service: 'billing', method: 'GET', what: 'Reading billing usage', ...sig(o) } as const;
      const [usages, tiers] = await Promise.all([
        callWithSession(ctx, {
          ...base,
          path: '/api/v1/billing/usages',
          endpoint: 'billing.usages',
          schema: billingUsagesResponse,
        }),
        callWithSession(ctx, {
          ...base,
          path: '/api/v1/billing/organizations/tiers',
          endpoint: 'billing.tiers',
          schema: billingTiersResponse,
        }),
      ]);
      const tierOf = new Map(tiers.data.organizations.map((t) => [t.organizationId, t]));
      return usages.data.organizations.map((u): BillingUsage => {
        const addOn = u.addOnRemaining ?? 0;
        const totalLimit = u.totalLimit ?? u.limit + addOn;
        const tier = tierOf.get(u.organizationId);
        return {
          organizationId: u.organizationId,
          organizationName: u.organizationName,
          organizationStatus: u.organizationStatus,
          limit: u.limit,
          used: u.used,
          remaining: u.remaining,
          addOnRemaining: addOn,
          totalLimit,
          percentUsed: u.percentUsed ?? (totalLimit > 0 ? Math.min(100, (u.used / totalLimit) * 100) : 0),
          limitExceeded: u.limitExceeded ?? u.used >= totalLimit,
          tier: tier?.tier ?? 'FREE',
          isTrialing: tier?.isTrialing ?? false,
        };
      });
    },

    async searchMemories(query, limit = 5, o) {
      if (typeof query !== 'string' || query.trim() === '') {
        throw new ByteRoverError(
          ByteRoverErrorCode.INVALID_ARGUMENT,
          `Searching legacy memories: expected a non-empty query, found ${JSON.stringify(query)}`,
          {
            hint: 'Pass the text to search for.',
          },
        );
      }
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
        throw new ByteRoverError(
          ByteRoverErrorCode.INVALID_ARGUMENT,
          `Searching legacy memories: expected a limit from 1 to 100, found ${limit}`,
          {
            hint: 'Pass a whole number of results from 1 to 100.',
          },
        );
      }
      const { data } = await callWithApiKey(ctx, {
        service: 'legacy',
        method: 'POST',
        path: '/memories/search',
        body: { query, limit },
        // Search only reads: a key lets lib/http repeat it on 429/5xx like a GET.
        idempotencyKey: randomUUID(),
        endpoint: 'legacy.memories.search',
        what: 'Searching legacy memories',
        schema: legacySearchResponse,
        ...sig(o),
      });
      return data.results.map((r) => ({ memory: r.memory, score: r.score, tags: r.tags ?? [] }));
    },

    async createMemory(input: LegacyCreateMemoryInput, o) {
      if (!input || !Array.isArray(input.messages) || input.messages.length === 0 || !input.userId) {
        throw new ByteRoverError(
          ByteRoverErrorCode.INVALID_ARGUMENT,
          'Creating a legacy memory: expected messages (at least one) and a userId',
          {
            hint: 'Pass { messages: [{ role, content }], userId }.',
          },
        );
      }
      const { data } = await callWithApiKey(ctx, {
        service: 'legacy',
        method: 'POST',
        path: '/memories',
        body: {
          messages: input.messages.map((m) => ({ role: m.role, content: m.content })),
          userId: input.userId,
          ...(input.provider !== undefined ? { provider: input.provider } : {}),
          ...(input.model !== undefined ? { model: input.model } : {}),
        },
        endpoint: 'legacy.memories.create',
        what: 'Creating a legacy memory',
        schema: legacyCreateResponse,
        ...sig(o),
      });
      return data && typeof data === 'object' ? data : {};
    },
  };
}
