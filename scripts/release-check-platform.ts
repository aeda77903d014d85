/**
 * `pnpm release:check-platform <platform…|all> [--layout dist/oci:latest]`: run each platform's image from the
 * layout under qemu-user, pinned to the variant's oldest CPU (`scratchpack run --platform P --pin-cpu
 * --emulate`: the host's own platform is emulated too, so an amd64 binary must run on a plain qemu64), and
 * check that it exits 0 and that its output names that exact platform. One release test job per platform
 * runs this; `all` checks every platform of the release matrix in turn.
 */
import { defaultLayoutRef, isMain, parseArgs, ReleaseError, runMain, scratchpack } from './release-common.ts';
import { releasePlatforms } from './release-platforms.ts';

/** True when `output` names `platform` as a whole word (`linux/arm/v7` is not named by `linux/arm/v7x`). */
export function outputNamesPlatform(output: string, platform: string): boolean {
  const escaped = platform.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^\\w/])${escaped}(?![\\w/])`).test(output);
}

/** Run one platform's image; returns its output, or throws saying what went wrong. */
export function checkPlatform(platform: string, layout = defaultLayoutRef): string {
  const started = Date.now();
  const r = scratchpack(['run', '--platform', platform, '--pin-cpu', '--emulate', layout], {
    timeout: 120_000,
  });
  const output = r.stdout + r.stderr;
  if (r.status !== 0) {
    throw new ReleaseError(
      `${platform}: \`scratchpack run --platform ${platform} --pin-cpu --emulate ${layout}\` exited ${r.status}:\n${output.trim()}`,
    );
  }
  if (!outputNamesPlatform(r.stdout, platform)) {
    throw new ReleaseError(
      `${platform}: the image ran but its output does not name ${platform}:\n${output.trim()}`,
    );
  }
  console.log(
    `ok ${platform} (${Date.now() - started} ms): ${r.stdout
      .trim()
      .split('\n')
      .find((l) => l.includes(platform))}`,
  );
  return r.stdout;
}

if (isMain(import.meta.url)) {
  runMain(() => {
    const { positional, values } = parseArgs(process.argv.slice(2), { values: ['layout'] });
    const layout = values.layout?.[0] ?? defaultLayoutRef;
    if (positional.length === 0)
      throw new ReleaseError('usage: release-check-platform <platform…|all> [--layout dist/oci:latest]');
    const platforms = positional.includes('all') ? releasePlatforms(layout) : positional;
    const failures: string[] = [];
    for (const p of platforms) {
      try {
        checkPlatform(p, layout);
      } catch (err) {
        if (!(err instanceof ReleaseError)) throw err;
        console.error(`FAIL ${err.message}`);
        failures.push(p);
      }
    }
    if (failures.length)
      throw new ReleaseError(
        `${failures.length} of ${platforms.length} platforms failed: ${failures.join(', ')}`,
      );
  });
}
