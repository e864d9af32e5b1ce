/**
 * Runtime signals of v4 topics, kept outside the tree exactly where and how ByteRover keeps them:
 * `<data>/projects/<space>/state/signals/<topic path>.html.json` =
 * `{accessCount, importance (0–100), maturity: draft|validated|core, recency (0–1), updateCount}`,
 * written atomically (temp + rename) as tab-indented JSON and a newline.
 *
 * ByteRover's rules (its scoring module): a new topic gets importance 50, recency 1, maturity draft,
 * counts 0; a recorded update adds 5 importance (capped at 100), sets recency 1 and counts it; the
 * tier follows importance (≥ 85 core; ≥ 65 promotes a draft to validated; a core under 60 drops to
 * validated; a validated under 35 drops to draft). At query time importance decays by 0.995^days and
 * recency is exp(−days/30), days since the topic's last update.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../fsx.js';

export type Maturity = 'draft' | 'validated' | 'core';

export interface RuntimeSignals {
  accessCount: number;
  importance: number;
  maturity: Maturity;
  recency: number;
  updateCount: number;
}

export function defaultSignals(): RuntimeSignals {
  return { accessCount: 0, importance: 50, maturity: 'draft', recency: 1, updateCount: 0 };
}

export function determineTier(importance: number, current: Maturity): Maturity {
  if (importance >= 85) return 'core';
  if ((importance >= 65 && current === 'draft') || (current === 'core' && importance < 60)) return 'validated';
  if (current === 'validated' && importance < 35) return 'draft';
  return current;
}

export function afterCurateUpdate(s: RuntimeSignals): RuntimeSignals {
  const importance = Math.min(100, s.importance + 5);
  return {
    ...s,
    importance,
    recency: 1,
    updateCount: s.updateCount + 1,
    maturity: determineTier(importance, s.maturity),
  };
}

/** Signals as of `days` after the last update (importance·0.995^days, recency exp(−days/30)). */
export function decayed(s: RuntimeSignals, days: number): RuntimeSignals {
  if (!(days > 0)) return s;
  return { ...s, importance: Math.max(0, s.importance * 0.995 ** days), recency: Math.exp(-days / 30) };
}

/** `<signalsDir>/<path>.html.json` for a topic path (`a/b`, `a/b.html`). */
export function signalFile(signalsDir: string, topicRel: string): string {
  const rel = topicRel.endsWith('.html') ? topicRel : `${topicRel}.html`;
  return join(signalsDir, ...rel.split('/')) + '.json';
}

function num(v: unknown, lo: number, hi: number, dflt: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi ? v : dflt;
}

/** Reads a sidecar (undefined when absent; fields out of range fall back to ByteRover's defaults). */
export async function readSignals(signalsDir: string, topicRel: string): Promise<RuntimeSignals | undefined> {
  let raw: string;
  try {
    raw = await readFile(signalFile(signalsDir, topicRel), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return parseSignals(raw);
}

export function parseSignals(raw: string): RuntimeSignals | undefined {
  let o: Record<string, unknown>;
  try {
    const v = JSON.parse(raw) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    o = v as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const d = defaultSignals();
  return {
    accessCount: Math.trunc(num(o.accessCount, 0, Number.MAX_SAFE_INTEGER, d.accessCount)),
    importance: num(o.importance, 0, 100, d.importance),
    maturity: o.maturity === 'core' || o.maturity === 'validated' || o.maturity === 'draft' ? o.maturity : d.maturity,
    recency: num(o.recency, 0, 1, d.recency),
    updateCount: Math.trunc(num(o.updateCount, 0, Number.MAX_SAFE_INTEGER, d.updateCount)),
  };
}

export async function writeSignals(signalsDir: string, topicRel: string, s: RuntimeSignals): Promise<void> {
  await writeFileAtomic(signalFile(signalsDir, topicRel), `${JSON.stringify(s, null, '\t')}\n`);
}

/** Applies ByteRover's record rule: defaults for a new topic, `afterCurateUpdate` for an update. */
export async function recordSignals(signalsDir: string, topicRel: string, created: boolean): Promise<RuntimeSignals> {
  const current = created ? undefined : await readSignals(signalsDir, topicRel);
  const next = created ? defaultSignals() : afterCurateUpdate(current ?? defaultSignals());
  await writeSignals(signalsDir, topicRel, next);
  return next;
}
