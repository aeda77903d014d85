import { gunzipSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { GZIP_BLOCK_SIZE, MAX_IN_FLIGHT, parallelGzip } from '../src/parallel-gzip.ts';

// The number of CPUs parallelGzip sees, set per test: its default number of blocks in flight follows it.
const machine = vi.hoisted(() => ({ cpus: 1 }));
vi.mock('node:os', async (importOriginal) => ({
  ...(await importOriginal<typeof import('node:os')>()),
  availableParallelism: () => machine.cpus,
}));

/** Blocks of input read before the first piece of output comes out, and whether the output is the input. */
async function readAhead(cpus: number, blocks: number): Promise<{ read: number; ok: boolean }> {
  machine.cpus = cpus;
  const block = Buffer.alloc(GZIP_BLOCK_SIZE, `${cpus} cpus `);
  let read = 0;
  let atFirst: number | undefined;
  const out: Buffer[] = [];
  for await (const piece of parallelGzip(
    (function* () {
      for (; read < blocks; read++) yield block;
    })(),
  )) {
    atFirst ??= read;
    out.push(Buffer.from(piece));
  }
  const ok = gunzipSync(Buffer.concat(out)).equals(
    Buffer.concat(Array.from({ length: blocks }, () => block)),
  );
  return { read: atFirst!, ok };
}

describe('parallelGzip blocks in flight (default)', () => {
  it('two per CPU: the input is read about that far ahead of the output', async () => {
    const { read, ok } = await readAhead(8, 24);
    expect(ok).toBe(true);
    expect(read).toBeGreaterThanOrEqual(16);
    expect(read).toBeLessThanOrEqual(18);
  });

  it(`at most ${MAX_IN_FLIGHT} whatever the number of CPUs: memory does not grow with the machine`, async () => {
    const { read, ok } = await readAhead(256, MAX_IN_FLIGHT + 8);
    expect(ok).toBe(true);
    expect(read).toBeGreaterThanOrEqual(MAX_IN_FLIGHT);
    expect(read).toBeLessThanOrEqual(MAX_IN_FLIGHT + 2);
  });
});
