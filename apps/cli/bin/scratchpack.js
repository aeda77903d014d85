#!/usr/bin/env node
// The scratchpack CLI. Workspace packages ship TypeScript sources. When `pnpm build:images` (turbo's
// `build` task) has made a bundle of exactly the current sources, run it: it starts without a TypeScript
// loader. Otherwise run the sources through tsx. SCRATCHPACK_FROM_SOURCE=1 always uses the sources.
import { pathToFileURL } from 'node:url';
import { BUNDLE, bundleIsCurrent } from './inputs.js';

if (process.env.SCRATCHPACK_FROM_SOURCE !== '1' && bundleIsCurrent()) {
  await import(pathToFileURL(BUNDLE).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
