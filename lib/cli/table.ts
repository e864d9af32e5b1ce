/** Plain-text tables for human output (no colours: output is often piped or captured). */
export function table(header: string[], rows: Array<Array<string | undefined>>): string {
  const cells = [header, ...rows.map((r) => r.map((c) => c ?? ''))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
