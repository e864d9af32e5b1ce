/**
 * The small pages the browser sees at the end of a login: HTML for browsers, JSON for everyone else.
 * Never a token, code or verifier: only what the user needs (who, until when, or what went wrong and
 * what to do next).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../server.js';

/** Browsers send `Accept: text/html,…`; API clients and curl do not. */
export function wantsHtml(req: IncomingMessage): boolean {
  return /\btext\/html\b/i.test(String(req.headers.accept ?? ''));
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** Headers for every login page: no caching, no Referer (the callback URL carries the code), no framing. */
export const PAGE_HEADERS: Record<string, string> = {
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
};

export interface PageContent {
  title: string;
  lines: string[];
  hint?: string | undefined;
}

export function renderPage(p: PageContent): string {
  const body = p.lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('\n');
  const hint = p.hint ? `<p class="hint">${escapeHtml(p.hint)}</p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(p.title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}.hint{color:#555}</style>
</head><body><h1>${escapeHtml(p.title)}</h1>
${body}
${hint}
</body></html>
`;
}

/** Answers with the HTML page or the JSON body, whichever the client asked for. */
export function sendPage(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  page: PageContent,
  json: Record<string, unknown>,
  headers: Record<string, string | string[]> = {},
): void {
  if (!wantsHtml(req)) {
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    sendJson(res, status, json, PAGE_HEADERS);
    return;
  }
  const html = renderPage(page);
  res.writeHead(status, {
    ...PAGE_HEADERS,
    ...headers,
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
  });
  res.end(html);
}
