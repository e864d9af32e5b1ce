/**
 * Bounded label values. Every attribute value that comes from outside a fixed list (endpoint labels,
 * error codes, skill actions and outcomes) passes through a LabelGuard: values that look like
 * identifiers are kept up to `max` distinct ones per label; anything else, and every value after the
 * limit, becomes `other`. So no request id, user id, path segment or free text ever becomes a series.
 */
export const OTHER = 'other';

/** Identifier-like: letters, digits and `._:-/`, at most 80 characters. */
const SAFE = /^[A-Za-z0-9_.:\-/]{1,80}$/;

export class LabelGuard {
  private readonly seen = new Set<string>();
  constructor(
    readonly max: number,
    private readonly allowed?: ReadonlySet<string>,
  ) {}

  value(v: string | undefined | null, missing = 'none'): string {
    if (v === undefined || v === null || v === '') return missing;
    if (this.allowed) return this.allowed.has(v) ? v : OTHER;
    if (!SAFE.test(v)) return OTHER;
    if (this.seen.has(v)) return v;
    if (this.seen.size >= this.max) return OTHER;
    this.seen.add(v);
    return v;
  }

  get size(): number {
    return this.seen.size;
  }
}
