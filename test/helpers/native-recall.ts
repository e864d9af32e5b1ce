/**
 * The native recall engine for tests that need it. Outside CI a machine without the addon skips
 * those tests (the skip names the loader's reason); with CI=true a missing engine fails the file,
 * never a skip.
 */
import { loadNativeRecall } from '../../lib/memory/native-index.js';
import { inCI } from './tools.js';

export async function nativeRecallForTests(): Promise<Awaited<ReturnType<typeof loadNativeRecall>>> {
  const native = await loadNativeRecall();
  if (!native.factory && inCI) throw new Error(`CI requires the native recall engine: ${native.reason}`);
  return native;
}
