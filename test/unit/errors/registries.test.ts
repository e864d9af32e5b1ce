/**
 * Error codes live in registries, one per concern, and the documentation is checked against them:
 * - no ClawError is constructed with a string-literal code in lib/ (it names a registry constant),
 *   except the files listed in PENDING with the reason;
 * - no two registries claim the same code;
 * - every code in an error table of the README or docs/readme/*.md (a table whose first column is
 *   `code`) is a registered code, a native status, or a code listed in NOT_CLAW_ERRORS with what it
 *   is instead.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_ERROR_CODES, AgentLinkErrorCode } from '../../../lib/agent/errors.js';
import { BridgeErrorCode } from '../../../lib/bridge/errors.js';
import { OAuthErrorCode } from '../../../lib/bridge/oauth/errors.js';
import { SkillErrorCode } from '../../../lib/bridge/skill/codes.js';
import { StoreErrorCode } from '../../../lib/bridge/store/errors.js';
import { AuthErrorCode } from '../../../lib/byterover/auth/errors.js';
import { ByteRoverErrorCode } from '../../../lib/byterover/errors.js';
import { ClawApiErrorCode } from '../../../lib/clawapi/errors.js';
import { CliErrorCode } from '../../../lib/cli/errors.js';
import { ConfigErrorCode } from '../../../lib/errors.js';
import { HttpErrorCode } from '../../../lib/http/errors.js';
import { MemoryErrorCode } from '../../../lib/memory/errors.js';
import { SpaceErrorCode, TopicErrorCode } from '../../../lib/memory/v4/errors.js';
import { CLAW_STATUS, NativeErrorCode } from '../../../lib/native.js';
import { OpenClawErrorCode } from '../../../lib/openclaw/errors.js';

const root = resolve(import.meta.dirname, '../../..');

const REGISTRIES: Record<string, readonly string[]> = {
  'agent/errors.ts AGENT_ERROR_CODES': AGENT_ERROR_CODES,
  'agent/errors.ts AgentLinkErrorCode': Object.values(AgentLinkErrorCode),
  'bridge/errors.ts BridgeErrorCode': Object.values(BridgeErrorCode),
  'bridge/oauth/errors.ts OAuthErrorCode': Object.values(OAuthErrorCode),
  'bridge/skill/codes.ts SkillErrorCode': Object.values(SkillErrorCode),
  'bridge/store/errors.ts StoreErrorCode': Object.values(StoreErrorCode),
  'byterover/auth/errors.ts AuthErrorCode': Object.values(AuthErrorCode),
  'byterover/errors.ts ByteRoverErrorCode': Object.values(ByteRoverErrorCode),
  'clawapi/errors.ts ClawApiErrorCode': Object.values(ClawApiErrorCode),
  'cli/errors.ts CliErrorCode': Object.values(CliErrorCode),
  'errors.ts ConfigErrorCode': Object.values(ConfigErrorCode),
  'http/errors.ts HttpErrorCode': Object.values(HttpErrorCode),
  'memory/errors.ts MemoryErrorCode': Object.values(MemoryErrorCode),
  'memory/v4/errors.ts TopicErrorCode': Object.values(TopicErrorCode),
  'memory/v4/errors.ts SpaceErrorCode': Object.values(SpaceErrorCode),
  'native.ts NativeErrorCode': Object.values(NativeErrorCode),
  'openclaw/errors.ts OpenClawErrorCode': Object.values(OpenClawErrorCode),
};
const REGISTERED = new Set(Object.values(REGISTRIES).flat());

/**
 * Files still constructing a ClawError with a literal code, and why. Each entry is work left, not a
 * permission: the test fails when a file not listed here adds one, and when a listed file no longer
 * needs its entry.
 */
const PENDING: Record<string, string> = {};

/**
 * Codes the documentation's error tables name that are not ClawError codes of a registry, with what
 * they are instead.
 */
