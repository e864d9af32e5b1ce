/**
 * Check 1, "undefined symbol: claw_init": the native plugin.
 *
 * `native.load` — the binary node will load (the loader's order: CLAW_BYTEROVER_PREBUILD, prebuilds/,
 * build/Release, build/Debug), read statically (exports, linkage and visibility of the entry
 * points, dependencies, glibc ceiling) and then loaded: its claw_abi_info, the Node-API version it
 * was built for against this Node, and the ABI negotiation with a claw-runtime host's range.
 *
 * `native.plugin` — with `--plugin <path>`, the file a claw-runtime host is given, diagnosed the
 * way such a host meets it: statically (lib/doctor/native-file.ts, never executing it) and, when the
 * reference host claw-host is built, by letting claw-host dlopen it with RTLD_NOW and call
 * claw_abi_info → claw_init, quoting its verdict and diagnosis. Both, because the static reading
 * works everywhere (prebuild installs ship no claw-host, the file may be for another machine) and
 * explains *why* a symbol is missing, while claw-host is the real loader's answer.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isClawError } from '../../errors.js';
import {
  CLAW_ABI_MAJOR,
  addonCandidates,
  loadAddon,
  packageRoot,
  type AbiInfo,
  type HostAbiRange,
  type TriedPath,
} from '../../native.js';
import { fileFindings, inspectNativeFile, type NativeFileReport } from '../native-file.js';
import { ev, outcome, type Check, type CheckOutcome, type Evidence } from '../types.js';

/** claw/plugin.h CLAW_ABI_MINOR: the minor a host built from this release's header speaks. */
export const CLAW_ABI_MINOR = 0;

/** The range the reference host (claw-host, built from this release's header) offers by default. */
export const DEFAULT_HOST_ABI: HostAbiRange = {
  major: CLAW_ABI_MAJOR,
  minorMin: 0,
  minorMax: CLAW_ABI_MINOR,
  name: 'claw-host',
  version: '1.0.0',
};

export interface NativeCheckOptions {
  env: NodeJS.ProcessEnv;
  /** Package root the loader searches (default: this package). */
  root?: string;
  /** The file `--plugin` names. */
  plugin?: string;
  /** The claw-runtime host range to negotiate against (default DEFAULT_HOST_ABI). */
  hostAbi?: HostAbiRange;
  /** claw-host executable (default: $CLAW_HOST_BIN, build/Release/claw-host, build-cmake/claw-host). */
  clawHost?: string;
  /** How long claw-host may take to load the plugin and call into it (default CLAW_HOST_TIMEOUT_MS). */
  clawHostTimeoutMs?: number;
}

/** claw-host loads the file and calls claw_abi_info and claw_init: far under a second when they return. */
export const CLAW_HOST_TIMEOUT_MS = 30_000;

function where(path: string, root: string): string {
  if (path.includes(`${'/'}prebuilds${'/'}`)) return 'prebuild';
  if (path.startsWith(join(root, 'build'))) return `local build (${basename(dirname(path))})`;
  return 'override';
}

function triedLine(t: TriedPath): string {
  return `${t.outcome}${t.reason ? ` (${t.reason})` : ''}`;
}

