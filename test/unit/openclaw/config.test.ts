/**
 * Plugin config parsing: the API key as a string or a SecretRef in both registration modes, defaults,
 * refusals that name the key and never the value, the manifest's JSON Schema and the zod parser
 * agreeing on every key, the mapping onto lib/config's one schema, and where the tree lives.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../lib/config/index.js';
import { isClawError } from '../../../lib/errors.js';
import { redactString } from '../../../lib/log/index.js';
import {
  CONFIG_SOURCE,
  configLayer,
  describeSecretRef,
  parsePluginConfig,
  PluginConfigSchema,
  treeLocation,
} from '../../../lib/openclaw/config.js';
import { PACKAGE_ROOT } from '../../../lib/openclaw/plugin.js';

const manifest = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'openclaw.plugin.json'), 'utf8')) as {
  configSchema: JsonSchema;
  configContracts: { secretInputs: { paths: Array<{ path: string; expected?: string; ownerKind?: string }> } };
  uiHints: Record<string, { sensitive?: boolean }>;
};

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean;
  enum?: unknown[];
  default?: unknown;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('API key: string or SecretRef', () => {
  it('takes a plain string (what OpenClaw hands over in full mode, resolved) and registers it with the redactor', () => {
    const key = 'brv-plugin-unit-key-7f3a9c1e55';
    const c = parsePluginConfig({ apiKey: key });
    expect(c.apiKey).toBe(key);
    expect(c.unresolvedApiKeyRef).toBeUndefined();
    expect(redactString(`sent ${key} to IAM`)).toBe('sent [REDACTED] to IAM');
  });

  it('keeps a raw SecretRef (tool-discovery mode) without resolving or failing', () => {
    for (const source of ['env', 'file', 'exec', 'store'] as const) {
      const ref = { source, provider: 'default', id: 'BYTEROVER_API_KEY' };
      const c = parsePluginConfig({ apiKey: ref });
      expect(c.apiKey).toBeUndefined();
      expect(c.unresolvedApiKeyRef).toEqual(ref);
      expect(describeSecretRef(ref)).toBe(`SecretRef ${source}:default:BYTEROVER_API_KEY`);
      // Not a key: nothing of it reaches lib/config.
      expect(configLayer(c).values.apiKey).toBeUndefined();
    }
  });

  it('refuses a malformed SecretRef or an empty key, naming the key and not the value', () => {
    for (const apiKey of [
      { source: 'vault', provider: 'default', id: 'X' },
      { source: 'env', id: 'X' },
      { source: 'env', provider: 'default', id: 'X', extra: 1 },
      '',
      '   ',
      42,
    ]) {
      const e = thrown(() => parsePluginConfig({ apiKey }));
      expect(isClawError(e, 'CONFIG_INVALID'), JSON.stringify(apiKey)).toBe(true);
      const err = e as Error & { hint?: string };
      expect(err.message).toContain('apiKey');
      expect(err.message).toContain(CONFIG_SOURCE);
      expect(err.hint).toContain('openclaw config set plugins.entries.claw-byterover.config');
    }
    const secret = 'do-not-print-this-secret-value';
    const e = thrown(() => parsePluginConfig({ apiKey: secret, mode: 'sideways' })) as Error;
    expect(e.message).toContain('mode');
    expect(JSON.stringify(e)).not.toContain(secret);
    expect(e.message).not.toContain(secret);
  });
});

describe('defaults and refusals', () => {
  it('fills defaults: full mode, auto backend, 250 ms deadline, curation on', () => {
    const c = parsePluginConfig(undefined);
    expect(c).toMatchObject({
      mode: 'full',
      backend: 'auto',
      recall: { deadlineMs: 250, budgetShare: 0.1, maxHits: 6, minQueryChars: 5 },
      curate: { afterTurn: true },
      brv: { path: 'brv', timeoutMs: 5000 },
    });
    expect(parsePluginConfig({ mode: 'tools-only' }).mode).toBe('tools-only');
  });

  it('refuses unknown keys and out-of-range values, each named with its path', () => {
    const cases: Array<[unknown, string]> = [
      [{ colour: 'blue' }, 'colour'],
      [{ recall: { deadlineMs: 5 } }, 'recall.deadlineMs'],
      [{ recall: { budgetShare: 0 } }, 'recall.budgetShare'],
      [{ recall: { shout: true } }, 'recall'],
      [{ backend: 'sqlite' }, 'backend'],
      [{ byterover: { iamBaseUrl: '' } }, 'byterover.iamBaseUrl'],
    ];
    for (const [raw, path] of cases) {
      const e = thrown(() => parsePluginConfig(raw));
      expect(isClawError(e, 'CONFIG_INVALID'), JSON.stringify(raw)).toBe(true);
      expect((e as Error).message, JSON.stringify(raw)).toContain(path);
    }
  });
});

describe('the manifest and the parser agree', () => {
  /** Every property path of a JSON Schema object, with its `type`. */
  function jsonPaths(s: JsonSchema, prefix = ''): string[] {
    return Object.entries(s.properties ?? {}).flatMap(([k, v]) => {
      const p = prefix ? `${prefix}.${k}` : k;
      return v.type === 'object' && v.properties ? [p, ...jsonPaths(v, p)] : [p];
    });
  }
  /** Every key path of the zod object schema. */
  function zodPaths(shape: Record<string, unknown>, prefix = ''): string[] {
    return Object.entries(shape).flatMap(([k, v]) => {
      const p = prefix ? `${prefix}.${k}` : k;
      let inner = v as { def: { innerType?: unknown; shape?: Record<string, unknown>; type?: string } };
      while (inner.def.innerType) inner = inner.def.innerType as typeof inner;
      return inner.def.type === 'object' && inner.def.shape ? [p, ...zodPaths(inner.def.shape, p)] : [p];
    });
  }

  it('lists the same keys (JSON Schema in openclaw.plugin.json, zod in config.ts), strict at every level', () => {
    expect(jsonPaths(manifest.configSchema).sort()).toEqual(zodPaths(PluginConfigSchema.shape).sort());
    const strict = (s: JsonSchema): void => {
      if (s.type === 'object' && s.properties) {
        expect(s.additionalProperties).toBe(false);
        for (const v of Object.values(s.properties)) strict(v);
      }
    };
    strict(manifest.configSchema);
  });

  it('declares apiKey as string-or-object under configContracts.secretInputs (owned by a capability, so an unresolvable SecretRef never blocks the gateway), marked sensitive', () => {
    expect(manifest.configSchema.properties?.apiKey?.type).toEqual(['string', 'object']);
    expect(manifest.configContracts.secretInputs.paths).toEqual([
      { path: 'apiKey', expected: 'string', ownerKind: 'capability' },
    ]);
    expect(manifest.uiHints.apiKey?.sensitive).toBe(true);
  });

  it('has the same defaults as the parser', () => {
    const parsed = parsePluginConfig({}) as unknown as Record<string, Record<string, unknown>>;
    const props = manifest.configSchema.properties ?? {};
    expect(props.mode?.default).toBe(parsed.mode);
    expect(props.backend?.default).toBe(parsed.backend);
    for (const group of ['recall', 'curate', 'brv'] as const) {
      for (const [k, v] of Object.entries(props[group]?.properties ?? {}))
        expect(v.default, `${group}.${k}`).toEqual(parsed[group]?.[k]);
    }
  });
});

