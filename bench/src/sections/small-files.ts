/**
 * 100,000 small files: `scratchpack build` of a context of 100,000 files of 1–2 KB (`COPY files/ /files/`) with
 * its SBOMs and provenance (the default) and without them (`--no-sbom --no-provenance`), against
 * `tar -c files | gzip -6` of the same folder: time and peak RSS, side by side. Target: with SBOMs ≤ 1.2× the time
 * without (every file the build adds gets an SPDX and CycloneDX entry, with SHA1 and SHA256).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../exec.ts';
import { secondsRange } from '../format.ts';
import { ensureCliBundle, measure, peakMb } from '../peak.ts';
import { REPO, tempDir } from '../repo.ts';
import type { SectionContext, SectionResult } from '../section.ts';
import { alternate, ratio, type Summary } from '../stats.ts';
import { prng } from '../tree.ts';

const CLI = join(REPO, 'apps', 'cli', 'bin', 'scratchpack.js');
export const SMALL_FILES = 100_000;
const TARGET_RATIO = 1.2;
const CONTENDERS = ['sbom', 'none', 'tar-gzip'] as const;
type Contender = (typeof CONTENDERS)[number];
const LABELS: Record<Contender, string> = {
  sbom: '`scratchpack build` (SBOMs + provenance, the default)',
  none: '`scratchpack build --no-sbom --no-provenance`',
  'tar-gzip': '`tar -c files | gzip -6` (reference)',
};

/** 100,000 files of 1–2 KB in 100 folders, deterministic (seeded), mostly text. */
async function smallTree(dir: string): Promise<void> {
  const next = prng(7);
  for (let d = 0; d < 100; d++) {
    const sub = join(dir, 'files', `d${d}`);
    await mkdir(sub, { recursive: true });
    for (let f = 0; f < SMALL_FILES / 100; f++) {
      const n = 1024 + Math.floor(next() * 1024);
      const line = `file ${d}/${f} ${Math.floor(next() * 1e9).toString(36)} `;
      await writeFile(join(sub, `f${f}.txt`), line.repeat(Math.ceil(n / line.length)).slice(0, n));
    }
  }
  await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY files/ /files/\n');
}

export async function smallFilesSection(ctx: SectionContext): Promise<SectionResult> {
  await ensureCliBundle(ctx.log);
  const tmp = await tempDir('small-files');
  try {
    const context = join(tmp.path, 'context');
    const scratch = join(tmp.path, 'scratch');
    await mkdir(scratch, { recursive: true });
    ctx.log(`writing ${SMALL_FILES.toLocaleString('en')} small files`);
    await smallTree(context);
    const peaks: Record<Contender, number[]> = { sbom: [], none: [], 'tar-gzip': [] };
    const times = await alternate(CONTENDERS, ctx.runs, async (c, i) => {
      const out = join(tmp.path, `out-${c}-${i}`);
      const build = ['build', context, '--platform', 'linux/amd64', '--output', out, '--tag', 'latest'];
      const m =
        c === 'tar-gzip'
          ? await measure('sh', ['-c', `tar -C "${context}" -c files | gzip -6 > "${out}.tar.gz"`], {
              scratch,
            })
          : await measure(
              process.execPath,
              [CLI, ...build, ...(c === 'none' ? ['--no-sbom', '--no-provenance'] : [])],
              {
                scratch,
              },
            );
      peaks[c].push(m.peakBytes);
      ctx.log(`  run ${i + 1} ${c.padEnd(8)} ${m.seconds.toFixed(2)} s  ${peakMb(m.peakBytes)}`);
      await run('rm', ['-rf', out, `${out}.tar.gz`]);
      return m.seconds;
    });
    return smallFilesResult(times, peaks);
  } finally {
    await tmp.cleanup();
  }
}

/** Tables and targets from the measurements (pure). */
export function smallFilesResult(
  t: Record<Contender, Summary>,
  peaks: Record<Contender, number[]>,
): SectionResult {
  const r = ratio(t.sbom, t.none);
  return {
    name: 'small-files',
    title: '10. 100,000 small files: build with and without SBOMs',
    tables: [
      {
        title: `a context of ${SMALL_FILES.toLocaleString('en')} files of 1–2 KB (\`COPY files/ /files/\`), linux/amd64`,
        header: ['command', 'time (median, min–max)', 'peak RSS (max)', '× no SBOM'],
        rows: CONTENDERS.map((c) => [
          LABELS[c],
          secondsRange(t[c]),
          peakMb(Math.max(...peaks[c])),
          `${ratio(t[c], t.none).toFixed(2)}×`,
        ]),
        notes: [
          'Each command is a process as users run it (the CLI bundle: Node start-up included), its peak RSS measured by GNU time. With SBOMs every file the build adds gets an SPDX and a CycloneDX entry with SHA1 and SHA256; an imported rootfs or a parent is described by its packages instead (README, "Which files get an entry of their own").',
        ],
      },
    ],
    targets: [
      {
        name: 'build with SBOMs against without, 100,000 small files',
        goal: `≤ ${TARGET_RATIO}×`,
        value: `${r.toFixed(2)}×`,
        met: r <= TARGET_RATIO,
      },
    ],
    data: { files: SMALL_FILES, seconds: t, peakBytes: peaks },
  };
}
