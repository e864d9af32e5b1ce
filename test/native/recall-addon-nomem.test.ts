/**
 * The Node-API face never aborts its host either (issue 13): an allocation failure inside a recall
 * call becomes a JavaScript error with code RECALL_NO_MEMORY, and the index keeps answering. A child
 * Node process loads the real build/Release addon, builds a 50 MB document, then its address space
 * is capped (prlimit --as, a little above what it uses) and it upserts the document: the engine's
 * allocations fail. Before, the core had no exceptions and the N-API entry points no guard: the
 * process terminated.
 */
import { execFileSync, spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { missingTools } from '../helpers/tools.js';
import { ensureNativeBuilt } from './helpers.js';
import { hangGuard } from '../helpers/timeout.js';

const CHILD = `
const addon = require(process.argv[1]);
const { readFileSync } = require('node:fs');
const ix = new addon.RecallIndex({ maxDocumentBytes: 512 * 1024 * 1024 });
const words = [];
for (let i = 0; i < 200000; i++) words.push('w' + i.toString(36));
const doc = words.join(' ').repeat(40);
ix.upsert('warm.md', 'hello world');
const vm = Number(/VmSize:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
process.stdout.write('ready ' + vm + '\\n');
process.stdin.once('data', () => {
  const out = {};
  try { ix.upsert('big.md', doc); out.added = true; } catch (e) { out.code = e.code; out.message = e.message; }
  try { out.after = ix.query('hello', 1).map((h) => h.path); } catch (e) { out.queryError = e.code; }
  process.stdout.write(JSON.stringify(out) + '\\n');
  process.exit(0);
});
`;

describe.skipIf(missingTools(['prlimit'], 'apt-get install -y util-linux'))('allocation failure through Node-API', () => {
  it('upsert under a capped address space: RECALL_NO_MEMORY, the process and the index survive', async () => {
    const a = await ensureNativeBuilt();
    const child = spawn(process.execPath, ['-e', CHILD, a.node], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    let capped = false;
    const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /ready (\d+)\n/.exec(out);
        if (m && !capped) {
          capped = true;
          // 40 MiB above what it uses now: the 50 MB document's index cannot fit.
          execFileSync('prlimit', ['--pid', String(child.pid), `--as=${(Number(m[1]) + 40 * 1024) * 1024}`]);
          child.stdin.write('go\n');
        }
      });
      child.on('exit', (code, signal) => resolve({ code, signal, out }));
    });
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    const line = result.out.split('\n').find((l) => l.startsWith('{')) ?? '{}';
    const r = JSON.parse(line) as { added?: boolean; code?: string; after?: string[] };
    expect(r.added, line).toBeUndefined();
    expect(r.code, line).toBe('RECALL_NO_MEMORY');
    expect(r.after).toEqual(['warm.md']);
  }, hangGuard(300_000));
});
