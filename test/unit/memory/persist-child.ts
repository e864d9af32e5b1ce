/**
 * Child of persist.test.ts: opens LocalMemory on argv[2] (the persisted index on), answers the
 * queries of argv[3] (JSON), prints {persist, reads, results} as one JSON line and exits.
 */
import { LocalMemory } from '../../../lib/memory/local.js';
import { logger } from '../../../lib/log/index.js';

const [project, queriesJson] = process.argv.slice(2) as [string, string];
const queries = JSON.parse(queriesJson) as string[];
const mem = await LocalMemory.open({
  projectRoot: project,
  watch: false,
  logger: logger.child({}, { level: 'error' }),
});
const results: string[][] = [];
for (const q of queries) results.push((await mem.search(q, { k: 10 })).map((h) => `${h.path} ${h.score.toFixed(9)}`));
const out = { persist: mem.persist, reads: mem.tree.reads, results };
await mem.close();
process.stdout.write(`${JSON.stringify(out)}\n`);
