/** oidc-provider's own in-memory adapter (no types ship for this deep import). */
declare module 'oidc-provider/lib/adapters/memory_adapter.js' {
  import type { Adapter } from 'oidc-provider';
  /** A MemoryAdapter class; passing it explicitly (instead of the default) skips the quick-start warning. */
  export function createMemoryAdapter(clockTolerance?: number): new (name: string) => Adapter;
}
