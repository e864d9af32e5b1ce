/**
 * The bridge service's own error codes (routes, listening). Its parts keep theirs beside them:
 * store/errors.ts, skill/codes.ts, oauth/errors.ts, webhooks (reply codes in route.ts).
 */
export const BridgeErrorCode = {
  ROUTE_TAKEN: 'BRIDGE_ROUTE_TAKEN',
  PORT_IN_USE: 'BRIDGE_PORT_IN_USE',
  LISTEN_FAILED: 'BRIDGE_LISTEN_FAILED',
} as const;
export type BridgeErrorCode = (typeof BridgeErrorCode)[keyof typeof BridgeErrorCode];
