/**
 * Aborting `compile()` kills zig and the compiler it runs. The source includes a FIFO nobody writes, so the
 * compiler blocks reading it: the test aborts once a process of this compile holds the FIFO open (no race with
 * a compile that might finish first), then checks that every process of the compile is gone and no output or
 * temp file is left. Needs a real zig (the npm package or ZIG): without one, resolveZig fails the test.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbortedError } from '@scratchpack/oci';
import { processesNaming } from '@scratchpack/test-utils';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { compile, compileAll } from '../src/compile.ts';
import { resolveZig } from '../src/zig.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'compile-abort-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Open the FIFO's write end once a reader opens it (ENXIO until then); the reader then waits for bytes. */
function writerOnceRead(fifo: string): number | undefined {
  try {
    return openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
}

const alive = (pid: number) => {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state !== 'Z' && state !== undefined;
  } catch {
    return false;
  }
};

async function stalledCompile(run: (signal: AbortSignal, source: string) => Promise<unknown>) {
  const zig = resolveZig(); // fails (not skips) without a zig
  expect(zig.path).toBeTruthy();
  const fifo = join(dir, 'stall.h');
  execFileSync('mkfifo', [fifo]);
  const source = join(dir, 'stalled.c');
  await writeFile(source, `#include "${fifo}"\nint main(void) { return 0; }\n`);
  const controller = new AbortController();
  const compiling = run(controller.signal, source).then(
    () => undefined,
    (e: unknown) => e,
  );
  // The compiler has opened the FIFO (and waits for bytes that never come): the moment to abort.
  let writer = writerOnceRead(fifo);
  const deadline = Date.now() + 120_000;
  while (writer === undefined) {
    expect(Date.now(), 'a compiler process opened the FIFO').toBeLessThan(deadline);
    await new Promise((r) => setTimeout(r, 20));
    writer = writerOnceRead(fifo);
  }
  const pids = processesNaming(source);
  const at = Date.now();
  controller.abort();
  const err = await compiling;
  const ms = Date.now() - at;
  closeSync(writer);
  return { err, ms, pids };
}

it('compile(): an abort kills zig and its compiler at once, rejects with AbortedError, leaves no output', async () => {
  const out = join(dir, 'out', 'hello');
  const { err, ms, pids } = await stalledCompile((signal, source) =>
    compile({ sources: [source], platform: 'linux/amd64', out, signal }),
  );
  expect(err).toBeInstanceOf(AbortedError);
  expect((err as AbortedError).code).toBe('ABORTED');
  expect(ms).toBeLessThan(3000);
  expect(pids.length).toBeGreaterThanOrEqual(2); // zig cc, and the clang it runs
  expect(pids.filter(alive)).toEqual([]);
  expect(await readdir(join(dir, 'out'))).toEqual([]);
}, 180_000);

it('compileAll(): an abort stops every platform and starts no more; one AbortedError', async () => {
  const { err, pids } = await stalledCompile((signal, source) =>
    compileAll({
      sources: [source],
      platforms: ['linux/amd64', 'linux/arm64', 'linux/riscv64'],
      out: (p) => join(dir, 'out', p.label, 'hello'),
      concurrency: 1,
      signal,
    }),
  );
  expect(err).toBeInstanceOf(AbortedError);
  expect(pids.filter(alive)).toEqual([]);
  // Only the first platform had started: the others never ran.
  expect(await readdir(join(dir, 'out'))).toEqual(['linux-amd64']);
  expect(await readdir(join(dir, 'out', 'linux-amd64'))).toEqual([]);
}, 180_000);
