/**
 * The bridge stores' error codes (SQLite, PostgreSQL, Redis/BullMQ): every one a ClawError whose
 * message names the store and what failed, and whose hint is the next step.
 */
export const StoreErrorCode = {
  OPEN_FAILED: 'STORE_OPEN_FAILED',
  CLOSED: 'STORE_CLOSED',
  BUSY: 'STORE_BUSY',
  IO_FAILED: 'STORE_IO_FAILED',
  FAILED: 'STORE_FAILED',
  UNAVAILABLE: 'STORE_UNAVAILABLE',
  QUEUE_UNAVAILABLE: 'QUEUE_UNAVAILABLE',
} as const;
export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];
