/**
 * Shared set-up for the memory tests: throw-away project folders (optionally holding a copy of the
 * fixture context tree), and the recall engines LocalMemory is tested over.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { MiniSearchIndex } from '../../../bench/recall/minisearch-index.js';
import { loadNativeRecall } from '../../../lib/memory/native-index.js';
import type { RecallIndexFactory } from '../../../lib/memory/types.js';
import { inCI } from '../../helpers/tools.js';

export const FIXTURE_TREE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'context-tree');
export const FIXTURE_NOTES = 54;

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A temp project dir; `withFixture` copies the fixture notes into `.brv/context-tree/`. */
export async function tempProject(withFixture = false): Promise<{ project: string; tree: string; state: string }> {
  const project = await mkdtemp(join(tmpdir(), 'claw-memory-'));
  dirs.push(project);
  const tree = join(project, '.brv', 'context-tree');
  if (withFixture) await cp(FIXTURE_TREE, tree, { recursive: true });
  return { project, tree, state: join(project, '.brv', 'claw-byterover') };
}

export interface Engine {
  name: string;
  factory: RecallIndexFactory | undefined;
  /** Why the engine is unavailable (the skip reason). */
  skip: string | undefined;
}

/**
 * minisearch (always) and the native engine. A native engine that does not load skips its tests
 * locally (with the reason) and fails them in CI (CI=true), like any missing tool.
 */
export async function engines(): Promise<Engine[]> {
  const native = await loadNativeRecall();
  if (!native.factory && inCI)
    throw new Error(`CI requires the native recall engine: ${native.reason} (build it with \`npm run build:native\`)`);
  return [
    { name: 'minisearch', factory: () => new MiniSearchIndex(), skip: undefined },
    {
      name: 'native',
      factory: native.factory,
      skip: native.factory
        ? undefined
        : `native recall not available: ${native.reason}; build it with \`npm run build:native\``,
    },
  ];
}
