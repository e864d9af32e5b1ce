/**
 * lib/bridge/skill: `POST /skill/invoke` — bearer API keys (auth.ts), request schemas (schemas.ts),
 * Stripe-style idempotency over the bridge store (route.ts, canonical.ts), error mapping (errors.ts),
 * and the actions over lib/memory and lib/byterover (actions.ts). mount.ts plugs it into a bridge.
 */
export * from './config.js';
export * from './auth.js';
export * from './canonical.js';
export * from './schemas.js';
export * from './actions.js';
export * from './errors.js';
export * from './route.js';
export * from './mount.js';
