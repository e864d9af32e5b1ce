/**
 * Nothing heavy on the bridge's event loop (issue 13): while a maximum-size hostile note (1,000,000
 * characters of unclosed markdown constructs) is curated through /skill/invoke, /healthz and a
 * signed webhook keep answering. Latency is the observation here (the one place the issue asks for
 * a bound): many samples, taken back to back for as long as the curate runs, and the 95th
 * percentile must stay within 100 ms. Before the parser fix one such curate froze the bridge ~90 s.
 * In the interop tier: a latency bound needs a machine that is not oversubscribed (on the shared
 * 2-core development machine at load average 22, the webhook's own p50 was 88 ms with nothing else
 * running in the bridge).
 *
 * The same holds while a hostile space is pulled through /skill/invoke: the ByteRover stand-in, in
 * its own process (hostile-space.ts, so encoding its answers is not on the measured loop), serves
 * 24 notes of 256 KiB and 2 of 3 MB of unclosed markdown plus entries this tree cannot hold (a
 * ~16 MB snapshot answer); the bridge parses and decodes it in a worker thread, writes with async
 * fs and indexes through the addon's async batch, and reports the entries it could not apply.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBridge, parseBridgeConfig, type Bridge } from '../../../lib/bridge/index.js';
import { sendJson } from '../../../lib/bridge/server.js';
import { createSkillActions, mountSkillInvoke, SkillConfigSchema } from '../../../lib/bridge/skill/index.js';
import { createByteRoverClient } from '../../../lib/byterover/index.js';
import { createHttpClient } from '../../../lib/http/index.js';
import { createLogger } from '../../../lib/log/index.js';
import { LocalMemory } from '../../../lib/memory/index.js';
import { tempProject } from '../../unit/memory/helpers.js';

const KEY = randomBytes(24).toString('hex');
const BRV_SECRET = randomBytes(24).toString('hex');
const silent = createLogger({ level: 'silent' });

/** 1,000,000 characters mixing every construct that used to make the parser rescan. */
function hostileNote(): string {
  const units = ['[a](', '![x](', '[a](b', '[a][', '<a ', '<http://', '`', '*'];
  let s = '';
  let i = 0;
  while (s.length < 999_000) s += units[i++ % units.length];
  return s;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}

