/**
 * OpenClaw's own memory tools over the ByteRover tree: a memory corpus supplement
 * (`api.registerMemoryCorpusSupplement`, openclaw/plugin-sdk memory-host-core).
 *
 * OpenClaw's `memory_search` (corpus `all` or `wiki`) asks every registered supplement and merges
 * their results by score; `memory_get` (corpus `wiki`) asks them to read a path. This supplement
 * answers from the same memory and ranking as the context engine and `byterover_search`
 * (lib/memory's search over the agent's tree, per-agent scoping included), with the tree-relative
 * note paths the addition cites, so a model can move between the two without translating paths.
 *
 * - `search({query, maxResults, agentId})` → `{corpus: 'byterover', path, title, kind: 'note',
 *   score, snippet, citation: path, source: 'claw-byterover', provenanceLabel, sourcePath}`;
 * - `get({lookup, fromLine, lineCount, agentId})` → the note's text (the whole file or the asked
 *   lines), or `null` when the path is not a note of the tree (so another supplement may answer).
 *   A lookup may carry the corpus prefix (`byterover:auth/jwt.md` or `byterover/auth/jwt.md`).
 *   Paths are resolved inside the tree (lib/memory's resolveInTree: no `..`, no symlink out).
 *
 * The agent's workspace comes from OpenClaw's config (`agents.list[].workspace`, else
 * `agents.defaults.workspace`), since the supplement is called with an agent id only.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { resolveInTree } from '../memory/index.js';
import type { PluginRuntime } from './runtime.js';

export const CORPUS = 'byterover';

export interface CorpusSearchResult {
  corpus: string;
  path: string;
  title?: string;
  kind?: string;
  score: number;
  snippet: string;
  citation?: string;
  source?: string;
  provenanceLabel?: string;
  sourceType?: string;
  sourcePath?: string;
}

export interface CorpusGetResult {
  corpus: string;
  path: string;
  title?: string;
  kind?: string;
  content: string;
  fromLine: number;
  lineCount: number;
  provenanceLabel?: string;
  sourceType?: string;
  sourcePath?: string;
}

/** OpenClaw's MemoryCorpusSupplement contract. */
export interface MemoryCorpusSupplement {
  search(params: {
    query: string;
    maxResults?: number;
    agentId?: string;
    agentSessionKey?: string;
    sandboxed?: boolean;
  }): Promise<CorpusSearchResult[]>;
  get(params: {
    lookup: string;
    fromLine?: number;
    lineCount?: number;
    agentId?: string;
    agentSessionKey?: string;
    sandboxed?: boolean;
  }): Promise<CorpusGetResult | null>;
}

const PROVENANCE = 'ByteRover context tree (claw-byterover)';

function expandHome(p: string): string {
  return p === '~' ? homedir() : p.startsWith('~/') ? join(homedir(), p.slice(2)) : p;
}

/** The workspace OpenClaw gives an agent: its `agents.list[]` entry, else `agents.defaults`. */
export function agentWorkspace(config: unknown, agentId: string | undefined): string | undefined {
  const agents = (config as { agents?: { defaults?: { workspace?: unknown }; list?: unknown } } | undefined)?.agents;
  const list = Array.isArray(agents?.list) ? (agents.list as Array<{ id?: unknown; workspace?: unknown }>) : [];
  const own = agentId !== undefined ? list.find((a) => a?.id === agentId)?.workspace : undefined;
  const ws = typeof own === 'string' ? own : agents?.defaults?.workspace;
  if (typeof ws !== 'string' || !ws.trim()) return undefined;
  const p = expandHome(ws.trim());
  return isAbsolute(p) ? p : resolve(p);
}

function stripCorpus(lookup: string): string {
  return lookup.replace(/^byterover[:/]/, '');
}

export function createCorpusSupplement(rt: PluginRuntime, hostConfig: () => unknown): MemoryCorpusSupplement {
  const scope = (agentId: string | undefined) => ({ workspaceDir: agentWorkspace(hostConfig(), agentId), agentId });
  return {
    async search(params) {
      const query = typeof params.query === 'string' ? params.query.trim() : '';
      if (!query) return [];
      const k = Math.max(1, Math.min(50, Math.floor(params.maxResults ?? 10)));
      const s = scope(params.agentId);
      const mem = await rt.memory(s);
      const hits = await mem.backend.search(query, { k });
      const tree = rt.location(s).treeRoot;
      return hits.map((h) => ({
        corpus: CORPUS,
        path: h.path,
        title: h.title,
        kind: 'note',
        score: h.score,
        snippet: h.excerpt,
        citation: h.path,
        source: 'claw-byterover',
        provenanceLabel: PROVENANCE,
        sourceType: 'byterover-note',
        sourcePath: join(tree, ...h.path.split('/')),
      }));
    },

    async get(params) {
      if (typeof params.lookup !== 'string' || !params.lookup.trim()) return null;
      const rel = stripCorpus(params.lookup.trim());
      if (!rel.endsWith('.md')) return null;
      const tree = rt.location(scope(params.agentId)).treeRoot;
      let abs: string;
      try {
        abs = (await resolveInTree(tree, rel)).abs;
      } catch {
        return null; // outside the tree or not a tree path: not ours to answer
      }
      let text: string;
      try {
        text = await readFile(abs, 'utf8');
      } catch {
        return null;
      }
      const lines = text.split('\n');
      const from = Math.max(1, Math.floor(params.fromLine ?? 1));
      const count = params.lineCount !== undefined ? Math.max(0, Math.floor(params.lineCount)) : lines.length;
      const slice = lines.slice(from - 1, from - 1 + count);
      const title = /^#\s+(.+)$/m.exec(text)?.[1]?.trim();
      return {
        corpus: CORPUS,
        path: rel,
        ...(title ? { title } : {}),
        kind: 'note',
        content: slice.join('\n'),
        fromLine: from,
        lineCount: slice.length,
        provenanceLabel: PROVENANCE,
        sourceType: 'byterover-note',
        sourcePath: abs,
      };
    },
  };
}
