/** Markdown rendering of the results: one table per measurement, then the targets with met / not met. */

export interface Table {
  title: string;
  header: string[];
  /** Cells as displayed; columns after the first that look numeric are right-aligned. */
  rows: string[][];
  /** Rows in bold, e.g. totals. */
  boldRows?: number[];
  notes?: string[];
}

export interface Target {
  /** What is measured, e.g. `pack time vs tar | gzip -6`. */
  name: string;
  /** The goal, e.g. `≤ 1.0×`. */
  goal: string;
  /** The measured figure, e.g. `0.83×`. */
  value: string;
  met: boolean;
  /** A moonshot: not meeting it is reported, never a failure. */
  stretch?: boolean;
}

const NUMERIC = /^[-+]?[\d,.]+\s*(%|×|s|B|MB|MB\/s|KiB)?(\s*\(.*\))?$/;

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** One markdown table. Numeric columns (judged on every body row) are right-aligned. */
export function renderTable(t: Table): string {
  const width = t.header.length;
  for (const r of t.rows) {
    if (r.length !== width)
      throw new RangeError(`table "${t.title}": a row has ${r.length} cells, not ${width}`);
  }
  const numeric = t.header.map(
    (_, i) =>
      i > 0 &&
      t.rows.length > 0 &&
      t.rows.every((r) => r[i] === '' || r[i] === '—' || NUMERIC.test(r[i]!.replace(/\*/g, ''))),
  );
  const bold = new Set(t.boldRows ?? []);
  const line = (cells: string[]) => `| ${cells.map(escapeCell).join(' | ')} |`;
  const out = [
    `### ${t.title}`,
    '',
    line(t.header),
    `| ${numeric.map((n) => (n ? '---:' : '---')).join(' | ')} |`,
    ...t.rows.map((r, i) => line(bold.has(i) ? r.map((c) => (c ? `**${c}**` : c)) : r)),
  ];
  if (t.notes?.length) out.push('', ...t.notes.map((n) => `- ${n}`));
  return out.join('\n');
}

/** The targets as a table: goal, figure and ✅ met / ❌ not met (🌙 for a moonshot not met). */
export function renderTargets(targets: readonly Target[]): string {
  return renderTable({
    title: 'Targets',
    header: ['target', 'goal', 'measured', 'met'],
    rows: targets.map((t) => [
      t.stretch ? `${t.name} (moonshot)` : t.name,
      t.goal,
      t.value,
      t.met ? 'yes' : t.stretch ? 'not yet' : 'NO',
    ]),
  });
}

/** Machine facts as a two-column table. */
export function renderFacts(title: string, facts: Record<string, string>): string {
  return renderTable({ title, header: ['', ''], rows: Object.entries(facts).map(([k, v]) => [k, v]) });
}
