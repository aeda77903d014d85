/**
 * Bundle the CLI and the workspace packages it uses into dist/scratchpack.cjs (esbuild), and record the
 * hash of the sources it was made from in dist/scratchpack.inputs (and, in dist/scratchpack.stamp, their stat
 * stamp with that hash: the bin's quick check). All are written to temporary names and renamed, the bundle first,
 * so the bin never runs a half-written or stale bundle.
 */

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { writeFileAtomic, writeThroughTemp } from '@scratchpack/oci';
import { build } from 'esbuild';

const { BUNDLE, BUNDLE_INPUTS, BUNDLE_STAMP, inputsHash, inputsStamp } = createRequire(import.meta.url)(
  '../bin/inputs.cjs',
) as {
  BUNDLE: string;
  BUNDLE_INPUTS: string;
  BUNDLE_STAMP: string;
  inputsHash(): string;
  inputsStamp(): string;
};

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
    // A CommonJS script, not an ES module: the bin compiles it with V8's code cache (Node 20 has none for
    // modules), which saves most of the compile at every start. `import.meta.url` is the bundle's own URL, and
    // the one `import()` (sql.js, CommonJS) becomes a require.
    format: 'cjs',
    target: 'node20',
    banner: {
      js: "'use strict';\nconst __scratchpackUrl = require('node:url').pathToFileURL(__filename).href;",
    },
    define: { 'import.meta.url': '__scratchpackUrl' },
    supported: { 'dynamic-import': false },
    // Loaded from node_modules at run time, never bundled: native addons (the pty of `run -t`, the xattrs of the
    // layer cache), sql.js (rpm's database), whose emscripten glue finds its .wasm beside itself, and undici (the
    // registry client's GETs), loaded only when a command first needs it: it was half of the bundle's bytes, parsed
    // and run at every start (a push never needs it).
    external: ['@lydell/node-pty', '@napi-rs/xattr', 'sql.js', 'undici'],
    legalComments: 'none',
    logLevel: 'warning',
  });
  // esbuild escapes every non-ASCII character of strings, regular expressions and names (its default
  // `charset: 'ascii'`) but keeps comments as written: spell their few (—, §, …) as `?`, so that the bin
  // reads the bundle as a one-byte string.
  const text = await readFile(tmp, 'utf8');
  if (/[^\0-\x7f]/.test(text)) await writeFile(tmp, text.replace(/[^\0-\x7f]/g, '?'));
});
if (inputsHash() !== before || inputsStamp() !== stamp)
  throw new Error('sources changed while bundling; run the build again');
await writeFileAtomic(BUNDLE_INPUTS, `${before}\n`);
await writeFileAtomic(BUNDLE_STAMP, `${stamp} ${before}\n`);
console.log(`bundled ${BUNDLE}`);
