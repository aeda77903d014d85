/**
 * Small files: `scratchpack build` of contexts of 25,000 and 100,000 files of 1–2 KB (`COPY files/ /files/`) with
 * its SBOMs and provenance (the default) and without them (`--no-sbom --no-provenance`), against
 * `tar -c files | gzip -6` of the same folder: time and peak RSS, side by side. Targets: with SBOMs ≤ 1.2× the
 * time without at 100,000 files; with SBOMs ≤ 3× `tar | gzip -6` at 25,000; linear (time per file at 100,000
 * ≤ 1.2× that at 25,000). Every file the build adds gets an SPDX and a CycloneDX entry, with SHA1 and SHA256.
 * Beside them, the floor of any Node packer: a Node process that only reads the files as the build does
 * (bench/fixtures/read-files.cjs), so the table shows what is Node's per-file cost and what is the build's.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../exec.ts';
import { secondsRange } from '../format.ts';
import { ensureCliBundle, measure, peakMb } from '../peak.ts';
import { REPO, tempDir } from '../repo.ts';
import type { SectionContext, SectionResult } from '../section.ts';
import { alternate, ratio, type Summary } from '../stats.ts';
import type { Table, Target } from '../table.ts';
import { prng } from '../tree.ts';

const CLI = join(REPO, 'apps', 'cli', 'bin', 'scratchpack.js');
const READ_FILES = join(REPO, 'bench', 'fixtures', 'read-files.cjs');
/** The context sizes, smallest first (the linearity target compares the last with the first). */
export const SMALL_FILE_COUNTS = [25_000, 100_000] as const;
const TARGET_SBOM_RATIO = 1.2;
const TARGET_TAR_RATIO = 3;
const TARGET_LINEAR = 1.2;
const CONTENDERS = ['sbom', 'none', 'tar-gzip', 'read'] as const;
type Contender = (typeof CONTENDERS)[number];
const LABELS: Record<Contender, string> = {
  sbom: '`scratchpack build` (SBOMs + provenance, the default)',
  none: '`scratchpack build --no-sbom --no-provenance`',
  'tar-gzip': '`tar -c files | gzip -6` (reference)',
  read: 'floor: `node bench/fixtures/read-files.cjs files` (lstat, open, read, close per file; no tar, gzip or hashing)',
};

/** One context size's figures. */
export interface SmallFilesRun {
  files: number;
  seconds: Record<Contender, Summary>;
  peakBytes: Record<Contender, number[]>;
}

/** `count` files of 1–2 KB in 100 folders, deterministic (seeded), mostly text. */
async function smallTree(dir: string, count: number): Promise<void> {
  const next = prng(7);
  for (let d = 0; d < 100; d++) {
    const sub = join(dir, 'files', `d${d}`);
    await mkdir(sub, { recursive: true });
    for (let f = 0; f < count / 100; f++) {
      const n = 1024 + Math.floor(next() * 1024);
      const line = `file ${d}/${f} ${Math.floor(next() * 1e9).toString(36)} `;
      await writeFile(join(sub, `f${f}.txt`), line.repeat(Math.ceil(n / line.length)).slice(0, n));
    }
  }
  await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY files/ /files/\n');
}

async function measureCount(ctx: SectionContext, root: string, count: number): Promise<SmallFilesRun> {
  const context = join(root, `context-${count}`);
  const scratch = join(root, 'scratch');
  await mkdir(scratch, { recursive: true });
  ctx.log(`writing ${count.toLocaleString('en')} small files`);
  await smallTree(context, count);
  const peakBytes: Record<Contender, number[]> = { sbom: [], none: [], 'tar-gzip': [], read: [] };
  const seconds = await alternate(CONTENDERS, ctx.runs, async (c, i) => {
    const out = join(root, `out-${c}-${i}`);
    const build = ['build', context, '--platform', 'linux/amd64', '--output', out, '--tag', 'latest'];
    const m =
      c === 'tar-gzip'
        ? await measure('sh', ['-c', `tar -C "${context}" -c files | gzip -6 > "${out}.tar.gz"`], { scratch })
        : c === 'read'
          ? await measure(process.execPath, [READ_FILES, join(context, 'files')], { scratch })
          : await measure(
              process.execPath,
              [CLI, ...build, ...(c === 'none' ? ['--no-sbom', '--no-provenance'] : [])],
              { scratch },
            );
    peakBytes[c].push(m.peakBytes);
    ctx.log(`  ${count} run ${i + 1} ${c.padEnd(8)} ${m.seconds.toFixed(2)} s  ${peakMb(m.peakBytes)}`);
    await run('rm', ['-rf', out, `${out}.tar.gz`]);
    return m.seconds;
  });
  await run('rm', ['-rf', context]);
  return { files: count, seconds, peakBytes };
}

