/** What every benchmark section returns: tables for the report, targets, and its raw figures for the JSON. */
import type { Table, Target } from './table.ts';

export interface SectionResult {
  name: string;
  title: string;
  tables: Table[];
  targets: Target[];
  /** Raw figures (every run) for latest.json. */
  data: unknown;
  /** Things the reader should know (what was tried, why a figure is what it is). */
  notes?: string[];
  /** A failure that must make the whole bench exit non-zero (e.g. builds not reproducible). */
  failure?: string;
}

/** Options every section gets. */
export interface SectionContext {
  runs: number;
  sizeMb: number;
  log: (line: string) => void;
}
