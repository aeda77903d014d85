/**
 * Bundle the CLI and the workspace packages it uses into dist/scratchpack.mjs (esbuild), and record the
 * hash of the sources it was made from in dist/scratchpack.inputs (and, in dist/scratchpack.stamp, their stat
 * stamp with that hash: the bin's quick check). All are written to temporary names and renamed, the bundle first,
 * so the bin never runs a half-written or stale bundle.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic, writeThroughTemp } from '@scratchpack/oci';
import { build } from 'esbuild';
// @ts-expect-error: plain JS shared with the bin
import { BUNDLE, BUNDLE_INPUTS, BUNDLE_STAMP, inputsHash, inputsStamp } from '../bin/inputs.mjs';

// The stamp first: a source changed after it no longer matches it, so the stamp never vouches for newer bytes.
const stamp = inputsStamp() as string;
const before = inputsHash() as string;
await mkdir(dirname(BUNDLE), { recursive: true });
await writeThroughTemp(BUNDLE, async (tmp) => {
  await build({
    entryPoints: [new URL('../src/main.ts', import.meta.url).pathname],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // CommonJS dependencies (undici, tar-stream, …) call require(); give the ES module one.
    banner: {
      js: "import { createRequire as __scratchpackRequire } from 'node:module';\nconst require = __scratchpackRequire(import.meta.url);",
    },
    // Loaded from node_modules at run time, never bundled: native addons (the pty of `run -t`, the xattrs of the
    // layer cache), sql.js (rpm's database), whose emscripten glue finds its .wasm beside itself, and undici (the
    // registry client's GETs), loaded only when a command first needs it: it was half of the bundle's bytes, parsed
    // and run at every start (a push never needs it).
    external: ['@lydell/node-pty', '@napi-rs/xattr', 'sql.js', 'undici'],
    legalComments: 'none',
    logLevel: 'warning',
  });
});
if (inputsHash() !== before || inputsStamp() !== stamp)
  throw new Error('sources changed while bundling; run the build again');
await writeFileAtomic(BUNDLE_INPUTS, `${before}\n`);
await writeFileAtomic(BUNDLE_STAMP, `${stamp} ${before}\n`);
console.log(`bundled ${BUNDLE}`);
