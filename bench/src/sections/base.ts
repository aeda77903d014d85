/**
 * The static base: `staticBase` for every platform from the committed Debian lock (the .debs from the cache,
 * fetched once through the machine's apt sources), its compressed size per platform and the one layer they
 * share, side by side with distroless/static's published size (reference/distroless-static.tsv).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { staticBase } from '@scratchpack/base';
import { PLATFORMS } from '@scratchpack/toolchain';
import { int, secondsRange } from '../format.ts';
import type { SectionContext, SectionResult } from '../section.ts';
import { summarize } from '../stats.ts';

const MIB = 1024 * 1024;

/** The reference row: image, platform count, compressed bytes per platform. */
export function distrolessReference(text: string): { image: string; platforms: number; bytes: number } {
  const row = text.split('\n').find((l) => l.trim() && !l.startsWith('#'));
  const [image, platforms, bytes] = (row ?? '').split('\t');
  if (!image || !Number(platforms) || !Number(bytes))
    throw new SyntaxError('distroless-static.tsv: no data row');
  return { image, platforms: Number(platforms), bytes: Number(bytes) };
}

export async function baseSection(ctx: SectionContext): Promise<SectionResult> {
  const ref = distrolessReference(
    readFileSync(join(import.meta.dirname, '..', '..', 'reference', 'distroless-static.tsv'), 'utf8'),
  );
  const platforms = PLATFORMS.map((p) => p.platform);
  const times: number[] = [];
  let built: Awaited<ReturnType<typeof staticBase>> | undefined;
  for (let i = 0; i < ctx.runs; i++) {
    const t0 = performance.now();
    built = await staticBase({ platforms });
    times.push((performance.now() - t0) / 1000);
  }
  const b = built!;
  const sizes = await Promise.all(
    b.images.map(async (i) => {
      const m = await i.image.manifest();
      return (await i.image.size()) + m.config.size + m.layers.reduce((n, l) => n + l.size, 0);
    }),
  );
  const layer = await b.layer.size();
  const largest = Math.max(...sizes);
  ctx.log(`static base: ${platforms.length} platforms, layer ${layer} bytes`);
  return {
    name: 'base',
    title: '8. The static base: size per platform against distroless/static',
    tables: [
      {
        title: `scratchpack base static --platform all (${b.packages.map((p) => `${p.name} ${p.version}`).join(', ')})`,
        header: [
          'image',
          'platforms',
          'compressed per platform',
          'layers shared by all platforms',
          'build time (warm cache)',
        ],
        rows: [
          [
            'scratchpack base static',
            `${platforms.length}`,
            `${int(largest)} B`,
            `1 (${int(layer)} B)`,
            secondsRange(summarize(times)),
          ],
          [ref.image, `${ref.platforms}`, `≈ ${int(ref.bytes)} B`, 'none', '—'],
        ],
      },
    ],
    targets: [
      {
        name: 'compressed size per platform',
        goal: '≤ 1 MiB',
        value: `${(largest / MIB).toFixed(2)} MiB`,
        met: largest <= MIB,
      },
    ],
    data: { platforms: platforms.length, sizes, layer, index: b.indexDigest, seconds: times, reference: ref },
  };
}