function fileEvidence(r: NativeFileReport, opts: { asNodeAddon: boolean }): Evidence[] {
  if (r.formatError) return [ev('file', `${r.path}: ${r.formatError}`)];
  const out: Evidence[] = [];
  if (r.format)
    out.push(
      ev(
        'format',
        `ELF ${r.format.bits}-bit ${r.format.endian}-endian ${r.format.type}, ${r.format.machine}${r.archMatches ? '' : ' (NOT this machine)'}${r.format.soname ? `, soname ${r.format.soname}` : ''}${r.stripped ? ', stripped' : ''}`,
      ),
    );
  out.push(
    ev('claw_* exports', r.clawExports.length ? r.clawExports.join(', ') : '(none in the dynamic symbol table)'),
  );
  for (const e of r.entryPoints) out.push(ev(e.name, `${e.state}${e.seen ? `: ${e.seen}` : ''}`));
  out.push(
    ev(
      'dependencies',
      r.dependencies.length
        ? r.dependencies
            .map((d) => (d.problem ? `${d.name} => ${d.problem}` : `${d.name} => ${d.path} (${d.via})`))
            .join('; ')
        : '(none)',
    ),
  );
  out.push(
    ev(
      'glibc',
      `needs ${r.glibc.required ? `GLIBC_${r.glibc.required}` : 'no versioned glibc symbol'}, this machine has ${r.glibc.runtime ?? 'no glibc (or unknown)'}${r.glibcxx.required ? `; needs GLIBCXX_${r.glibcxx.required}` : ''}`,
    ),
  );
  if (!opts.asNodeAddon || r.napi.undefinedRefs > 0)
    out.push(
      ev(
        'Node-API references',
        r.napi.undefinedRefs
          ? `${r.napi.undefinedRefs} undefined (e.g. ${r.napi.first}): a Node addon`
          : 'none (a plain shared library)',
      ),
    );
  out.push(ev('bind now', r.bindNow ? 'yes (-z now)' : 'no (lazy binding)'));
  return out;
}

function describeAbi(i: AbiInfo): string {
  return `${i.pluginName} ${i.pluginVersion} (git ${i.gitRevision}, ${i.compiler}, ${i.flavor}), ABI ${i.abiMajor}.${i.abiMinorMin}–${i.abiMajor}.${i.abiMinorMax}, agent protocol ${i.agentProtocolMin}–${i.agentProtocolMax}`;
}

/** Where a plain shared library sits next to a .node (prebuild dir, build/Release, lib.target). */
function plainLibraryNear(addon: string): string | undefined {
  const dir = dirname(addon);
  return ['libclaw_byterover.so', 'lib.target/libclaw_byterover.so']
    .map((p) => join(dir, p))
    .find((p) => existsSync(p));
}

