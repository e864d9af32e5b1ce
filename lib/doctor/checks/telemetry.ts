/**
 * Check 4, "metrics don't appear": the exporter configuration (the standard OTEL_* variables, or
 * `--collector`), a test export to the collector and its answer (lib/telemetry `probeCollector`:
 * auth, format, rejected data points), and whether the bridge's Prometheus endpoint answers
 * (`probeMetricsEndpoint`). Header values are secrets: only their names are shown.
 */
import { probeCollector, probeMetricsEndpoint } from '../../telemetry/index.js';
import { ev, outcome, reportUrl, type Check, type CheckOutcome, type Evidence } from '../types.js';

export interface TelemetryCheckOptions {
  env: NodeJS.ProcessEnv;
  /** `--collector`: an OTLP/HTTP URL: one without a path gets `/v1/metrics` (a base URL), any other path is used as is. */
  collector?: string;
  /** The bridge's base URL (`--bridge`): its /metrics is probed. */
  bridgeUrl?: string;
  /** The bridge's metrics path (telemetry.prometheus.path). */
  metricsPath?: string;
  timeoutMs?: number;
}

/** The exporter settings a user set, values of header variables reduced to their names. */
function exporterConfig(env: NodeJS.ProcessEnv, collector: string | undefined): Evidence[] {
  const out: Evidence[] = [];
  if (collector) out.push(ev('--collector', reportUrl(collector)));
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('OTEL_') || v === undefined || v === '') continue;
    if (/HEADERS$/.test(k)) {
      const names = v
        .split(',')
        .map((kv) => decodeURIComponent(kv.split('=')[0] ?? '').trim())
        .filter(Boolean);
      out.push(ev(k, `headers ${names.join(', ')} (values hidden)`));
    } else out.push(ev(k, /ENDPOINT$/.test(k) ? reportUrl(v) : v));
  }
  out.sort((a, b) => a.label.localeCompare(b.label));
  return out;
}

export async function checkCollector(o: TelemetryCheckOptions): Promise<CheckOutcome> {
  const config = exporterConfig(o.env, o.collector);
  const p = await probeCollector({
    ...(o.collector ? { endpoint: o.collector } : {}),
    env: o.env,
    ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
  });
  const evidence: Evidence[] = [
    ...(config.length ? config : [ev('exporter', 'no OTEL_EXPORTER_OTLP_* variable set')]),
    ...(p.endpoint
      ? [
          ev(
            'test export',
            `${p.protocol ?? 'http/protobuf'} POST ${p.endpoint}${p.status !== undefined ? ` → HTTP ${p.status}` : ''}`,
          ),
        ]
      : []),
    // less `url` and `protocol`: the `test export` line above shows both
    ...Object.entries(p.evidence ?? {})
      .filter(([k]) => !(p.endpoint && (k === 'url' || k === 'protocol')))
      .map(([k, v]) => ev(k, typeof v === 'string' ? v : String(v))),
  ];
  const data = {
    endpoint: p.endpoint ?? null,
    protocol: p.protocol ?? null,
    status: p.status ?? null,
    cause: p.cause ?? null,
  };
  if (p.ok) return outcome('pass', p.message, evidence, [], { data });
  if (p.cause === 'not_configured')
    return outcome(
      'skip',
      p.message,
      evidence,
      p.hint ? [p.hint] : ['Set OTEL_EXPORTER_OTLP_ENDPOINT (or pass --collector <url>) to export metrics.'],
      { data },
    );
  return outcome('fail', p.message, evidence, p.hint ? [p.hint] : [], {
    code: `TELEMETRY_${(p.cause ?? 'other').toUpperCase()}`,
    data,
  });
}

export async function checkMetricsEndpoint(o: TelemetryCheckOptions): Promise<CheckOutcome> {
  if (!o.bridgeUrl)
    return outcome(
      'skip',
      'no bridge URL given',
      [],
      ['To check the Prometheus endpoint of a running bridge: claw-byterover doctor --bridge http://127.0.0.1:8787'],
    );
  const url = new URL(o.metricsPath ?? '/metrics', o.bridgeUrl).toString();
  const p = await probeMetricsEndpoint(url, { ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) });
  const shown = reportUrl(url);
  const evidence = [
    ev('scrape', `GET ${shown}${p.status !== undefined ? ` → HTTP ${p.status}` : ''}`),
    ...(p.series !== undefined ? [ev('series', String(p.series))] : []),
  ];
  const data = { url: shown, status: p.status ?? null, series: p.series ?? null };
  if (p.ok) return outcome('pass', p.message, evidence, [], { data });
  return outcome('fail', p.message, evidence, p.hint ? [p.hint] : [], { code: 'TELEMETRY_METRICS_UNREACHABLE', data });
}

export const collectorCheck: Check<TelemetryCheckOptions> = {
  id: 'telemetry.collector',
  title: 'Telemetry export (OTLP collector)',
  symptom: "metrics don't appear",
  run: checkCollector,
};
export const metricsCheck: Check<TelemetryCheckOptions> = {
  id: 'telemetry.metrics',
  title: 'Bridge /metrics endpoint',
  symptom: "metrics don't appear",
  run: checkMetricsEndpoint,
};
