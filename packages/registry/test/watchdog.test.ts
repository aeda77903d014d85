import { describe, expect, it } from 'vitest';
import { Deadline, TimeoutError, type WaitEvent, watchBody } from '../src/watchdog.ts';

const URL_ = 'http://r.example:5000/v2/a/blobs/sha256:1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A body that yields `chunk` bytes every `everyMs` (0: as fast as asked), `count` times, then ends. */
function source(chunk: number, everyMs: number, count: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull: async (c) => {
      if (sent++ >= count) return c.close();
      if (everyMs) await sleep(everyMs);
      c.enqueue(new Uint8Array(chunk));
    },
  });
}

async function drain(s: ReadableStream<Uint8Array>, pauseMs = 0): Promise<number> {
  let n = 0;
  const reader = s.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return n;
    n += value.byteLength;
    if (pauseMs) await sleep(pauseMs);
  }
}

describe('watchBody', () => {
  it('never blames a slow consumer: the clock runs only while a read waits for the network', async () => {
    const body = watchBody(source(4096, 0, 4), 'GET', URL_, { timeoutMs: 60 });
    expect(await drain(body, 100)).toBe(4 * 4096);
  });

  it('lets a steady body through however long it takes', async () => {
    const body = watchBody(source(2048, 5, 60), 'GET', URL_, { timeoutMs: 500 });
    expect(await drain(body)).toBe(60 * 2048);
  });

  it('ends a body that trickles, naming the registry, with notices before', async () => {
    const waits: WaitEvent[] = [];
    const body = watchBody(source(1, 15, 1000), 'GET', URL_, {
      timeoutMs: 150,
      noticeMs: 50,
      onWait: (e) => waits.push(e),
    });
    const started = Date.now();
    const err = await drain(body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(
      /^r\.example:5000 stalled: response body trickling \(\d+ bytes in 150 ms\) of GET/,
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(waits.length).toBeGreaterThan(0);
    expect(waits[0]).toMatchObject({ phase: 'body', registry: 'r.example:5000', timeoutMs: 150 });
  });

  it('ends a body that sends nothing at all, and cancels the source', async () => {
    let cancelled: unknown;
    const silent = new ReadableStream<Uint8Array>({
      pull: () => new Promise(() => {}),
      cancel: (r) => {
        cancelled = r;
      },
    });
    const err = await drain(watchBody(silent, 'GET', URL_, { timeoutMs: 60 })).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/no data in the response body/);
    expect(cancelled).toBe(err);
  });
});

describe('Deadline', () => {
  it('expires without progress, and progress pushes it back', async () => {
    let expired: TimeoutError | undefined;
    const d = new Deadline(400, { timeoutMs: 400 }, 'PUT', URL_, (e) => {
      expired = e;
    });
    for (let i = 0; i < 6; i++) {
      await sleep(100);
      d.progress();
    }
    expect(expired).toBeUndefined();
    await sleep(800);
    expect(expired?.message).toMatch(/^r\.example:5000 stalled: no response of PUT/);
    d.stop();
  });
});
