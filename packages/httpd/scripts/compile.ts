/**
 * Compile httpd for every platform zig can build (or those in $PLATFORMS, comma-separated) into
 * dist/<label>/httpd — each folder is that platform's build context for the Dockerfile.
 */
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileAll, parsePlatformList, resolveZig } from '@scratchpack/toolchain';
import { httpdBinary, httpdCompileOptions } from '../src/build.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const platforms = parsePlatformList(process.env.PLATFORMS);
const zig = resolveZig();
console.log(`zig ${zig.version} (${zig.source}: ${relative(process.cwd(), zig.path)})`);
const started = Date.now();
await compileAll({
  ...httpdCompileOptions(root),
  platforms,
  zig,
  out: (p) => httpdBinary(root, p),
  onDone: (r) =>
    console.log(
      `  ${r.platform.name.padEnd(16)} ${String(r.bytes).padStart(7)} B  dist/${r.platform.label}/httpd`,
    ),
});
console.log(`compiled ${platforms.length} platforms in ${((Date.now() - started) / 1000).toFixed(1)} s`);
