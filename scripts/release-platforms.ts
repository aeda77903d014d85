/**
 * `pnpm --silent release:platforms [--layout dist/oci:latest]`: the release's test matrix, taken from the one
 * platform matrix (`scratchpack platforms --json`, i.e. toolchain/src/platforms.ts): every platform this
 * machine can build, as a JSON array. With --layout (the default when dist/oci exists) it also checks that
 * the built index holds exactly those platforms, so every published image gets a test job.
 * In GitHub Actions it also writes `platforms=<json>` to $GITHUB_OUTPUT.
 */
import { existsSync } from 'node:fs';
import {
  defaultLayoutRef,
  inspectLayout,
  isMain,
  parseArgs,
  ReleaseError,
  runMain,
  scratchpackJson,
  setGithubOutput,
  splitLayoutRef,
} from './release-common.ts';

/** What `scratchpack platforms --json` prints. */
export interface PlatformsJson {
  zig: { version: string; path: string; source: string } | null;
  platforms: { platform: string; label: string; build: string; run: string }[];
}

/** The platforms the matrix can build here, in matrix order; throws when there is no zig or none at all. */
export function buildablePlatforms(json: PlatformsJson): string[] {
  if (!json.zig) {
    const why = json.platforms.find((p) => p.build !== 'yes')?.build ?? 'no zig';
    throw new ReleaseError(`cannot build any platform (${why}); run \`pnpm install\` first`);
  }
  const names = json.platforms.filter((p) => p.build === 'yes').map((p) => p.platform);
  if (names.length === 0) throw new ReleaseError('the platform matrix has no buildable platform');
  return names;
}

/** Compare the matrix with the platforms in the built index; throws listing the differences. */
export function checkAgainstIndex(matrix: string[], indexPlatforms: string[]): void {
  const missing = matrix.filter((p) => !indexPlatforms.includes(p));
  const extra = indexPlatforms.filter((p) => !matrix.includes(p));
  if (missing.length || extra.length) {
    throw new ReleaseError(
      [
        'the built index does not match the platform matrix:',
        ...(missing.length ? [`  not in the index: ${missing.join(', ')}`] : []),
        ...(extra.length ? [`  in the index but not buildable here: ${extra.join(', ')}`] : []),
        'rebuild with `pnpm build:images` (and leave PLATFORMS unset)',
      ].join('\n'),
    );
  }
}

/** The release test matrix; `layout` = an OCI layout ref to check against, or undefined to skip that. */
export function releasePlatforms(layout: string | undefined): string[] {
  const matrix = buildablePlatforms(scratchpackJson<PlatformsJson>(['platforms']));
  if (layout)
    checkAgainstIndex(
      matrix,
      inspectLayout(layout).images.map((i) => i.platform),
    );
  return matrix;
}

if (isMain(import.meta.url)) {
  runMain(() => {
    const { values, flags } = parseArgs(process.argv.slice(2), { values: ['layout'], flags: ['no-layout'] });
    const layout = flags.has('no-layout')
      ? undefined
      : (values.layout?.[0] ??
        (existsSync(`${splitLayoutRef(defaultLayoutRef).dir}/index.json`) ? defaultLayoutRef : undefined));
    const platforms = releasePlatforms(layout);
    const json = JSON.stringify(platforms);
    setGithubOutput('platforms', json);
    console.log(json);
  });
}
