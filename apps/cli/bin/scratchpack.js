#!/usr/bin/env node
// The scratchpack CLI. Workspace packages ship TypeScript sources. When `pnpm build:images` (turbo's
// `build` task) has made a bundle of exactly the current sources, run it: it starts without a TypeScript
// loader. Otherwise run the sources through tsx. SCRATCHPACK_FROM_SOURCE=1 always uses the sources.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { BUNDLE, BUNDLE_INPUTS, inputsHash } from './inputs.js';

function bundleIsCurrent() {
  if (process.env.SCRATCHPACK_FROM_SOURCE === '1') return false;
  try {
    return readFileSync(BUNDLE_INPUTS, 'utf8').trim() === inputsHash();
  } catch {
    return false;
  }
}

if (bundleIsCurrent()) {
  await import(pathToFileURL(BUNDLE).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
