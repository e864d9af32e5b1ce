/**
 * Resolves a space in a child process (for the unreadable-marker test, which needs a user that
 * file permissions apply to). argv: <cwd> <dataDir>. Prints one JSON line: {source, spaceId} or {code}.
 */
import { ClawError } from '../../../../lib/errors.js';
import { resolveSpace } from '../../../../lib/memory/v4/space.js';

const [cwd = '', data = ''] = process.argv.slice(2);
try {
  const r = await resolveSpace(cwd, { dataDir: data });
  process.stdout.write(`${JSON.stringify({ source: r.source, spaceId: r.spaceId })}\n`);
} catch (e) {
  process.stdout.write(`${JSON.stringify({ code: e instanceof ClawError ? e.code : String(e) })}\n`);
}
