/**
 * Reading OpenClaw agent messages: user / assistant / toolResult messages whose `content` is a
 * string or an array of parts (`{type: 'text', text}`, `{type: 'toolCall', name, …}`, images, …).
 * Only text is read; everything else is skipped.
 */
import { CHARS_PER_TOKEN } from '../memory/index.js';
import type { AgentMessage } from './host.js';

/** The text of a message: its string content, or its text parts joined by newlines. */
export function messageText(m: AgentMessage | undefined): string {
  if (!m) return '';
  const c = m.content;
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return '';
  return c
    .filter((p) => p && p.type === 'text' && typeof p.text === 'string')
    .map((p) => p.text as string)
    .join('\n');
}

/** The text of the last user message, or ''. */
export function lastUserText(messages: readonly AgentMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m?.role === 'user') return messageText(m);
  }
  return '';
}

/** The text of the last assistant message that has text, or ''. */
export function lastAssistantText(messages: readonly AgentMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m?.role !== 'assistant') continue;
    const t = messageText(m);
    if (t.trim()) return t;
  }
  return '';
}

/** Names of the tools the assistant called in these messages. */
export function toolCallNames(messages: readonly AgentMessage[]): Set<string> {
  const out = new Set<string>();
  for (const m of messages) {
    if (m?.role !== 'assistant' || !Array.isArray(m.content)) continue;
    for (const p of m.content) if (p && p.type === 'toolCall' && typeof p.name === 'string') out.add(p.name);
  }
  return out;
}

/** Characters of a message's text (as messageText would join it), without building the string. */
function textLength(m: AgentMessage | undefined): number {
  if (!m) return 0;
  const c = m.content;
  if (typeof c === 'string') return c.length;
  if (!Array.isArray(c)) return 0;
  let n = 0;
  let parts = 0;
  for (const p of c)
    if (p && p.type === 'text' && typeof p.text === 'string') {
      n += (p.text as string).length;
      parts++;
    }
  return parts > 1 ? n + parts - 1 : n;
}

/**
 * Estimated tokens of the messages' text (lib/memory's estimate: chars / 4, rounded up per message).
 * One pass of additions, no string built: a 100,000-message session costs about a millisecond.
 */
export function estimateMessagesTokens(messages: readonly AgentMessage[]): number {
  let n = 0;
  for (const m of messages) n += Math.ceil(textLength(m) / CHARS_PER_TOKEN);
  return n;
}
