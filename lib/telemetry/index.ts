/**
 * lib/telemetry: one OpenTelemetry meter (`claw-byterover`) for the service, exported over OTLP/HTTP
 * (standard OTEL_* variables) and as Prometheus text on the bridge's `GET /metrics`; plus the probes
 * `claw-byterover doctor` runs when "metrics don't appear". User guide: docs/readme/telemetry.md.
 */
export {
  createTelemetry,
  type InstrumentableBridge,
  type MetricsMountTarget,
  type SkillOutcomeLike,
  type Telemetry,
  type TelemetryOptions,
} from './telemetry.js';
export {
  TelemetryConfigSchema,
  TELEMETRY_ENV_VARS,
  TELEMETRY_SECRET_ENV_VARS,
  TELEMETRY_SECRET_PATHS,
  parseTelemetryConfig,
  resolveOtlp,
  resourceAttributes,
  parseKeyValueList,
  metricsUrlFromBase,
  type OtlpProtocol,
  type OtlpResolution,
  type OtlpSettings,
  type TelemetryConfig,
  type TelemetryConfigInput,
} from './config.js';
export {
  METRICS,
  METER_NAME,
  PROBE_METRIC,
  HTTP_DURATION_BUCKETS,
  RECALL_DURATION_BUCKETS,
  type MetricSpec,
} from './instruments.js';
export { LabelGuard, OTHER } from './labels.js';
export { type ExportStatus, type ExportAttempt } from './otlp.js';
export { parsePrometheusText, PROMETHEUS_CONTENT_TYPE, type PromParse, type PromSample } from './prometheus.js';
export {
  probeCollector,
  probeMetricsEndpoint,
  type CollectorProbe,
  type CollectorProbeCause,
  type MetricsEndpointProbe,
  type ProbeCollectorOptions,
} from './probe.js';
