/**
 * `byterover_sync`: lib/memory's pull/push between the context tree and one ByteRover space, with the
 * plugin's credential. The space is `team`/`space`/`branch` from the plugin config (or the CLI's
 * config file and CLAW_BYTEROVER_* variables), else the account's default team and its default space
 * (the one marked default, or the only one).
 */
import { ClawError } from '../errors.js';
import { oneLine } from '../log/escape.js';
import type { ByteRoverClient } from '../byterover/index.js';
import type { PullResult, PushSummary } from '../memory/index.js';
import { describeSecretRef } from './config.js';
import type { OpenMemory, PluginRuntime } from './runtime.js';
import { OpenClawErrorCode } from './errors.js';

export type SyncAction = 'pull' | 'push' | 'both' | 'status';

export interface SyncReport {
  summary: string;
  details: Record<string, unknown>;
}

function pick<T extends { id: string; name: string; isDefault: boolean }>(items: T[]): T | undefined {
  return items.find((i) => i.isDefault) ?? (items.length === 1 ? items[0] : undefined);
}

function names(items: Array<{ id: string; name: string }>): string {
  return (
    items
      .slice(0, 8)
      .map((i) => `${i.id} (${i.name})`)
      .join(', ') + (items.length > 8 ? `, and ${items.length - 8} more` : '')
  );
}

const CONFIG_HINT = 'openclaw config set plugins.entries.claw-byterover.config';

export async function resolveSpace(
  client: ByteRoverClient,
  cfg: { team?: string | undefined; space?: string | undefined },
  signal?: AbortSignal,
): Promise<{ teamId: string; spaceId: string }> {
  let teamId = cfg.team;
  if (!teamId) {
    const teams = await client.teams({ isActive: true, ...(signal ? { signal } : {}) });
    const t = pick(teams);
    if (!t) {
      throw new ClawError(
        OpenClawErrorCode.TEAM_REQUIRED,
        `expected a default ByteRover team, found ${teams.length === 0 ? 'no active team' : `${teams.length} teams and none marked default: ${names(teams)}`}`,
        {
          hint:
            teams.length === 0
              ? 'Create or join a team in the ByteRover web app.'
              : `Choose one: \`${CONFIG_HINT}.team <id>\`.`,
        },
      );
    }
    teamId = t.id;
  }
  let spaceId = cfg.space;
  if (!spaceId) {
    const spaces = await client.spaces(teamId, signal ? { signal } : {});
    const s = pick(spaces);
    if (!s) {
      throw new ClawError(
        OpenClawErrorCode.SPACE_REQUIRED,
        `expected a default space in team ${teamId}, found ${spaces.length === 0 ? 'none' : `${spaces.length} spaces and none marked default: ${names(spaces)}`}`,
        {
          hint:
            spaces.length === 0
              ? 'Create a space in the ByteRover web app.'
              : `Choose one: \`${CONFIG_HINT}.space <id>\`.`,
        },
      );
    }
    spaceId = s.id;
  }
  return { teamId, spaceId };
}

function needLocal(mem: OpenMemory): NonNullable<OpenMemory['local']> {
  if (!mem.local) {
    throw new ClawError(
      OpenClawErrorCode.SYNC_UNSUPPORTED,
      'expected the local context tree backend to sync, found the brv backend',
      {
        hint: 'With backend "brv", ByteRover\'s CLI syncs its own tree: run `brv pull` / `brv push`. Set backend to "native" to sync from here.',
      },
    );
  }
  return mem.local;
}

/** What the tool reports without the network. */
export async function syncStatus(rt: PluginRuntime, mem: OpenMemory): Promise<SyncReport> {
  const stats = await mem.backend.stats();
  const { config, sources } = await rt.clawConfig();
  const credential = config.apiKey
    ? `API key from ${sources.apiKey ?? 'config'}`
    : `token store${rt.config.unresolvedApiKeyRef ? ` (${describeSecretRef(rt.config.unresolvedApiKeyRef)} not resolved in this load)` : ''}`;
  const details = {
    engine: mem.engine,
    tree: mem.location.treeRoot,
    documents: stats.documents,
    pending: stats.pending ?? 0,
    commitSha: stats.commitSha ?? '',
    team: config.team ?? '',
    space: config.space ?? '',
    branch: config.branch,
    credential,
    sdk: rt.sdkSource ?? 'local',
    mode: rt.config.mode,
  };
  const summary = `Context tree ${details.tree}: ${details.documents} note(s), ${details.pending} waiting to be pushed, engine ${details.engine}, last synced commit ${details.commitSha ? details.commitSha.slice(0, 12) : 'none'}. Credential: ${credential}.`;
  return { summary, details };
}

export async function syncTree(
  rt: PluginRuntime,
  mem: OpenMemory,
  action: Exclude<SyncAction, 'status'>,
  signal?: AbortSignal,
): Promise<SyncReport> {
  const local = needLocal(mem);
  const { client, config, credentialSource } = await rt.client();
  const { teamId, spaceId } = await resolveSpace(client, config, signal);
  const sync = local.sync(client, { teamId, spaceId, branch: config.branch });
  let pull: PullResult | undefined;
  let push: PushSummary | undefined;
  if (action === 'pull' || action === 'both') pull = await sync.pull(signal ? { signal } : {});
  if (action === 'push' || action === 'both') push = await sync.push(signal ? { signal } : {});
  await local.refresh();
  const parts: string[] = [];
  if (pull)
    parts.push(
      `pulled ${pull.added.length} added, ${pull.updated.length} updated, ${pull.deleted.length} deleted, ${pull.kept.length} kept` +
        (pull.failed.length
          ? `, ${pull.failed.length} not applied (${pull.failed
              .slice(0, 3)
              .map((f) => `${oneLine(f.path)}: ${f.code}`)
              .join('; ')}${pull.failed.length > 3 ? '; …' : ''})`
          : ''),
    );
  if (push)
    parts.push(
      `pushed ${push.pushed.length} note(s) in ${push.commits.length} commit(s)${push.confirmed.length ? ` (${push.confirmed.length} already there)` : ''}`,
    );
  const head = push?.commitSha ?? pull?.commitSha ?? '';
  return {
    summary: `Synced ${teamId}/${spaceId}@${config.branch}: ${parts.join('; ')}. Head ${head ? head.slice(0, 12) : '(no commits)'}.`,
    details: {
      action,
      team: teamId,
      space: spaceId,
      branch: config.branch,
      commitSha: head,
      credential: credentialSource,
      ...(pull
        ? {
            pull: {
              added: pull.added,
              updated: pull.updated,
              deleted: pull.deleted,
              kept: pull.kept,
              failed: pull.failed,
            },
          }
        : {}),
      ...(push ? { push: { pushed: push.pushed, confirmed: push.confirmed, commits: push.commits } } : {}),
    },
  };
}
