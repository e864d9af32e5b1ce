/**
 * Child of fsx.test.ts, run under the dir-fsync-fails.c shim. argv: <mode> <dir>
 * - excl: createFileExclusive twice on one path (run with link(2) refused: the copy fallback);
 * - bridge: open the bridge's embedded store (SQLite, durability full) in <dir> and close it;
 * - raw: fsync the directory itself and print the error code (proves the shim is active);
 * - curate: open memory in <dir> (minisearch engine), curate a note, save and load a credential in
 *   the token store, write an atomic file; print what happened.
 */
import { open, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MiniSearchIndex } from '../../../bench/recall/minisearch-index.js';
import { createFileTokenStore } from '../../../lib/byterover/auth/index.js';
import { SqliteStore } from '../../../lib/bridge/store/sqlite.js';
import { createFileExclusive } from '../../../lib/fsx/index.js';
import { openMemory } from '../../../lib/memory/open.js';

const [mode, dir] = process.argv.slice(2) as [string, string];
const out = (v: unknown): void => console.log(JSON.stringify(v));
const codeOf = (e: unknown): string => (e as { code?: string }).code ?? String(e);

if (mode === 'excl') {
  const p = join(dir, 'once');
  const first = await createFileExclusive(p, 'first', { mode: 0o600 });
  const second = await createFileExclusive(p, 'second', { mode: 0o600 });
  out({ first, second, content: await readFile(p, 'utf8'), files: await readdir(dir) });
} else if (mode === 'bridge') {
  try {
    const store = await SqliteStore.open({ path: join(dir, 'bridge.db'), durability: 'full' });
    await store.close();
    out({ bridge: 'opened' });
  } catch (e) {
    out({ bridge: codeOf(e), message: (e as Error).message });
  }
} else if (mode === 'raw') {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
    out({ raw: 'ok' });
  } catch (e) {
    out({ raw: codeOf(e) });
  } finally {
    await fh.close();
  }
} else {
  const result: Record<string, unknown> = {};
  try {
    const m = await openMemory({ projectRoot: dir, index: () => new MiniSearchIndex(), watch: false });
    try {
      result.curate = await m.backend.curate({
        title: 'Dir fsync',
        content: 'curated where the directory cannot be fsynced',
      });
      result.hits = (await m.backend.search('directory fsynced')).map((h) => h.path);
      result.pending = (await m.backend.stats()).pending;
    } finally {
      await m.backend.close();
    }
  } catch (e) {
    result.curateError = codeOf(e);
  }
  try {
    const store = createFileTokenStore({ dir: join(dir, 'auth') });
    await store.save({ kind: 'api-key', sessionKey: 'k-123', version: 1, updatedAt: new Date(0).toISOString() });
    result.token = (await store.load())?.sessionKey;
    await store.delete();
    result.tokenAfterDelete = (await store.load()) ?? null;
  } catch (e) {
    result.tokenError = codeOf(e);
  }
  out(result);
}
