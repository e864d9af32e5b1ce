/**
 * Group commit: many concurrent callers each `submit` one item and get their own result, while the
 * items travel to the store in batches, one transaction (one fsync) per batch.
 *
 * A batch is flushed when it reaches `maxBatch` items, or `maxDelayMs` after its first item (0: at the
 * next turn of the event loop, after the I/O callbacks already queued have run). At most `maxInFlight`
 * flushes run at once; items arriving while they run wait and form the next batch, so batches grow by
 * themselves with load (while one fsync runs the next batch fills) and stay at one item when idle.
 * A failed flush rejects the promises of that batch only.
 */
export interface BatcherOptions {
  maxBatch?: number;
  maxDelayMs?: number;
  maxInFlight?: number;
}

export interface BatcherStats {
  batches: number;
  items: number;
  largestBatch: number;
}

interface Pending<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

export class Batcher<T, R> {
  private readonly maxBatch: number;
  private readonly maxDelayMs: number;
  private readonly maxInFlight: number;
  private queue: Array<Pending<T, R>> = [];
  private inFlight = 0;
  private scheduled = false;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private idleWaiters: Array<() => void> = [];
  readonly stats: BatcherStats = { batches: 0, items: 0, largestBatch: 0 };

  constructor(
    private readonly flushFn: (items: T[]) => Promise<R[]>,
    opts: BatcherOptions = {},
  ) {
    this.maxBatch = Math.max(1, opts.maxBatch ?? 512);
    this.maxDelayMs = Math.max(0, opts.maxDelayMs ?? 0);
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 1);
  }

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.flushNow();
      else this.schedule();
    });
  }

  /** Items waiting for a flush plus flushes running. */
  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  /** Resolves when nothing is queued or in flight (flushing what is queued now). */
  drain(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    this.flushNow();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const fire = (): void => {
      this.scheduled = false;
      this.timer = undefined;
      this.flushNow();
    };
    this.timer = this.maxDelayMs === 0 ? setImmediate(fire) : setTimeout(fire, this.maxDelayMs);
  }

  private flushNow(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.run(batch);
    }
    if (this.queue.length === 0 && this.timer !== undefined) {
      if (this.maxDelayMs === 0) clearImmediate(this.timer as NodeJS.Immediate);
      else clearTimeout(this.timer as NodeJS.Timeout);
      this.timer = undefined;
      this.scheduled = false;
    }
  }

  private run(batch: Array<Pending<T, R>>): void {
    this.inFlight++;
    this.stats.batches++;
    this.stats.items += batch.length;
    if (batch.length > this.stats.largestBatch) this.stats.largestBatch = batch.length;
    let p: Promise<R[]>;
    try {
      p = this.flushFn(batch.map((b) => b.item));
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      (results) => {
        if (results.length !== batch.length) {
          const err = new Error(`batch flush returned ${results.length} results for ${batch.length} items`);
          for (const b of batch) b.reject(err);
          return;
        }
        batch.forEach((b, i) => b.resolve(results[i] as R));
      },
      (e: unknown) => {
        for (const b of batch) b.reject(e);
      },
    ).finally(() => {
      this.inFlight--;
      if (this.queue.length > 0) this.flushNow();
      if (this.queue.length === 0 && this.inFlight === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    });
  }
}
