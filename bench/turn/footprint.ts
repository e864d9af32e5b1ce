/**
 * What OpenClaw installs and captures for the plugin: `node --import tsx bench/turn/footprint.ts`.
 *
 * For each package variant (test/interop/openclaw/pack.ts) — `full` (the whole `claw-byterover`
 * package: CLI, bridge, telemetry and their dependencies, as installed before the split) and `plugin`
 * (`claw-byterover-openclaw`, scripts/openclaw-package.mjs: only what the plugin imports) — in a fresh
 * isolated OpenClaw home (the pinned OpenClaw on Node 24, test/interop/openclaw/env.ts):
 * 1. `openclaw plugins install npm-pack:<tgz>`, then the size and file count of the plugin's npm
 *    project (`<state>/npm/projects/…`);
 * 2. a loopback gateway started with the plugin enabled; once ready, the size and file count of
 *    `<state>/tmp/plugin-captures` (OpenClaw copies the plugin and every declared dependency there in
 *    each process that loads it), and whether the plugin loaded (`plugins inspect`);
 * 3. any `MaxListenersExceededWarning` the gateway printed.
 * Prints one row per variant and the ratios full/plugin.
 */
import { execFileSync } from 'node:child_process';
import { ensureOpenClaw } from '../../test/interop/openclaw/env.js';
import { packPlugin } from '../../test/interop/openclaw/pack.js';

interface Row {
  variant: string;
  tarballKb: number;
  projectMb: number;
  projectFiles: number;
  captureMb: number;
  captureFiles: number;
  loaded: string;
  warnings: number;
}

function measure(dir: string): { mb: number; files: number } {
  try {
    const kb = Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0]);
    const files = execFileSync('find', [dir, '-type', 'f'], { encoding: 'utf8', maxBuffer: 256 << 20 })
      .split('\n')
      .filter(Boolean).length;
    return { mb: kb / 1024, files };
  } catch {
    return { mb: 0, files: 0 };
  }
}

async function run(variant: 'full' | 'plugin'): Promise<Row> {
  const packed = await packPlugin(undefined, variant);
  const oc = await ensureOpenClaw();
  try {
    await oc.mustRun(['plugins', 'install', `npm-pack:${packed.tarball}`, '--force', '--accept-capabilities'], {
      timeoutMs: 900_000,
    });
    const project = measure(`${oc.stateDir}/npm`);
    const gw = await oc.startGateway();
    const capture = measure(`${oc.stateDir}/tmp/plugin-captures`);
    const inspect = await oc.run(['plugins', 'inspect', 'claw-byterover', '--runtime', '--json'], {
      timeoutMs: 300_000,
    });
    let loaded = `inspect exited ${inspect.code}`;
    try {
      loaded = (JSON.parse(inspect.stdout) as { plugin: { status: string } }).plugin.status;
    } catch {
      /* keep the exit code */
    }
    const warnings = (gw.output().match(/MaxListenersExceededWarning/g) ?? []).length;
    await gw.stop();
    return {
      variant: `${variant} (${packed.name})`,
      tarballKb: Number(execFileSync('du', ['-k', packed.tarball], { encoding: 'utf8' }).split('\t')[0]),
      projectMb: project.mb,
      projectFiles: project.files,
      captureMb: capture.mb,
      captureFiles: capture.files,
      loaded,
      warnings,
    };
  } finally {
    await oc.cleanup();
    packed.cleanup();
  }
}

const rows: Row[] = [];
for (const v of ['full', 'plugin'] as const) rows.push(await run(v));
console.log('\nWhat OpenClaw installs and captures for the plugin (same run, same OpenClaw)');
console.table(
  rows.map((r) => ({
    variant: r.variant,
    'tarball kB': r.tarballKb,
    'npm project MB': r.projectMb.toFixed(1),
    'npm project files': r.projectFiles,
    'captured MB': r.captureMb.toFixed(1),
    'captured files': r.captureFiles,
    status: r.loaded,
    'MaxListeners warnings': r.warnings,
  })),
);
const [full, lean] = rows;
if (full && lean && lean.captureMb > 0)
  console.log(
    `full / plugin: captured size ${(full.captureMb / lean.captureMb).toFixed(1)}×, captured files ${(full.captureFiles / lean.captureFiles).toFixed(1)}×, npm project ${(full.projectMb / lean.projectMb).toFixed(1)}×`,
  );
