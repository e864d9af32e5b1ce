/**
 * The Prometheus side: the SDK's PrometheusExporter as a pull reader (its own server never started)
 * serialized by its PrometheusSerializer and served on the bridge's own server (`GET /metrics`), plus
 * a strict reader of the text exposition format used by `probeMetricsEndpoint`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import type { Logger } from '../log/index.js';

/** Prometheus text exposition format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function createPrometheusReader(): PrometheusExporter {
  return new PrometheusExporter({ preventServerStart: true });
}

/** Collects now and renders the Prometheus text. */
export async function scrapeText(
  reader: PrometheusExporter,
  serializer: PrometheusSerializer,
  log?: Logger,
): Promise<string> {
  const { resourceMetrics, errors } = await reader.collect();
  if (errors.length > 0)
    log?.warn(
      { event: 'telemetry.collect_errors', errors: errors.map((e) => String((e as Error)?.message ?? e)).slice(0, 5) },
      'telemetry: some metric callbacks failed during collection',
    );
  return serializer.serialize(resourceMetrics);
}

/** A route handler for the bridge's HttpServer: 200 text/plain 0.0.4, or 500 when collection fails. */
export function metricsRouteHandler(
  render: () => Promise<string>,
  log?: Logger,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    let text: string;
    try {
      text = await render();
    } catch (e) {
      log?.error(
        { event: 'telemetry.scrape_failed', err: (e as Error).message },
        'telemetry: /metrics collection failed',
      );
      const body = `# collection failed: ${(e as Error).message}\n`;
      res.writeHead(500, {
        'content-type': PROMETHEUS_CONTENT_TYPE,
        'content-length': Buffer.byteLength(body),
        'cache-control': 'no-store',
      });
      res.end(body);
      return;
    }
    res.writeHead(200, {
      'content-type': PROMETHEUS_CONTENT_TYPE,
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : text);
  };
}

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromParse {
  samples: PromSample[];
  /** Metric family name → type from `# TYPE`. */
  types: Map<string, string>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Parses the text exposition format strictly; throws `Error('line N: …')` at the first bad line. */
export function parsePrometheusText(text: string): PromParse {
  const samples: PromSample[] = [];
  const types = new Map<string, string>();
  const lines = text.split('\n');
  lines.forEach((raw, idx) => {
    const line = raw.trim();
    const at = (msg: string): Error => new Error(`line ${idx + 1}: ${msg}: ${JSON.stringify(line.slice(0, 120))}`);
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
      if (!m) return; // other comments are allowed
      if (!NAME.test(m[2] as string)) throw at('bad metric name in comment');
      if (m[1] === 'TYPE') {
        if (!TYPES.has((m[3] ?? '').trim())) throw at('unknown metric type');
        types.set(m[2] as string, (m[3] as string).trim());
      }
      return;
    }
    let i = 0;
    while (i < line.length && /[a-zA-Z0-9_:]/.test(line[i] as string)) i++;
    const name = line.slice(0, i);
    if (!NAME.test(name)) throw at('expected a metric name');
    const labels: Record<string, string> = {};
    if (line[i] === '{') {
      i++;
      for (;;) {
        while (line[i] === ' ' || line[i] === ',') i++;
        if (line[i] === '}') {
          i++;
          break;
        }
        let j = i;
        while (j < line.length && /[a-zA-Z0-9_]/.test(line[j] as string)) j++;
        const ln = line.slice(i, j);
        if (!LABEL_NAME.test(ln) || line[j] !== '=' || line[j + 1] !== '"') throw at('expected label="value"');
        i = j + 2;
        let v = '';
        for (;;) {
          if (i >= line.length) throw at('unterminated label value');
          const c = line[i] as string;
          if (c === '\\') {
            const n = line[i + 1];
            v += n === 'n' ? '\n' : (n ?? '');
            i += 2;
            continue;
          }
          if (c === '"') {
            i++;
            break;
          }
          v += c;
          i++;
        }
        labels[ln] = v;
      }
    }
    const rest = line.slice(i).trim().split(/\s+/);
    if (rest.length < 1 || rest.length > 2 || rest[0] === '') throw at('expected a value (and an optional timestamp)');
    const valueText = rest[0] as string;
    const value =
      valueText === '+Inf'
        ? Infinity
        : valueText === '-Inf'
          ? -Infinity
          : valueText === 'NaN'
            ? NaN
            : Number(valueText);
    if (Number.isNaN(value) && valueText !== 'NaN') throw at('value is not a number');
    if (rest[1] !== undefined && !/^-?\d+$/.test(rest[1])) throw at('timestamp is not an integer');
    samples.push({ name, labels, value });
  });
  return { samples, types };
}
