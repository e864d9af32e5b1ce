/**
 * lib/bridge: the companion service beside the agent.
 * - server.ts: node:http + exact-path router; routes read their raw body themselves (readBody/readJson).
 * - store/: the one storage interface (state + queue) and its backends (SQLite, PostgreSQL, Redis/BullMQ).
 * - queue/: group commit, retry schedule, worker.
 * - webhooks/: verification over raw bytes, the intake route, handlers by event type.
 * - skill/: POST /skill/invoke (bearer API keys, idempotency); oauth/: the web login and its session.
 * - service.ts: createBridge() assembles them; config.ts: the bridge settings schema.
 * - compose.ts: composeBridge(), the whole service `serve` runs (web login, memory, skill invoke, the
 *   memory-event handlers, claw-api registration) around createBridge().
 */
export * from './config.js';
export * from './server.js';
export * from './service.js';
export * from './compose.js';
export * from './store/index.js';
export * from './queue/index.js';
export * from './webhooks/index.js';
export * from './skill/index.js';
