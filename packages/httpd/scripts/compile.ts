/**
 * Compile httpd for every platform zig can build (or those in $PLATFORMS, comma-separated) into
 * dist/<label>/httpd — each folder is that platform's build context for the Dockerfile.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileProgram, parsePlatformList } from '@scratchpack/toolchain';
import { httpdBinary, httpdCompileOptions } from '../src/build.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await compileProgram({
  name: 'httpd',
  options: httpdCompileOptions(root),
  platforms: parsePlatformList(process.env.PLATFORMS),
  out: (p) => httpdBinary(root, p),
  log: (line) => console.log(line),
});
