/**
 * What an accepted turn leaves in the context tree (the context engine's `commitTurn`/`afterTurn`).
 *
 * The heuristic is deliberately conservative: a context tree full of chat noise recalls badly, and
 * an agent that wants something kept can call `byterover_curate` itself. A turn yields notes only
 * for statements a person or the agent marked as durable:
 *
 * 1. **Explicit requests** in the user's messages: a sentence or line that starts with "remember",
 *    "note", "keep in mind", "don't forget" / "do not forget" or "for future reference" (optionally
 *    "please …" and "… that"), e.g. "Remember that staging uses the eu-west-1 database." The note is
 *    the statement after the cue. Tagged `remember`.
 * 2. **Recorded decisions** in the user's messages or the assistant's final answer: a line that
 *    starts with "Decision:", "Decided:" or "We decided (to|that|on) …". Tagged `decision`.
 *
 * Nothing else is kept: not the assistant's answer as a whole, not tool output, not questions. A
 * candidate is dropped when it is shorter than 12 characters, ends with "?", or looks like it holds a
 * credential (anything lib/log's redactor would scrub, or a long key-like token): memory is synced
 * to ByteRover's cloud and must never carry secrets. A turn in which the agent already called
 * `byterover_curate`, and heartbeat turns, yield nothing. Notes go under `openclaw/` in the tree,
 * tagged `openclaw`; their ids derive from their content, so a retried commit writes nothing twice.
 */
import { redactString } from '../log/index.js';
import { slugify, type Note } from '../memory/index.js';
import type { AgentMessage } from './host.js';
import { lastAssistantText, messageText, toolCallNames } from './messages.js';

export const CURATE_TOOL = 'byterover_curate';
const MIN_CHARS = 12;
const MAX_CHARS = 2000;

const REMEMBER =
  /^(?:please[,\s]+)?(?:remember|note|keep in mind|don'?t forget|do not forget|for future reference)\b(?:\s+that\b)?\s*[:,-]?\s*(.+)$/i;
const DECISION = /^(?:decision|decided)\s*:\s*(.+)$|^(we decided\s+(?:to|that|on)\b.+)$/i;
/** Tokens that look like credentials: provider prefixes, PEM blocks, long unbroken key-like runs. */
const KEYLIKE =
  /(?:\b(?:sk|pk|rk|ghp|gho|ghs|xox[abp]|glpat|brv)[-_][A-Za-z0-9_-]{8,}|AKIA[0-9A-Z]{12,}|-----BEGIN [A-Z ]*KEY-----|\b[A-Za-z0-9+/_-]{40,}\b)/;

export interface CuratedCandidate {
  kind: 'remember' | 'decision';
  note: Note;
}

/** Splits text into candidate statements: lines, then sentences within a line. */
function statements(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s*(?:[-*+]|\d+[.)])\s+/, '').trim();
    if (!line) continue;
    // Sentence ends followed by a capital letter start a new statement ("… today. Remember that …").
    for (const s of line.split(/(?<=[.!])\s+(?=[A-Z])/)) if (s.trim()) out.push(s.trim());
  }
  return out;
}

function clean(s: string): string {
  return s
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^["'“”]+|["'“”]+$/g, '')
    .trim();
}

function acceptable(s: string): boolean {
  if (s.length < MIN_CHARS || s.length > MAX_CHARS) return false;
  if (s.endsWith('?')) return false;
  if (redactString(s) !== s || KEYLIKE.test(s)) return false;
  return true;
}

function titleOf(s: string): string {
  const first = s.replace(/[.!]+$/, '');
  return first.length > 80 ? `${first.slice(0, 79).trimEnd()}…` : first;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The notes an accepted turn yields (see the file comment for the rules). */
export function durableNotes(turn: readonly AgentMessage[], opts: { isHeartbeat?: boolean } = {}): CuratedCandidate[] {
  if (opts.isHeartbeat) return [];
  if (toolCallNames(turn).has(CURATE_TOOL)) return [];
  const seen = new Set<string>();
  const out: CuratedCandidate[] = [];
  const add = (kind: CuratedCandidate['kind'], statement: string): void => {
    const s = capitalize(clean(statement));
    if (!acceptable(s) || seen.has(s.toLowerCase())) return;
    seen.add(s.toLowerCase());
    const title = titleOf(s);
    const content = s.endsWith('.') || s.endsWith('!') ? s : `${s}.`;
    out.push({ kind, note: { title, content, tags: ['openclaw', kind], path: `openclaw/${slugify(title)}` } });
  };
  const userTexts = turn.filter((m) => m?.role === 'user').map(messageText);
  for (const text of userTexts) {
    for (const s of statements(text)) {
      const r = REMEMBER.exec(s);
      // "Remember to rotate the keys" keeps the instruction: "Rotate the keys".
      if (r?.[1]) add('remember', r[1].replace(/^to\s+/i, ''));
      const d = DECISION.exec(s);
      if (d) add('decision', d[1] ?? d[2] ?? '');
    }
  }
  for (const s of statements(lastAssistantText(turn))) {
    const d = DECISION.exec(s);
    if (d) add('decision', d[1] ?? d[2] ?? '');
  }
  return out;
}
