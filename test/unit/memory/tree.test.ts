import { writeFileSync } from 'node:fs';
import { mkdir, rm, symlink, writeFile, appendFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ContextTree, type TreeChanges } from '../../../lib/memory/tree.js';
import { FIXTURE_NOTES, tempProject } from './helpers.js';
import { hangGuard } from '../../helpers/timeout.js';

describe('ContextTree', () => {
  it('reads the fixture tree: every note, titles from frontmatter or H1, tags, headings', async () => {
    const { project } = await tempProject(true);
    const tree = new ContextTree({ projectRoot: project });
    const changes = await tree.refresh();
    expect(changes.added).toHaveLength(FIXTURE_NOTES);
    expect(tree.size).toBe(FIXTURE_NOTES);
    const jwt = tree.get('auth/jwt-session-tokens.md');
    expect(jwt?.note.title).toBe('JWT session tokens');
    expect(jwt?.note.tags).toEqual(['auth', 'jwt', 'security']);
    expect(jwt?.note.headings).toEqual(['JWT session tokens', 'Storage', 'Refresh']);
    expect(tree.get('http/timeouts.md')?.note.title).toBe('Timeouts everywhere'); // no frontmatter
    expect(tree.get('decisions/adr-0007-queue-choice.md')?.note.title).toBe('ADR 0007: Kafka over RabbitMQ');
    expect((await tree.refresh()).added).toHaveLength(0); // nothing changed: nothing re-read
    await tree.close();
  });

  it('refresh reports additions, changes (same size too) and deletions, and skips dot-files, non-md and symlinks', async () => {
    const { project, tree: root } = await tempProject();
    const tree = new ContextTree({ projectRoot: project });
    await tree.ensure();
    await writeFile(join(root, 'a.md'), '# A\none');
    await mkdir(join(root, 'sub'), { recursive: true });
    await writeFile(join(root, 'sub', 'b.md'), '# B\ntwo');
    await writeFile(join(root, 'notes.txt'), 'not markdown');
    await writeFile(join(root, '.hidden.md'), '# hidden');
    await mkdir(join(root, '.git'), { recursive: true });
    await writeFile(join(root, '.git', 'c.md'), '# in dot folder');
    await writeFile(join(project, 'outside.md'), '# outside');
    await symlink(join(project, 'outside.md'), join(root, 'link.md'));
    await symlink(project, join(root, 'linkdir'));
    let r = await tree.refresh();
    expect(r.added.map((d) => d.path).sort()).toEqual(['a.md', 'sub/b.md']);

    await writeFile(join(root, 'a.md'), '# A\nONE'); // same size, new content
    await rm(join(root, 'sub', 'b.md'));
    await writeFile(join(root, 'sub', 'c.md'), '# C');
    r = await tree.refresh();
    expect(r.updated.map((d) => d.path)).toEqual(['a.md']);
    expect(tree.get('a.md')?.text).toBe('# A\nONE');
    expect(r.removed).toEqual(['sub/b.md']);
    expect(r.added.map((d) => d.path)).toEqual(['sub/c.md']);
    await tree.close();
  });

  it('a missing tree is empty, and oversized notes are skipped', async () => {
    const { project, tree: root } = await tempProject();
    const tree = new ContextTree({ projectRoot: project, maxFileBytes: 100 });
    expect((await tree.refresh()).added).toHaveLength(0);
    await tree.ensure();
    await writeFile(join(root, 'big.md'), `# Big\n${'x'.repeat(200)}`);
    await writeFile(join(root, 'small.md'), '# Small');
    await tree.refresh();
    expect([...tree.all()].map((d) => d.path)).toEqual(['small.md']);
  });

  it('concurrent refreshes coalesce and the last one sees the latest disk state', async () => {
    const { project, tree: root } = await tempProject(true);
    const tree = new ContextTree({ projectRoot: project });
    const first = tree.refresh();
    // Written synchronously: the first scan is still running (no turn of the event loop has passed),
    // so the next two calls queue behind it; an awaited write could outlast a fast (native) scan.
    writeFileSync(join(root, 'late.md'), '# Late');
    const [a, b, c] = await Promise.all([first, tree.refresh(), tree.refresh()]);
    expect(a.added.length).toBeGreaterThan(0);
    expect(b).toBe(c); // one follow-up scan serves both waiting callers
    expect(tree.get('late.md')?.note.title).toBe('Late');
  });

  it('watch: fs events trigger a debounced rescan (adds, edits, renames, deletes in new sub-folders)', async () => {
    const { project, tree: root } = await tempProject();
    const tree = new ContextTree({ projectRoot: project });
    await tree.ensure();
    await tree.refresh();
    const seen: TreeChanges[] = [];
    tree.onChange((c) => seen.push(c));
    tree.watch({ debounceMs: 20, pollMs: 0 }); // events only: proves the watcher itself works
    await mkdir(join(root, 'new', 'deep'), { recursive: true });
    await writeFile(join(root, 'new', 'deep', 'w.md'), '# Watched');
    await vi.waitFor(() => expect(tree.get('new/deep/w.md')?.note.title).toBe('Watched'), {
      timeout: hangGuard(60_000),
      interval: 20,
    });
    await appendFile(join(root, 'new', 'deep', 'w.md'), '\nmore');
    await vi.waitFor(() => expect(tree.get('new/deep/w.md')?.text).toContain('more'), {
      timeout: hangGuard(60_000),
      interval: 20,
    });
    await rename(join(root, 'new', 'deep', 'w.md'), join(root, 'moved.md'));
    await vi.waitFor(
      () => {
        expect(tree.get('new/deep/w.md')).toBeUndefined();
        expect(tree.get('moved.md')).toBeDefined();
      },
      { timeout: hangGuard(60_000), interval: 20 },
    );
    await rm(join(root, 'moved.md'));
    await vi.waitFor(() => expect(tree.size).toBe(0), { timeout: hangGuard(60_000), interval: 20 });
    expect(seen.length).toBeGreaterThanOrEqual(4);
    await tree.close();
  });

  it('watch: the poll alone keeps the tree current when no event arrives', async () => {
    const { project, tree: root } = await tempProject();
    const tree = new ContextTree({ projectRoot: project });
    await tree.ensure();
    await tree.refresh();
    tree.watch({ debounceMs: 1, pollMs: 30 });
    // Close the watcher so only the poll is left (what happens when events are lost).
    (tree as unknown as { watcher?: { close(): void } }).watcher?.close();
    await writeFile(join(root, 'polled.md'), '# Polled');
    await vi.waitFor(() => expect(tree.get('polled.md')).toBeDefined(), { timeout: hangGuard(60_000), interval: 20 });
    await tree.close();
  });
});
