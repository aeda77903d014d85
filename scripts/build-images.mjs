// The second step of `pnpm build:images` (scripts/build-images.sh), run only when turbo left a layout's index.json
// with other bytes than it had before: `node build-images.mjs BEFORE LAYOUT`, BEFORE a copy of the index from
// before turbo ran. The untagged entries (referrers: signatures) of BEFORE that the index now lacks are handed to
// build-images.ts (which needs the oci package, so tsx: about a second, and only then), which puts back those whose
// blob and subject are there.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const REF_NAME = 'org.opencontainers.image.ref.name';

/** The entries of the index file `file` (none when it is absent or unreadable). */
function entries(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8')).manifests ?? [];
  } catch {
    return [];
  }
}

/** Put back into the layout at `dir` the untagged entries of `beforeFile` it lost: its exit code. */
async function main(beforeFile, dir) {
  if (!beforeFile || !dir) {
    console.error(
      'usage: node scripts/build-images.mjs BEFORE_INDEX LAYOUT_DIR (run by scripts/build-images.sh)',
    );
    return 2;
  }
  const have = new Set(entries(join(dir, 'index.json')).map((m) => m.digest));
  const lost = entries(beforeFile).filter(
    (m) => m?.annotations?.[REF_NAME] === undefined && !have.has(m.digest),
  );
  if (lost.length === 0) return 0;
  const { register } = await import('tsx/esm/api');
  register();
  const { restoreUntagged } = await import('./build-images.ts');
  const n = await restoreUntagged(dir, lost);
  if (n > 0) console.log(`kept ${n} referrer(s) added to ${dir} since it was built (e.g. signatures)`);
  return 0;
}

main(process.argv[2], process.argv[3]).then((code) => {
  process.exitCode = code;
});
