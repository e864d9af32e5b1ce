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
  /** Why the engine is unavailable (skip reason); in CI a missing native engine is only skipped
   * until lib/native.ts exports createRecallIndex (see docs/readme/memory.md). */
  skip: string | undefined;
}

export async function engines(): Promise<Engine[]> {
  const native = await loadNativeRecall();
  return [
    { name: 'minisearch', factory: () => new MiniSearchIndex(), skip: undefined },
    { name: 'native', factory: native.factory, skip: native.factory ? undefined : `native recall not available: ${native.reason}` },
  ];
}

