import { describe, expect, it } from 'vitest';
import { Work } from '../src/limit.ts';

/** A step that ends when the test says so, recording when it started. */
function gate(log: string[], name: string) {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return {
    open,
    run: async () => {
      log.push(`start ${name}`);
      await opened;
      log.push(`end ${name}`);
      return name;
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('Work', () => {
  it('holds each lane to its limit and starts a step once what it waits for succeeded', async () => {
    const work = new Work();
    const lane = work.lane(2);
    const log: string[] = [];
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => gate(log, n));
    const pa = work.task(lane, [], a!.run);
    work.task(lane, [], b!.run);
    const pd = work.task(lane, [pa], d!.run);
    work.task(lane, [], c!.run);
    await tick();
    expect(log).toEqual(['start a', 'start b']);
    a!.open();
    await tick();
    // a's slot went to c (queued); d waits for the next one.
    expect(log).toEqual(['start a', 'start b', 'end a', 'start c']);
    b!.open();
    await tick();
    expect(log.slice(-2)).toEqual(['end b', 'start d']);
    c!.open();
    d!.open();
    await work.settle();
    expect(await pd).toBe('d');
  });

  it('gives a free slot to an urgent step before the steps queued earlier', async () => {
    const work = new Work();
    const lane = work.lane(1);
    const log: string[] = [];
    const [a, b, c] = ['a', 'b', 'c'].map((n) => gate(log, n));
    work.task(lane, [], a!.run);
    work.task(lane, [], b!.run);
    work.task(lane, [], c!.run, true);
    await tick();
    a!.open();
    await tick();
    expect(log).toEqual(['start a', 'end a', 'start c']);
    c!.open();
    b!.open();
    await work.settle();
    expect(log.at(-1)).toBe('end b');
  });

  it('the first failure stops what has not started, lets what runs end, and is thrown by settle', async () => {
    const work = new Work();
    const lane = work.lane(1);
    const log: string[] = [];
    const failure = new Error('first');
    const slow = gate(log, 'slow');
    const other = work.lane(1);
    work.task(other, [], slow.run);
    const failing = work.task(lane, [], async () => {
      throw failure;
    });
    const queued = work.task(lane, [], async () => log.push('queued ran'));
    const dependent = work.task(other, [failing], async () => log.push('dependent ran'));
    await tick();
    slow.open();
    await expect(work.settle()).rejects.toBe(failure);
    await expect(queued).rejects.toBe(failure);
    await expect(dependent).rejects.toBe(failure);
    expect(log).toEqual(['start slow', 'end slow']);
  });
});
