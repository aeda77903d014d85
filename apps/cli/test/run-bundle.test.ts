/**
 * The bin runs the bundle compiled with V8's code cache (bin/run-bundle.cjs): a cache is used only when it was made
 * for these exact bytes and this Node, and is intact; anything else is recompiled and replaced, never handed to V8.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const runBundlePath = join(import.meta.dirname, '..', 'bin', 'run-bundle.cjs');
const sha256 = (...parts: (string | Buffer)[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** A small CommonJS "bundle": prints what it computes, its own file name and a builtin it required. */
const bundleSource = (word: string) => `'use strict';
const { basename } = require('node:path');
function shout(s) { return s.toUpperCase() + '!'; }
module.exports = { shout };
process.stdout.write(shout('${word}') + ' ' + basename(__filename));
`;

/** Run `bundle` through runBundle with `cache`, as the bin does; stderr carries runBundle's answer. */
function run(bundle: string, cache: string, nodeFlags: string[] = []) {
  const harness = `const s = require(${JSON.stringify(runBundlePath)}).runBundle(process.argv[1], process.argv[2]); process.stderr.write(s);`;
  const r = spawnSync(process.execPath, [...nodeFlags, '-e', harness, bundle, cache], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, answer: r.stderr };
}

describe('the bundle run with a code cache', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let bundle: string;
  let cache: string;
  beforeEach(async () => {
    dir = await tempDir('run-bundle-');
    bundle = join(dir.path, 'b.cjs');
    cache = join(dir.path, 'b.codecache');
    await writeFile(bundle, bundleSource('hello'));
  });
  afterEach(() => dir.cleanup());

  it('makes a cache named after the bundle and this Node on the first run, and uses it on the next', async () => {
    expect(run(bundle, cache)).toEqual({ status: 0, stdout: 'HELLO! b.cjs', answer: 'made' });
    const file = await readFile(cache);
    expect(file.subarray(0, 32).equals(sha256(await readFile(bundle), '\0', process.version))).toBe(true);
    expect(file.subarray(32, 64).equals(sha256(file.subarray(64)))).toBe(true);
    expect(run(bundle, cache)).toEqual({ status: 0, stdout: 'HELLO! b.cjs', answer: 'cached' });
  });

  it('never uses the cache of another bundle of the same length: the new code runs, and gets its own', async () => {
    run(bundle, cache);
    await writeFile(bundle, bundleSource('howdy'));
    expect(run(bundle, cache)).toEqual({ status: 0, stdout: 'HOWDY! b.cjs', answer: 'made' });
    expect(run(bundle, cache).answer).toBe('cached');
  });

  it('never hands V8 a damaged cache: one byte changed or the file cut, it recompiles and rewrites it', async () => {
    run(bundle, cache);
    const good = await readFile(cache);
    const intact = async () => {
      const file = await readFile(cache);
      return (
        file.subarray(0, 32).equals(good.subarray(0, 32)) &&
        file.subarray(32, 64).equals(sha256(file.subarray(64)))
      );
    };
    const flipped = Buffer.from(good);
    flipped[good.byteLength - 10]! ^= 0xff;
    await writeFile(cache, flipped);
    expect(run(bundle, cache)).toEqual({ status: 0, stdout: 'HELLO! b.cjs', answer: 'made' });
    expect(await intact()).toBe(true);
    await writeFile(cache, good.subarray(0, 70));
    expect(run(bundle, cache)).toEqual({ status: 0, stdout: 'HELLO! b.cjs', answer: 'made' });
    expect(run(bundle, cache).answer).toBe('cached');
  });

  it('replaces a cache V8 refuses (made under other V8 flags)', () => {
    run(bundle, cache, ['--no-opt']);
    expect(run(bundle, cache)).toEqual({ status: 0, stdout: 'HELLO! b.cjs', answer: 'rejected' });
    expect(run(bundle, cache).answer).toBe('cached');
  });

  it('runs the same without a cache where none can be written, and says nothing about it', async () => {
    const nowhere = join(dir.path, 'missing', 'b.codecache');
    expect(run(bundle, nowhere)).toEqual({ status: 0, stdout: 'HELLO! b.cjs', answer: 'made' });
    await expect(stat(nowhere)).rejects.toMatchObject({ code: 'ENOENT' });
    // A folder this user may not write to (as root, chmod does not stop the write: then a cache appears).
    await chmod(dir.path, 0o555);
    try {
      expect(run(bundle, cache)).toEqual({ status: 0, stdout: 'HELLO! b.cjs', answer: 'made' });
    } finally {
      await chmod(dir.path, 0o755);
    }
  });
});
