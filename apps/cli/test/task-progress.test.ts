import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { elapsed, taskProgress } from '../src/task-progress.ts';

function collect(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const s = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  Object.assign(s, { isTTY, columns: 200 });
  return { stream: s, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('task progress (compiles per platform)', () => {
  it('elapsed: seconds, then minutes', () => {
    expect(elapsed(999)).toBe('0 s');
    expect(elapsed(41_500)).toBe('41 s');
    expect(elapsed(125_000)).toBe('2 min 05 s');
  });

  it('not on a terminal: one line per platform as it finishes, the slow note on long ones', () => {
    const out = collect(false);
    let t = 0;
    const p = taskProgress('compiling', 'compiled', { stream: out.stream, now: () => t, slowNote: 'musl' });
    p.start('linux/amd64');
    p.start('linux/arm64/v8');
    t = 800;
    p.done('linux/amd64');
    expect(out.text()).toBe('compiled linux/amd64 in 0.8 s\n');
    t = 61_000;
    p.done('linux/arm64/v8');
    p.stop();
    expect(out.text()).toBe('compiled linux/amd64 in 0.8 s\ncompiled linux/arm64/v8 in 61.0 s (musl)\n');
  });

  it('on a terminal: a live line per platform, running, then the slow note, then done', async () => {
    const tty = collect(true);
    let t = 0;
    const p = taskProgress('compiling', 'compiled', { stream: tty.stream, now: () => t, slowNote: 'musl' });
    p.start('linux/amd64');
    p.start('linux/riscv64');
    await new Promise((r) => setTimeout(r, 300));
    expect(tty.text()).toMatch(/compiling linux\/amd64 +0 s running/);
    expect(tty.text()).toMatch(/compiling linux\/riscv64 +0 s running/);
    t = 7000;
    p.done('linux/amd64');
    await new Promise((r) => setTimeout(r, 300));
    p.stop();
    expect(tty.text()).toMatch(/compiling linux\/amd64 +7 s done/);
    expect(tty.text()).toMatch(/compiling linux\/riscv64 +7 s musl/);
  });

  it('quiet: nothing, on a terminal or not', () => {
    for (const isTTY of [true, false]) {
      const out = collect(isTTY);
      const p = taskProgress('compiling', 'compiled', { stream: out.stream, quiet: true });
      p.start('linux/amd64');
      p.done('linux/amd64');
      p.stop();
      expect(out.text()).toBe('');
    }
  });
});
