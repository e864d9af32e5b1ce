/**
 * Recording v4 topics: the vocabulary's own examples are accepted and stamped the way ByteRover
 * stamps them; each kind of violation is refused with its code (all of them at once); paths that
 * escape the tree are refused; concurrent records never lose a topic; a crash between the temp file
 * and the rename leaves the old topic or the new one, never a torn one.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ClawError } from '../../../../lib/errors.js';
import { readTopicHtml } from '../../../../lib/memory/v4/html.js';
import { recordTopic, type RecordInput, type RecordOptions } from '../../../../lib/memory/v4/record.js';
import { readSignals, signalFile } from '../../../../lib/memory/v4/signals.js';
import { spacePaths } from '../../../../lib/memory/v4/space.js';
import { validateTopic } from '../../../../lib/memory/v4/validate.js';
import { fixture, v4Home } from './helpers.js';

const CHILD = fileURLToPath(new URL('./record-child.ts', import.meta.url));

async function space() {
  const h = await v4Home();
  const id = await h.addSpace('Rec');
  return spacePaths(h.data, id);
}

async function refusal(p: Promise<unknown>): Promise<ClawError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ClawError) return e;
    throw e;
  }
  throw new Error('expected a refusal, the record succeeded');
}

const codesOf = (e: ClawError): string[] =>
  ((e.details?.violations ?? []) as { code: string }[]).map((v) => v.code).sort();

const T = (attrs: string, body = '<bv-task>Something to remember.</bv-task>') =>
  `<bv-topic ${attrs}>${body}</bv-topic>`;

describe('record', () => {
  it("accepts the vocabulary's full JWT example and stamps it as ByteRover does", async () => {
    const s = await space();
    const html = await fixture('jwt_design.html');
    const now = new Date('2026-06-01T10:00:00.000Z');
    const r = await recordTopic(s, 'auth/jwt_design', { html }, { now: () => now });
    expect(r).toMatchObject({ path: 'auth/jwt_design', file: 'auth/jwt_design.html', created: true });
    expect(r.id).toMatch(/^tpc_[0-9a-f]{32}$/);
    const onDisk = await readFile(join(s.treeRoot, 'auth', 'jwt_design.html'), 'utf8');
    expect(onDisk).toBe(r.html);
    const p = readTopicHtml(onDisk);
    expect(p.warnings).toEqual([]);
    expect(p.attrs).toMatchObject({ createdat: now.toISOString(), updatedat: now.toISOString(), id: r.id });
    // every indexed element gets a bve- id (author ids like d-rs256 are replaced, as ByteRover does)
    for (const e of p.elements) {
      if (['bv-reason', 'bv-files'].includes(e.type)) expect(e.id, e.type).toBe('');
      else expect(e.id, e.type).toMatch(/^bve-[a-z0-9]{8}$/);
    }
    expect(new Set(p.elements.map((e) => e.id).filter(Boolean)).size).toBe(6);
    // the author's formatting is kept: only the stamps differ
    expect(onDisk.replace(/ (createdat|updatedat|id)="[^"]*"/g, '')).toBe(html.replace(/ id="[^"]*"/g, ''));
    expect(await readSignals(s.signalsDir, 'auth/jwt_design.html')).toEqual({
      accessCount: 0,
      importance: 50,
      maturity: 'draft',
      recency: 1,
      updateCount: 0,
    });
    expect(await readFile(signalFile(s.signalsDir, 'auth/jwt_design'), 'utf8')).toMatch(/^\{\n\t"accessCount": 0,/);

    // an overwrite keeps createdat and id, moves updatedat, and applies ByteRover's update rule
    const later = new Date('2026-06-02T10:00:00.000Z');
    const r2 = await recordTopic(s, 'auth/jwt_design.html', { html }, { overwrite: true, now: () => later });
    expect(r2).toMatchObject({ created: false, id: r.id });
    expect(readTopicHtml(r2.html).attrs).toMatchObject({
      createdat: now.toISOString(),
      updatedat: later.toISOString(),
    });
    expect(r2.signals).toEqual({ accessCount: 0, importance: 55, maturity: 'draft', recency: 1, updateCount: 1 });
  });

  it('accepts every element example of the vocabulary (all 18 elements) and warns on a related ref with no topic', async () => {
    const s = await space();
    const html = await fixture('vocabulary_examples.html');
    const r = await recordTopic(s, 'facts/vocabulary_examples', { html });
    const kinds = new Set(readTopicHtml(r.html).elements.map((e) => e.type));
    expect(kinds.size).toBe(18);
    expect(r.warnings).toEqual([
      'related ref "auth/jwt_design.html" has no matching topic yet (broken or forward reference)',
    ]);
  });

  it('records from fields (title, summary, keywords, tags, body)', async () => {
    const s = await space();
    const r = await recordTopic(s, 'ops/deploy_window', {
      title: 'Deploy window',
      summary: 'When we deploy',
      keywords: 'deploy,window',
      tags: 'ops',
      body: 'Deploys happen Tuesday & Thursday <before> noon.',
    });
    const p = readTopicHtml(r.html);
    expect(p.attrs).toMatchObject({ path: 'ops/deploy_window', title: 'Deploy window', keywords: 'deploy,window' });
    expect(p.elements.map((e) => [e.type, e.text])).toEqual([
      ['bv-highlights', 'Deploys happen Tuesday & Thursday <before> noon.'],
    ]);
    const both = await refusal(
      recordTopic(s, 'ops/x', { html: T('path="ops/x" title="x"'), title: 'x' } as RecordInput),
    );
    expect(both.code).toBe('BV_RECORD_INPUT');
  });

  it('refuses each kind of violation with its own code', async () => {
    const s = await space();
    const cases: [string, string, string][] = [
      ['a/b', '```html\n' + T('path="a/b" title="t"') + '\n```', 'BV_CODE_FENCE'],
      ['a/b', 'Here it is: ' + T('path="a/b" title="t"'), 'BV_NOT_HTML_ONLY'],
      ['a/b', '<!doctype html>' + T('path="a/b" title="t"'), 'BV_DOCUMENT_WRAPPER'],
      ['a/b', '<html><body>' + T('path="a/b" title="t"') + '</body></html>', 'BV_DOCUMENT_WRAPPER'],
      ['a/b', '<div>no topic</div>', 'BV_ROOT_MISSING'],
      ['a/b', T('path="a/b" title="t"') + T('path="a/c" title="u"'), 'BV_ROOT_MULTIPLE'],
      ['a/b', T('path="a/b" title="t"', '<bv-task>open'), 'BV_MALFORMED_HTML'],
      ['a/b', T('path="a/b"'), 'BV_REQUIRED_ATTRIBUTE'],
      ['a/b', T('title="t"'), 'BV_REQUIRED_ATTRIBUTE'],
      ['a/b', T('path="a/c" title="t"'), 'BV_PATH_MISMATCH'],
      ['a/my-topic', T('path="a/my-topic" title="t"'), 'BV_PATH_NOT_SNAKE_CASE'],
      ['A/Topic', T('path="A/Topic" title="t"'), 'BV_PATH_NOT_SNAKE_CASE'],
      ['index', T('path="index" title="t"'), 'BV_PATH_RESERVED'],
      ['a/b', T('path="a/b" title="t" importance="90"'), 'BV_SYSTEM_ATTRIBUTE'],
      ['a/b', T('path="a/b" title="t" createdAt="2026-01-01T00:00:00Z"'), 'BV_SYSTEM_ATTRIBUTE'],
      ['a/b', T('path="a/b" title="t" id="tpc_00000000000000000000000000000000"'), 'BV_SYSTEM_ATTRIBUTE'],
      ['a/b', T('path="a/b" title="t"', '<bv-note>x</bv-note>'), 'BV_UNKNOWN_ELEMENT'],
      ['a/b', T('path="a/b" title="t"', '<bv-task>x<script>alert(1)</script></bv-task>'), 'BV_ELEMENT_NOT_ALLOWED'],
      ['a/b', T('path="a/b" title="t"', '<bv-bug>x<bv-fix>y</bv-fix></bv-bug>'), 'BV_NESTED_ELEMENT'],
      ['a/b', T('path="a/b" title="t" color="red"'), 'BV_ATTRIBUTE_NOT_ALLOWED'],
      ['a/b', T('path="a/b" title="t"', '<bv-task><p onclick="x()">x</p></bv-task>'), 'BV_ATTRIBUTE_NOT_ALLOWED'],
      ['a/b', T('path="a/b" Title="t"'), 'BV_ATTRIBUTE_CASE'],
      ['a/b', T('path=\'a/b\' title="t"'), 'BV_ATTRIBUTE_QUOTING'],
      ['a/b', T('path="a/b" title="t"', "<bv-rule severity='must'>x</bv-rule>"), 'BV_ATTRIBUTE_QUOTING'],
      ['a/b', T('path="a/b" title="t"', '<bv-rule Severity="must">x</bv-rule>'), 'BV_ATTRIBUTE_CASE'],
      ['a/b', T('path="a/b" title="t"', '<bv-rule severity="critical">x</bv-rule>'), 'BV_ATTRIBUTE_VALUE'],
      ['a/b', T('path="a/b" title="t"', '<bv-fact subject="s" category="hobby">x</bv-fact>'), 'BV_FACT_CATEGORY'],
      ['a/b', T('path="a/b" title="t"', '<bv-fact category="project">x</bv-fact>'), 'BV_REQUIRED_ATTRIBUTE'],
      [
        'a/b',
        T('path="a/b" title="t"', '<bv-fact subject="s" category="project" disclosure="publik">x</bv-fact>'),
        'BV_DISCLOSURE',
      ],
      ['a/b', T('path="a/b" title="t" related="other/topic.html"'), 'BV_RELATED_FORMAT'],
    ];
    for (const [path, html, code] of cases) {
      const e = await refusal(recordTopic(s, path, { html }));
      expect(e.code, html).toBe('BV_TOPIC_INVALID');
      expect(codesOf(e), html).toContain(code);
      const v = (e.details!.violations as { code: string; hint: string; message: string }[]).find(
        (x) => x.code === code,
      )!;
      expect(v.message).toMatch(/expected|found/);
      expect(v.hint.length).toBeGreaterThan(5);
    }
    expect(await readdir(s.treeRoot)).toEqual([]);
  });

  it('answers every violation at once', async () => {
    const s = await space();
    const html =
      '<bv-topic path="x/Bad-Path" importance="80" Title=\'t\' color="red">' +
      '<bv-fact subject="a" category="hobby" disclosure="secret">x</bv-fact>' +
      '<bv-widget>y</bv-widget><iframe src="x"></iframe></bv-topic>';
    const e = await refusal(recordTopic(s, 'x/other', { html }));
    expect(new Set(codesOf(e))).toEqual(
      new Set([
        'BV_PATH_MISMATCH',
        'BV_SYSTEM_ATTRIBUTE',
        'BV_ATTRIBUTE_CASE',
        'BV_ATTRIBUTE_QUOTING',
        'BV_ATTRIBUTE_NOT_ALLOWED',
        'BV_FACT_CATEGORY',
        'BV_DISCLOSURE',
        'BV_UNKNOWN_ELEMENT',
        'BV_ELEMENT_NOT_ALLOWED',
      ]),
    );
    expect(e.message).toContain('violations');
  });

  it('refuses paths escaping the tree, including through a symlink', async () => {
    const s = await space();
    for (const p of ['../evil', '/etc/evil', 'a/../../evil', 'a\\b']) {
      expect((await refusal(recordTopic(s, p, { title: 'x', body: 'y' }))).code, p).toBe('BV_PATH_ESCAPE');
    }
    const outside = join(s.spaceDir, 'outside');
    await mkdir(outside, { recursive: true });
    await mkdir(s.treeRoot, { recursive: true });
    await symlink(outside, join(s.treeRoot, 'link'));
    const e = await refusal(recordTopic(s, 'link/evil', { title: 'x', body: 'y' }));
    expect(e.code).toBe('BV_PATH_ESCAPE');
    expect(await readdir(outside)).toEqual([]);
  });

  it('never replaces a topic without --overwrite, and refuses an overwrite that drops elements unless told', async () => {
    const s = await space();
    const full = await fixture('jwt_design.html');
    await recordTopic(s, 'auth/jwt_design', { html: full });
    expect((await refusal(recordTopic(s, 'auth/jwt_design', { html: full }))).code).toBe('BV_TOPIC_EXISTS');
    const smaller = T('path="auth/jwt_design" title="JWT"', '<bv-decision>Use RS256.</bv-decision>');
    const e = await refusal(recordTopic(s, 'auth/jwt_design', { html: smaller }, { overwrite: true }));
    expect(e.code).toBe('BV_OVERWRITE_DROPS_ELEMENTS');
    expect(e.message).toContain('bv-fact 2→0');
    const r = await recordTopic(s, 'auth/jwt_design', { html: smaller }, { overwrite: true, allowDrop: true });
    expect(r.dropped.map((d) => d.type).sort()).toEqual([
      'bv-bug',
      'bv-fact',
      'bv-files',
      'bv-fix',
      'bv-reason',
      'bv-rule',
    ]);
  });

  it('concurrent records in two processes never lose a topic', async () => {
    const s = await space();
    const paths = Array.from({ length: 15 }, (_, i) => `race/topic_${i}`);
    const run = (tag: string) =>
      new Promise<{ created: string[]; refused: Record<string, number> }>((resolve, reject) => {
        const c = spawn(
          process.execPath,
          ['--import', 'tsx', CHILD, s.treeRoot, s.signalsDir, 'many', JSON.stringify({ paths, tag })],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        let out = '';
        c.stdout.on('data', (d: Buffer) => (out += d.toString()));
        c.on('error', reject);
        c.on('exit', (code) =>
          code === 0 ? resolve(JSON.parse(out) as never) : reject(new Error(`child exit ${code}`)),
        );
      });
    const [a, b] = await Promise.all([run('A'), run('B')]);
    expect(a.created.length + b.created.length).toBe(paths.length);
    const refusedCodes = new Set([...Object.keys(a.refused), ...Object.keys(b.refused)]);
    for (const c of refusedCodes) expect(['BV_TOPIC_EXISTS', 'BV_TOPIC_CONFLICT']).toContain(c);
    for (const p of paths) {
      const html = await readFile(join(s.treeRoot, `${p}.html`), 'utf8');
      const parsed = readTopicHtml(html);
      expect(parsed.warnings).toEqual([]);
      const writer = a.created.includes(p) ? 'A' : 'B';
      expect(parsed.attrs.title).toBe(`${writer} ${p}`);
      expect(await readSignals(s.signalsDir, `${p}.html`)).toMatchObject({ importance: 50 });
    }
    expect((await readdir(join(s.treeRoot, 'race'))).filter((f) => !f.endsWith('.html'))).toEqual([]);
  });

  it('in one process too: simultaneous records of one new path create it once', async () => {
    const s = await space();
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        recordTopic(s, 'one/path', { html: T(`path="one/path" title="writer ${i}"`) }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results)
      if (r.status === 'rejected') expect((r.reason as ClawError).code).toMatch(/^BV_TOPIC_(EXISTS|CONFLICT)$/);
  });

  it('a failure between the temp file and the rename leaves the old topic, and no temp file', async () => {
    const s = await space();
    const v1 = T('path="c/t" title="v1"', '<bv-task>first version</bv-task>');
    const first = await recordTopic(s, 'c/t', { html: v1 });
    const boom: RecordOptions = {
      overwrite: true,
      hooks: {
        at(p) {
          if (p === 'record:temp-written') throw new Error('injected failure');
        },
      },
    };
    const v2 = T('path="c/t" title="v2"', '<bv-task>second version</bv-task>');
    await expect(recordTopic(s, 'c/t', { html: v2 }, boom)).rejects.toThrow('injected failure');
    expect(await readFile(join(s.treeRoot, 'c', 't.html'), 'utf8')).toBe(first.html);
    expect(await readdir(join(s.treeRoot, 'c'))).toEqual(['t.html']);
    expect((await readSignals(s.signalsDir, 'c/t.html'))?.updateCount).toBe(0);
    // the lock was released: the next record goes through
    expect((await recordTopic(s, 'c/t', { html: v2 }, { overwrite: true })).created).toBe(false);
  });

  it('a process killed between the temp file and the rename leaves the old topic whole; the next record takes over its lock', async () => {
    const s = await space();
    const v1 = T('path="k/t" title="v1"', '<bv-task>first version</bv-task>');
    const first = await recordTopic(s, 'k/t', { html: v1 });
    const v2 = T('path="k/t" title="v2"', '<bv-task>second version, much longer '.padEnd(5000, 'x') + '</bv-task>');
    const kill = (path: string, html: string, overwrite: boolean) =>
      spawnSync(
        process.execPath,
        ['--import', 'tsx', CHILD, s.treeRoot, s.signalsDir, 'crash', JSON.stringify({ path, html, overwrite })],
        { encoding: 'utf8' },
      );
    const r = kill('k/t', v2, true);
    expect(r.signal).toBe('SIGKILL');
    const after = await readFile(join(s.treeRoot, 'k', 't.html'), 'utf8');
    expect(after).toBe(first.html);
    expect(validateTopic(v1, readTopicHtml(after), 'k/t').filter((v) => v.code !== 'BV_SYSTEM_ATTRIBUTE')).toEqual([]);
    // a killed create leaves no topic at all
    const r2 = kill('k/new_one', T('path="k/new_one" title="n"'), false);
    expect(r2.signal).toBe('SIGKILL');
    expect((await readdir(join(s.treeRoot, 'k'))).filter((f) => f.endsWith('.html'))).toEqual(['t.html']);
    // the dead writer's lock is taken over
    const next = await recordTopic(s, 'k/t', { html: v2 }, { overwrite: true });
    expect(readTopicHtml(await readFile(join(s.treeRoot, 'k', 't.html'), 'utf8')).attrs.title).toBe('v2');
    expect(next.id).toBe(first.id);
  });
});

describe('the example topic of skills/byterover/SKILL.md', () => {
  it('is accepted by record', async () => {
    const skill = await readFile(new URL('../../../../skills/byterover/SKILL.md', import.meta.url), 'utf8');
    const html = /```\n(<bv-topic[\s\S]*?<\/bv-topic>)\n```/.exec(skill)?.[1];
    expect(html).toBeDefined();
    const s = await space();
    const r = await recordTopic(s, 'auth/token_refresh', { html: html! });
    expect(r.created).toBe(true);
  });
});
