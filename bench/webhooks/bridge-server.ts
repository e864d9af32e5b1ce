/**
 * bench/webhooks candidate: the real bridge (createBridge) in its own process, configured from the
 * BRIDGE_BENCH env var (JSON: {config, dataDir, worker}), with `GET /status` for the bench to read
 * counters. Reports its port over IPC; closes the bridge and exits with the parent.
 */
import { createBridge, parseBridgeConfig, sendJson } from '../../lib/bridge/index.js';
import { createLogger } from '../../lib/log/index.js';

const spec = JSON.parse(process.env.BRIDGE_BENCH ?? '{}') as { config: unknown; dataDir: string; worker: boolean };
const bridge = await createBridge({
  config: parseBridgeConfig(spec.config),
  dataDir: spec.dataDir,
  worker: spec.worker,
  logger: createLogger({ level: 'error', name: 'bench-bridge' }),
});
bridge.server.route('GET', '/status', async (_req, res) => sendJson(res, 200, await bridge.status()));
const { port } = await bridge.listen(0, '127.0.0.1');
process.send?.({ port });
process.on('disconnect', () => {
  void bridge.close().finally(() => process.exit(0));
});
