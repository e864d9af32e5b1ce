/**
 * Finding the native recall engine.
 *
 * The C++ engine (native/src/recall/) reaches TypeScript through lib/native.ts, which exports
 *
 *     export function createRecallIndex(): RecallIndex   // lib/memory/types.ts
 *
 * returning a fresh, empty index backed by the addon. This module imports lib/native.ts lazily, so
 * lib/memory loads (and the `brv` backend works) on machines where the addon is not built; callers
 * get the reason — and the loader's own error (NATIVE_LOAD_FAILED lists every path it tried) —
 * instead of an engine.
 *
 * `engineUnavailable` is the one place that says "no recall engine": every opener (lib/memory/open.ts,
 * LocalMemory.open) throws the error it builds, with the loader's error as its `cause`.
 */
import { ClawError } from '../errors.js';
import type { RecallIndex, RecallIndexFactory } from './types.js';
import { MemoryErrorCode } from './errors.js';

export interface NativeRecall {
  factory: RecallIndexFactory | undefined;
  /** Why there is no factory (undefined when there is one): one line, for logs and messages. */
  reason: string | undefined;
  /**
   * The error that stopped the engine from loading (undefined when there is a factory): lib/native.ts's
   * ClawError NATIVE_LOAD_FAILED (its message and `details.tried` list every path tried), or the
   * import error. Travels as the `cause` of MEMORY_ENGINE_UNAVAILABLE.
   */
  error: unknown;
}

/** The hint of every MEMORY_ENGINE_UNAVAILABLE (one wording for the CLI, the plugin, the bridge and doctor). */
export const ENGINE_UNAVAILABLE_HINT =
  "Reinstall claw-byterover so its prebuilt addon is present (or build it: `npm run build:native`), or use ByteRover's CLI as the engine (`npm install -g byterover-cli`, backend brv); `claw-byterover doctor` shows why the addon did not load.";

/**
 * The one "no recall engine" error. `expected` names what was asked for ("the native recall engine",
 * "a recall engine"); `found` says what was found instead. The native loader's error is the cause.
 */
export function engineUnavailable(native: NativeRecall, expected: string, found?: string): ClawError {
  return new ClawError(
    MemoryErrorCode.ENGINE_UNAVAILABLE,
    `expected ${expected}, found none: ${found ?? native.reason ?? 'unknown reason'}`,
    {
      hint: ENGINE_UNAVAILABLE_HINT,
      ...(native.error !== undefined ? { cause: native.error } : {}),
    },
  );
}

let cached: Promise<NativeRecall> | undefined;

export function loadNativeRecall(): Promise<NativeRecall> {
  cached ??= (async (): Promise<NativeRecall> => {
    let mod: { createRecallIndex?: unknown };
    try {
      mod = (await import('../native.js')) as { createRecallIndex?: unknown };
    } catch (e) {
      return { factory: undefined, reason: `loading lib/native.ts failed: ${(e as Error).message}`, error: e };
    }
    const create = mod.createRecallIndex;
    if (typeof create !== 'function') {
      const reason = 'lib/native.ts does not export createRecallIndex()';
      return { factory: undefined, reason, error: new Error(reason) };
    }
    // Probe once: lib/native.ts loads the addon lazily, so a missing or outdated binary shows here.
    try {
      (create as () => RecallIndex)().close?.();
    } catch (e) {
      const err = e as { code?: string; message?: string };
      return {
        factory: undefined,
        reason: `the native addon did not load${err.code ? ` (${err.code})` : ''}: ${err.message ?? String(e)}`,
        error: e,
      };
    }
    return { factory: () => (create as () => RecallIndex)(), reason: undefined, error: undefined };
  })();
  return cached;
}
