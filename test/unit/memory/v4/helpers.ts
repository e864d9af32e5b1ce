/**
 * Throw-away ByteRover v4 data dirs built from the public layout (skill 4.x): `<data>/projects/<id>/`
 * with `metadata.json` and `context-tree/`, `<data>/bindings.json`, `.brvspace` markers in folders.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

export const V4_FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', 'v4');
export const fixture = (name: string): Promise<string> => readFile(join(V4_FIXTURES, name), 'utf8');

// SpaceMemory persists a space's index in claw-byterover's data dir (lib/memory/v4/persist.ts): these
// tests keep it in a throw-away one, never the user's ~/.local/share/claw-byterover.
if (!process.env.CLAW_BYTEROVER_DATA_DIR) {
  const data = mkdtempSync(join(tmpdir(), 'claw-v4-data-'));
  process.env.CLAW_BYTEROVER_DATA_DIR = data;
  process.on('exit', () => rmSync(data, { recursive: true, force: true }));
}

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

export interface V4Home {
  /** ByteRover's data dir (pass as BRV_DATA_DIR / dataDir). */
  data: string;
  /** A folder for workspaces. */
  work: string;
  addSpace(name: string, topics?: Record<string, string>): Promise<string>;
  bind(folder: string, spaceId: string, removed?: boolean): Promise<void>;
  setDefault(spaceId: string): Promise<void>;
  deleteSpace(spaceId: string, hard: boolean): Promise<void>;
  marker(folder: string, content: unknown): Promise<string>;
  registry(): Promise<Record<string, unknown>>;
}

export async function v4Home(): Promise<V4Home> {
  const root = await mkdtemp(join(tmpdir(), 'claw-v4-'));
  dirs.push(root);
  const data = join(root, 'brv-data');
  const work = join(root, 'work');
  await mkdir(work, { recursive: true });
  const reg: { bindings: unknown[]; deletedSpaces: unknown[]; defaultSpaceId?: string } = {
    bindings: [],
    deletedSpaces: [],
  };
  const save = async (): Promise<void> => {
    await mkdir(data, { recursive: true });
    await writeFile(join(data, 'bindings.json'), `${JSON.stringify(reg, null, 2)}\n`);
  };
  return {
    data,
    work,
    async addSpace(name, topics = {}) {
      const id = randomUUID();
      const dir = join(data, 'projects', id);
      await mkdir(join(dir, 'context-tree'), { recursive: true });
      await writeFile(
        join(dir, 'metadata.json'),
        JSON.stringify({ space_id: id, space_name: name, team_id: null, created_at: new Date(0).toISOString() }),
      );
      for (const [rel, html] of Object.entries(topics)) {
        const p = join(dir, 'context-tree', ...rel.split('/'));
        await mkdir(dirname(p), { recursive: true });
        await writeFile(p, html);
      }
      return id;
    },
    async bind(folder, spaceId, removed = false) {
      reg.bindings.push({
        folder,
        space_id: spaceId,
        addedAt: new Date(0).toISOString(),
        ...(removed ? { removedAt: new Date(1).toISOString() } : {}),
      });
      await save();
    },
    async setDefault(spaceId) {
      reg.defaultSpaceId = spaceId;
      await save();
    },
    async deleteSpace(spaceId, hard) {
      reg.deletedSpaces.push({ space_id: spaceId, deletedAt: new Date(0).toISOString(), hard });
      await save();
    },
    async marker(folder, content) {
      await mkdir(folder, { recursive: true });
      const p = join(folder, '.brvspace');
      await writeFile(p, typeof content === 'string' ? content : JSON.stringify(content));
      return p;
    },
    async registry() {
      return JSON.parse(await readFile(join(data, 'bindings.json'), 'utf8')) as Record<string, unknown>;
    },
  };
}
