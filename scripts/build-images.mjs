// `pnpm build:images`, started quickly. It runs `turbo run images`; a turbo cache hit restores each layout's
// index.json as the images task wrote it, dropping the referrers added since (signatures: `scratchpack sign`).
// The untagged entries of each layout are noted before turbo runs; only when turbo's index lacks some of them
// does build-images.ts (which needs the oci package, so tsx: about a second) put back those whose blob and subject
// are there. The layouts are those of the directory it runs in (`pnpm build:images` runs it in the repository).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The layouts the `images` tasks write (turbo.json's outputs). */
const IMAGE_LAYOUTS = ['dist/oci'];
const REF_NAME = 'org.opencontainers.image.ref.name';
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The entries of the layout at `dir` (none without an index). */
function entries(dir) {
  try {
    return JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')).manifests ?? [];
  } catch {
    return [];
  }
}

/** `pnpm build:images ARGS` in `root`: its exit code. */
async function main(args, root) {
  const dirs = IMAGE_LAYOUTS.map((l) => join(root, l));
  const before = dirs.map((d) => entries(d).filter((m) => m?.annotations?.[REF_NAME] === undefined));
  const turbo = spawnSync(join(repoRoot, 'node_modules', '.bin', 'turbo'), ['run', 'images', ...args], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
  });
  if (turbo.status !== 0) return turbo.status ?? 1;
  const lost = dirs.map((d, i) => {
    const have = new Set(entries(d).map((m) => m.digest));
    return before[i].filter((m) => !have.has(m.digest));
  });
  if (lost.every((l) => l.length === 0)) return 0;
  const { register } = await import('tsx/esm/api');
  register();
  const { restoreUntagged } = await import('./build-images.ts');
  for (const [i, dir] of dirs.entries()) {
    const n = await restoreUntagged(dir, lost[i]);
    if (n > 0)
      console.log(`kept ${n} referrer(s) added to ${IMAGE_LAYOUTS[i]} since it was built (e.g. signatures)`);
  }
  return 0;
}

main(process.argv.slice(2), process.cwd()).then((code) => {
  process.exitCode = code;
});
