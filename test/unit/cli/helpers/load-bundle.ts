/**
 * `node --import tsx load-bundle.ts <bundle> <cache dir>`: loads the bundle through
 * lib/cli/code-cache.ts in a fresh process (V8 keeps compiled scripts per process, so a second load
 * in one process would not consult the cache), saves the cache unless V8 accepted it, and prints
 * `{ cache, answer, saved }` as JSON. The test's environment variables pass through.
 */
import { loadBundle } from '../../../../lib/cli/code-cache.js';

const [file, dir] = process.argv.slice(2) as [string, string];
const loaded = loadBundle<{ answer: number }>(file, {
  profile: 'test',
  env: { ...process.env, CLAW_BYTEROVER_CACHE_DIR: dir },
  saveAtExit: false,
});
if (!loaded) throw new Error(`no bundle at ${file}`);
const saved = loaded.cache === 'accepted' ? undefined : loaded.saveCache();
process.stdout.write(`${JSON.stringify({ cache: loaded.cache, answer: loaded.exports.answer, saved })}\n`);