export async function checkNativeLoad(o: NativeCheckOptions): Promise<CheckOutcome> {
  const root = o.env.CLAW_BYTEROVER_PREBUILD ?? o.root ?? packageRoot();
  const host = o.hostAbi ?? DEFAULT_HOST_ABI;
  let loaded: ReturnType<typeof loadAddon>;
  try {
    loaded = loadAddon({ env: o.env, ...(o.root ? { root: o.root } : {}) });
  } catch (e) {
    if (!isClawError(e, 'NATIVE_LOAD_FAILED')) throw e;
    const tried = (e.details?.tried as TriedPath[] | undefined) ?? addonCandidates({ env: o.env, root }).tried;
    const evidence: Evidence[] = tried.map((t) => ev(t.path, triedLine(t)));
    const next: string[] = [];
    let code = 'NATIVE_LOAD_FAILED';
    for (const t of tried.filter((x) => x.outcome === 'failed')) {
      const r = await inspectNativeFile(t.path, o.env);
      const f = fileFindings(r, { asNodeAddon: true })[0];
      if (f) {
        evidence.push(ev(`diagnosis of ${basename(t.path)}`, f.message));
        next.push(f.next);
        code = f.code;
      }
    }
    if (e.hint) next.push(e.hint);
    return outcome('fail', `no native addon loads: ${e.message.split('\n')[0]}`, evidence, next, {
      code,
      data: { tried },
    });
  }

  const { binding, path, tried } = loaded;
  const info = binding.abiInfo();
  const file = await inspectNativeFile(path, o.env);
  const findings = fileFindings(file, { asNodeAddon: true });
  const evidence: Evidence[] = [ev('binary', `${path} (${where(path, root)})`)];
  const others = tried.filter((t) => t.path !== path);
  if (others.length) evidence.push(ev('also looked at', others.map((t) => `${t.path}: ${triedLine(t)}`).join('; ')));
  evidence.push(ev('plugin', describeAbi(info)));
  evidence.push(...fileEvidence(file, { asNodeAddon: true }));

  const runtimeNapi = Number(process.versions.napi ?? 0);
  const napiOk = info.napiVersion <= runtimeNapi;
  evidence.push(
    ev(
      'Node-API',
      `built for Node-API ${info.napiVersion}, this Node ${process.versions.node} supports ${runtimeNapi || 'unknown'}${napiOk ? '' : ' (too old)'}`,
    ),
  );
  const neg = binding.negotiateAbi(host);
  evidence.push(
    ev(
      'ABI negotiation',
      `host ${host.name ?? 'host'} offers ${host.major}.${host.minorMin}–${host.major}.${host.minorMax}: ${neg.ok ? `agreed ${neg.version?.major}.${neg.version?.minor}` : neg.code}; ${neg.message}`,
    ),
  );
  const plain = plainLibraryNear(path);
  if (plain) {
    const p = await inspectNativeFile(plain, o.env);
    evidence.push(
      ev(
        'plain library',
        `${plain}: ${p.clawExports.join(', ') || 'no claw_* exports'}${p.napi.undefinedRefs ? ` (${p.napi.undefinedRefs} Node-API references!)` : ''}`,
      ),
    );
  }

  const next: string[] = [];
  const data = { binary: path, source: where(path, root), abiInfo: info, negotiation: neg, file };
  if (!napiOk) {
    return outcome(
      'fail',
      `the addon needs Node-API ${info.napiVersion}, this Node has ${runtimeNapi}`,
      evidence,
      [
        `Use Node ${'>='} 20.18.1 (package.json engines), or install a claw-byterover build for Node-API ${runtimeNapi}.`,
      ],
      { code: 'NATIVE_NAPI_TOO_NEW', data },
    );
  }
  const fail = findings.find((f) => f.severity === 'fail');
  if (fail)
    return outcome(
      'fail',
      fail.message,
      evidence,
      findings.map((f) => f.next),
      { code: fail.code, data },
    );
  if (!neg.ok) {
    next.push(
      neg.code === 'CLAW_E_ABI_TOO_OLD'
        ? 'Upgrade claw-byterover to a release that speaks the host ABI.'
        : "Upgrade the claw-runtime host, or use a claw-byterover release whose ABI range includes the host's.",
    );
    return outcome('fail', `claw_init would refuse this host: ${neg.message}`, evidence, next, {
      code: neg.code,
      data,
    });
  }
  const warn = findings[0];
  if (warn)
    return outcome(
      'warn',
      warn.message,
      evidence,
      findings.map((f) => f.next),
      { code: warn.code, data },
    );
  return outcome(
    'pass',
    `${basename(path)} loads (${where(path, root)}); claw_init, claw_abi_info, claw_strerror exported; ABI ${neg.version?.major}.${neg.version?.minor} agreed with ${host.name ?? 'the host'}`,
    evidence,
    [],
    { data },
  );
}

/** claw-host's --json answer (native/host/claw_host.c print_json). */
export interface ClawHostJson {
  ok: boolean;
  exitCode: number;
  stage: string;
  mode: string;
  error?: string;
  diagnosis: string[];
  abiInfo?: Record<string, unknown>;
  negotiated?: { abiMajor: number; abiMinor: number };
  code?: string;
}

export function findClawHost(o: Pick<NativeCheckOptions, 'clawHost' | 'env' | 'root'>): string | undefined {
  if (o.clawHost) return o.clawHost;
  if (o.env.CLAW_HOST_BIN) return o.env.CLAW_HOST_BIN;
  const root = o.root ?? packageRoot();
  return [join(root, 'build', 'Release', 'claw-host'), join(root, 'build-cmake', 'claw-host')].find((p) =>
    existsSync(p),
  );
}

