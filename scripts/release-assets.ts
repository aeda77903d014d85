/**
 * `pnpm release:assets [--layout dist/oci:latest] [--archive dist/hello.oci.tar] [--out dist/release]`:
 * the files a GitHub release gets besides the archive, written to the out folder:
 *   SHA256SUMS   `sha256sum -c` format, one line per asset (the archive, by file name)
 *   summary.md   the index digest, the published references and the platform table, from
 *                `scratchpack inspect --json`
 * The summary is printed, and appended to $GITHUB_STEP_SUMMARY in GitHub Actions. The published references
 * come from IMAGE_REF / IMAGE_TAGS (what `pnpm --silent release:tags` prints), when set.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { sha256 } from '@scratchpack/oci';
import {
  appendStepSummary,
  defaultArchive,
  defaultLayoutRef,
  type InspectResult,
  inspectLayout,
  isMain,
  parseArgs,
  ReleaseError,
  repoRoot,
  runMain,
} from './release-common.ts';

/** `sha256sum` output for `files` (name → bytes), in the given order. */
export function sha256sums(files: { name: string; bytes: Buffer }[]): string {
  return files.map((f) => `${sha256(f.bytes).hex}  ${f.name}\n`).join('');
}

/** Parse `sha256sum` output into name → hex digest. */
export function parseSha256sums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (m) out.set(m[2]!, m[1]!);
  }
  return out;
}

/** `ghcr.io/o/n:v1.2.3` + [`1.2`, `latest`] → every reference the release publishes. */
export function publishedReferences(imageRef: string | undefined, extraTags: string[]): string[] {
  if (!imageRef) return [];
  const slash = imageRef.lastIndexOf('/');
  const colon = imageRef.lastIndexOf(':');
  const repo = colon > slash ? imageRef.slice(0, colon) : imageRef;
  return [imageRef, ...extraTags.map((t) => `${repo}:${t}`)];
}

/** The release summary in markdown: index digest, published references, assets and the platform table. */
export function summaryMarkdown(
  inspect: InspectResult,
  opts: { title?: string; references?: string[]; sums?: string } = {},
): string {
  const lines = [`## ${opts.title ?? 'hello images'}`, ''];
  lines.push(
    `Index digest: \`${inspect.digest}\` (${inspect.images.length} platforms, \`${inspect.mediaType}\`)`,
    '',
  );
  const a = inspect.annotations;
  const meta = [
    ['version', a['org.opencontainers.image.version']],
    ['revision', a['org.opencontainers.image.revision']],
    ['toolchain', a['dev.scratchpack.toolchain']],
  ].filter(([, v]) => v);
  if (meta.length) lines.push(meta.map(([k, v]) => `${k}: \`${v}\``).join(' · '), '');
  if (opts.references?.length) {
    lines.push('Published:', '', ...opts.references.map((r) => `- \`${r}\``), '');
  }
  lines.push('| platform | manifest digest | layers | compressed size |', '|---|---|---|---|');
  for (const i of inspect.images) {
    lines.push(
      `| \`${i.platform}\` | \`${i.digest}\` | ${i.layers.length} | ${i.size.toLocaleString('en-US')} B |`,
    );
  }
  if (opts.sums) lines.push('', 'SHA256SUMS:', '', '```', opts.sums.trimEnd(), '```');
  return `${lines.join('\n')}\n`;
}

export interface ReleaseAssets {
  dir: string;
  sums: string;
  summary: string;
}

/** Write SHA256SUMS and summary.md to `out`; returns their contents. */
export async function writeReleaseAssets(opts: {
  layout?: string;
  archive?: string;
  out?: string;
  title?: string;
  references?: string[];
}): Promise<ReleaseAssets> {
  const dir = resolve(repoRoot, opts.out ?? 'dist/release');
  const archive = resolve(repoRoot, opts.archive ?? defaultArchive);
  let bytes: Buffer;
  try {
    bytes = await readFile(archive);
  } catch {
    throw new ReleaseError(`${archive} is missing: run \`pnpm build:images\` first`);
  }
  const sums = sha256sums([{ name: basename(archive), bytes }]);
  const inspect = inspectLayout(opts.layout ?? defaultLayoutRef);
  const summary = summaryMarkdown(inspect, {
    ...(opts.title ? { title: opts.title } : {}),
    ...(opts.references ? { references: opts.references } : {}),
    sums,
  });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'SHA256SUMS'), sums);
  await writeFile(join(dir, 'summary.md'), summary);
  return { dir, sums, summary };
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const { values } = parseArgs(process.argv.slice(2), { values: ['layout', 'archive', 'out', 'title'] });
    const env = process.env;
    const tags = (env.IMAGE_TAGS ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    const title = values.title?.[0] ?? (env.RELEASE_TAG ? `hello ${env.RELEASE_TAG}` : undefined);
    const assets = await writeReleaseAssets({
      ...(values.layout ? { layout: values.layout[0]! } : {}),
      ...(values.archive ? { archive: values.archive[0]! } : {}),
      ...(values.out ? { out: values.out[0]! } : {}),
      ...(title ? { title } : {}),
      references: publishedReferences(env.IMAGE_REF, tags),
    });
    appendStepSummary(assets.summary);
    console.log(assets.summary);
    console.log(`wrote ${join(assets.dir, 'SHA256SUMS')} and ${join(assets.dir, 'summary.md')}`);
  });
}
