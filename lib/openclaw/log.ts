/**
 * The plugin logs through lib/log's one pino logger (with its redaction), and pino writes into
 * OpenClaw's plugin logger, so lines land in the gateway's log with the plugin's name on them.
 * Each JSON line is turned back into `message key=value …` at the matching OpenClaw level.
 */
import { createLogger, type Logger } from '../log/index.js';
import type { PluginLogger } from './host.js';

const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v']);

function fieldText(v: unknown): string {
  if (typeof v === 'string') return /\s/.test(v) ? JSON.stringify(v) : v;
  if (v && typeof v === 'object') {
    const o = v as { code?: unknown; message?: unknown };
    if (typeof o.message === 'string')
      return JSON.stringify(typeof o.code === 'string' ? `${o.code}: ${o.message}` : o.message);
    return JSON.stringify(v);
  }
  return String(v);
}

/** One pino JSON line as `msg k=v …`. */
export function formatLine(line: string): { level: number; text: string } {
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return { level: 30, text: line.trim() };
  }
  const fields = Object.entries(obj)
    .filter(([k, v]) => !SKIP.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${fieldText(v)}`);
  const msg = typeof obj.msg === 'string' ? obj.msg : '';
  return { level: typeof obj.level === 'number' ? obj.level : 30, text: [msg, ...fields].filter(Boolean).join(' ') };
}

/** A pino logger (lib/log, redacting) that writes into OpenClaw's plugin logger. */
export function hostLogger(host: PluginLogger, level = 'info'): Logger {
  return createLogger({
    name: 'claw-byterover',
    level,
    destination: {
      write(chunk: string) {
        for (const line of chunk.split('\n')) {
          if (!line.trim()) continue;
          const { level: n, text } = formatLine(line);
          if (n >= 50) host.error(text);
          else if (n >= 40) host.warn(text);
          else if (n >= 30) host.info(text);
          else (host.debug ?? host.info)(text);
        }
      },
    },
  });
}
