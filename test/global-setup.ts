/**
 * Once per test run, before any file: make the CLI bundle current (`apps/cli/scripts/bundle.ts`, what
 * `pnpm build:images` runs as turbo's `build` task). The tests spawn the real CLI hundreds of times; from a current
 * bundle each start costs ~0.3 s of CPU, through tsx ~2 s. Nothing is weakened: `bin/scratchpack.js` runs the bundle
 * only while it was made from exactly the current sources, and bundle.int.test.ts proves the bundle and the sources
 * give the same output.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const { bundleIsCurrent } = createRequire(import.meta.url)('../apps/cli/bin/inputs.cjs') as {
  bundleIsCurrent(): boolean;
};

const cliDir = join(import.meta.dirname, '..', 'apps', 'cli');

export default function setup(): void {
  if (bundleIsCurrent()) return;
  const tsx = createRequire(join(cliDir, 'package.json')).resolve('tsx/cli');
  execFileSync(process.execPath, [tsx, 'scripts/bundle.ts'], { cwd: cliDir, stdio: 'pipe' });
}
