// Runs the CLI bundle (a CommonJS script) compiled with V8's code cache. Plain CommonJS, loaded by the bin.
'use strict';
const { readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { isAscii } = require('node:buffer');
const { createHash } = require('node:crypto');
const { createRequire } = require('node:module');
const { dirname } = require('node:path');
const { Script } = require('node:vm');

const sha256 = (...parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/**
 * Run `bundle` compiled with V8's code cache from `cacheFile`: compiling the ~0.9 MB bundle anew took most of its
 * start-up. Without a cache that fits, one is made from this process's compiled code when it exits, written under
 * a temp name and renamed (not at all where the folder is not writable). V8 checks a cache against the length of
 * the source only, and a damaged one can crash it, so the file is `sha256(bundle, Node version)`, `sha256(data)`,
 * data: a cache made for anything else, or changed since, is never handed to V8.
 * Returns `cached` (the cache was used), `made` (none fitted: one is written at exit) or `rejected` (V8 refused
 * one that fitted, e.g. other V8 flags: a new one is written at exit).
 */
function runBundle(bundle, cacheFile) {
  const bytes = readFileSync(bundle);
  // The bundle is ASCII (scripts/bundle.ts): a one-byte string, decoded many times faster than UTF-8.
  const source = bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
  const key = sha256(bytes, '\0', process.version);
  let cachedData;
  try {
    const file = readFileSync(cacheFile);
    const data = file.subarray(64);
    if (file.subarray(0, 32).equals(key) && file.subarray(32, 64).equals(sha256(data))) cachedData = data;
  } catch {
    // no cache yet
  }
  // The wrapper adds nothing before the source's first line: line numbers in stack traces are the bundle's.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: bundle,
    ...(cachedData ? { cachedData } : {}),
  });
  const status = !cachedData ? 'made' : script.cachedDataRejected ? 'rejected' : 'cached';
  if (status !== 'cached')
    process.once('exit', () => {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        const data = script.createCachedData();
        writeFileSync(tmp, Buffer.concat([key, sha256(data), data]), { mode: 0o644 });
        renameSync(tmp, cacheFile);
      } catch {
        rmSync(tmp, { force: true });
      }
    });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
  return status;
}

module.exports = { runBundle };
