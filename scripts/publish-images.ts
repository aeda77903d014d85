/**
 * `pnpm publish:images`: push dist/oci:latest (from `pnpm build:images`) to $IMAGE_REF with the project's
 * own registry client, then point every tag in $IMAGE_TAGS (comma-separated) at the same index.
 * Credentials: docker config / credential helpers, REGISTRY_USERNAME + REGISTRY_PASSWORD, or GITHUB_TOKEN
 * for ghcr.io (see packages/registry).
 *
 *   IMAGE_REF=ghcr.io/me/hello:v1.2.3 IMAGE_TAGS=1.2,latest pnpm publish:images
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const ref = process.env.IMAGE_REF;
if (!ref) {
  console.error('error: IMAGE_REF is not set\nhint: IMAGE_REF=registry/repository:tag pnpm publish:images');
  process.exit(2);
}
const tags = (process.env.IMAGE_TAGS ?? '')
  .split(',')
  .map((t) => t.trim())
  .filter(Boolean);
const layout = process.env.IMAGE_LAYOUT ?? join(repo, 'dist', 'oci:latest');
const args = [
  join(repo, 'apps', 'cli', 'bin', 'scratchpack.js'),
  'push',
  layout,
  ref,
  ...tags.flatMap((t) => ['--tag', t]),
  ...process.argv.slice(2),
];
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exitCode = r.status ?? 1;
