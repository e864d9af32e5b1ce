/**
 * The loopback redirect receiver (RFC 8252 §7.3) on real sockets, and browser detection with a real
 * opener executable on PATH.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isClawError } from '../../../lib/errors.js';
import { browserOpener, openBrowser } from '../../../lib/byterover/auth/index.js';
import { startLoopbackReceiver, type LoopbackReceiver } from '../../../lib/byterover/auth/loopback.js';
import { pollUntil } from '../../helpers/timeout.js';

describe('loopback callback receiver', () => {
  let rx: LoopbackReceiver;
  beforeEach(async () => {
    rx = await startLoopbackReceiver();
  });
  afterEach(async () => {
    await rx.close();
  });
  const at = (pathAndQuery: string, host = '127.0.0.1') => `http://${host}:${rx.port}${pathAndQuery}`;

  it('uses http://localhost:<random port>/callback and resolves with the full callback URL', async () => {
    expect(rx.redirectUri).toBe(`http://localhost:${rx.port}/callback`);
    const wait = rx.waitForCallback('s1');
    const res = await fetch(at('/callback?code=abc123&state=s1&iss=x'));
    expect(res.status).toBe(200);
    const url = await wait;
    expect(url.href).toBe(`http://localhost:${rx.port}/callback?code=abc123&state=s1&iss=x`);
    // Only one response is taken.
    expect((await fetch(at('/callback?code=again&state=s1'))).status).toBe(409);
  });

  it('answers 404 elsewhere and keeps waiting through a response without a code', async () => {
    const wait = rx.waitForCallback('s2');
    expect((await fetch(at('/favicon.ico'))).status).toBe(404);
    expect((await fetch(at('/callback?state=s2'))).status).toBe(400);
    await fetch(at('/callback?code=c&state=s2'));
    expect((await wait).searchParams.get('code')).toBe('c');
  });

  it('rejects a wrong state with AUTH_STATE_MISMATCH, and an error response with AUTH_LOGIN_DENIED', async () => {
    const wait = rx.waitForCallback('expected').catch((e: unknown) => e);
    const res = await fetch(at('/callback?code=c&state=other'));
    expect(res.status).toBe(400);
    expect(await res.text()).not.toContain('code=c');
    expect(isClawError(await wait, 'AUTH_STATE_MISMATCH')).toBe(true);

    const rx2 = await startLoopbackReceiver({ redirectHost: '127.0.0.1' });
    try {
      expect(rx2.redirectUri).toBe(`http://127.0.0.1:${rx2.port}/callback`);
      const w2 = rx2.waitForCallback('s').catch((e: unknown) => e);
      const page = await fetch(
        `http://127.0.0.1:${rx2.port}/callback?error=access_denied&error_description=no&state=s`,
      );
      expect(await page.text()).toContain('access_denied');
      const err = await w2;
      expect(isClawError(err, 'AUTH_LOGIN_DENIED')).toBe(true);
    } finally {
      await rx2.close();
    }
  });

  it('escapes what the server sent before showing it', async () => {
    const wait = rx.waitForCallback('s').catch((e: unknown) => e);
    const page = await fetch(at(`/callback?error=${encodeURIComponent('<script>x</script>')}&state=s`));
    expect(await page.text()).not.toContain('<script>');
    expect(isClawError(await wait, 'AUTH_LOGIN_DENIED')).toBe(true);
  });

  it('listens on [::1] at the same port when the host has IPv6 loopback (localhost may resolve there first)', async () => {
    const wait = rx.waitForCallback('v6');
    const res = await fetch(at('/callback?code=c6&state=v6', '[::1]')).catch((e: unknown) => e);
    if (res instanceof Error) {
      // No IPv6 loopback on this host: then localhost resolves to 127.0.0.1 only, which is served.
      await fetch(at('/callback?code=c6&state=v6'));
    }
    expect((await wait).searchParams.get('code')).toBe('c6');
  });
});

describe('browser detection', () => {
  let bin: string;
  beforeEach(async () => {
    bin = await mkdtemp(join(tmpdir(), 'claw-bin-'));
  });
  afterEach(async () => {
    await rm(bin, { recursive: true, force: true });
  });

  async function fakeOpenerRecordingTo(name: string, out: string): Promise<void> {
    // A real executable standing where xdg-open/open would be: it records the URL it was given.
    await writeFile(join(bin, name), `#!/bin/sh\nprintf '%s' "$1" > ${JSON.stringify(out)}\n`);
    await chmod(join(bin, name), 0o755);
  }

  it('opens nothing without a graphical session, even with xdg-open on PATH (SSH, containers, CI)', async () => {
    await fakeOpenerRecordingTo('xdg-open', join(bin, 'out'));
    expect(browserOpener({ env: { PATH: bin }, platform: 'linux' })).toBeUndefined();
    expect(await openBrowser('http://127.0.0.1/x', { env: { PATH: bin }, platform: 'linux' })).toBe(false);
  });

  it('opens nothing when no opener is on PATH, and never throws', async () => {
    expect(browserOpener({ env: { PATH: bin, DISPLAY: ':0' }, platform: 'linux' })).toBeUndefined();
    expect(await openBrowser('http://127.0.0.1/x', { env: { PATH: bin, DISPLAY: ':0' }, platform: 'linux' })).toBe(
      false,
    );
  });

  it('runs xdg-open with the URL under X11 or Wayland, and `open` on macOS', async () => {
    const out = join(bin, 'out');
    await fakeOpenerRecordingTo('xdg-open', out);
    expect(browserOpener({ env: { PATH: bin, WAYLAND_DISPLAY: 'wayland-0' }, platform: 'linux' })).toBe(
      join(bin, 'xdg-open'),
    );
    expect(
      await openBrowser('http://127.0.0.1/login?a=1', { env: { PATH: bin, DISPLAY: ':0' }, platform: 'linux' }),
    ).toBe(true);
    await pollUntil(async () => (await readFile(out, 'utf8').catch(() => '')) !== '');
    expect(await readFile(out, 'utf8')).toBe('http://127.0.0.1/login?a=1');

    await fakeOpenerRecordingTo('open', out);
    expect(browserOpener({ env: { PATH: bin }, platform: 'darwin' })).toBe(join(bin, 'open'));
  });

  it('CLAW_BYTEROVER_NO_BROWSER=1 turns it off', async () => {
    await fakeOpenerRecordingTo('xdg-open', join(bin, 'out'));
    expect(
      browserOpener({ env: { PATH: bin, DISPLAY: ':0', CLAW_BYTEROVER_NO_BROWSER: '1' }, platform: 'linux' }),
    ).toBeUndefined();
  });
});
