/**
 * The instruments of the one `claw-byterover` meter: names, units and attributes. Names follow the
 * OpenTelemetry semantic conventions where one exists (`http.client.request.duration`, attributes
 * `http.request.method`, `http.response.status_code`, `error.type`); ours live under `claw_byterover.`.
 * Durations are histograms in seconds; counts use `{thing}` annotation units (Prometheus:
 * `claw_byterover_requests_total`, `…_duration_seconds_bucket`, `…_oldest_age_seconds`).
 * docs/readme/telemetry.md lists them for users; tests check the list against the real export.
 */
import type { Counter, Histogram, Meter } from '@opentelemetry/api';

export const METER_NAME = 'claw-byterover';

/** Semantic-convention histogram boundaries for HTTP durations (seconds). */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** In-process recall is sub-millisecond: finer boundaries (seconds). */
export const RECALL_DURATION_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
];

export interface MetricSpec {
  name: string;
  kind: 'counter' | 'histogram' | 'gauge' | 'observable counter';
  unit: string;
  description: string;
  attributes: readonly string[];
}

export const METRICS = {
  httpAttempt: {
    name: 'http.client.request.duration',
    kind: 'histogram',
    unit: 's',
    description: 'Duration of each outgoing HTTP attempt (every retry is one attempt), through lib/http.',
    attributes: ['endpoint', 'http.request.method', 'http.response.status_code', 'error.type'],
  },
  requests: {
    name: 'claw_byterover.requests',
    kind: 'counter',
    unit: '{request}',
    description: 'Outgoing calls (ByteRover, claw-api) after retries, by endpoint template and final status.',
    attributes: ['endpoint', 'http.request.method', 'http.response.status_code', 'error.type'],
  },
  requestDuration: {
    name: 'claw_byterover.request.duration',
    kind: 'histogram',
    unit: 's',
    description: 'Duration of an outgoing call including retries and their waits.',
    attributes: ['endpoint', 'http.request.method', 'http.response.status_code', 'error.type'],
  },
  retries: {
    name: 'claw_byterover.request.retries',
    kind: 'counter',
    unit: '{retry}',
    description: 'Retries made by outgoing calls (attempts beyond the first).',
    attributes: ['endpoint', 'http.request.method', 'http.response.status_code'],
  },
  authRefreshes: {
    name: 'claw_byterover.auth.refreshes',
    kind: 'counter',
    unit: '{refresh}',
    description: 'Session renewals run by this process, by credential kind, reason and result.',
    attributes: ['auth.kind', 'reason', 'result'],
  },
  webhooks: {
    name: 'claw_byterover.webhooks',
    kind: 'counter',
    unit: '{webhook}',
    description: 'Webhook deliveries received, by result (accepted, duplicate, rejected, unavailable) and code.',
    attributes: ['result', 'code', 'scheme', 'http.response.status_code'],
  },
  queueDepth: {
    name: 'claw_byterover.queue.depth',
    kind: 'gauge',
    unit: '{job}',
    description: 'Jobs not yet done and not dead (ready, leased, or waiting for a retry).',
    attributes: ['queue.kind'],
  },
  queueInFlight: {
    name: 'claw_byterover.queue.in_flight',
    kind: 'gauge',
    unit: '{job}',
    description: 'Jobs leased right now (being handled).',
    attributes: ['queue.kind'],
  },
  queueRetrying: {
    name: 'claw_byterover.queue.retrying',
    kind: 'gauge',
    unit: '{job}',
    description: 'Jobs waiting for a retry after a failure.',
    attributes: ['queue.kind'],
  },
  queueDead: {
    name: 'claw_byterover.queue.dead_letters',
    kind: 'gauge',
    unit: '{job}',
    description: 'Jobs in the dead-letter list.',
    attributes: ['queue.kind'],
  },
  queueOldestAge: {
    name: 'claw_byterover.queue.oldest_age',
    kind: 'gauge',
    unit: 's',
    description: 'Age of the oldest job not yet done (0 when the queue is empty).',
    attributes: ['queue.kind'],
  },
  queueJobs: {
    name: 'claw_byterover.queue.jobs',
    kind: 'observable counter',
    unit: '{job}',
    description: "This instance's worker outcomes: processed, retried, dead_lettered, stale (lease lost).",
    attributes: ['queue.kind', 'result'],
  },
  recallDuration: {
    name: 'claw_byterover.recall.duration',
    kind: 'histogram',
    unit: 's',
    description: 'Local memory search/recall latency (index query, plus fitting to the token budget for recall).',
    attributes: ['op', 'result'],
  },
  handshakes: {
    name: 'claw_byterover.agent.handshakes',
    kind: 'counter',
    unit: '{handshake}',
    description: 'Gateway handshakes (agent link and probes), by result: ok or the AGENT_* error code.',
    attributes: ['result', 'agent.protocol'],
  },
  skillInvocations: {
    name: 'claw_byterover.skill.invocations',
    kind: 'counter',
    unit: '{invocation}',
    description: 'POST /skill/invoke calls, by action and outcome.',
    attributes: ['action', 'outcome', 'http.response.status_code'],
  },
  skillDuration: {
    name: 'claw_byterover.skill.duration',
    kind: 'histogram',
    unit: 's',
    description: 'POST /skill/invoke latency, by action and outcome.',
    attributes: ['action', 'outcome', 'http.response.status_code'],
  },
} as const satisfies Record<string, MetricSpec>;

/** The test metric `probeCollector` exports (never recorded by the service itself). */
export const PROBE_METRIC: MetricSpec = {
  name: 'claw_byterover.doctor.probe',
  kind: 'gauge',
  unit: '1',
  description: 'Written once by `claw-byterover doctor` to test the export path; always 1.',
  attributes: [],
};

export interface SyncInstruments {
  httpAttempt: Histogram;
  requests: Counter;
  requestDuration: Histogram;
  retries: Counter;
  authRefreshes: Counter;
  webhooks: Counter;
  recallDuration: Histogram;
  handshakes: Counter;
  skillInvocations: Counter;
  skillDuration: Histogram;
}

export function createSyncInstruments(meter: Meter): SyncInstruments {
  const counter = (s: MetricSpec): Counter => meter.createCounter(s.name, { unit: s.unit, description: s.description });
  const histogram = (s: MetricSpec, buckets: number[]): Histogram =>
    meter.createHistogram(s.name, {
      unit: s.unit,
      description: s.description,
      advice: { explicitBucketBoundaries: buckets },
    });
  return {
    httpAttempt: histogram(METRICS.httpAttempt, HTTP_DURATION_BUCKETS),
    requests: counter(METRICS.requests),
    requestDuration: histogram(METRICS.requestDuration, HTTP_DURATION_BUCKETS),
    retries: counter(METRICS.retries),
    authRefreshes: counter(METRICS.authRefreshes),
    webhooks: counter(METRICS.webhooks),
    recallDuration: histogram(METRICS.recallDuration, RECALL_DURATION_BUCKETS),
    handshakes: counter(METRICS.handshakes),
    skillInvocations: counter(METRICS.skillInvocations),
    skillDuration: histogram(METRICS.skillDuration, HTTP_DURATION_BUCKETS),
  };
}
