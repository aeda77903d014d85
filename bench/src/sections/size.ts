/**
 * Size: each platform's `hello` exactly as the image ships it — read back from the layer in the built layout
 * `dist/oci` — next to the official docker-library/hello-world binaries.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  formatPlatform,
  isImageIndex,
  platformOfImage,
  readLayout,
  readTarEntries,
  uncompressed,
} from '@scratchpack/oci';
import { run } from '../exec.ts';
import { int, percent } from '../format.ts';
import { loadReference } from '../reference.ts';
import { REPO } from '../repo.ts';
import type { SectionContext, SectionResult } from '../section.ts';
import { type LibcHelloRow, libcHelloResult, measureLibcHello } from './libc-hello.ts';

export interface SizeRow {
  platform: string;
  /** Bytes of `/hello` in the layer. */
  raw: number;
  /** `gzip -9n` of it. */
  gzip9: number;
  /** The compressed layer blob (tar + gzip) as pushed. */
  layer: number;
  officialRaw: number | undefined;
  officialGzip9: number | undefined;
}

/** `gzip -9n` size of `bytes` with the real gzip (the tool the official figures were measured with). */
async function gzip9n(bytes: Buffer, scratch: string): Promise<number> {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(scratch, bytes);
  const out = await run('bash', ['-c', 'gzip -9n -c "$1" | wc -c', 'gzip9', scratch]);
  return Number(out.trim());
}

export async function sizeSection(ctx: SectionContext): Promise<SectionResult> {
  const log = ctx.log;
  const layoutDir = join(REPO, 'dist', 'oci');
  if (!existsSync(join(layoutDir, 'index.json'))) {
    log('dist/oci is missing: running `pnpm build:images`');
    await run('pnpm', ['build:images'], { cwd: REPO });
  }
  const layout = await readLayout(layoutDir);
  const subject = await layout.resolve('latest');
  if (!isImageIndex(subject))
    throw new Error('dist/oci:latest is a single image, expected the multi-arch index');
  const reference = new Map(loadReference().map((r) => [r.platform, r]));
  const { tempDir } = await import('../repo.ts');
  const tmp = await tempDir('size');
  const rows: SizeRow[] = [];
  try {
    for (const { image } of await subject.images()) {
      const platform = formatPlatform(await platformOfImage(image));
      const layers = await image.layers();
      let hello: Buffer | undefined;
      let layerBytes = 0;
      for (const layer of layers) {
        layerBytes += await layer.size();
        for (const e of await readTarEntries(uncompressed(layer))) {
          if (e.type === 'file' && e.path.replace(/^\//, '') === 'hello' && 'content' in e) {
            hello = Buffer.isBuffer(e.content) ? e.content : Buffer.from(e.content);
          }
        }
      }
      if (!hello) throw new Error(`${platform}: no /hello in the image's layers`);
      const gzip9 = await gzip9n(hello, join(tmp.path, 'hello'));
      // zlib -9 gives the same deflate stream as gzip -9 here; a cross-check that the tool was not swapped.
      if (Math.abs(gzipSync(hello, { level: 9 }).length - gzip9) > 16)
        log(`  note: ${platform}: zlib and gzip -9n differ by more than a header`);
      const ref = reference.get(platform);
      rows.push({
        platform,
        raw: hello.length,
        gzip9,
        layer: layerBytes,
        officialRaw: ref?.elfBytes,
        officialGzip9: ref?.gzip9Bytes,
      });
    }
  } finally {
    await tmp.cleanup();
  }
  return sizeResult(rows, await measureLibcHello(log));
}

/** The section's tables and targets from measured rows (pure). */
export function sizeResult(rows: SizeRow[], libc: LibcHelloRow[] = []): SectionResult {
  const libcPart = libc.length ? libcHelloResult(libc) : undefined;
  const sumOf = (rs: SizeRow[], f: (r: SizeRow) => number | undefined) =>
    rs.reduce((n, r) => n + (f(r) ?? 0), 0);
  const sum = (f: (r: SizeRow) => number | undefined) => sumOf(rows, f);
  const compared = rows.filter((r) => r.officialGzip9 !== undefined);
  const ours = compared.reduce((n, r) => n + r.gzip9, 0);
  const theirs = compared.reduce((n, r) => n + r.officialGzip9!, 0);
  const share = (r: SizeRow) => (r.officialGzip9 ? percent(r.gzip9 / r.officialGzip9) : '—');
  const behind = compared.filter((r) => r.gzip9 > r.officialGzip9!);
  return {
    name: 'size',
    title: '1. Size of `hello` as shipped in the image layer',
    tables: [
      {
        title: 'hello per platform (bytes)',
        header: [
          'platform',
          'raw',
          'gzip -9n',
          'layer (tar+gzip)',
          'official raw',
          'official gzip -9n',
          'ours / official (gzip -9n)',
        ],
        rows: [
          ...rows.map((r) => [
            r.platform,
            int(r.raw),
            int(r.gzip9),
            int(r.layer),
            r.officialRaw === undefined ? '—' : int(r.officialRaw),
            r.officialGzip9 === undefined ? '—' : int(r.officialGzip9),
            share(r),
          ]),
          [
            `total of the ${compared.length} with an official binary`,
            int(sumOf(compared, (r) => r.raw)),
            int(sumOf(compared, (r) => r.gzip9)),
            int(sumOf(compared, (r) => r.layer)),
            int(sum((r) => r.officialRaw)),
            int(sum((r) => r.officialGzip9)),
            theirs ? percent(ours / theirs) : '—',
          ],
        ],
        boldRows: [rows.length],
        notes: [
          '`raw` and `gzip -9n` are of `/hello` read back from the layer blob in `dist/oci` (what ships); `layer` is the compressed layer blob, tar headers included.',
          'Official figures: docker-library/hello-world, master, 2026 snapshot (`bench/reference/hello-world-sizes.tsv`).',
        ],
      },
      ...(libcPart ? [libcPart.table] : []),
    ],
    targets: [
      {
        name: 'hello gzip -9n ≤ official, every platform',
        goal: '≤ 100 % on each',
        value: behind.length
          ? `behind on ${behind.map((r) => r.platform).join(', ')}`
          : `max ${percent(Math.max(...compared.map((r) => r.gzip9 / r.officialGzip9!)))}`,
        met: compared.length > 0 && behind.length === 0,
      },
      {
        name: 'hello gzip -9n total vs official total',
        goal: '≤ 60 %',
        value: `${int(ours)} / ${int(theirs)} B = ${percent(ours / theirs)}`,
        met: ours <= 0.6 * theirs,
        stretch: true,
      },
      ...(libcPart ? [libcPart.target] : []),
    ],
    data: { rows, libcHello: libc },
  };
}
