/**
 * Compile hello for every platform zig can build (or those in $PLATFORMS, comma-separated) into
 * dist/<label>/hello — each folder is that platform's build context for the Dockerfile — with
 * dist/<label>/hello.build-info.json beside it (zig, target, flags, source digests: for the SBOM).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeBuildInfos } from '@scratchpack/attest';
import { compileProgram, parsePlatformList, resolveZig } from '@scratchpack/toolchain';
import { helloBinary, helloCompileOptions } from '../src/build.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const options = helloCompileOptions(root);
const results = await compileProgram({
  name: 'hello',
  options,
  platforms: parsePlatformList(process.env.PLATFORMS),
  out: (p) => helloBinary(root, p),
  log: (line) => console.log(line),
});
await writeBuildInfos(results, { zig: resolveZig(), sources: options.sources, cwd: root, name: 'hello' });
