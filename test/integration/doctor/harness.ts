/**
 * Running `claw-byterover doctor` for real in tests: in-process through the CLI (`run(argv, io)`,
 * the ByteRover stand-in behind it), its `--json` document validated against docs/doctor.schema.json
 * with Ajv, plus loopback OTLP/HTTP receivers that answer the way real collectors do (accept,
 * 401, 400 for a payload they cannot decode, 200 with `partial_success` rejecting data points).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { expect } from 'vitest';
import { createBridge, parseBridgeConfig } from '../../../lib/bridge/index.js';
import type { CheckResult, DoctorReport } from '../../../lib/doctor/index.js';
import { createLogger } from '../../../lib/log/index.js';
import { createTelemetry } from '../../../lib/telemetry/index.js';
import { DEFAULT_SESSION_KEY } from '../../standin/byterover.js';
import { startClawApiStandin } from '../../standin/claw-api.js';
import { CLAW_AUDIENCE, startClawIssuer, type ClawIssuer } from '../clawapi/issuer.js';
import { REPO_ROOT, type CliEnv } from '../cli/harness.js';

export const SCHEMA = JSON.parse(readFileSync(join(REPO_ROOT, 'docs', 'doctor.schema.json'), 'utf8')) as Record<
  string,
  unknown
>;
const validate = new Ajv2020({ allErrors: true, strict: true, strictRequired: false }).compile(SCHEMA);

/** Throws with Ajv's errors when `doc` does not follow docs/doctor.schema.json. */
export function expectValidReport(doc: unknown): asserts doc is DoctorReport {
  const ok = validate(doc);
  expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
  expect(ok).toBe(true);
}

export interface DoctorRun {
  code: number;
  report: DoctorReport;
  out: string;
  err: string;
  check(id: string): CheckResult;
  /** Everything printed (stdout + stderr), for secret checks. */
  all: string;
}

/** `claw-byterover --json doctor …` in-process; the document is schema-validated. */
export async function doctorJson(e: CliEnv, args: string[], env: Record<string, string> = {}): Promise<DoctorRun> {
  const r = await e.cli(['--json', 'doctor', ...args], { env });
  let report: DoctorReport;
  try {
    report = JSON.parse(r.out) as DoctorReport;
  } catch {
    throw new Error(`doctor --json printed no JSON (exit ${r.code}):\n${r.out}\n${r.err}`);
  }
  expectValidReport(report);
  return {
    code: r.code,
    report,
    out: r.out,
    err: r.err,
    all: r.out + r.err,
    check(id) {
      const c = report.checks.find((x) => x.id === id);
      if (!c) throw new Error(`no check ${id} in ${report.checks.map((x) => x.id).join(', ')}`);
      return c;
    },
  };
}

/** The value of an evidence line (throws when the label is absent). */
export function evidence(c: CheckResult, label: string): string {
  const e = c.evidence.find((x) => x.label === label);
  if (!e) throw new Error(`check ${c.id} has no evidence "${label}": ${JSON.stringify(c.evidence)}`);
  return e.value;
}

export type CollectorBehaviour = 'accept' | 'unauthorized' | 'bad-payload' | 'partial-reject';

