/**
 * Runs one curate or push in a child process and SIGKILLs itself at a named step: a real crash (no
 * finally blocks, no flushing), for the crash-safety tests.
 * argv: <projectRoot> <op: curate|push> <crash point> [json config]
 * config for push: { urls: {iam,cogit,billing,llm,legacy}, sessionKey, teamId, spaceId }
 */
import { createByteRoverClient } from '../../../lib/byterover/index.js';
import { createHttpClient } from '../../../lib/http/index.js';
import { curateNote } from '../../../lib/memory/curate.js';
import type { StepPoint } from '../../../lib/memory/hooks.js';
import { Outbox } from '../../../lib/memory/outbox.js';
import { defaultStateDir, loadSyncState } from '../../../lib/memory/state.js';
import { MemorySync } from '../../../lib/memory/sync.js';
import { ContextTree } from '../../../lib/memory/tree.js';

const [project = '', op = '', point = '', json = '{}'] = process.argv.slice(2);
const hooks = {
  at(p: StepPoint): void {
    if (p === point) process.kill(process.pid, 'SIGKILL');
  },
};
const tree = new ContextTree({ projectRoot: project });
const stateDir = defaultStateDir(project);
const outbox = new Outbox(stateDir);

if (op === 'curate') {
  const note = JSON.parse(json) as { title: string; content: string; tags: string[] };
  await curateNote({ tree, outbox, loadState: () => loadSyncState(stateDir), hooks }, note);
} else if (op === 'push') {
  const cfg = JSON.parse(json) as {
    config: Record<string, string>;
    sessionKey: string;
    teamId: string;
    spaceId: string;
  };
  const http = createHttpClient({});
  const client = createByteRoverClient({
    http,
    session: { sessionKey: async () => cfg.sessionKey },
    config: cfg.config,
  });
  const sync = new MemorySync({ tree, outbox, stateDir, client, teamId: cfg.teamId, spaceId: cfg.spaceId, hooks });
  await sync.push();
  await http.close();
}
process.stdout.write('completed without reaching the crash point\n');
