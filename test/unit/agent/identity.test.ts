/**
 * The device identity: created once with the right modes, reused, bound to its id the way OpenClaw
 * derives it, safe under concurrent creation, and refused (without leaking the key) when corrupt.
 * Also: the data-dir rules are the credential store's, and the v3 payload is OpenClaw's format.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClawError } from '../../../lib/errors.js';
import { deviceAuthPayloadV3, identityPath, loadOrCreateIdentity, rawPublicKey } from '../../../lib/agent/index.js';
import { tempDataDir } from './helpers.js';

describe('device identity', () => {
  it('is created 0600 in a 0700 folder under the data dir, and reused', async () => {
    const dataDir = await tempDataDir();
    const a = await loadOrCreateIdentity({ dataDir });
    expect(a.path).toBe(join(dataDir, 'agent', 'device-identity.json'));
    expect((await stat(a.path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dataDir, 'agent'))).mode & 0o777).toBe(0o700);
    const b = await loadOrCreateIdentity({ dataDir });
    expect(b.deviceId).toBe(a.deviceId);
    expect(b.publicKey).toBe(a.publicKey);
  });

  it('follows CLAW_BYTEROVER_DATA_DIR, then an absolute XDG_DATA_HOME', async () => {
    const d = await tempDataDir();
    const viaEnv = await loadOrCreateIdentity({ env: { CLAW_BYTEROVER_DATA_DIR: join(d, 'explicit') } });
    expect(viaEnv.path).toBe(identityPath(join(d, 'explicit')));
    const viaXdg = await loadOrCreateIdentity({ env: { XDG_DATA_HOME: join(d, 'xdg') } });
    expect(viaXdg.path).toBe(join(d, 'xdg', 'claw-byterover', 'agent', 'device-identity.json'));
  });

  it('device id = hex SHA-256 of the raw Ed25519 public key; publicKey is that key in base64url; signatures verify', async () => {
    const id = await loadOrCreateIdentity({ dataDir: await tempDataDir() });
    const raw = Buffer.from(id.publicKey, 'base64url');
    expect(raw).toHaveLength(32);
    expect(id.publicKey).not.toMatch(/[=+/]/);
    expect(rawPublicKey(id.publicKeyPem).equals(raw)).toBe(true);
    expect(id.deviceId).toBe(createHash('sha256').update(raw).digest('hex'));
    const sig = Buffer.from(id.sign('v3|payload'), 'base64url');
    expect(verify(null, Buffer.from('v3|payload'), createPublicKey(id.publicKeyPem), sig)).toBe(true);
    expect(verify(null, Buffer.from('v3|other'), createPublicKey(id.publicKeyPem), sig)).toBe(false);
  });

  it('concurrent first use in one data dir yields one identity', async () => {
    const dataDir = await tempDataDir();
    const ids = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateIdentity({ dataDir })));
    expect(new Set(ids.map((i) => i.deviceId)).size).toBe(1);
    expect(JSON.parse(await readFile(ids[0]!.path, 'utf8')).deviceId).toBe(ids[0]!.deviceId);
  });

  it('a corrupt or tampered file is AGENT_IDENTITY_INVALID, with the fix, and without key material', async () => {
    const dataDir = await tempDataDir();
    const id = await loadOrCreateIdentity({ dataDir });
    const stored = JSON.parse(await readFile(id.path, 'utf8')) as Record<string, string>;
    const privateBody = stored.privateKeyPem!.split('\n')[1]!;
    for (const [what, text] of [
      ['truncated JSON', JSON.stringify(stored).slice(0, 150)],
      ['an id that is not the key hash', JSON.stringify({ ...stored, deviceId: 'a'.repeat(64) })],
      [
        'a key pair that does not match',
        JSON.stringify({
          ...stored,
          publicKeyPem: (await loadOrCreateIdentity({ dataDir: await tempDataDir() })).publicKeyPem,
        }),
      ],
    ] as const) {
      await writeFile(id.path, text);
      const e = await loadOrCreateIdentity({ dataDir }).catch((x: unknown) => x);
      expect(e, what).toBeInstanceOf(ClawError);
      expect((e as ClawError).code).toBe('AGENT_IDENTITY_INVALID');
      expect((e as ClawError).hint).toContain(`mv ${id.path}`);
      expect((e as ClawError).message).not.toContain(privateBody.slice(0, 20));
    }
  });
});

describe('signature payload v3 (packages/gateway-client/src/device-auth.ts)', () => {
  it('joins the fields with | and lowercases platform and family (ASCII only)', () => {
    expect(
      deviceAuthPayloadV3({
        deviceId: 'dev',
        clientId: 'node-host',
        clientMode: 'node',
        role: 'node',
        scopes: ['a', 'b'],
        signedAtMs: 1737264000000,
        token: 'tok',
        nonce: 'n-1',
        platform: ' Linux ',
        deviceFamily: 'Linux',
      }),
    ).toBe('v3|dev|node-host|node|node|a,b|1737264000000|tok|n-1|linux|linux');
    expect(
      deviceAuthPayloadV3({
        deviceId: 'd',
        clientId: 'c',
        clientMode: 'm',
        role: 'r',
        scopes: [],
        signedAtMs: 0,
        token: undefined,
        nonce: 'n',
        platform: undefined,
        deviceFamily: 'ÉTÉ',
      }),
    ).toBe('v3|d|c|m|r||0||n||ÉtÉ');
  });
});
