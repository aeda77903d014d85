/** Plain-text tables and byte sizes for terminal output. */

export function table(rows: string[][], header?: string[]): string {
  const all = header ? [header, ...rows] : rows;
  // A loop, not Math.max(...column): a spread of a very long column would overflow the call stack.
  const widths = all[0]?.map((_, i) => all.reduce((w, r) => Math.max(w, (r[i] ?? '').length), 0)) ?? [];
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return all.map(fmt).join('\n');
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}
