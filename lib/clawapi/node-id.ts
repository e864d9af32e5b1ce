/**
 * The node's stable id: generated once (`cb-` + 20 random hex digits) and kept in
 * `<dataDir>/clawapi-node-id`, so every restart registers the same node (POST /v1/nodes is
 * idempotent on it). Creation uses an exclusive create, so two processes starting at once agree.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ClawError } from '../errors.js';
import { NODE_ID_PATTERN } from './types.js';
import { ClawApiErrorCode } from './errors.js';

export const NODE_ID_FILE = 'clawapi-node-id';

export async function loadOrCreateNodeId(dataDir: string): Promise<string> {
  const path = join(dataDir, NODE_ID_FILE);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const candidate = `cb-${randomBytes(10).toString('hex')}`;
  try {
    await writeFile(path, `${candidate}\n`, { flag: 'wx', mode: 0o600 });
    return candidate;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  // Another process may have created it a moment ago and be writing it: read until it is complete.
  for (let i = 0; i < 50; i++) {
    const text = (await readFile(path, 'utf8')).trim();
    if (NODE_ID_PATTERN.test(text)) return text;
    if (text !== '') {
      throw new ClawError(
        ClawApiErrorCode.CONFIG_INVALID,
        `${path} should hold a node id (letters, digits, ".", "_", "-"), found ${text.length} other characters.`,
        {
          hint: `delete ${path} to generate a new id, or set bridge.clawApi.nodeId`,
        },
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new ClawError(ClawApiErrorCode.CONFIG_INVALID, `${path} stayed empty.`, {
    hint: `delete ${path} to generate a new id, or set bridge.clawApi.nodeId`,
  });
}
