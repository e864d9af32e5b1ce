/**
 * The recall engine through the C ABI: a claw-runtime that knows only the public headers
 * (test/native/fixtures/recall_host_driver.c, compiled against native/include alone) loads the
 * plain .so with RTLD_NOW (and the .node with RTLD_LAZY, outside Node), negotiates, gets
 * "claw.byterover.recall/1" through get_extension, and drives an index: upsert, batch (all or
 * nothing), remove, contains, search (plugin-owned results), search_into (caller-owned buffers,
 * the too-small retry), stats, concurrent readers with a writer. Scores match the BM25F formula
 * and are bit-identical to the Node-API face. The public header's types are checked field by field
 * against the engine's C facade at compile time, and the extension path runs clean under memcheck.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecallIndex, type RecallHit } from '../../lib/native.js';
import { missingTools } from '../helpers/tools.js';
import { ensureNativeBuilt, mustRun, ROOT, type Artifacts } from './helpers.js';
import { hangGuard } from '../helpers/timeout.js';

const skip = missingTools(['cc', 'c++', 'make'], 'apt-get install -y build-essential python3');
const FIXTURES = join(ROOT, 'test', 'native', 'fixtures');

/** One driver command line: TAB-separated fields, with \n, \t and \\ escaped in each field. */
const esc = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\t/g, '\\t');
const line = (...fields: Array<string | number>): string => fields.map((f) => esc(String(f))).join('\t');

interface DriverRun {
  status: number | null;
  stderr: string;
  /** One parsed JSON object per stdout line, in order. */
  out: Array<Record<string, unknown>>;
}

const CORPUS: Array<[string, string]> = [
  ['a.md', '---\ntitle: Alpha\n---\nfox fox dog'],
  ['b.md', '---\ntitle: Beta\n---\nfox cat cat cat cat'],
  ['c.md', '---\ntitle: Gamma\n---\ndog cat'],
  ['notes/café.md', '# Café notes\n\n## Brewing\nThe **café** brews [crème](http://example.invalid) at dawn; the fox visits.'],
];

