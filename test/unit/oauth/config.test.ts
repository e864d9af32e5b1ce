/**
 * bridge.oauth settings: defaults (prefault-able), strictness, secrets and URLs validated, the
 * redirect URI derived from publicUrl, and return_to limited to same-origin paths.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isClawError } from '../../../lib/errors.js';
import {
  decodeEncryptionKey,
  OAUTH_ENV_VARS,
  OAUTH_SECRET_PATHS,
  OAuthConfigSchema,
  parseOAuthConfig,
  redirectUriOf,
  safeReturnTo,
} from '../../../lib/bridge/oauth/index.js';

describe('OAuthConfigSchema', () => {
  it('parses {} to an unconfigured login with defaults (usable with .prefault({}))', () => {
    const c = parseOAuthConfig({});
    expect(c.issuer).toBeUndefined();
    expect(c).toMatchObject({
      clientId: 'byterover-cli-client',
      scopes: ['read', 'write'],
      profile: 'default',
      skipDiscovery: false,
      offlineAccess: false,
      loginTtlSeconds: 600,
      allowedSubjects: [],
    });
    expect(OAuthConfigSchema.prefault({}).parse(undefined)).toEqual(c);
  });

  it('is strict, and says which key is wrong', () => {
    const err = (() => {
      try {
        parseOAuthConfig({
          issuer: 'https://iam.example/api/v1/oidc',
          redirectUri: 'https://b.example/auth/callback',
          redirectURI: 'x',
        });
      } catch (e) {
        return e;
      }
    })();
    expect(isClawError(err, 'CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toContain('bridge.oauth');
    expect((err as Error).message).toContain('redirectURI');
  });

  it('requires a redirect URI (or publicUrl) once an issuer is set', () => {
    expect(() => parseOAuthConfig({ issuer: 'https://iam.example/api/v1/oidc' })).toThrow(/redirectUri or publicUrl/);
    expect(
      parseOAuthConfig({ issuer: 'https://iam.example/api/v1/oidc', publicUrl: 'https://bridge.example' }).issuer,
    ).toBe('https://iam.example/api/v1/oidc');
  });

  it('accepts https URLs, and http only on loopback', () => {
    for (const ok of [
      'https://bridge.example/auth/callback',
      'http://127.0.0.1:8787/auth/callback',
      'http://localhost:8787/auth/callback',
      'http://[::1]:8787/auth/callback',
    ]) {
      expect(() => parseOAuthConfig({ issuer: 'https://iam.example', redirectUri: ok }), ok).not.toThrow();
    }
    for (const bad of [
      'http://bridge.example/auth/callback',
      'ftp://x/y',
      'https://u:p@bridge.example/cb',
      'https://bridge.example/cb#frag',
      '/auth/callback',
    ]) {
      expect(() => parseOAuthConfig({ issuer: 'https://iam.example', redirectUri: bad }), bad).toThrow(/https:\/\//);
    }
    expect(() => parseOAuthConfig({ issuer: 'http://iam.example', publicUrl: 'https://b.example' })).toThrow(/issuer/);
  });

  it('takes an encryptionKey only as the base64 of exactly 32 bytes (standard or url-safe)', () => {
    const key = randomBytes(32);
    expect(decodeEncryptionKey(key.toString('base64'))?.equals(key)).toBe(true);
    expect(decodeEncryptionKey(key.toString('base64url'))?.equals(key)).toBe(true);
    expect(decodeEncryptionKey(randomBytes(16).toString('base64'))).toBeUndefined();
    expect(decodeEncryptionKey('not base64 at all!')).toBeUndefined();
    expect(() => parseOAuthConfig({ encryptionKey: randomBytes(31).toString('base64') })).toThrow(/32 bytes/);
  });

  it('lists its secrets and suggested environment variables for the composed config', () => {
    expect([...OAUTH_SECRET_PATHS].sort()).toEqual(['clientSecret', 'encryptionKey']);
    const paths = OAUTH_ENV_VARS.map((v) => v.path);
    for (const p of ['issuer', 'clientId', 'clientSecret', 'redirectUri', 'publicUrl', 'scopes', 'encryptionKey'])
      expect(paths).toContain(p);
    for (const v of OAUTH_ENV_VARS) expect(v.name).toMatch(/^CLAW_BYTEROVER_BRIDGE_[A-Z_]+$/);
    // Every suggested path is a key of the schema.
    const shape = Object.keys(OAuthConfigSchema.shape);
    for (const p of paths) expect(shape).toContain(p);
  });
});

describe('redirectUriOf', () => {
  it('prefers redirectUri, else appends /auth/callback to publicUrl keeping a path prefix', () => {
    expect(redirectUriOf({ redirectUri: 'https://a.example/cb', publicUrl: 'https://b.example' })).toBe(
      'https://a.example/cb',
    );
    expect(redirectUriOf({ publicUrl: 'https://b.example' })).toBe('https://b.example/auth/callback');
    expect(redirectUriOf({ publicUrl: 'https://b.example/' })).toBe('https://b.example/auth/callback');
    expect(redirectUriOf({ publicUrl: 'https://b.example/bridge/' })).toBe('https://b.example/bridge/auth/callback');
    expect(redirectUriOf({})).toBeUndefined();
  });
});

describe('safeReturnTo', () => {
  it('keeps same-origin paths', () => {
    expect(safeReturnTo('/')).toBe('/');
    expect(safeReturnTo('/auth/status?x=1#top')).toBe('/auth/status?x=1#top');
    expect(safeReturnTo('/a/../b')).toBe('/b');
    expect(safeReturnTo(null)).toBeUndefined();
  });

  it('refuses anything a browser could read as another origin', () => {
    for (const bad of [
      '',
      'https://evil.example',
      '//evil.example',
      '///evil.example',
      '/\\evil.example',
      '\\\\evil.example',
      'evil',
      'javascript:alert(1)',
      '/\t/evil.example',
      '/\n/evil.example',
      '/a b',
      `/${'x'.repeat(2100)}`,
      '/.//evil.example',
      '/..//evil.example',
      '/a/..//evil.example',
      '/%2e//evil.example',
      '/./%2e//evil.example/x?y',
    ]) {
      expect(safeReturnTo(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });
});