describe('mapping onto lib/config', () => {
  it('becomes a layer that lib/config validates and attributes to the plugin config', () => {
    const shared = {
      apiKey: 'brv-layer-key-0123456789',
      team: 'team-7',
      space: 'space-9',
      branch: 'trunk',
      logLevel: 'debug' as const,
      byterover: { iamBaseUrl: 'http://127.0.0.1:1/', cogitBaseUrl: 'http://127.0.0.1:2' },
    };
    const layer = configLayer(parsePluginConfig({ ...shared, recall: { deadlineMs: 100 } }));
    // The ByteRover settings, and nothing OpenClaw-only (recall, mode, …).
    expect(layer.values).toEqual(shared);
    const env = { source: 'env BYTEROVER_API_KEY', values: { apiKey: 'env-key-should-lose-0000', team: 'env-team' } };
    const r = resolveConfig([env, layer]);
    expect(r.config).toMatchObject({
      apiKey: 'brv-layer-key-0123456789',
      team: 'team-7',
      space: 'space-9',
      branch: 'trunk',
      logLevel: 'debug',
    });
    expect(r.config.byterover.iamBaseUrl).toBe('http://127.0.0.1:1');
    expect(r.sources.apiKey).toBe(CONFIG_SOURCE);
    expect(r.sources.team).toBe(CONFIG_SOURCE);
  });

  it('an empty plugin config adds nothing', () => {
    expect(configLayer(parsePluginConfig({})).values).toEqual({});
  });
});

describe('where the context tree is', () => {
  it('defaults to the agent workspace, resolves relative paths against it, keeps state beside the tree', () => {
    expect(treeLocation({}, '/ws/agent')).toEqual({
      projectRoot: '/ws/agent',
      treeRoot: '/ws/agent/.brv/context-tree',
      stateDir: '/ws/agent/.brv/claw-byterover',
    });
    expect(treeLocation({ projectDir: 'repo' }, '/ws/agent')).toMatchObject({
      projectRoot: '/ws/agent/repo',
      treeRoot: '/ws/agent/repo/.brv/context-tree',
    });
    expect(treeLocation({ projectDir: '/srv/app' }, '/ws/agent').projectRoot).toBe('/srv/app');
    expect(treeLocation({ projectDir: '/srv/app', contextTree: 'docs/memory' }, undefined)).toEqual({
      projectRoot: '/srv/app',
      treeRoot: '/srv/app/docs/memory',
      stateDir: '/srv/app/docs/.memory.claw-byterover',
    });
    expect(treeLocation({ projectDir: '/srv/app', contextTree: '.brv/context-tree' }, undefined).stateDir).toBe(
      '/srv/app/.brv/claw-byterover',
    );
  });
});
