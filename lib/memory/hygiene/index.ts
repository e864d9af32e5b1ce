/**
 * lib/memory/hygiene: what curate (and the v4 `record` path) checks before anything is written to
 * memory. Standalone: no I/O, no tree; callers pass text and existing notes.
 *
 * - secrets.ts: the documented secret detector (`scanSecrets`, `redactSecrets`, `describeFindings`);
 * - duplicates.ts: near-duplicate and same-subject detection (`findSimilar`, `mergeBodies`).
 *
 * `checkSecrets(text, mode)` is the one call a writer makes: `refuse` throws MEMORY_SECRET_DETECTED
 * (naming each finding's kind and position, never its value), `redact` returns the text with
 * `[REDACTED:<kind>]` in place of each value and the kinds it replaced.
 */
import { ClawError } from '../../errors.js';
import { describeFindings, redactSecrets, scanSecrets, type SecretKind } from './secrets.js';
import { MemoryErrorCode } from '../errors.js';

export * from './secrets.js';
export * from './duplicates.js';

export type SecretMode = 'refuse' | 'redact';

export function checkSecrets(
  text: string,
  mode: SecretMode,
  what = 'the note',
): { text: string; redacted: SecretKind[] } {
  if (mode === 'redact') {
    const r = redactSecrets(text);
    return { text: r.text, redacted: [...new Set(r.findings.map((f) => f.kind))] };
  }
  const findings = scanSecrets(text);
  if (findings.length === 0) return { text, redacted: [] };
  throw new ClawError(
    MemoryErrorCode.SECRET_DETECTED,
    `expected ${what} to hold no credentials, found ${describeFindings(findings)}; nothing was written`,
    {
      hint: 'Remove the secret and write the note again (keep a reference such as "the key is in the BYTEROVER_API_KEY environment variable"), or ask for redaction (`secrets: "redact"`) to store it with [REDACTED:<kind>] in place of each value.',
      details: { findings },
    },
  );
}
