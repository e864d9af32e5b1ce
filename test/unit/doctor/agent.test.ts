/**
 * The agent check when no handshake happens (nothing listens at the gateway URL): the failure is
 * named with the agent link's code and next step, and the evidence still carries our side's build
 * (package version and native revision) — it is known without a gateway, and a user comparing
 * builds needs it most when the connection fails.
 */
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkAgent } from '../../../lib/doctor/checks/agent.js';
import { createLogger } from '../../../lib/log/index.js';

const dir = mkdtempSync(join(tmpdir(), 'doctor-agent-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A loopback port that was free a moment ago (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('doctor agent check without a gateway', () => {
  it('names the connection failure and still shows our build', async () => {
    const version = (
      JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
    ).version;
    const out = await checkAgent({
      url: `ws://127.0.0.1:${await closedPort()}`,
      env: {},
      dataDir: dir,
      logger: createLogger({ level: 'silent' }),
      timeoutMs: 5_000,
    });
    expect(out).toMatchObject({ status: 'fail', code: 'AGENT_CONNECT_FAILED' });
    expect(out.next[0]).toMatch(/^Nothing listens there: start the gateway/);
    const ourBuild = out.evidence.find((e) => e.label === 'our build')?.value;
    expect(ourBuild).toMatch(new RegExp(`^claw-byterover ${version.replace(/\./g, '\\.')}, native build \\S+$`));
    expect(out.evidence.find((e) => e.label === 'sent vs echoed')?.value).toBe('(no answer to compare)');
  });
});
