#!/usr/bin/env node
// The scratchpack CLI. Workspace packages ship TypeScript sources. When `pnpm build:images` (turbo's
// `build` task) has made a bundle of exactly the current sources, run it: it starts without a TypeScript
// loader. Otherwise run the sources through tsx. SCRATCHPACK_FROM_SOURCE=1 always uses the sources.
//
// CommonJS on purpose (bin/package.json): libuv sizes its thread pool, where every gzip block of a layer is
// deflated, from UV_THREADPOOL_SIZE when the pool first starts, and Node reads an ES module entry through that
// pool, so an ES module here would come too late. Set now, the pool gets a thread per core (thread-pool.cjs), as
// pigz uses every core.
'use strict';
require('./thread-pool.cjs').sizeThreadPool();

const { BUNDLE, BUNDLE_CODE_CACHE, bundleIsCurrent } = require('./inputs.cjs');
if (process.env.SCRATCHPACK_FROM_SOURCE !== '1' && bundleIsCurrent()) {
  require('./run-bundle.cjs').runBundle(BUNDLE, BUNDLE_CODE_CACHE);
} else {
  (async () => {
    const { register } = await import('tsx/esm/api');
    register();
    await import('../src/main.ts');
  })();
}