describe('the bridge keeps answering while heavy work runs', () => {
  let dir: string;
  let project: string;
  let bridge: Bridge;
  let memory: LocalMemory;
  let url: string;
  let space: ChildProcessByStdio<Writable, Readable, null>;
  let spaceLines: AsyncIterator<string>;
  let ready: { clientConfig: Record<string, string>; sessionKey: string; teamId: string; spaceId: string };

  beforeAll(async () => {
    // The hostile space's stand-in, in its own process; its first line says it is ready.
    space = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'hostile-space.ts')], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    spaceLines = createInterface({ input: space.stdout })[Symbol.asyncIterator]();
    ready = JSON.parse(String((await spaceLines.next()).value)) as typeof ready;
    const http = createHttpClient({ logger: silent });
    const client = createByteRoverClient({
      http,
      session: { sessionKey: async () => ready.sessionKey },
      config: ready.clientConfig,
      logger: silent,
    });
    dir = mkdtempSync(join(tmpdir(), 'claw-responsive-'));
    project = (await tempProject(true)).project;
    memory = await LocalMemory.open({ projectRoot: project, watch: false });
    bridge = await createBridge({
      config: parseBridgeConfig({
        store: { kind: 'sqlite', path: join(dir, 'bridge.db'), durability: 'normal' },
        webhooks: { byteroverSecrets: [BRV_SECRET] },
      }),
      dataDir: dir,
      worker: false,
      logger: silent,
    });
    mountSkillInvoke(bridge, {
      // A large hostile space takes a while to pull on a loaded machine: the deadline is not the subject here.
      config: SkillConfigSchema.parse({ apiKeys: [KEY], actionTimeoutMs: 600_000, idempotencyLockMs: 700_000 }),
      actions: createSkillActions({
        memory,
        sync: memory.sync(client, { teamId: ready.teamId, spaceId: ready.spaceId }),
      }),
      logger: silent,
    });
    // What `serve` mounts (lib/cli/commands/serve-run.ts): the process answers.
    bridge.server.route('GET', '/healthz', (_req, res) => sendJson(res, 200, { ok: true }));
    url = (await bridge.listen(0, '127.0.0.1')).url;
  }, 120_000);
  afterAll(async () => {
    if (space && space.exitCode === null) {
      space.stdin.end();
      await once(space, 'exit');
    }
    await bridge?.close();
    await memory?.close();
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
    rmSync(project, { recursive: true, force: true, maxRetries: 5 });
  });

  /** Samples /healthz (and every 4th time a signed webhook) back to back until `work` settles. */
  async function sampleDuring(work: Promise<unknown>): Promise<{ health: number[]; webhook: number[] }> {
    let done = false;
    const settled = work.then(
      () => (done = true),
      () => (done = true),
    );
    const health: number[] = [];
    const webhook: number[] = [];
    for (let n = 0; !done || health.length < 30; n++) {
      let t = performance.now();
      const r = await fetch(`${url}/healthz`);
      await r.arrayBuffer();
      health.push(performance.now() - t);
      expect(r.status).toBe(200);
      if (n % 4 === 0) {
        const body = Buffer.from(JSON.stringify({ event: 'memory.updated', id: randomBytes(8).toString('hex') }));
        const sig = createHmac('sha256', BRV_SECRET).update(body).digest('hex');
        t = performance.now();
        const w = await fetch(`${url}/webhooks/byterover`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-byterover-signature': `sha256=${sig}` },
          body,
        });
        await w.arrayBuffer();
        webhook.push(performance.now() - t);
        expect(w.status).toBeLessThan(300);
      }
    }
    await settled;
    return { health, webhook };
  }

  it('while 1,000,000-character hostile notes are curated through /skill/invoke', async () => {
    // The same sampling with nothing running first: the machine's own figure, printed beside.
    const idle = await sampleDuring(Promise.resolve());
    const health: number[] = [];
    const webhook: number[] = [];
    for (let round = 0; round < 4; round++) {
      const curate = fetch(`${url}/skill/invoke`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'curate', payload: { title: `Hostile ${round}`, content: hostileNote() } }),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
      const got = await sampleDuring(curate);
      health.push(...got.health);
      webhook.push(...got.webhook);
      const c = await curate;
      expect(c.status, JSON.stringify(c.body).slice(0, 400)).toBe(200);
    }
    const fmt = (xs: number[]): string =>
      `p50 ${percentile(xs, 50).toFixed(1)} p95 ${percentile(xs, 95).toFixed(1)} max ${Math.max(...xs).toFixed(1)} ms (${xs.length} samples)`;
    console.log(
      `idle: /healthz ${fmt(idle.health)}, webhook ${fmt(idle.webhook)}; during 4 hostile 1 MB curates: /healthz ${fmt(health)}, webhook ${fmt(webhook)}`,
    );
    expect(percentile(health, 95)).toBeLessThanOrEqual(100);
    expect(percentile(webhook, 95)).toBeLessThanOrEqual(100);
  }, 300_000);

  it('while a hostile space (~16 MB snapshot: 26 large notes of unclosed markdown, bad entries) is pulled through /skill/invoke', async () => {
    const idle = await sampleDuring(Promise.resolve());
    const health: number[] = [];
    const webhook: number[] = [];
    for (let round = 0; round < 2; round++) {
      if (round > 0) {
        // Every hostile note changed remotely: the second pull rewrites and reindexes them all.
        space.stdin.write(`commit ${round}\n`);
        expect((await spaceLines.next()).value).toBe(`committed ${round}`);
      }
      const pull = fetch(`${url}/skill/invoke`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'pull' }),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, any> }));
      const got = await sampleDuring(pull);
      health.push(...got.health);
      webhook.push(...got.webhook);
      const p = await pull;
      expect(p.status, JSON.stringify(p.body).slice(0, 400)).toBe(200);
      const result = p.body.result as { added: string[]; updated: string[]; failed: Array<{ code: string }> };
      expect(round === 0 ? result.added.length : result.updated.length).toBe(27);
      expect(result.failed.map((f) => f.code).sort()).toEqual([
        'MEMORY_PULL_NAME_TOO_LONG',
        'MEMORY_PULL_PATH_CONFLICT',
      ]);
    }
    const found = await fetch(`${url}/skill/invoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'search', payload: { query: 'Hostile' } }),
    });
    expect(found.status).toBe(200);
    const fmt = (xs: number[]): string =>
      `p50 ${percentile(xs, 50).toFixed(1)} p95 ${percentile(xs, 95).toFixed(1)} max ${Math.max(...xs).toFixed(1)} ms (${xs.length} samples)`;
    console.log(
      `idle: /healthz ${fmt(idle.health)}, webhook ${fmt(idle.webhook)}; during 2 hostile-space pulls: /healthz ${fmt(health)}, webhook ${fmt(webhook)}`,
    );
    expect(percentile(health, 95)).toBeLessThanOrEqual(100);
    expect(percentile(webhook, 95)).toBeLessThanOrEqual(100);
  }, 600_000);
});