export interface ClawHostRun {
  json?: ClawHostJson;
  exit: number | null;
  /** The signal that ended claw-host (SIGSEGV: the plugin crashed it), when one did. */
  signal?: string;
  /** claw-host did not finish within the timeout and was killed. */
  timedOut: boolean;
  stderr: string;
}

/** Runs claw-host on `plugin` (RTLD_NOW, the default host range) and parses its report. */
export function runClawHost(
  hostBin: string,
  plugin: string,
  host: HostAbiRange,
  timeoutMs = CLAW_HOST_TIMEOUT_MS,
): Promise<ClawHostRun> {
  const args = [plugin, '--json', '--abi', `${host.major}.${host.minorMin}-${host.major}.${host.minorMax}`];
  return new Promise((resolve) => {
    execFile(
      hostBin,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 << 20, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: unknown; signal?: NodeJS.Signals | null; killed?: boolean }) | null;
        const exit = e ? (typeof e.code === 'number' ? e.code : null) : 0;
        const timedOut = e?.killed === true;
        const signal = e?.signal && !timedOut ? e.signal : undefined;
        try {
          resolve({ json: JSON.parse(stdout) as ClawHostJson, exit, timedOut, stderr, ...(signal ? { signal } : {}) });
        } catch {
          resolve({ exit, timedOut, stderr: stderr.trim(), ...(signal ? { signal } : {}) });
        }
      },
    );
  });
}

/** claw-host ran but gave no report: it crashed, hung, or failed before it could write one. */
function hostNoReport(
  r: ClawHostRun,
  plugin: string,
  hostBin: string,
  timeoutMs: number,
): { evidence: string; summary: string; code: string; next: string } {
  const debug = `Reproduce outside doctor: ${hostBin} ${plugin}; under a debugger: gdb -batch -ex run -ex bt --args ${hostBin} ${plugin}`;
  if (r.timedOut)
    return {
      evidence: `claw-host did not finish within ${timeoutMs / 1000} s and was killed`,
      summary: `a claw-runtime host hangs loading it: claw-host did not return from loading ${basename(plugin)} and calling claw_abi_info / claw_init within ${timeoutMs / 1000} s`,
      code: 'NATIVE_HOST_TIMEOUT',
      next: `claw_abi_info and claw_init must return promptly (no blocking I/O, locks or loops in them or in the library's constructors). ${debug}`,
    };
  if (r.signal)
    return {
      evidence: `claw-host was killed by ${r.signal}${r.stderr ? `: ${r.stderr.split('\n')[0]}` : ''}`,
      summary: `a claw-runtime host crashes loading it: claw-host was killed by ${r.signal} while loading ${basename(plugin)} or calling claw_abi_info / claw_init`,
      code: 'NATIVE_HOST_CRASHED',
      next: `The plugin crashes its host: fix the crash in its constructors, claw_abi_info or claw_init. ${debug}`,
    };
  return {
    evidence: `claw-host exited ${r.exit ?? '?'} without a report${r.stderr ? `: ${r.stderr.split('\n')[0]}` : ''}`,
    summary: `claw-host could not report on ${basename(plugin)} (exit ${r.exit ?? '?'})`,
    code: 'NATIVE_HOST_NO_REPORT',
    next: `${debug} (a claw-host from another release may not know --json: rebuild it with npm run build:native).`,
  };
}

