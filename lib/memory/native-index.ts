/**
 * Finding the native recall engine.
 *
 * The C++ engine (native/src/recall/) reaches TypeScript through lib/native.ts, which must export
 *
 *     export function createRecallIndex(): RecallIndex   // lib/memory/types.ts
 *
 * returning a fresh, empty index backed by the addon. This module imports lib/native.ts lazily, so
 * lib/memory loads (and the `brv` backend works) on machines where the addon is not built; callers
 * get the reason instead of an engine. NATIVE_MODULE is the one line to change if the binding lives
 * elsewhere.
 */
import type { RecallIndex, RecallIndexFactory } from './types.js';

const NATIVE_MODULE = '../native.js';

export interface NativeRecall {
  factory: RecallIndexFactory | undefined;
  /** Why there is no factory (undefined when there is one). */
  reason: string | undefined;
}

let cached: Promise<NativeRecall> | undefined;

export function loadNativeRecall(): Promise<NativeRecall> {
  cached ??= (async (): Promise<NativeRecall> => {
    let mod: { createRecallIndex?: unknown };
    try {
      mod = (await import(NATIVE_MODULE)) as { createRecallIndex?: unknown };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const missing = err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('native');
      return {
        factory: undefined,
        reason: missing
          ? 'lib/native.ts is not there yet (the native binding has not landed)'
          : `loading lib/native.ts failed: ${err.message}`,
      };
    }
    const create = mod.createRecallIndex;
    if (typeof create !== 'function') {
      return { factory: undefined, reason: 'lib/native.ts does not export createRecallIndex() yet' };
    }
    // Probe once: lib/native.ts loads the addon lazily, so a missing or outdated binary shows here.
    try {
      (create as () => RecallIndex)().close?.();
    } catch (e) {
      const err = e as { code?: string; message?: string };
      return {
        factory: undefined,
        reason: `the native addon did not load${err.code ? ` (${err.code})` : ''}: ${err.message ?? String(e)}`,
      };
    }
    return { factory: () => (create as () => RecallIndex)(), reason: undefined };
  })();
  return cached;
}
