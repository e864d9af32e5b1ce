/** lib/bridge/webhooks: signature verification, the intake route, and handlers by event type. */
export * from './verify.js';
export * from './route.js';
export * from './handlers.js';
