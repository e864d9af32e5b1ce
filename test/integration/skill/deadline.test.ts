/**
 * The per-request deadline of /skill/invoke on a mutating action that does not observe its signal
 * (curate: one atomic note write and its outbox entry). Its write is held on a gate past the 100 ms
 * deadline: the request answers 503 SKILL_ACTION_TIMEOUT, a retry with the same Idempotency-Key
 * gets 409 in progress while the write is held, and once it completes the retry gets the real 200
 * answer (replayed) — one note on disk, whole, and one outbox entry; never a 503 saved for work done,
 * never a second note from a retry.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBridge, parseBridgeConfig, type Bridge } from '../../../lib/bridge/index.js';
import { createSkillActions, mountSkillInvoke, SkillConfigSchema } from '../../../lib/bridge/skill/index.js';
import { createLogger } from '../../../lib/log/index.js';
import { LocalMemory } from '../../../lib/memory/index.js';

const KEY = randomBytes(24).toString('hex');
const silent = createLogger({ level: 'silent' });

describe('/skill/invoke deadline on curate', () => {
  let dir: string;
  let bridge: Bridge;
  let memory: LocalMemory;
  let url: string;
  let release: () => void = () => undefined;
  let entered: Promise<void>;
  let enter: () => void = () => undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'claw-deadline-'));
    memory = await LocalMemory.open({ projectRoot: dir, watch: false, logger: silent });
    bridge = await createBridge({
      config: parseBridgeConfig({ store: { kind: 'sqlite', path: join(dir, 'bridge.db'), durability: 'normal' } }),
      dataDir: dir,
      worker: false,
      logger: silent,
    });
    const gate = new Promise<void>((res) => (release = res));
    entered = new Promise<void>((res) => (enter = res));
    // The real curate, started only once the gate opens (the deadline has passed by then).
    const held: Parameters<typeof createSkillActions>[0]['memory'] = {
      search: (...a) => memory.search(...a),
      recall: (...a) => memory.recall(...a),
      curate: async (note, opts) => {
        enter();
        await gate;
        return memory.curate(note, opts);
      },
    };
    mountSkillInvoke(bridge, {
      config: SkillConfigSchema.parse({ apiKeys: [KEY], actionTimeoutMs: 100, idempotencyLockMs: 60_000 }),
      actions: createSkillActions({ memory: held }),
      logger: silent,
    });
    url = (await bridge.listen(0, '127.0.0.1')).url;
  });
  afterAll(async () => {
    release();
    await bridge?.close();
    await memory?.close();
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  const invoke = async (body: unknown) => {
    const r = await fetch(`${url}/skill/invoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'idempotency-key': 'slow-1' },
      body: JSON.stringify(body),
    });
    return { status: r.status, replayed: r.headers.get('idempotent-replayed'), json: (await r.json()) as any };
  };

  it('answers 503, keeps the key while the write runs, then holds the real answer; one note', async () => {
    const body = { action: 'curate', payload: { title: 'Slow note', content: 'Written after the deadline.' } };
    const first = await invoke(body);
    await entered;
    expect(first.status).toBe(503);
    expect(first.json).toMatchObject({
      code: 'SKILL_ACTION_TIMEOUT',
      hint: expect.stringContaining('same Idempotency-Key'),
    });
    const during = await invoke(body);
    expect(during.status).toBe(409);
    expect(during.json.code).toBe('SKILL_IDEMPOTENCY_IN_PROGRESS');

    release();
    let after = await invoke(body);
    for (let i = 0; after.status === 409 && i < 500; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = await invoke(body);
    }
    expect(after.status).toBe(200);
    expect(after.replayed).toBe('true');
    expect(after.json.result).toMatchObject({ status: 'written' });
    const path = after.json.result.path as string;
    const notes = (await readdir(memory.tree.root, { recursive: true })).filter((f) => f.endsWith('.md'));
    expect(notes).toEqual([path]);
    expect(await readFile(join(memory.tree.root, path), 'utf8')).toContain('Written after the deadline.');
    expect((await memory.outbox.list()).map((e) => e.path)).toEqual([path]);
  });
});
