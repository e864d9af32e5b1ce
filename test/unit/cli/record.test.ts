/**
 * `claw-byterover record` in-process: writes into the folder's bound v4 space (marker), from HTML or
 * fields; refuses every violation at once (exit 1, BV_TOPIC_INVALID, each code in --json); a folder
 * without a space is BV_RECORD_NO_SPACE.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../../lib/cli/index.js';
import { fixture, v4Home } from '../memory/v4/helpers.js';
import { memoryIo } from './memory-io.js';

describe('claw-byterover record', () => {
  it('records HTML and fields into the bound space; refuses violations with their codes', async () => {
    const h = await v4Home();
    const id = await h.addSpace('Eng');
    const proj = join(h.work, 'proj');
    await h.marker(proj, { space_id: id, space_name: 'Eng' });
    const env = { BRV_DATA_DIR: h.data, CLAW_BYTEROVER_LOG_LEVEL: 'error' };
    const tree = join(h.data, 'projects', id, 'context-tree');

    await writeFile(join(proj, 'jwt.html'), await fixture('jwt_design.html'));
    let io = memoryIo({ env, cwd: proj });
    expect(await run(['record', 'auth/jwt_design', '--html-file', 'jwt.html', '--json'], io)).toBe(0);
    const out = JSON.parse(io.out()) as { created: boolean; id: string; space: { id: string; found: string } };
    expect(out).toMatchObject({ created: true, space: { id, found: 'marker' } });
    expect(await readFile(join(tree, 'auth', 'jwt_design.html'), 'utf8')).toContain(`id="${out.id}"`);

    io = memoryIo({ env, cwd: proj });
    expect(
      await run(['record', 'ops/deploy_window', '--title', 'Deploy window', '--body', 'Tuesdays before noon.'], io),
    ).toBe(0);
    expect(io.out()).toMatch(/Recorded ops\/deploy_window in space "Eng"/);

    io = memoryIo({ env, cwd: proj });
    const bad = '<bv-topic path="ops/Other" title="x" importance="9"><bv-fact category="nope">y</bv-fact></bv-topic>';
    expect(await run(['record', 'ops/deploy_window', '--html', bad, '--json'], io)).not.toBe(0);
    const err = JSON.parse(io.out() || io.err()) as {
      error: { code: string; details: { violations: { code: string }[] } };
    };
    expect(err.error.code).toBe('BV_TOPIC_INVALID');
    expect(new Set(err.error.details.violations.map((v) => v.code))).toEqual(
      new Set(['BV_PATH_MISMATCH', 'BV_SYSTEM_ATTRIBUTE', 'BV_REQUIRED_ATTRIBUTE', 'BV_FACT_CATEGORY']),
    );

    io = memoryIo({ env, cwd: h.work });
    expect(await run(['record', 'a/b', '--title', 't', '--body', 'b', '--json'], io)).toBe(2);
    expect(io.out() + io.err()).toContain('BV_RECORD_NO_SPACE');
  });
});
