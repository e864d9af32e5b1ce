/**
 * Issue 11: "Malformed HTML gets a per-file warning with the reason (once, not per scan) and never a
 * crash" — through SpaceMemory, the path every consumer (CLI, OpenClaw, bridge) takes. A topic with an
 * unclosed element is still indexed and found, and the log says once which file and why; a rescan of
 * unchanged files says nothing again; a changed, still malformed file says it again.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../../lib/log/index.js';
import { nativeRecallForTests } from '../../../helpers/native-recall.js';
import { SpaceMemory } from '../../../../lib/memory/v4/memory.js';
import { resolveSpace } from '../../../../lib/memory/v4/space.js';
import { v4Home } from './helpers.js';

const native = await nativeRecallForTests();

describe.skipIf(!native.factory)('SpaceMemory parser warnings', () => {
  it('warns once per file content with the path and the reason, and still indexes the topic', async () => {
    const h = await v4Home();
    const id = await h.addSpace('Warn');
    const proj = join(h.work, 'proj');
    await h.marker(proj, { space_id: id, space_name: 'Warn' });
    const space = await resolveSpace(proj, { dataDir: h.data });
    await mkdir(join(space.treeRoot, 'a'), { recursive: true });
    const file = join(space.treeRoot, 'a', 'broken.html');
    await writeFile(file, '<bv-topic path="a/broken" title="Broken"><bv-task>plinthwort unclosed</bv-topic>');
    await writeFile(
      join(space.treeRoot, 'a', 'fine.html'),
      '<bv-topic path="a/fine" title="Fine"><bv-task>all good</bv-task></bv-topic>',
    );
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', destination: { write: (l: string) => void lines.push(l) } as never });
    const mem = await SpaceMemory.open({ space, watch: false, pollMs: 0, logger });
    try {
      const warned = () =>
        lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.path === 'a/broken.html');
      expect(warned()).toHaveLength(1);
      expect(JSON.stringify(warned()[0])).toMatch(/HTML_UNCLOSED_ELEMENT|HTML_MISMATCHED_END_TAG/);
      expect(lines.some((l) => l.includes('a/fine.html'))).toBe(false);
      expect((await mem.search('plinthwort'))[0]?.path).toBe('a/broken.html');
      await mem.refresh();
      await mem.search('plinthwort');
      expect(warned()).toHaveLength(1);
      await writeFile(
        file,
        '<bv-topic path="a/broken" title="Broken"><bv-task>plinthwort still <b>unclosed</bv-topic>',
      );
      await mem.refresh();
      expect(warned()).toHaveLength(2);
    } finally {
      await mem.close();
    }
  });
});
