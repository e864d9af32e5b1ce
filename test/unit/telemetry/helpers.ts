/**
 * Reads a Telemetry's current Prometheus text (the real SDK collection + serializer) back into
 * samples, so unit tests assert on what a scraper would see.
 */
import { parsePrometheusText, type PromSample, type Telemetry } from '../../../lib/telemetry/index.js';

export async function samples(t: Telemetry, name: string, labels: Record<string, string> = {}): Promise<PromSample[]> {
  const { samples: all } = parsePrometheusText(await t.scrape());
  return all.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of the one sample matching, or undefined. */
export async function value(
  t: Telemetry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const s = await samples(t, name, labels);
  if (s.length > 1)
    throw new Error(
      `${s.length} samples of ${name} match ${JSON.stringify(labels)}: ${JSON.stringify(s.map((x) => x.labels))}`,
    );
  return s[0]?.value;
}