export async function smallFilesSection(ctx: SectionContext): Promise<SectionResult> {
  await ensureCliBundle(ctx.log);
  const tmp = await tempDir('small-files');
  try {
    const runs: SmallFilesRun[] = [];
    for (const count of SMALL_FILE_COUNTS) runs.push(await measureCount(ctx, tmp.path, count));
    return smallFilesResult(runs);
  } finally {
    await tmp.cleanup();
  }
}

const n = (count: number) => count.toLocaleString('en');

function table(r: SmallFilesRun): Table {
  const t = r.seconds;
  return {
    title: `a context of ${n(r.files)} files of 1–2 KB (\`COPY files/ /files/\`), linux/amd64`,
    header: [
      'command',
      'time (median, min–max)',
      'peak RSS (max)',
      '× no SBOM',
      '× tar | gzip',
      '× floor',
      'µs per file',
    ],
    rows: CONTENDERS.map((c) => [
      LABELS[c],
      secondsRange(t[c]),
      peakMb(Math.max(...r.peakBytes[c])),
      `${ratio(t[c], t.none).toFixed(2)}×`,
      `${ratio(t[c], t['tar-gzip']).toFixed(2)}×`,
      `${ratio(t[c], t.read).toFixed(2)}×`,
      ((t[c].median / r.files) * 1e6).toFixed(0),
    ]),
  };
}

/** Tables and targets from the measurements, smallest context first (pure). */
export function smallFilesResult(runs: SmallFilesRun[]): SectionResult {
  const small = runs[0]!;
  const large = runs.at(-1)!;
  const sbomRatio = ratio(large.seconds.sbom, large.seconds.none);
  const tarRatio = ratio(small.seconds.sbom, small.seconds['tar-gzip']);
  const perFile = (r: SmallFilesRun) => r.seconds.sbom.median / r.files;
  const linear = perFile(large) / perFile(small);
  const targets: Target[] = [
    {
      name: `build with SBOMs against without, ${n(large.files)} small files`,
      goal: `≤ ${TARGET_SBOM_RATIO}×`,
      value: `${sbomRatio.toFixed(2)}×`,
      met: sbomRatio <= TARGET_SBOM_RATIO,
    },
    {
      name: `build with SBOMs against \`tar | gzip -6\`, ${n(small.files)} small files`,
      goal: `≤ ${TARGET_TAR_RATIO}×`,
      value: `${tarRatio.toFixed(2)}×`,
      met: tarRatio <= TARGET_TAR_RATIO,
    },
    {
      name: `linear: build with SBOMs, time per file at ${n(large.files)} against ${n(small.files)} files`,
      goal: `≤ ${TARGET_LINEAR}×`,
      value: `${linear.toFixed(2)}×`,
      met: linear <= TARGET_LINEAR,
    },
  ];
  const tables = runs.map(table);
  tables.at(-1)!.notes = [
    'Each command is a process as users run it (the CLI bundle: Node start-up included), its peak RSS measured by GNU time. With SBOMs every file the build adds gets an SPDX and a CycloneDX entry with SHA1 and SHA256 (hashed as the layer is packed); an imported rootfs or a parent is described by its packages instead (README, "Which files get an entry of their own").',
    `The floor is a Node process that reads every file as the build does and nothing else (bench/fixtures/read-files.cjs: a sorted walk with an lstat per entry, then open, one read, close): what any packer written for Node pays per file in system calls before it writes a byte. \`tar\` makes the same calls from C; on this machine a Node fs call costs a few µs more than the system call it makes, and that difference, per call and four calls per file, is most of the distance between the floor and \`tar | gzip\`. At ${n(small.files)} files the floor alone is ${ratio(small.seconds.read, small.seconds['tar-gzip']).toFixed(2)}× \`tar | gzip -6\`; the build with SBOMs is ${ratio(small.seconds.sbom, small.seconds.read).toFixed(2)}× the floor.`,
  ];
  return {
    name: 'small-files',
    title: `10. Small files (${runs.map((r) => n(r.files)).join(' and ')}): build with and without SBOMs`,
    tables,
    targets,
    data: { runs },
  };
}
