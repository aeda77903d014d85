/**
 * Reproducibility: two clean clones of HEAD in two different folders (different path lengths), each built cold
 * with its own empty zig and turbo caches; the index digests (and the OCI archives) must be identical. A
 * difference fails the whole bench.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from '@scratchpack/oci';
import { seconds } from '../format.ts';
import { cloneHead, layoutDigest, tempDir } from '../repo.ts';
import type { SectionContext, SectionResult } from '../section.ts';
import { buildImages } from './build.ts';

export interface ReproBuild {
  folder: string;
  seconds: number;
  indexDigest: string;
  archiveDigest: string;
}

export async function reproSection(ctx: SectionContext): Promise<SectionResult> {
  const tmp = await tempDir('repro');
  try {
    const folders = [join(tmp.path, 'a', 'scratchpack'), join(tmp.path, 'second-folder', 'deeper', 'sp')];
    const builds: ReproBuild[] = [];
    let commit = '';
    for (const [i, folder] of folders.entries()) {
      await mkdir(join(folder, '..'), { recursive: true });
      ctx.log(`clean build ${i + 1} in ${folder}`);
      commit = (await cloneHead(folder)).commit;
      const b = await buildImages(
        folder,
        join(tmp.path, `zig-cache-${i}`),
        join(tmp.path, `turbo-cache-${i}`),
      );
      builds.push({
        folder,
        seconds: b.seconds,
        indexDigest: await layoutDigest(join(folder, 'dist', 'oci')),
        archiveDigest: sha256(await readFile(join(folder, 'dist', 'hello.oci.tar'))).toString(),
      });
    }
    return reproResult(commit, builds);
  } finally {
    await tmp.cleanup();
  }
}

/** Tables and the pass/fail (pure). */
export function reproResult(commit: string, builds: ReproBuild[]): SectionResult {
  const same = (f: (b: ReproBuild) => string) => new Set(builds.map(f)).size === 1;
  const indexSame = same((b) => b.indexDigest);
  const archiveSame = same((b) => b.archiveDigest);
  return {
    name: 'repro',
    title: '5. Reproducibility: two clean builds in two folders',
    tables: [
      {
        title: `clean clones of ${commit.slice(0, 12)}, cold caches`,
        header: ['build', 'folder depth', 'time', 'index digest', 'hello.oci.tar sha256'],
        rows: builds.map((b, i) => [
          `${i + 1}`,
          `${b.folder.split('/').length - 1}`,
          seconds(b.seconds),
          b.indexDigest,
          b.archiveDigest,
        ]),
      },
    ],
    targets: [
      {
        name: 'identical index digest',
        goal: 'identical',
        value: indexSame ? 'identical' : 'DIFFERENT',
        met: indexSame,
      },
      {
        name: 'identical OCI archive',
        goal: 'identical',
        value: archiveSame ? 'identical' : 'DIFFERENT',
        met: archiveSame,
      },
    ],
    data: { commit, builds },
    ...(indexSame && archiveSame
      ? {}
      : {
          failure: `builds in two folders differ: ${builds.map((b) => `${b.indexDigest} (${b.folder})`).join(' vs ')}`,
        }),
  };
}
