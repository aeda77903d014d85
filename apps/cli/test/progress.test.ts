import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { byteProgress, packProgress, rate } from '../src/progress.ts';

/** A stream that says it is a terminal, collecting what is drawn. */
function fakeTty(): { stream: NodeJS.WriteStream; text: () => string } {
  const s = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  Object.assign(s, { isTTY: true, columns: 200 });
  return { stream: s, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('progress', () => {
  it('rate: bytes per second in binary units, nothing at first', () => {
    expect(rate(0, 0, 50)).toBe('');
    expect(rate(3 * 1024 * 1024, 0, 2000)).toBe('1.5 MiB/s');
    expect(rate(2048, 1000, 3000)).toBe('1.0 KiB/s');
  });

  it('push/pull bar counts in KiB/MiB, not raw bytes', async () => {
    const tty = fakeTty();
    let t = 0;
    const bar = byteProgress('push', { stream: tty.stream, enabled: true, now: () => t });
    bar.add('sha256:a', 3 * 1024 * 1024);
    bar.add('sha256:b', 512);
    t = 1000;
    bar.update('sha256:a', 1536 * 1024);
    bar.done('sha256:b');
    await new Promise((r) => setTimeout(r, 250));
    bar.stop();
    const out = tty.text();
    expect(out).toContain('1.5 MiB / 3.0 MiB');
    expect(out).toContain('1.5 MiB/s');
    expect(out).toContain('1/2 blobs');
    expect(out).not.toMatch(/\d{7} ?\//);
  });

  it('pack bars: one line per platform with bytes, total and rate', async () => {
    const tty = fakeTty();
    let t = 0;
    const bars = packProgress('build', { stream: tty.stream, enabled: true, now: () => t });
    bars.update('linux/amd64', 0, 10 * 1024 * 1024);
    bars.update('linux/arm64/v8', 0, 2048);
    t = 2000;
    bars.update('linux/amd64', 4 * 1024 * 1024, 10 * 1024 * 1024);
    bars.update('linux/arm64/v8', 1024, 2048);
    await new Promise((r) => setTimeout(r, 250));
    bars.stop();
    const out = tty.text();
    expect(out).toMatch(/build linux\/amd64 +\S* 40% \| 4\.0 MiB \/ 10\.0 MiB \| 2\.0 MiB\/s/);
    expect(out).toMatch(/build linux\/arm64\/v8 \S* 50% \| 1\.0 KiB \/ 2\.0 KiB \| 512 B\/s/);
  });

  it('draws nothing when not on a terminal', () => {
    const tty = fakeTty();
    Object.assign(tty.stream, { isTTY: false });
    const bar = byteProgress('pull', { stream: tty.stream });
    bar.add('sha256:a', 10);
    bar.stop();
    const bars = packProgress('import', { stream: tty.stream });
    bars.update('read', 1, 2);
    bars.stop();
    expect(tty.text()).toBe('');
  });
});