export async function checkPluginFile(o: NativeCheckOptions): Promise<CheckOutcome> {
  const plugin = o.plugin;
  if (!plugin)
    return outcome(
      'skip',
      'no --plugin given',
      [],
      ['To diagnose the file a claw-runtime host loads: claw-byterover doctor --plugin <path/to/libclaw_byterover.so>'],
    );
  const host = o.hostAbi ?? DEFAULT_HOST_ABI;
  const file = await inspectNativeFile(plugin, o.env);
  const findings = fileFindings(file);
  const evidence: Evidence[] = [
    ...(file.formatError ? [] : [ev('file', plugin)]),
    ...fileEvidence(file, { asNodeAddon: false }),
  ];
  const next: string[] = [];
  const hostBin = findClawHost(o);
  let hostVerdict: ClawHostJson | undefined;
  let noReport: ReturnType<typeof hostNoReport> | undefined;
  if (!hostBin) {
    evidence.push(
      ev(
        'claw-host load',
        'not run: claw-host is not built here (npm run build:native builds build/Release/claw-host)',
      ),
    );
  } else if (!file.formatError) {
    const timeoutMs = o.clawHostTimeoutMs ?? CLAW_HOST_TIMEOUT_MS;
    const r = await runClawHost(hostBin, plugin, host, timeoutMs);
    hostVerdict = r.json;
    if (!r.json) {
      noReport = hostNoReport(r, plugin, hostBin, timeoutMs);
      evidence.push(ev('claw-host load', noReport.evidence));
    } else if (r.json.ok)
      evidence.push(
        ev(
          'claw-host load',
          `dlopen (RTLD_NOW) → claw_abi_info → claw_init: ok, negotiated ABI ${r.json.negotiated?.abiMajor}.${r.json.negotiated?.abiMinor} with host range ${host.major}.${host.minorMin}–${host.major}.${host.minorMax}`,
        ),
      );
    else {
      evidence.push(ev('claw-host load', `exit ${r.json.exitCode} at stage ${r.json.stage}: ${r.json.error ?? ''}`));
      // claw-host's pointer back to doctor ("for the file's own account … doctor --plugin") is this report.
      for (const d of r.json.diagnosis)
        if (!d.startsWith("for the file's own account")) evidence.push(ev('claw-host diagnosis', d.trim()));
    }
  }
  const data = { file, ...(hostBin ? { clawHost: hostBin } : {}), ...(hostVerdict ? { hostResult: hostVerdict } : {}) };
  const fail = findings.find((f) => f.severity === 'fail');
  if (fail) {
    return outcome('fail', fail.message, evidence, [...new Set(findings.map((f) => f.next))], {
      code: fail.code,
      data,
    });
  }
  if (noReport)
    return outcome('fail', noReport.summary, evidence, [noReport.next, ...findings.map((f) => f.next)], {
      code: noReport.code,
      data,
    });
  if (hostVerdict && !hostVerdict.ok) {
    const hint = hostVerdict.diagnosis.find((d) => d.startsWith('fix:'));
    next.push(
      hint
        ? hint.replace(/^fix:\s*/, '')
        : 'See the claw-host diagnosis above (docs/readme/native.md lists its exit codes).',
    );
    const code = findings[0]?.code ?? `CLAW_HOST_EXIT_${hostVerdict.exitCode}`;
    return outcome(
      'fail',
      `a claw-runtime host cannot load it: ${hostVerdict.error ?? `claw-host exit ${hostVerdict.exitCode}`}`,
      evidence,
      [...next, ...findings.map((f) => f.next)],
      { code, data },
    );
  }
  const warn = findings[0];
  if (warn)
    return outcome(
      'warn',
      warn.message,
      evidence,
      findings.map((f) => f.next),
      { code: warn.code, data },
    );
  return outcome(
    'pass',
    hostVerdict
      ? `${basename(plugin)} loads in claw-host and claw_init accepts ABI ${host.major}.${host.minorMin}–${host.major}.${host.minorMax}`
      : `${basename(plugin)} exports claw_init, claw_abi_info and claw_strerror (load not tried: no claw-host)`,
    evidence,
    [],
    { data },
  );
}

export const nativeLoadCheck: Check<NativeCheckOptions> = {
  id: 'native.load',
  title: 'Native addon',
  symptom: 'undefined symbol: claw_init',
  run: checkNativeLoad,
};
export const pluginFileCheck: Check<NativeCheckOptions> = {
  id: 'native.plugin',
  title: 'Plugin file for a claw-runtime host',
  symptom: 'undefined symbol: claw_init',
  run: checkPluginFile,
};
