// The CLI's inputs: every TypeScript (and JSON, e.g. base's lock) source of the CLI and of the workspace packages it bundles, plus their
// package.json files. `scratchpack.js` runs the prebuilt bundle only while the hash of these equals the one
// recorded when the bundle was made (`scripts/bundle.ts`); otherwise it runs the sources through tsx.
// CommonJS, as the bin: an ES module would start Node's ES module loader in every CLI start (about 10 ms here).
'use strict';
const { createHash } = require('node:crypto');
const { readdirSync, readFileSync, statSync } = require('node:fs');
const { join } = require('node:path');

const cli = join(__dirname, '..');
const repo = join(cli, '..', '..');
const PACKAGE_DIRS = [
  cli,
  join(repo, 'packages', 'oci'),
  join(repo, 'packages', 'dockerfile'),
  join(repo, 'packages', 'registry'),
  join(repo, 'packages', 'attest'),
  join(repo, 'packages', 'builder'),
  join(repo, 'packages', 'runtime'),
  join(repo, 'packages', 'transport'),
  join(repo, 'packages', 'which'),
  join(repo, 'packages', 'base'),
  join(repo, 'toolchain'),
];
const BUNDLE = join(cli, 'dist', 'scratchpack.cjs');
/** V8's code cache of the bundle, written by the bin (see `scratchpack.js`). */
const BUNDLE_CODE_CACHE = join(cli, 'dist', 'scratchpack.codecache');
const BUNDLE_INPUTS = join(cli, 'dist', 'scratchpack.inputs');
/**
 * `<stamp> <hash>`: the inputs with this stamp (path, size and mtime of each) had this hash when the bundle was
 * made. While the stamp still holds, the bin trusts the hash without reading every source again (as make trusts
 * mtimes); any other stamp (an edit, a checkout, a touch) sends it back to the full hash.
 */
const BUNDLE_STAMP = join(cli, 'dist', 'scratchpack.stamp');

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith('.ts') || e.name.endsWith('.json')) out.push(p);
  }
}

function inputFiles() {
  const files = [];
  for (const d of PACKAGE_DIRS) {
    walk(join(d, 'src'), files);
    files.push(join(d, 'package.json'));
  }
  return files.sort();
}

/** sha256 over the relative path, size and mtime of every input (stat only: a few ms where the hash takes tens). */
function inputsStamp() {
  const h = createHash('sha256');
  for (const f of inputFiles()) {
    let st;
    try {
      st = statSync(f);
    } catch {
      continue;
    }
    h.update(`${f.slice(repo.length)}\0${st.size}\0${st.mtimeMs}\0`);
  }
  return h.digest('hex');
}

/**
 * Whether the bundle was made from the current sources: by the stamp when it still holds, else by the hash.
 * (`files` for tests: other places for the two records.)
 */
function bundleIsCurrent(files = { inputs: BUNDLE_INPUTS, stamp: BUNDLE_STAMP }) {
  let recorded;
  try {
    recorded = readFileSync(files.inputs, 'utf8').trim();
  } catch {
    return false;
  }
  try {
    const [stamp, hash] = readFileSync(files.stamp, 'utf8').trim().split(' ');
    if (hash === recorded && stamp === inputsStamp()) return true;
  } catch {
    // no stamp: the hash decides
  }
  return recorded === inputsHash();
}

/** sha256 over the relative path and bytes of every input, in sorted order. */
function inputsHash() {
  const files = inputFiles();
  const h = createHash('sha256');
  for (const f of files) {
    h.update(f.slice(repo.length));
    h.update('\0');
    h.update(readFileSync(f));
    h.update('\0');
  }
  return h.digest('hex');
}

module.exports = {
  PACKAGE_DIRS,
  BUNDLE,
  BUNDLE_CODE_CACHE,
  BUNDLE_INPUTS,
  BUNDLE_STAMP,
  inputsStamp,
  bundleIsCurrent,
  inputsHash,
};
