/**
 * Compile httpd for every platform zig can build (or those in $PLATFORMS, comma-separated) into
 * dist/<label>/httpd — each folder is that platform's build context for the Dockerfile — with
 * dist/<label>/httpd.build-info.json beside it (zig, musl, target, flags, source digests: for the SBOM).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeBuildInfos } from '@scratchpack/attest';
import { compileProgram, parsePlatformList, resolveZig } from '@scratchpack/toolchain';
import { httpdBinary, httpdCompileOptions } from '../src/build.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const options = httpdCompileOptions(root);
const results = await compileProgram({
  name: 'httpd',
  options,
  platforms: parsePlatformList(process.env.PLATFORMS),
  out: (p) => httpdBinary(root, p),
  log: (line) => console.log(line),
});
await writeBuildInfos(results, { zig: resolveZig(), sources: options.sources, cwd: root, name: 'httpd' });
