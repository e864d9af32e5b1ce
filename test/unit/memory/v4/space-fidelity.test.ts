/**
 * Space resolution details checked against ByteRover's own resolver (skills/byterover/scripts,
 * packages/core/src/tree/marker.ts and space-resolver.ts as bundled in skill 4.x):
 * - a marker's `space_name` must be a valid display name (validateSpaceDisplayName: a non-empty
 *   string of at most 100 characters, no leading/trailing blank, no control character, no `/` or `\`),
 *   else the marker is invalid;
 * - a marker the user may not read (EACCES) is passed over as if absent (readMarkerFile), so the walk
 *   goes on to the parent folders, the registry and the default space;
 * - a deleted space is refused with ByteRover's next step (`space restore <id>` for a soft-deleted one;
 *   a permanently deleted one has no recovery: a new space and re-curate).
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ClawError } from '../../../../lib/errors.js';
import { resolveSpace } from '../../../../lib/memory/v4/space.js';
import { v4Home } from './helpers.js';

const CHILD = fileURLToPath(new URL('./space-child.ts', import.meta.url));

async function err(p: Promise<unknown>): Promise<ClawError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ClawError) return e;
    throw e;
  }
  throw new Error('resolved');
}

describe('space resolution as ByteRover resolves it', () => {
  it("refuses a marker whose space_name is not a valid display name (ByteRover's rule)", async () => {
    const h = await v4Home();
    const id = await h.addSpace('Ok');
    const proj = join(h.work, 'proj');
    for (const name of ['', ' padded', 'padded ', 'a/b', 'a\\b', 'tab\there', 'x'.repeat(101), 7]) {
      const p = await h.marker(proj, { space_id: id, space_name: name });
      const e = await err(resolveSpace(proj, { dataDir: h.data }));
      expect(e.code, JSON.stringify(name)).toBe('BRV_SPACE_MARKER_INVALID');
      expect(e.message).toContain(p);
      expect(e.message).toContain('space_name');
    }
    // the limits themselves are fine
    await h.marker(proj, { space_id: id, space_name: 'x'.repeat(100) });
    expect((await resolveSpace(proj, { dataDir: h.data })).source).toBe('marker');
    await h.marker(proj, { space_id: id, space_name: 'Team space: alpha (é)' });
    expect((await resolveSpace(proj, { dataDir: h.data })).source).toBe('marker');
  });

  it('passes over a marker it may not read, as ByteRover does, and resolves from the registry', async () => {
    const h = await v4Home();
    const bound = await h.addSpace('Bound');
    const other = await h.addSpace('Other');
    const proj = join(h.work, 'proj');
    const deep = join(proj, 'deep');
    await mkdir(deep, { recursive: true });
    await h.bind(proj, bound);
    const marker = await h.marker(deep, { space_id: other, space_name: 'Other' });
    await chmod(marker, 0o000);
    const root = process.getuid?.() === 0;
    let got: { source?: string; spaceId?: string; code?: string };
    if (!root) {
      const r = await resolveSpace(deep, { dataDir: h.data });
      got = { source: r.source, spaceId: r.spaceId };
    } else {
      // root reads anything: resolve as an unprivileged user in a child process
      for (let d = deep; d.startsWith(dirname(h.data)); d = dirname(d)) await chmod(d, 0o755);
      await chmod(dirname(h.data), 0o755);
      got = await new Promise((resolve, reject) => {
        const c = spawn(process.execPath, ['--import', 'tsx', CHILD, deep, h.data], {
          uid: 65534,
          gid: 65534,
          env: { ...process.env, HOME: dirname(h.data) },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        c.stdout.on('data', (b: Buffer) => (out += b.toString()));
        c.on('error', reject);
        c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as never) : reject(new Error(`child ${code}`))));
      });
    }
    expect(got).toEqual({ source: 'registry', spaceId: bound });
  });

  it("refuses deleted spaces with ByteRover's next step", async () => {
    const h = await v4Home();
    const soft = await h.addSpace('Soft');
    const hard = await h.addSpace('Hard');
    await h.deleteSpace(soft, false);
    await h.deleteSpace(hard, true);
    const a = join(h.work, 'a');
    const b = join(h.work, 'b');
    await h.bind(a, soft);
    await h.bind(b, hard);
    const s = await err(resolveSpace(a, { dataDir: h.data }));
    expect(s.code).toBe('BRV_SPACE_DELETED');
    expect(s.hint).toContain(`space restore ${soft}`);
    const x = await err(resolveSpace(b, { dataDir: h.data }));
    expect(x.code).toBe('BRV_SPACE_HARD_DELETED');
    expect(x.hint).toMatch(/no recovery/i);
  });
});