describe.skipIf(skip)('recall extension through the C ABI', () => {
  let a: Artifacts;
  let tmp = '';
  let driver = '';

  const drive = (plugin: string, mode: 'now' | 'lazy', commands: string[], wrap: string[] = []): DriverRun => {
    const [cmd, ...args] = [...wrap, driver, plugin, mode];
    const input = commands.length > 0 ? commands.join('\n') + '\n' : '';
    const r = spawnSync(cmd as string, args, { input, encoding: 'utf8', timeout: hangGuard(300_000) });
    if (r.error) throw r.error;
    const out = r.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    return { status: r.status, stderr: r.stderr, out };
  };
  const corpus = (): string[] => CORPUS.map(([p, md]) => line('upsert', p, md));

  beforeAll(async () => {
    a = await ensureNativeBuilt();
    tmp = mkdtempSync(join(tmpdir(), 'claw-recall-host-'));
    driver = join(tmp, 'recall_host_driver');
    // Public headers only: what a host implementer has.
    mustRun('cc', ['-std=c11', '-D_GNU_SOURCE', '-O1', '-g', '-Wall', '-Wextra', '-Werror', `-I${join(ROOT, 'native', 'include')}`, '-o', driver, join(FIXTURES, 'recall_host_driver.c'), '-ldl', '-lpthread']);
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('the engine facade (recall_c.h) takes its types from claw/recall.h, and matches claw_recall_v1 entry by entry', () => {
    // One definition of each type: the facade includes the public header and defines none itself.
    const facade = readFileSync(join(ROOT, 'native/src/recall/recall_c.h'), 'utf8');
    expect(facade).toContain('#include "../../include/claw/recall.h"');
    expect(facade).not.toMatch(/\btypedef\b|#define CLAW_RECALL_(?!API\b|C_H_\b)/);
    // -fsyntax-only -Werror: a facade function whose type differs from its extension entry, a status
    // code that differs from the engine's, or a reordered claw_recall_v1 entry is a compile error
    // (see the static_asserts in the fixture).
    const r = spawnSync('c++', ['-std=c++17', '-fsyntax-only', '-Werror', '-Wall', `-I${join(ROOT, 'native', 'include')}`, `-I${join(ROOT, 'native', 'src')}`, join(FIXTURES, 'recall_layout_check.cc')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  it('the plain .so with RTLD_NOW: get_extension, upsert, search with BM25F scores, shutdown', () => {
    const r = drive(a.so, 'now', [...corpus(), line('query', 10, 200, 'fox'), line('query', 10, 200, 'alpha'), line('lookups')]);
    expect(r.status, r.stderr).toBe(0);
    const [hello, ...rest] = r.out;
    expect(hello).toEqual({ extension: 'claw.byterover.recall/1', struct_size: 8 + 14 * 8, flavor: 'shared-library' });
    expect(rest.slice(0, 4)).toEqual(Array(4).fill({ status: 'OK', replaced: 0 }));
    const fox = rest[4] as { status: string; hits: RecallHit[] };
    expect(fox.status).toBe('OK');
    expect(fox.hits.map((h) => h.path)).toEqual(['a.md', 'b.md', 'notes/café.md']);
    // N = 4, df(fox) = 3; body lengths 3, 5, 2, and 6 for the café note: "The café brews crème at
    // dawn; the fox visits." indexes café brew crème dawn fox visit (stop words dropped, plurals
    // folded; its heading is another field).
    const n = 4;
    const idf = Math.log(1 + (n - 3 + 0.5) / (3 + 0.5));
    const avg = (3 + 5 + 2 + 6) / n;
    const score = (tf: number, len: number) => {
      const w = tf / (1 - 0.75 + (0.75 * len) / avg);
      return (idf * w * 2.2) / (1.2 + w);
    };
    expect(fox.hits[0]!.score).toBeCloseTo(score(2, 3), 12);
    expect(fox.hits[1]!.score).toBeCloseTo(score(1, 5), 12);
    expect(fox.hits[2]!.title).toBe('Café notes');
    expect(fox.hits[2]!.excerpt).toBe('The café brews crème at dawn; the fox visits.');
    expect((rest[5] as { hits: RecallHit[] }).hits.map((h) => h.path)).toEqual(['a.md']);
    expect(rest[6]).toEqual({ same: 1, v2: 0, null: 0 });
    expect(rest[7]).toEqual({ shutdown: 0 });
  });

  it('the same engine as the Node-API face: identical hits, titles, excerpts and scores', () => {
    const queries = ['fox', 'dog cat', 'cafe brewing', 'crème dawn', 'the'];
    const r = drive(a.so, 'now', [...corpus(), ...queries.map((q) => line('query', 10, 60, q))]);
    expect(r.status, r.stderr).toBe(0);
    const node = createRecallIndex({ excerptChars: 60 });
    for (const [p, md] of CORPUS) node.add(p, md);
    queries.forEach((q, i) => {
      const c = r.out[1 + CORPUS.length + i] as { hits: RecallHit[] };
      expect(c.hits, q).toEqual(node.query(q, 10));
    });
    node.close();
  });

  it('search_into: NULL buffer → RECALL_BUFFER_TOO_SMALL with the size; that size → the same hits', () => {
    const r = drive(a.so, 'now', [...corpus(), line('query', 2, 30, 'fox'), line('query_into', 2, 30, 'fox')]);
    expect(r.status, r.stderr).toBe(0);
    const owned = r.out[5] as { hits: RecallHit[] };
    const into = r.out[6] as { first: string; needed: number; status: string; hits: RecallHit[] };
    expect(into.first).toBe('RECALL_BUFFER_TOO_SMALL');
    const bytes = (s: string) => Buffer.byteLength(s) + 1;
    expect(into.needed).toBe(owned.hits.reduce((sum, h) => sum + bytes(h.path) + bytes(h.title) + bytes(h.excerpt), 0));
    expect(into.status).toBe('OK');
    expect(into.hits).toEqual(owned.hits);
    expect(into.hits).toHaveLength(2);
  });

  it('upsert_batch is all or nothing on bad input; remove, contains and stats follow', () => {
    const r = drive(a.so, 'now', [
      ...corpus(),
      line('stats'),
      line('batch', 2),
      line('d.md', '# D\nowl'),
      line('', '# nameless'),
      line('stats'),
      line('batch', 3),
      line('d.md', '# D\nowl'),
      line('a.md', '# A again\nheron'),
      line('d.md', '# D2\nlark'),
      line('stats'),
      line('query', 5, 0, 'owl lark heron fox'),
      line('remove', 'c.md'),
      line('remove', 'c.md'),
      line('contains', 'c.md'),
      line('contains', 'd.md'),
      line('upsert', 'd.md', '# D3\nwren'),
      line('stats'),
    ]);
    expect(r.status, r.stderr).toBe(0);
    const o = r.out.slice(1 + CORPUS.length);
    expect(o[0]).toEqual({ status: 'OK', documents: 4, terms: expect.any(Number) as number, postings: expect.any(Number) as number, generation: 4 });
    expect(o[1]).toEqual({ status: 'RECALL_INVALID_ARGUMENT', bad: 1 });
    expect(o[2]).toEqual(o[0]);
    expect(o[3]).toEqual({ status: 'OK', bad: -1 });
    expect(o[4]).toMatchObject({ documents: 5, generation: 7 });
    const hits = (o[5] as { hits: RecallHit[] }).hits;
    expect(hits.map((h) => [h.path, h.title, h.excerpt])).toEqual(
      expect.arrayContaining([
        ['d.md', 'D2', ''],
        ['a.md', 'A again', ''],
      ]),
    );
    expect(hits.map((h) => h.path).sort()).toEqual(['a.md', 'b.md', 'd.md', 'notes/café.md']);
    expect(o.slice(6, 10)).toEqual([{ status: 'OK' }, { status: 'RECALL_NOT_FOUND' }, { contains: 0 }, { contains: 1 }]);
    expect(o[10]).toEqual({ status: 'OK', replaced: 1 });
    expect(o[11]).toMatchObject({ documents: 4, generation: 9 });
  });

  it('searches on 4 threads while the host thread rewrites a document: every search succeeds', () => {
    const r = drive(a.so, 'now', [...corpus(), line('race', 4, 2000, 'fox'), line('query', 10, 0, 'fox')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.out[1 + CORPUS.length]).toEqual({ failures: 0 });
    const last = r.out[2 + CORPUS.length] as { hits: RecallHit[] };
    expect(last.hits.find((h) => h.title === 'Rewritten 1999')).toBeDefined();
  });

  it('the .node outside Node: the same extension with RTLD_LAZY; RTLD_NOW cannot resolve napi_*', () => {
    const lazy = drive(a.node, 'lazy', [...corpus(), line('query', 10, 200, 'fox')]);
    expect(lazy.status, lazy.stderr).toBe(0);
    expect(lazy.out[0]).toMatchObject({ extension: 'claw.byterover.recall/1', flavor: 'node-addon' });
    const so = drive(a.so, 'now', [...corpus(), line('query', 10, 200, 'fox')]);
    expect(lazy.out[1 + CORPUS.length]).toEqual(so.out[1 + CORPUS.length]);

    const now = drive(a.node, 'now', []);
    expect(now.status).toBe(3);
    expect(String(now.out[0]?.error)).toMatch(/undefined symbol: napi_\w+/);
  });

  const noValgrind = missingTools(['valgrind'], 'apt-get install -y valgrind');
  it.skipIf(noValgrind !== undefined)('memcheck: create, batch, search, results_free, search_into, destroy leak nothing', () => {
    const r = drive(
      a.so,
      'now',
      [...corpus(), line('batch', 2), line('e.md', '# E\nfox'), line('f.md', '# F\nfox fox'), line('query', 10, 50, 'fox'), line('query_into', 3, 50, 'fox cat'), line('remove', 'a.md'), line('stats')],
      ['valgrind', '--leak-check=full', '--show-leak-kinds=definite,indirect', '--errors-for-leak-kinds=definite,indirect', '--error-exitcode=99'],
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/ERROR SUMMARY: 0 errors from 0 contexts/);
    expect(r.out.at(-1)).toEqual({ shutdown: 0 });
  }, hangGuard(300_000));
});