const NOT_CLAW_ERRORS: Record<string, string> = {
  // ByteRover's own codes, passed through as ByteRoverError.code (docs/readme/byterover-api.md)
  PROJECT_NOT_FOUND: 'ByteRover server code',
  FORBIDDEN: 'ByteRover server code',
  SERVICE_UNAVAILABLE: 'ByteRover server code',
  // doctor findings (lib/doctor: `code` of a check's finding, documented in docs/readme/native.md)
  NATIVE_DEPENDENCY_MISSING: 'doctor finding',
  NATIVE_ENTRY_HIDDEN: 'doctor finding',
  NATIVE_ENTRY_MANGLED: 'doctor finding',
  NATIVE_ENTRY_MISSING: 'doctor finding',
  NATIVE_GLIBC_TOO_OLD: 'doctor finding',
  NATIVE_NODE_ADDON: 'doctor finding',
  NATIVE_WRONG_ARCH: 'doctor finding',
  NATIVE_WRONG_FILE: 'doctor finding',
};

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The first-column codes of every table whose header's first cell is `code`, by file. */
function documentedCodes(): Map<string, string[]> {
  const files = [
    'README.md',
    ...readdirSync(join(root, 'docs/readme'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/readme/${f}`),
  ];
  const out = new Map<string, string[]>();
  for (const f of files) {
    let inTable = false;
    for (const line of readFileSync(join(root, f), 'utf8').split('\n')) {
      if (!line.startsWith('|')) {
        inTable = false;
        continue;
      }
      const first = line.split('|')[1]?.trim() ?? '';
      if (/^code$/i.test(first)) {
        inTable = true;
        continue;
      }
      if (!inTable) continue;
      for (const m of first.matchAll(/`([A-Z][A-Z0-9_]{2,})`/g)) out.set(m[1]!, [...(out.get(m[1]!) ?? []), f]);
    }
  }
  return out;
}

describe('error code registries', () => {
  it('lib/ constructs no ClawError with a literal code outside the pending files', () => {
    const literal = new Map<string, string[]>();
    for (const file of tsFiles(join(root, 'lib'))) {
      const codes = [...readFileSync(file, 'utf8').matchAll(/new ClawError\(\s*'([A-Z][A-Z0-9_]+)'/g)].map(
        (m) => m[1]!,
      );
      if (codes.length) literal.set(relative(root, file), codes);
    }
    expect([...literal.keys()].sort()).toEqual(Object.keys(PENDING).sort());
    // and the literals left are registered codes all the same
    for (const codes of literal.values()) for (const c of codes) expect(REGISTERED, c).toContain(c);
  });

  it('no two registries claim the same code', () => {
    const owner = new Map<string, string>();
    const clashes: string[] = [];
    for (const [name, codes] of Object.entries(REGISTRIES)) {
      for (const c of codes) {
        if (owner.has(c)) clashes.push(`${c}: ${owner.get(c)} and ${name}`);
        owner.set(c, name);
      }
    }
    expect(clashes).toEqual([]);
  });

  it('the README and docs/readme error tables name only registered codes (or native statuses)', () => {
    const documented = documentedCodes();
    expect(documented.size).toBeGreaterThan(50);
    const native = new Set(Object.keys(CLAW_STATUS));
    // A v4 topic's validation findings (Violation.code of lib/memory/v4/validate.ts, not ClawErrors:
    // docs/readme/v4.md lists them), read from that file.
    const violations = new Set(
      [...readFileSync(join(root, 'lib/memory/v4/validate.ts'), 'utf8').matchAll(/(?:code: |\? )'(BV_[A-Z_]+)'/g)].map(
        (m) => m[1]!,
      ),
    );
    const unknown = [...documented]
      .filter(([c]) => !REGISTERED.has(c) && !native.has(c) && !violations.has(c) && !(c in NOT_CLAW_ERRORS))
      .map(([c, files]) => `${c} (${files.join(', ')})`);
    expect(unknown).toEqual([]);
  });
});