export interface Collector {
  url: string;
  /** Requests received: path, content type, the authorization header's presence, body size. */
  requests: Array<{ path: string; contentType: string | undefined; authorization: string | undefined; bytes: number }>;
  close(): Promise<void>;
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** ExportMetricsServiceResponse { partial_success { rejected_data_points, error_message } } (protobuf). */
function partialSuccess(rejected: number, message: string): Buffer {
  const msg = Buffer.from(message, 'utf8');
  const inner = Buffer.from([0x08, ...varint(rejected), 0x12, ...varint(msg.length), ...msg]);
  return Buffer.from([0x0a, ...varint(inner.length), ...inner]);
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * An OTLP/HTTP metrics receiver on 127.0.0.1 (`/v1/metrics`). `unauthorized` wants
 * `authorization: Bearer <expectToken>` and answers 401 otherwise; `bad-payload` answers 400 with a
 * google.rpc.Status-like message (what the OpenTelemetry Collector does for a body it cannot
 * unmarshal); `partial-reject` accepts with `partial_success.rejected_data_points = 1`.
 */
export async function startCollector(behaviour: CollectorBehaviour, expectToken?: string): Promise<Collector> {
  const requests: Collector['requests'] = [];
  const server: Server = createServer((req, res) => {
    void body(req).then((b) => {
      requests.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'],
        authorization: req.headers.authorization,
        bytes: b.length,
      });
      if (req.method !== 'POST' || req.url !== '/v1/metrics') {
        res.writeHead(404).end();
        return;
      }
      if (behaviour === 'unauthorized' && req.headers.authorization !== `Bearer ${expectToken ?? ''}`) {
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end(JSON.stringify({ code: 16, message: 'Unauthenticated: invalid bearer token' }));
        return;
      }
      if (behaviour === 'bad-payload') {
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ code: 3, message: 'proto: cannot parse invalid wire-format data' }));
        return;
      }
      const payload =
        behaviour === 'partial-reject'
          ? partialSuccess(1, 'metric claw_byterover.doctor.probe: label probe.id is not allowed')
          : partialSuccess(0, '');
      res
        .writeHead(200, { 'content-type': 'application/x-protobuf' })
        .end(behaviour === 'partial-reject' ? payload : Buffer.alloc(0));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * Everything doctor checks, healthy, except an OpenClaw gateway (test/interop/doctor adds one): the
 * built addon and plain library, the claw-api stand-in with a real issuer's `nodes:write` token, an
 * accepting OTLP receiver, a running bridge with /metrics, the ByteRover stand-in with an API key,
 * and a context tree pulled from it. `args`/`env` are what doctor is run with.
 */
export interface HealthySetup {
  args: string[];
  env: Record<string, string>;
  /** Every secret the setup handed to doctor (none may appear in its output). */
  secrets: string[];
  /** The real issuer behind the claw-api stand-in (for other tokens). */
  issuer: ClawIssuer;
  close(): Promise<void>;
}

export async function healthySetup(e: CliEnv, plainLibrary: string): Promise<HealthySetup> {
  const silent = createLogger({ level: 'silent' });

  const issuer = await startClawIssuer();
  const api = await startClawApiStandin({ issuer: issuer.issuer, jwksUri: issuer.jwksUri, audience: CLAW_AUDIENCE });
  const clawToken = await issuer.clientCredentialsToken({ scope: 'nodes:write' });
  const collector = await startCollector('unauthorized', 'collector-secret-token');
  const dir = await mkdtemp(join(tmpdir(), 'doctor-healthy-'));
  const bridge = await createBridge({
    config: parseBridgeConfig({ store: { kind: 'sqlite', path: join(dir, 'bridge.db') } }),
    dataDir: dir,
    worker: false,
    logger: silent,
  });
  const telemetry = createTelemetry({ env: {}, logger: silent });
  telemetry.mountMetrics(bridge);
  const { url: bridgeUrl } = await bridge.listen(0, '127.0.0.1');

  // A space on the ByteRover stand-in holding the fixture tree, pulled for real.
  const team = e.standin.addTeam({ name: 'acme', is_default: true });
  const space = e.standin.addSpace(team.id, { name: 'notes', is_default: true });
  const fixture = join(REPO_ROOT, 'test', 'fixtures', 'context-tree');
  const files: Record<string, string> = {};
  for (const f of (await readdir(fixture, { recursive: true, withFileTypes: true })).filter((d) => d.isFile())) {
    const abs = join(f.parentPath, f.name);
    files[abs.slice(fixture.length + 1)] = await readFile(abs, 'utf8');
  }
  e.standin.commitFiles(team.id, space.id, 'main', files, 'fixture tree');
  const env: Record<string, string> = {
    BYTEROVER_API_KEY: DEFAULT_SESSION_KEY,
    CLAW_API_URL: api.url,
    CLAW_API_TOKEN: clawToken,
    CLAW_API_AUDIENCE: CLAW_AUDIENCE,
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20collector-secret-token',
  };
  const pulled = await e.cli(['pull', '--team', team.id, '--space', space.id], { env });
  if (pulled.code !== 0) throw new Error(`pull failed (${pulled.code}): ${pulled.err}`);
  return {
    args: ['--plugin', plainLibrary, '--bridge', bridgeUrl],
    env,
    secrets: [DEFAULT_SESSION_KEY, clawToken, 'collector-secret-token'],
    issuer,
    async close() {
      await telemetry.shutdown().catch(() => undefined);
      await bridge.close().catch(() => undefined);
      await collector.close();
      await api.close();
      await issuer.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
