/**
 * A one-line progress indicator on stderr for long transfers. It appears only when stderr is a
 * TTY and the operation has run longer than `delayMs` (short commands print nothing), redraws in
 * place (phase, then a counter bar or the elapsed seconds), and erases itself when done so the result (or error) starts on a clean line.
 */
import type { Output } from './output.js';

export interface Progress {
  /** Current phase, e.g. `downloading snapshot`; `current/total` adds a counter and a bar. */
  update(phase: string, current?: number, total?: number): void;
  /** Erases the line (if it was shown). Idempotent. */
  done(): void;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const TICK_MS = 100;

export const NO_PROGRESS: Progress = { update() {}, done() {} };

function bar(current: number, total: number, width = 20): string {
  const ratio = total > 0 ? Math.min(1, current / total) : 0;
  const full = Math.round(ratio * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${current}/${total}`;
}

export function createProgress(out: Output, delayMs = 400): Progress {
  if (!out.stderrIsTTY) return NO_PROGRESS;
  let phase = '';
  let counter = '';
  let frame = 0;
  let shown = false;
  let finished = false;
  let lastWidth = 0;
  const started = Date.now();

  const render = (): void => {
    if (finished) return;
    // Without a counter, elapsed seconds show that a single long request is still alive.
    const tail = counter || `${Math.floor((Date.now() - started) / 1000)}s`;
    const line = `${FRAMES[frame++ % FRAMES.length]} ${phase} ${tail}`;
    out.writeErr(`\r${line}${' '.repeat(Math.max(0, lastWidth - line.length))}`);
    lastWidth = line.length;
    shown = true;
  };
  const startTimer = setTimeout(render, delayMs);
  startTimer.unref?.();
  const ticker = setInterval(() => shown && render(), TICK_MS);
  ticker.unref?.();

  return {
    update(p, current, total) {
      phase = p;
      counter =
        current !== undefined && total !== undefined
          ? bar(current, total)
          : current !== undefined
            ? String(current)
            : '';
      if (shown) render();
    },
    done() {
      if (finished) return;
      finished = true;
      clearTimeout(startTimer);
      clearInterval(ticker);
      if (shown) out.writeErr(`\r${' '.repeat(lastWidth)}\r`);
    },
  };
}
