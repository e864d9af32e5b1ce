/**
 * lib/doctor: `claw-byterover doctor`, a list of checks for the four classic integration failures
 * (the native plugin's "undefined symbol: claw_init", the agent's "protocol version mismatch",
 * claw-api's 401, "metrics don't appear") plus ByteRover itself (credentials, clock, context tree).
 * Each check ends pass / warn / fail / skip with the evidence it saw and the next step.
 * See docs/readme/doctor.md; the --json document's schema is docs/doctor.schema.json.
 */
import { errorMessage, isClawError } from '../errors.js';
import { agentCheck, type AgentCheckOptions } from './checks/agent.js';
import { clockCheck, credentialsCheck, type ByteRoverCheckOptions } from './checks/byterover.js';
import { clawApiCheck, type ClawApiCheckOptions } from './checks/clawapi.js';
import { memoryCheck, type MemoryCheckOptions } from './checks/memory.js';
import { nativeLoadCheck, pluginFileCheck, type NativeCheckOptions } from './checks/native.js';
import { collectorCheck, metricsCheck, type TelemetryCheckOptions } from './checks/telemetry.js';
import { buildReport, runChecks, SILENT_REPORTER, type Reporter } from './runner.js';
import { outcome, type Check, type CheckOutcome, type DoctorReport } from './types.js';

export * from './types.js';
export {
  buildReport,
  progressReporter,
  renderReport,
  runChecks,
  SILENT_REPORTER,
  type ProgressSink,
  type Reporter,
} from './runner.js';
export {
  parseElf,
  readElf,
  versionCeiling,
  symbolLabel,
  hostMachine,
  ElfFormatError,
  type ElfInfo,
  type ElfSymbol,
} from './elf.js';
export {
  inspectNativeFile,
  fileFindings,
  resolveDependencies,
  ENTRY_POINTS,
  type NativeFileReport,
  type EntryPoint,
  type FileFinding,
} from './native-file.js';
export {
  DEFAULT_HOST_ABI,
  CLAW_ABI_MINOR,
  findClawHost,
  runClawHost,
  type NativeCheckOptions,
} from './checks/native.js';
export { handshakeAlterations, type AgentCheckOptions } from './checks/agent.js';
export {
  recordingHttp,
  CLOCK_SKEW_WARN_S,
  CLOCK_SKEW_FAIL_S,
  type ByteRoverCheckOptions,
  type SeenResponse,
} from './checks/byterover.js';
export type { ClawApiCheckOptions } from './checks/clawapi.js';
export type { TelemetryCheckOptions } from './checks/telemetry.js';
export type { MemoryCheckOptions } from './checks/memory.js';

/** A part that could not be set up (e.g. invalid configuration): its checks fail with this error. */
export interface Unavailable {
  unavailable: unknown;
}

export interface DoctorOptions {
  /** claw-byterover's version (for the report). */
  version: string;
  env: NodeJS.ProcessEnv;
  native: NativeCheckOptions;
  agent: AgentCheckOptions;
  clawApi: ClawApiCheckOptions;
  telemetry: TelemetryCheckOptions;
  byterover: ByteRoverCheckOptions | Unavailable;
  memory: MemoryCheckOptions | Unavailable;
  reporter?: Reporter;
}

function unavailable(u: Unavailable): CheckOutcome {
  const e = u.unavailable;
  const code = isClawError(e) ? e.code : 'DOCTOR_SETUP_FAILED';
  return outcome(
    'fail',
    `could not set up the check: ${errorMessage(e)}`,
    [{ label: 'error', value: `${code}: ${errorMessage(e)}` }],
    [isClawError(e) && e.hint ? e.hint : 'Fix the configuration (`claw-byterover config list`) and run doctor again.'],
    { code },
  );
}

function part<K extends 'byterover' | 'memory', T>(key: K, check: Check<T>): Check<DoctorOptions> {
  return {
    ...check,
    run: (o) => {
      const v = o[key];
      return 'unavailable' in v ? Promise.resolve(unavailable(v)) : check.run(v as T);
    },
  };
}

function on<T>(check: Check<T>, pick: (o: DoctorOptions) => T): Check<DoctorOptions> {
  return { ...check, run: (o) => check.run(pick(o)) };
}

/** Every check, in the order they run. */
export const CHECKS: ReadonlyArray<Check<DoctorOptions>> = [
  on(nativeLoadCheck, (o) => o.native),
  on(pluginFileCheck, (o) => o.native),
  on(agentCheck, (o) => o.agent),
  on(clawApiCheck, (o) => o.clawApi),
  on(collectorCheck, (o) => o.telemetry),
  on(metricsCheck, (o) => o.telemetry),
  part('byterover', credentialsCheck),
  part('byterover', clockCheck),
  part('memory', memoryCheck),
];

/** Runs every check and returns the report (exitCode 0 when nothing failed). */
export async function runDoctor(o: DoctorOptions): Promise<DoctorReport> {
  const results = await runChecks(CHECKS, o, o.reporter ?? SILENT_REPORTER);
  return buildReport(results, o.version, o.env);
}
