/**
 * Child of open.test.ts: opens memory in a process whose native addon cannot load
 * (CLAW_BYTEROVER_PREBUILD points at an empty folder, PREBUILDS_ONLY set) and prints what it got.
 * argv: <projectRoot> <engine> [brv path]
 */
import { openMemory } from '../../../lib/memory/open.js';

const [projectRoot, engine, brvPath] = process.argv.slice(2);
try {
  const m = await openMemory({
    projectRoot: projectRoot as string,
    engine: engine as 'native' | 'auto' | 'brv',
    watch: false,
    ...(brvPath ? { brv: { path: brvPath } } : {}),
  });
  const cause = m.nativeError as { code?: string; message?: string } | undefined;
  console.log(
    JSON.stringify({
      opened: m.engine,
      chosen: m.chosen,
      fallbackReason: m.fallbackReason,
      causeCode: cause?.code,
      causeMessage: cause?.message,
    }),
  );
  await m.backend.close();
} catch (e) {
  const err = e as { code?: string; message?: string; hint?: string; cause?: { code?: string; message?: string } };
  console.log(
    JSON.stringify({
      code: err.code,
      message: err.message,
      hint: err.hint,
      causeCode: err.cause?.code,
      causeMessage: err.cause?.message,
    }),
  );
}
