// `pnpm bench`: the benchmarks' process gets its thread pool sized as the CLI's bin sizes it, before anything
// starts the pool, so what it measures in this process (the pack section's library calls) runs as the CLI does.
'use strict';
require('../../apps/cli/bin/thread-pool.cjs').sizeThreadPool();

(async () => {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
})();
