/**
 * Single-flight with one follower: a call resolves when a run of `fn` that *started after the call*
 * finishes. Calls made during a run share the one run queued after it, so a burst of N calls costs at
 * most two runs. Used for fsyncs (a flush covers every write made before it started) and for memory
 * pulls (a pull sees every change received before it started).
 */
export function coalesce(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const start = (): Promise<void> =>
    (running = (async () => fn())().finally(() => {
      // With a follower queued, `running` stays set until it starts, so no call slips in between.
      if (!queued) running = undefined;
    }));
  return () => {
    if (!running) return start();
    queued ??= running
      .catch(() => undefined)
      .then(() => {
        queued = undefined;
        return start();
      });
    return queued;
  };
}
