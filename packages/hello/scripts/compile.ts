/**
 * Compile hello for every platform zig can build (or those in $PLATFORMS, comma-separated) into
 * dist/<label>/hello — each folder is that platform's build context for the Dockerfile.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileProgram, parsePlatformList } from '@scratchpack/toolchain';
import { helloBinary, helloCompileOptions } from '../src/build.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await compileProgram({
  name: 'hello',
  options: helloCompileOptions(root),
  platforms: parsePlatformList(process.env.PLATFORMS),
  out: (p) => helloBinary(root, p),
  log: (line) => console.log(line),
});
