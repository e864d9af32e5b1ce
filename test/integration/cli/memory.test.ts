/**
 * `search`, `recall`, `curate` and `index --stats` over the fixture context tree with the native
 * recall engine (the default local backend), and curate → push to the ByteRover stand-in.
 */
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startCliEnv, type CliEnv } from './harness.js';

let e: CliEnv;

beforeAll(async () => {
  e = await startCliEnv();
  await cp(join(REPO_ROOT, 'test', 'fixtures', 'context-tree'), join(e.project, '.brv', 'context-tree'), {
    recursive: true,
  });
});
afterAll(async () => e?.close());

describe('claw-byterover search / recall / curate / index', () => {
  it('search ranks the obvious note first, with path, title, score and excerpt', async () => {
    const r = await e.cli(['search', 'jwt', 'refresh', 'token', '--k', '3', '--json']);
    expect(r.code).toBe(0);
    const d = r.json<{
      backend: string;
      hits: Array<{ path: string; title: string; score: number; excerpt: string }>;
    }>();
    expect(d.backend).toBe('local');
    expect(d.hits.length).toBeGreaterThan(0);
    expect(d.hits.length).toBeLessThanOrEqual(3);
    expect(d.hits[0]?.path).toBe('auth/jwt-session-tokens.md');
    expect(d.hits[0]?.excerpt.toLowerCase()).toContain('jwt');
    const scores = d.hits.map((h) => h.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    const human = await e.cli(['search', 'jwt', 'refresh', 'token', '--k', '3']);
    expect(human.out).toMatch(/auth\/jwt-session-tokens\.md/);
  });

  it('recall returns a block within the token budget that cites the paths it used', async () => {
    const r = await e.cli(['recall', 'jwt refresh token rotation', '--budget', '80', '--json']);
    expect(r.code).toBe(0);
    const d = r.json<{ text: string; tokens: number; hits: Array<{ path: string }> }>();
    expect(d.tokens).toBeLessThanOrEqual(80);
    expect(Math.ceil(d.text.length / 4)).toBeLessThanOrEqual(80);
    expect(d.hits.length).toBeGreaterThan(0);
    for (const h of d.hits) expect(d.text).toContain(h.path);
  });

  it('a query with no match is an empty result, not an error', async () => {
    const r = await e.cli(['search', 'zzyzx-qwxv', '--json']);
    expect(r.code).toBe(0);
    expect(r.json().hits).toEqual([]);
  });

  it('curate writes a new note once (same text is idempotent), it is searchable at once and queued for push', async () => {
    const text = 'Rollbacks use the blue/green DNS flip and take about thirty seconds.';
    const first = await e.cli(['curate', text, '--tag', 'deploy', '--json']);
    expect(first.code).toBe(0);
    const c = first.json<{ status: string; path: string; id: string }>();
    expect(c.status).toBe('written');
    const body = await readFile(join(e.project, '.brv', 'context-tree', c.path), 'utf8');
    expect(body).toContain(text);
    expect(body).toContain(c.id);
    const again = await e.cli(['curate', text, '--tag', 'deploy', '--json']);
    expect(again.json()).toMatchObject({ status: 'existing', id: c.id });

    const found = await e.cli(['search', 'thirty seconds DNS flip', '--json']);
    expect(found.json().hits[0].path).toBe(c.path);

    const stats = await e.cli(['index', '--stats', '--json']);
    expect(stats.code).toBe(0);
    expect(stats.json()).toMatchObject({ backend: 'local', pending: 1 });
    expect(stats.json().documents).toBeGreaterThan(50);
    expect(stats.json().engine.documents).toBe(stats.json().documents);
  });

  it('curate --file reads the note from a file; a curated note is pushed to ByteRover', async () => {
    const team = e.standin.addTeam({ name: 'acme', is_default: true });
    const space = e.standin.addSpace(team.id, { name: 'backend', is_default: true });
    const key = [...e.standin.sessionKeys][0] as string;
    expect((await e.cli(['login', '--api-key', key])).code).toBe(0);
    const file = join(e.root, 'note.md');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, '# Pager rotation\n\nThe on-call rotation changes every Monday at 10:00 UTC.\n');
    const r = await e.cli(['curate', '--file', file, '--title', 'Pager rotation', '--json']);
    expect(r.code).toBe(0);
    const push = await e.cli(['push', '--json']);
    expect(push.code).toBe(0);
    const remote = [...e.standin.files(team.id, space.id, 'main').values()].map((b) => b.toString('utf8'));
    expect(remote.some((text) => text.includes('The on-call rotation changes every Monday'))).toBe(true);
  });

  it('bad input: --k 0, no text, text and --file, unknown backend, unreadable file — each a usage code and a next step', async () => {
    const k = await e.cli(['search', 'x', '--k', '0']);
    expect(k.code).toBe(2);
    expect(k.err).toMatch(/CLI_USAGE.*--k/);
    expect(k.err).toMatch(/next:/);
    expect((await e.cli(['curate'])).code).toBe(2);
    expect((await e.cli(['curate', 'text', '--file', 'x.md'])).code).toBe(2);
    const backend = await e.cli(['search', 'x', '--backend', 'foo', '--json']);
    expect(backend.code).toBe(2);
    expect(backend.json().error.code).toBe('CLI_USAGE');
    const missing = await e.cli(['curate', '--file', 'does-not-exist.md', '--json']);
    expect(missing.code).toBe(6);
    expect(missing.json().error.code).toBe('CLI_FILE_UNREADABLE');
  });

  it('a path that escapes the tree is refused and nothing is written', async () => {
    const r = await e.cli(['curate', 'escape attempt', '--path', '../../outside.md', '--json']);
    expect(r.code).not.toBe(0);
    expect(r.json().error.code).toBe('MEMORY_PATH_ESCAPE');
    await expect(readFile(join(e.project, 'outside.md'), 'utf8')).rejects.toThrow();
  });
});
