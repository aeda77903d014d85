/** latest.md and latest.json from the sections' results. */
import type { SectionResult } from './section.ts';
import { renderFacts, renderTable, renderTargets } from './table.ts';

export interface Report {
  date: string;
  commit: string;
  command: string;
  runs: number;
  machine: Record<string, string>;
  sections: SectionResult[];
  /** Sections that threw, with the error. */
  errors: { section: string; error: string }[];
}

/** Everything that must make `pnpm bench` exit non-zero. */
export function failuresOf(r: Report): string[] {
  return [
    ...r.errors.map((e) => `${e.section}: ${e.error.split('\n')[0]}`),
    ...r.sections.filter((s) => s.failure).map((s) => `${s.name}: ${s.failure}`),
  ];
}

export function renderReport(r: Report): string {
  const failures = failuresOf(r);
  const parts = [
    '# scratchpack benchmarks',
    '',
    `${r.date} · commit ${r.commit} · \`${r.command}\` · median of ${r.runs} runs per timed figure (min–max in brackets), contenders alternating run by run.`,
    '',
    renderFacts('Machine', r.machine),
    '',
  ];
  const targets = r.sections.flatMap((s) => s.targets);
  if (targets.length) parts.push(renderTargets(targets), '');
  if (failures.length) parts.push('### FAILED', '', ...failures.map((f) => `- ${f}`), '');
  for (const s of r.sections) {
    parts.push(`## ${s.title}`, '');
    for (const t of s.tables) parts.push(renderTable(t), '');
    if (s.notes?.length) parts.push(...s.notes.map((n) => `- ${n}`), '');
  }
  for (const e of r.errors) parts.push(`## ${e.section}: did not complete`, '', '```', e.error, '```', '');
  return `${parts.join('\n').trimEnd()}\n`;
}

export function reportJson(r: Report): string {
  return `${JSON.stringify(
    {
      date: r.date,
      commit: r.commit,
      command: r.command,
      runs: r.runs,
      machine: r.machine,
      failures: failuresOf(r),
      sections: r.sections.map((s) => ({
        name: s.name,
        title: s.title,
        targets: s.targets,
        failure: s.failure,
        data: s.data,
      })),
      errors: r.errors,
    },
    null,
    2,
  )}\n`;
}
