/**
 * Interop with the real ByteRover CLI (npm byterover-cli@3.14.0), installed from npm by the test itself
 * and run offline (its cloud pointed at a loopback server answering 404, see helpers/brv.ts).
 *
 * Proves: the brv backend's search/recall parse real `brv search --format json` output; failures map to
 * MEMORY_BRV_* codes (missing executable, timeout and abort with the process killed, capped output,
 * `success: false`); and it compares our top-5 with `brv search`'s on 20 queries over the fixture tree
 * for every engine behind the RecallIndex seam (minisearch as brv configures it; native once the
 * binding exports createRecallIndex), printing the overlap.
 *
 * Needs the npm registry (first run) and ~700 MB of disk. No local skip: when the install fails, the
 * test fails with npm's message.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isClawError } from '../../lib/errors.js';
import { BrvMemory, runBrv } from '../../lib/memory/brv.js';
import { estimateTokens } from '../../lib/memory/budget.js';
import { LocalMemory } from '../../lib/memory/local.js';
import { FIXTURE_TREE, engines as allEngines } from '../unit/memory/helpers.js';
import { ensureBrv, startOfflineBrv, type OfflineBrv } from './helpers/brv.js';

export const QUERIES = [
  'refresh token rotation',
  'OAuth PKCE loopback redirect',
  'API key hashing and rotation',
  'CSRF token double submit',
  'create index concurrently in production',
  'backward compatible column rename migration',
  'PgBouncer transaction pooling',
  'serializable isolation retry',
  'cache stampede TTL jitter',
  'CDN cache-control immutable assets',
  'kafka consumer group offsets',
  'dead letter queue replay',
  'idempotency key header',
  'exponential backoff full jitter retry budget',
  'rate limit sliding window redis',
  'flaky tests quarantine',
  'blue green deployment rollback',
  'prometheus histogram label cardinality',
  'memory leak heap snapshot',
  'websocket reconnect backoff',
];

let brvEnv: OfflineBrv;
let brvPath: string;
let project: string;

beforeAll(async () => {
  const { brv, binDir } = await ensureBrv();
  brvPath = brv;
  brvEnv = await startOfflineBrv(binDir);
  project = await mkdtemp(join(tmpdir(), 'claw-brv-project-'));
  await cp(FIXTURE_TREE, join(project, '.brv', 'context-tree'), { recursive: true });
}, 600_000);

afterAll(async () => {
  await brvEnv?.stop();
  if (project) await rm(project, { recursive: true, force: true });
}, 60_000);

const backend = (o: Partial<ConstructorParameters<typeof BrvMemory>[0]> = {}) =>
  new BrvMemory({ projectRoot: project, brvPath, env: brvEnv.env, timeouts: { search: 60_000, curate: 60_000 }, ...o });

describe('brv backend against the real brv CLI (offline)', () => {
  it("search returns brv's ranked hits with path, title, score and excerpt", async () => {
    const hits = await backend().search('refresh token rotation', { k: 5 });
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.length).toBeLessThanOrEqual(5);
    expect(hits.map((h) => h.path)).toContain('auth/jwt-session-tokens.md');
    for (const h of hits) {
      expect(h.path).not.toMatch(/^\//);
      expect(typeof h.title).toBe('string');
      expect(h.score).toBeGreaterThan(0);
      expect(h.excerpt.length).toBeGreaterThan(0);
    }
  });

  it('recall fits the token budget', async () => {
    for (const budget of [40, 150]) {
      const r = await backend().recall('database migrations and indexes', { k: 5, tokenBudget: budget });
      expect(estimateTokens(r.text)).toBeLessThanOrEqual(budget);
    }
  });

  it('a query that looks like a flag is passed as text (after `--`), not parsed as one', async () => {
    // Parsed as a flag, `--format text` would switch brv to text output and the JSON parse would fail.
    const hits = await backend().search('--format text', { k: 3 });
    expect(Array.isArray(hits)).toBe(true);
  });

  it('stats counts the notes brv sees', async () => {
    expect(await backend().stats()).toMatchObject({ backend: 'brv', documents: 54 });
  });

  it("curate without an LLM provider fails as MEMORY_BRV_FAILED with brv's reason and a next step", async () => {
    const err = await backend()
      .curate({ title: 'Deploy bake', content: 'Deploys bake for 5 minutes before the old color stops.' })
      .catch((e: unknown) => e);
    expect(isClawError(err, 'MEMORY_BRV_FAILED')).toBe(true);
    expect((err as Error).message).toMatch(/provider/i);
    expect((err as { hint?: string }).hint).toMatch(/brv providers connect/);
  });

  it('a missing executable is MEMORY_BRV_NOT_FOUND with the install hint', async () => {
    const err = await backend({ brvPath: join(project, 'no-such-brv') })
      .search('x')
      .catch((e: unknown) => e);
    expect(isClawError(err, 'MEMORY_BRV_NOT_FOUND')).toBe(true);
    expect((err as { hint?: string }).hint).toContain('npm install -g byterover-cli');
  });

  it('a timeout kills brv (SIGKILL) and is MEMORY_BRV_TIMEOUT; an abort is MEMORY_BRV_ABORTED', async () => {
    const slow = await backend({ timeouts: { search: 1 } })
      .search('kafka')
      .catch((e: unknown) => e);
    expect(isClawError(slow, 'MEMORY_BRV_TIMEOUT')).toBe(true);
    const ac = new AbortController();
    const pending = backend()
      .search('kafka', { signal: ac.signal })
      .catch((e: unknown) => e);
    setImmediate(() => ac.abort());
    expect(isClawError(await pending, 'MEMORY_BRV_ABORTED')).toBe(true);
    const pre = await backend()
      .search('kafka', { signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    expect(isClawError(pre, 'MEMORY_BRV_ABORTED')).toBe(true);
  });

  it('output beyond the cap is cut, and a result line that no longer fits is MEMORY_BRV_FAILED', async () => {
    const ok = await runBrv(['search', '--format', 'json', '--limit', '1', '--', 'kafka'], {
      brvPath,
      cwd: project,
      env: brvEnv.env,
      timeoutMs: 60_000,
      maxOutputChars: 512_000,
    });
    expect(ok.success).toBe(true);
    const err = await runBrv(['search', '--format', 'json', '--limit', '10', '--', 'kafka'], {
      brvPath,
      cwd: project,
      env: brvEnv.env,
      timeoutMs: 60_000,
      maxOutputChars: 200,
    }).catch((e: unknown) => e);
    expect(isClawError(err, 'MEMORY_BRV_FAILED')).toBe(true);
    expect((err as Error).message).toContain('more than 200 characters');
  });

  it("brv's own refusal (success: false) is MEMORY_BRV_FAILED naming what brv said", async () => {
    const err = await runBrv(['search', '--format', 'json', '--', ' '], {
      brvPath,
      cwd: project,
      env: brvEnv.env,
      timeoutMs: 60_000,
    }).catch((e: unknown) => e);
    expect(isClawError(err, 'MEMORY_BRV_FAILED')).toBe(true);
    expect((err as Error).message).toMatch(/query is required/i);
  });
});

const engines = (await allEngines()).map((e) =>
  e.name === 'minisearch' ? { ...e, name: 'minisearch (as brv configures it)' } : e,
);

describe('top-5 overlap with brv search on 20 queries', () => {
  let brvTop: string[][] = [];
  beforeAll(async () => {
    const b = backend();
    brvTop = [];
    for (const q of QUERIES) brvTop.push((await b.search(q, { k: 5 })).map((h) => h.path));
  }, 600_000);

  for (const engine of engines) {
    it.skipIf(engine.skip !== undefined)(`${engine.name}${engine.skip ? ` (${engine.skip})` : ''}`, async () => {
      const mem = await LocalMemory.open({
        projectRoot: project,
        index: engine.factory,
        watch: false,
        stateDir: join(project, '.state-' + engine.name.split(' ')[0]),
      });
      const rows: string[] = [];
      let sum = 0;
      let top1 = 0;
      for (const [i, q] of QUERIES.entries()) {
        const ours = (await mem.search(q, { k: 5 })).map((h) => h.path);
        const theirs = brvTop[i] ?? [];
        // Overlap = share of brv's top-5 that is also in ours (brv often returns fewer than 5: it ANDs terms first).
        const shared = ours.filter((p) => theirs.includes(p)).length;
        const overlap = theirs.length === 0 ? (ours.length === 0 ? 1 : 0) : shared / theirs.length;
        sum += overlap;
        if (ours[0] !== undefined && ours[0] === theirs[0]) top1++;
        rows.push(
          `${q.padEnd(46)} ${shared}/${theirs.length} of brv's (ours: ${ours.length})  ours[0]=${ours[0] ?? '-'}  brv[0]=${theirs[0] ?? '-'}`,
        );
      }
      await mem.close();
      const mean = sum / QUERIES.length;
      console.log(
        `\n${engine.name} vs brv search, top-5 overlap per query:\n${rows.join('\n')}\nmean overlap (share of brv's top-5 in ours) ${(mean * 100).toFixed(1)}%, same top-1 on ${top1}/${QUERIES.length} queries\n`,
      );
      expect(mean).toBeGreaterThan(0); // sanity, not a quality bar
    });
  }
});

describe('isolation', () => {
  it('brv reached nothing but the loopback server (no proxied CONNECT to any outside host)', () => {
    expect(brvEnv.requests.filter((r) => r.startsWith('CONNECT'))).toEqual([]);
    expect(brvEnv.requests.length).toBeGreaterThan(0); // the daemon did ask its (loopback) IAM
  });
});
