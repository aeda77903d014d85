/**
 * `pnpm bench`: scratchpack side by side with the tools users would pick instead, in one process run. Writes
 * bench/results/latest.json and latest.md, prints the markdown, and exits non-zero when a section fails (builds
 * not reproducible, a repeat push that uploads, a reader refusing a layer, or any error).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, type Section, USAGE, UsageError } from './args.ts';
import { run } from './exec.ts';
import { describeMachine } from './machine.ts';
import { raisePriority } from './priority.ts';
import { REPO } from './repo.ts';
import { failuresOf, type Report, renderReport, reportJson } from './report.ts';
import type { SectionContext, SectionResult } from './section.ts';
import { baseSection } from './sections/base.ts';
import { buildSection } from './sections/build.ts';
import { importSection } from './sections/import.ts';
import { memorySection } from './sections/memory.ts';
import { packSection } from './sections/pack.ts';
import { pushSection } from './sections/push.ts';
import { reproSection } from './sections/repro.ts';
import { runSection } from './sections/run.ts';
import { sizeSection } from './sections/size.ts';
import { smallFilesSection } from './sections/small-files.ts';

const SECTION_RUNNERS: Record<Section, (ctx: SectionContext) => Promise<SectionResult>> = {
  size: sizeSection,
  pack: packSection,
  push: pushSection,
  build: buildSection,
  repro: reproSection,
  import: importSection,
  memory: memorySection,
  run: runSection,
  base: baseSection,
  'small-files': smallFilesSection,
};

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

async function main(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      if (err.message) console.error(`error: ${err.message}`);
      console.error(USAGE);
      return err.help ? 0 : 2;
    }
    throw err;
  }
  const log = (line: string) => console.error(line);
  const started = performance.now();
  const machine = await describeMachine();
  machine['load average at start (1, 5, 15 min)'] = load();
  const priority = raisePriority();
  machine.scheduling = priority.note;
  const head = (await run('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: REPO })).trim();
  const dirty = (await run('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO })).trim();
  const report: Report = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    commit: dirty ? `${head} (work tree has uncommitted changes)` : head,
    command: ['pnpm bench', ...argv.filter((a) => a !== '--')].join(' '),
    runs: args.runs,
    machine,
    sections: [],
    errors: [],
  };
  const ctx: SectionContext = { runs: args.runs, sizeMb: args.sizeMb, log };
  for (const name of args.only) {
    log(`\n== ${name}`);
    const t0 = performance.now();
    try {
      report.sections.push(await SECTION_RUNNERS[name](ctx));
    } catch (err) {
      const e = err as Error;
      log(`${name} failed: ${e.stack ?? e.message}`);
      report.errors.push({ section: name, error: e.message });
    }
    log(`== ${name} took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  priority.restore();
  machine['load average at end (1, 5, 15 min)'] = load();
  machine['bench wall time'] = `${((performance.now() - started) / 1000).toFixed(0)} s`;
  // `pnpm bench` runs in bench/; a relative --out is meant from where the user typed it (pnpm's INIT_CWD).
  const outDir = args.out
    ? resolve(process.env.INIT_CWD ?? process.cwd(), args.out)
    : join(REPO, 'bench', 'results');
  await mkdir(outDir, { recursive: true });
  const md = renderReport(report);
  await writeFile(join(outDir, 'latest.md'), md);
  await writeFile(join(outDir, 'latest.json'), reportJson(report));
  console.log(md);
  const failures = failuresOf(report);
  if (failures.length) {
    console.error(`\nBENCH FAILED:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
    return 1;
  }
  log(`wrote ${join(outDir, 'latest.md')} and latest.json`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
