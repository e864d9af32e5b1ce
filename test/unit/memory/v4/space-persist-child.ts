/**
 * Child of space-persist.test.ts: opens SpaceMemory on the space of argv[2] (JSON: treeRoot,
 * signalsDir, spaceId) with its persisted index in argv[3], answers the test queries, prints
 * {persist, reads, results} as one JSON line and exits.
 */
import { logger } from '../../../../lib/log/index.js';
import { SpaceMemory } from '../../../../lib/memory/v4/memory.js';
import { answersOf, NOW, type Space } from './persist-helpers.js';

const [spaceJson, stateDir] = process.argv.slice(2) as [string, string];
const space = JSON.parse(spaceJson) as Space;
const mem = await SpaceMemory.open({
  space,
  stateDir,
  watch: false,
  now: () => NOW,
  logger: logger.child({}, { level: 'error' }),
});
const results = await answersOf(mem);
const out = { persist: mem.persist, reads: mem.reads, results };
await mem.close();
process.stdout.write(`${JSON.stringify(out)}\n`);
